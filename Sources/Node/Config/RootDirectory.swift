// RootDirectory: a host's root directory, prepared once by `voltctl init` and opened by
// `voltctl start`. Follows VoltDB's `voltdbroot` (docs/PROTOCOL.md §12.1).
//
// Layout after `initialize` (managed directories at their default paths):
//
//     D/
//       .initialized                marker, written last; holds the cluster name and config hash
//       config/deployment.xml       the effective deployment, canonical XML (defaults filled)
//       config/path.properties      every managed directory, resolved to an absolute path
//       config/schema/NNN-name.sql  the --schema files, copied; NNN keeps the command-line order
//       log/                        the server log
//       snapshots/  command_log/  command_log_snapshot/  export_overflow/  export_cursor/
//       dr_overflow/  large_query_swap/
//
// Managed directories may be moved by `<paths>` (absolute, or relative to D); `config` and
// `log` are reserved (checked when the deployment is read). `voltctl start` reads the
// deployment from config/deployment.xml, not from path.properties, which is written for
// operators and tools, as VoltDB's is.
//
// `initialize` checks everything it can before it writes anything: the deployment parses, every
// schema file is a readable regular file, D is a directory or absent, and D holds no previous
// session. A previous session is the marker, or any file in a managed directory (VoltDB's rule:
// "files from a previous database session exist in the managed directories"); other files in D
// are the operator's business. Then, with `force`, the previous session is cleared the way
// VoltDB's `init --force` does it: a non-empty snapshots directory is kept as `snapshots.1`
// (the previous `.1` becomes `.2`, older archives are deleted: two are kept), the other managed
// directories are emptied, and config/ and the marker are removed. `log/` is kept.
//
// Crash safety: every file is written to a temporary name and renamed into place, and the
// marker is written last, so a crash mid-init leaves either the old marker (force) or none, and
// a root without a marker is never opened. Re-running init after such a crash needs no --force
// unless a managed directory already has files.
//
// Departure from VoltDB: schema files are copied as DDL text and loaded by `start`, where
// VoltDB compiles them at init time into `config/staged-catalog.jar`. The SQL front end is not
// part of this library; a schema that does not compile is reported by `start`.

import Foundation

/// A prepared root directory: where it is, its effective deployment and its schema files.
public struct RootDirectory: Sendable, Equatable {
    public static let markerName = ".initialized"
    public static let configDirectoryName = "config"
    public static let logDirectoryName = "log"
    public static let deploymentFileName = "deployment.xml"
    public static let pathPropertiesName = "path.properties"
    public static let schemaDirectoryName = "schema"
    /// How many archived snapshot directories `--force` keeps (VoltDB's
    /// `SNAPSHOT_DIRECTORY_ARCHIVE_LIMIT`).
    public static let snapshotArchiveLimit = 2
    /// The name written into the marker, as VoltDB writes its database name there.
    public static let clusterName = "database"

    /// The root directory, absolute and standardized.
    public let path: String
    /// The effective deployment read from config/deployment.xml.
    public let deployment: Deployment
    /// The copied schema files, absolute, in the order they must be loaded.
    public let schemaFiles: [String]

    /// What `initialize` did beside writing the layout.
    public struct InitResult: Sendable, Equatable {
        public var root: RootDirectory
        /// Warnings from reading the deployment file.
        public var warnings: [DeploymentWarning]
        /// Snapshot directories moved aside by `--force`, as (from, to) absolute paths.
        public var archivedSnapshots: [Archive]
        /// Managed directories whose contents `--force` deleted, absolute.
        public var clearedDirectories: [String]
    }

    public struct Archive: Sendable, Equatable {
        public var from: String
        public var to: String
    }

    // MARK: Paths inside the root

    public var configDirectory: String { Self.join(path, Self.configDirectoryName) }
    public var deploymentFile: String { Self.join(configDirectory, Self.deploymentFileName) }
    public var pathPropertiesFile: String { Self.join(configDirectory, Self.pathPropertiesName) }
    public var schemaDirectory: String { Self.join(configDirectory, Self.schemaDirectoryName) }
    public var markerFile: String { Self.join(path, Self.markerName) }
    public var logDirectory: String { Self.join(path, Self.logDirectoryName) }
    /// The configuration hash that `start` compares across hosts.
    public var configHash: String { deployment.configHash }

    /// Every managed directory as (deployment element, absolute path), in canonical order.
    public var managedDirectories: [(element: String, path: String)] {
        Self.managedDirectories(root: path, paths: deployment.paths)
    }

    /// A managed path from the deployment, resolved against the root when relative.
    public func resolve(_ managedPath: String) -> String { Self.resolve(managedPath, root: path) }

    /// Whether the root holds no snapshots and no command log: VoltDB's "bare" host, which
    /// `start` counts when it decides between creating a database and recovering one.
    public func isBare() -> Bool {
        Self.isEmptyOrAbsent(resolve(deployment.paths.snapshots))
            && Self.isEmptyOrAbsent(resolve(deployment.paths.commandLog))
    }

    // MARK: Init

    /// Prepares `dir` as a root directory: `voltctl init --dir dir [--config config]
    /// [--schema schemaFiles] [--force]`. With no `config`, the defaults of a one-host
    /// deployment are used. See the file header for what is checked, written and cleared.
    public static func initialize(
        dir: String, config: String? = nil, schemaFiles: [String] = [], force: Bool = false
    ) throws(RootDirectoryError) -> InitResult {
        let parsed: ParsedDeployment
        if let config {
            do {
                parsed = try Deployment.load(contentsOf: config)
            } catch {
                throw .deployment(error)
            }
        } else {
            parsed = ParsedDeployment(deployment: Deployment(), warnings: [])
        }
        return try initialize(dir: dir, deployment: parsed, schemaFiles: schemaFiles, force: force)
    }

    /// As `initialize(dir:config:schemaFiles:force:)`, with a deployment already read.
    public static func initialize(
        dir: String, deployment parsed: ParsedDeployment, schemaFiles: [String] = [], force: Bool = false
    ) throws(RootDirectoryError) -> InitResult {
        let fileManager = FileManager.default
        let root = absolute(dir)
        let deployment = parsed.deployment

        for file in schemaFiles {
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw .schemaFileMissing(path: file)
            }
            guard !isDirectory.boolValue else { throw .schemaFileNotRegular(path: file) }
            guard fileManager.isReadableFile(atPath: file) else { throw .schemaFileUnreadable(path: file) }
        }
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: root, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw .notADirectory(path: dir)
        }
        // An absolute managed path may not be the root or hold it: clearing it with --force
        // would delete the root itself. (Relative ones are checked when the file is read.)
        for (element, raw) in deployment.paths.all {
            let managed = resolve(raw, root: root)
            if managed == root || root.hasPrefix(managed.hasSuffix("/") ? managed : managed + "/") {
                throw .deployment(DeploymentError(file: "deployment.xml", problem: .reservedPath(element: element, path: raw)))
            }
        }

        // Look for a previous session, both where the old deployment put its directories and
        // where the new one will: a session's data must not be lost by moving a path.
        var previous = RootDirectory.previousLayout(root: root)?.managedDirectories ?? []
        for managed in managedDirectories(root: root, paths: deployment.paths)
        where !previous.contains(where: { $0.path == managed.path }) {
            previous.append(managed)
        }
        let markerExists = fileManager.fileExists(atPath: join(root, markerName))
        let usedDirectories = previous.filter { !isEmptyOrAbsent($0.path) }
        if !force {
            if markerExists {
                throw .previousSession(dir: dir, evidence: "it was initialized before")
            }
            if let used = usedDirectories.first {
                throw .previousSession(dir: dir, evidence: "\(used.path) is not empty")
            }
        }

        var archived: [Archive] = []
        var cleared: [String] = []
        if force {
            // The marker goes first: from here until the new marker is written the root is
            // not a usable database, and `open` must say so.
            try remove(join(root, markerName))
            for used in usedDirectories {
                if used.element == "snapshots" {
                    archived += try archiveSnapshots(used.path)
                } else {
                    try removeContents(of: used.path)
                    cleared.append(used.path)
                }
            }
            try remove(join(root, configDirectoryName))
        }

        let layout = RootDirectory(path: root, deployment: deployment, schemaFiles: [])
        for directory in [root, layout.configDirectory, layout.logDirectory] + layout.managedDirectories.map(\.path) {
            try createDirectory(directory)
        }
        // A crashed earlier init may have left copies; the schema is exactly this command's.
        try remove(layout.schemaDirectory)
        try createDirectory(layout.schemaDirectory)
        var copied: [String] = []
        let width = max(3, String(schemaFiles.count).count)
        for (index, source) in schemaFiles.enumerated() {
            let number = String(index + 1)
            let name = String(repeating: "0", count: width - number.count) + number + "-"
                + URL(fileURLWithPath: source).lastPathComponent
            let destination = join(layout.schemaDirectory, name)
            guard let bytes = fileManager.contents(atPath: source) else { throw .schemaFileUnreadable(path: source) }
            try writeAtomically(bytes, to: destination)
            copied.append(destination)
        }

        try writeAtomically(Data(deployment.canonicalXML().utf8), to: layout.deploymentFile)
        var properties = "# Where this host keeps its files. Written by voltctl init; voltctl reads\n"
        properties += "# config/deployment.xml, so editing this file changes nothing.\n"
        properties += "org.voltdb.path.voltdbroot=\(root)\n"
        let keys = [
            "snapshots": "snapshots", "commandlog": "command_log", "commandlogsnapshot": "command_log_snapshot",
            "exportoverflow": "export_overflow", "exportcursor": "export_cursor", "droverflow": "dr_overflow",
            "largequeryswap": "large_query_swap",
        ]
        for managed in layout.managedDirectories.sorted(by: { keys[$0.element, default: $0.element] < keys[$1.element, default: $1.element] }) {
            properties += "org.voltdb.path.\(keys[managed.element, default: managed.element])=\(managed.path)\n"
        }
        properties += "org.voltdb.local_sites_count=\(deployment.cluster.sitesPerHost)\n"
        try writeAtomically(Data(properties.utf8), to: layout.pathPropertiesFile)
        let marker = "cluster=\(clusterName)\nconfigHash=\(deployment.configHash)\n"
        try writeAtomically(Data(marker.utf8), to: layout.markerFile)

        return InitResult(
            root: RootDirectory(path: root, deployment: deployment, schemaFiles: copied),
            warnings: parsed.warnings, archivedSnapshots: archived, clearedDirectories: cleared)
    }

    // MARK: Open

    /// Whether `dir` has been prepared by `initialize` (the marker exists).
    public static func isInitialized(dir: String) -> Bool {
        FileManager.default.fileExists(atPath: join(absolute(dir), markerName))
    }

    /// Opens a prepared root directory for `voltctl start`: reads its effective deployment and
    /// lists its schema files. Throws `notInitialized` when `init` has not run (or did not finish).
    public static func open(dir: String) throws(RootDirectoryError) -> RootDirectory {
        let root = absolute(dir)
        guard isInitialized(dir: root) else { throw .notInitialized(dir: dir) }
        let deploymentFile = join(join(root, configDirectoryName), deploymentFileName)
        guard let bytes = FileManager.default.contents(atPath: deploymentFile) else {
            throw .fileSystem(
                path: deploymentFile, action: "read",
                reason: "the root directory is incomplete; run voltctl init --dir \(dir) --force")
        }
        let parsed: ParsedDeployment
        do {
            parsed = try Deployment.parse(bytes: [UInt8](bytes), file: deploymentFile)
        } catch {
            throw .deployment(error)
        }
        let schemaDirectory = join(join(root, configDirectoryName), schemaDirectoryName)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: schemaDirectory)) ?? []
        let schemaFiles = names.filter { !$0.hasPrefix(".") }.sorted().map { join(schemaDirectory, $0) }
        return RootDirectory(path: root, deployment: parsed.deployment, schemaFiles: schemaFiles)
    }

    /// The layout a previous init left, if its deployment can still be read.
    static func previousLayout(root: String) -> RootDirectory? {
        let file = join(join(root, configDirectoryName), deploymentFileName)
        guard let bytes = FileManager.default.contents(atPath: file),
            let parsed = try? Deployment.parse(bytes: [UInt8](bytes), file: file)
        else { return nil }
        return RootDirectory(path: root, deployment: parsed.deployment, schemaFiles: [])
    }

    // MARK: File-system helpers

    static func absolute(_ dir: String) -> String {
        URL(fileURLWithPath: dir).standardizedFileURL.path
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func resolve(_ managedPath: String, root: String) -> String {
        let path = managedPath.hasPrefix("/") ? managedPath : join(root, managedPath)
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    static func managedDirectories(root: String, paths: Deployment.Paths) -> [(element: String, path: String)] {
        paths.all.map { (element: $0.element, path: resolve($0.path, root: root)) }
    }

    static func isEmptyOrAbsent(_ directory: String) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return true }
        return names.isEmpty
    }

    static func attempt<T>(_ action: String, _ path: String, _ body: () throws -> T) throws(RootDirectoryError) -> T {
        do {
            return try body()
        } catch {
            throw .fileSystem(path: path, action: action, reason: (error as NSError).localizedDescription)
        }
    }

    static func createDirectory(_ path: String) throws(RootDirectoryError) {
        try attempt("create directory", path) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }

    static func remove(_ path: String) throws(RootDirectoryError) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        try attempt("remove", path) { try FileManager.default.removeItem(atPath: path) }
    }

    static func removeContents(of directory: String) throws(RootDirectoryError) {
        let names = try attempt("list", directory) { try FileManager.default.contentsOfDirectory(atPath: directory) }
        for name in names.sorted() {
            try remove(join(directory, name))
        }
    }

    static func move(_ from: String, to: String) throws(RootDirectoryError) {
        try attempt("move", from) { try FileManager.default.moveItem(atPath: from, toPath: to) }
    }

    /// Moves `directory` to `directory.1`, shifting older archives up and deleting the one past
    /// the limit, then leaves `directory` absent (the caller creates it empty).
    static func archiveSnapshots(_ directory: String) throws(RootDirectoryError) -> [Archive] {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        try remove("\(base).\(snapshotArchiveLimit)")
        var moves: [Archive] = []
        for generation in stride(from: snapshotArchiveLimit - 1, through: 1, by: -1) {
            let from = "\(base).\(generation)"
            guard FileManager.default.fileExists(atPath: from) else { continue }
            try move(from, to: "\(base).\(generation + 1)")
            moves.append(Archive(from: from, to: "\(base).\(generation + 1)"))
        }
        try move(base, to: "\(base).1")
        moves.append(Archive(from: base, to: "\(base).1"))
        return moves
    }

    /// Writes to a temporary file beside `path` and renames it into place, so that a reader
    /// sees the old file or the new one, never a part.
    static func writeAtomically(_ bytes: Data, to path: String) throws(RootDirectoryError) {
        try attempt("write", path) { try bytes.write(to: URL(fileURLWithPath: path), options: .atomic) }
    }
}
