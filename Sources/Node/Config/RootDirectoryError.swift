// Why preparing or opening a host's root directory failed, in words that say what to do next.
//
// `voltctl init` and `voltctl start` print `description` as it is, so every message names the
// directory or file concerned and, where there is one, the command that fixes it.

/// A failure of `RootDirectory.initialize` or `RootDirectory.open`.
public enum RootDirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The deployment file cannot be read or is invalid.
    case deployment(DeploymentError)
    /// A `--schema` file does not exist.
    case schemaFileMissing(path: String)
    /// A `--schema` path exists but is not a regular file (a directory, a device).
    case schemaFileNotRegular(path: String)
    /// A `--schema` file cannot be read by this user.
    case schemaFileUnreadable(path: String)
    /// The root directory path names something that is not a directory.
    case notADirectory(path: String)
    /// `init` without `--force` on a root that holds a previous session's files.
    case previousSession(dir: String, evidence: String)
    /// `start` on a directory that `init` has not prepared.
    case notInitialized(dir: String)
    /// A file-system operation failed.
    case fileSystem(path: String, action: String, reason: String)

    public var description: String {
        switch self {
        case .deployment(let error):
            return error.description
        case .schemaFileMissing(let path):
            return "schema file \(path) does not exist"
        case .schemaFileNotRegular(let path):
            return "schema file \(path) is not a regular file"
        case .schemaFileUnreadable(let path):
            return "schema file \(path) cannot be read (check its permissions)"
        case .notADirectory(let path):
            return "\(path) exists and is not a directory; choose another --dir"
        case .previousSession(let dir, let evidence):
            return "\(dir) holds files from a previous database session (\(evidence)). "
                + "Use voltctl start --dir \(dir) to start that database, or add --force to voltctl init "
                + "to re-initialize it: snapshots are kept as an archive beside the snapshots directory, "
                + "and command logs and other data are deleted."
        case .notInitialized(let dir):
            return "\(dir) is not initialized: run voltctl init --dir \(dir) first"
        case .fileSystem(let path, let action, let reason):
            return "cannot \(action) \(path): \(reason)"
        }
    }
}
