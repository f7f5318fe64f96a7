import Foundation
import Node
import VoltCLI

// `voltctl init`: prepares a host's root directory (docs/PROTOCOL.md §12.1) through
// `RootDirectory.initialize` and reports what it created. Warnings about the deployment file go to
// standard error; the report goes to standard output.

enum InitCommand {
    static let declaration = Command(
        name: "init",
        abstract: "Prepare a host's root directory (run once per host)",
        discussion: """
            Creates the root directory: config/deployment.xml (the effective deployment, every \
            default filled in), config/path.properties, the schema files copied in command-line \
            order, log/ and the managed directories (snapshots, command_log, ...). Without \
            --config a one-host deployment with 8 sites per host is used.

            The schema files are SQL DDL; they are loaded by voltctl start, which reports a \
            failing statement with its file and number. A root that holds a previous session \
            needs --force: snapshots are then kept as an archive beside the snapshots directory \
            and the other managed directories are emptied.

            Example:
              voltctl init --dir /var/voltdb --config deployment.xml --schema ddl.sql
            """,
        options: [
            .value("dir", short: "D", valueName: "path", default: "voltdbroot", help: "The root directory to prepare."),
            .value("config", short: "C", valueName: "deployment.xml", help: "The deployment file (VoltDB's deployment.xml format)."),
            .value("schema", short: "s", valueName: "file,...", repeatable: true,
                   help: "SQL DDL files to load at start, in order (comma-separated or repeated)."),
            .flag("force", short: "f", help: "Re-initialize a root that holds a previous session."),
        ])

    static func run(_ arguments: ParsedArguments) throws -> String {
        let dir = try arguments.string("dir")
        let result: RootDirectory.InitResult
        do {
            result = try RootDirectory.initialize(dir: dir, config: arguments.optionalString("config"),
                                                  schemaFiles: arguments.list("schema"), force: arguments.flag("force"))
        } catch {
            throw RuntimeError(error.description)
        }
        for warning in result.warnings { printError("voltctl init: warning: \(warning)") }
        let root = result.root
        var lines = ["Initialized root directory \(root.path)"]
        lines.append("  deployment: \(root.deploymentFile) (sitesperhost \(root.deployment.cluster.sitesPerHost), kfactor \(root.deployment.cluster.kFactor))")
        lines.append("  paths: \(root.pathPropertiesFile)")
        lines.append("  log: \(root.logDirectory)")
        for file in root.schemaFiles { lines.append("  schema: \(file)") }
        for archive in result.archivedSnapshots { lines.append("  archived snapshots: \(archive.from) -> \(archive.to)") }
        for cleared in result.clearedDirectories { lines.append("  emptied: \(cleared)") }
        lines.append("Start the host with: voltctl start --dir \(dir)")
        return lines.joined(separator: "\n")
    }
}
