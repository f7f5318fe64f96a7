import Foundation
import VoltCLI
import VoltClient
import VoltWire

// `voltctl sql`: sqlcmd's job. Connects to the first reachable server of --servers, then runs
// statements from --query, --file, standard input (when it is not a terminal) or an interactive
// prompt. The statement language (splitting, exec, show, describe) and the output formats live in
// VoltClient (SQLSession); this file reads the options, picks the input and maps outcomes to exit
// status: a batch with a failed statement exits 1, the prompt exits 0 unless the connection breaks.

enum SQLCommand {
    static let declaration = Command(
        name: "sql",
        abstract: "Run SQL statements and procedures, like VoltDB's sqlcmd",
        discussion: """
            Statements end with ';' (outside quotes and comments; a CREATE PROCEDURE ... AS \
            BEGIN ... END body is one statement). SQL and DDL go to @AdHoc. Directives: \
            'exec PROC arg, ...' (or execute) calls a procedure with SQL literal arguments \
            (numbers, 'strings', NULL, X'hex'); 'show tables', 'show procedures', 'show \
            classes'; 'describe TABLE'; 'explain SQL'; 'exit' or 'quit'.

            Input comes from --query, else --file, else standard input when it is not a \
            terminal, else an interactive prompt (1>, 2>, ...) that reads lines until a \
            statement ends with ';'. In batch input a failing statement stops the run (unless \
            --stop-on-error false) and the exit status is 1. Errors print as \
            'ERROR (STATUS): message' on standard error.

            Output: --output-format fixed (aligned columns and a '(Returned N rows in T s)' \
            footer), csv or tab; --output-skip-metadata prints data rows only.

            Examples:
              voltctl sql --query "SELECT COUNT(*) FROM STORE;"
              voltctl sql --servers h1,h2:21214 --file schema.sql
              echo "exec STORE.select 'K000000001';" | voltctl sql --output-format csv
            """,
        options: [
            .value("servers", valueName: "host[:port],...", default: "localhost", repeatable: true,
                   help: "Servers to try, in order; the first that accepts a connection is used."),
            .value("port", valueName: "port", default: "21212", help: "Client port for servers given without one."),
            .value("user", valueName: "name", default: "", help: "User name for the login."),
            .value("password", valueName: "password", default: "", help: "Password for the login."),
            .value("query", valueName: "sql", help: "Run these statements and exit."),
            .value("file", valueName: "path", help: "Run the statements in this file and exit."),
            .value("output-format", valueName: "fixed|csv|tab", default: "fixed", help: "How results are printed."),
            .flag("output-skip-metadata", help: "Print data rows only: no column headers, row counts or messages."),
            .value("stop-on-error", valueName: "true|false", default: "true",
                   help: "In batch input, stop at the first failing statement."),
            .value("query-timeout", unit: "milliseconds", default: "60000",
                   help: "How long to wait for the connection and for each statement's response."),
        ])

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard let format = TableFormat(rawValue: try arguments.string("output-format").lowercased()) else {
            throw arguments.error(.invalidValue(option: "--output-format", requirement: "be fixed, csv or tab",
                                                value: try arguments.string("output-format")))
        }
        let stopOnError: Bool
        switch try arguments.string("stop-on-error").lowercased() {
        case "true", "yes", "1": stopOnError = true
        case "false", "no", "0": stopOnError = false
        default:
            throw arguments.error(.invalidValue(option: "--stop-on-error", requirement: "be true or false",
                                                value: try arguments.string("stop-on-error")))
        }
        if arguments.isGiven("query") && arguments.isGiven("file") {
            throw arguments.error(.other("--query and --file cannot be used together"))
        }
        let servers = try ClientOptions.servers(arguments, portOption: "port")
        let timeoutMillis = try arguments.int("query-timeout", min: 1)

        // Read the script before connecting, so a missing file costs no connection.
        var script: String?
        if let query = arguments.optionalString("query") {
            script = query
        } else if let path = arguments.optionalString("file") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw RuntimeError("cannot read --file \(path)")
            }
            script = String(decoding: data, as: UTF8.self)
        } else if isatty(STDIN_FILENO) == 0 {
            script = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }

        let connection = try ClientOptions.connect(servers, arguments, timeoutMillis: timeoutMillis)
        defer { connection.close() }
        let session = SQLSession(
            caller: connection, formatter: SQLResultFormatter(format: format, showsMetadata: !arguments.flag("output-skip-metadata")),
            output: { writeOut($0 + "\n") }, errorOutput: { printError($0) }, clockNanos: MonotonicClock.nanos)

        guard let script else { return SQLShell(session: session).run() }
        let outcome = session.runScript(script, stopOnError: stopOnError)
        if let reason = outcome.connectionLost {
            throw RuntimeError("lost the connection: \(reason)")
        }
        if outcome.failures > 0 {
            printError("voltctl: error: \(outcome.failures) of \(outcome.statements) statement\(outcome.statements == 1 ? "" : "s") failed")
            return 1
        }
        return 0
    }
}

/// Options every client verb shares: where the cluster is and how to log in.
enum ClientOptions {
    static func servers(_ arguments: ParsedArguments, portOption: String) throws -> [ServerAddress] {
        let port = try arguments.int(portOption, min: 1, max: 65535)
        let entries = arguments.list("servers")
        guard !entries.isEmpty else {
            throw arguments.error(.invalidValue(option: "--servers", requirement: "list at least one host[:port]",
                                                value: arguments.optionalString("servers") ?? ""))
        }
        switch ServerAddress.parseList(entries, defaultPort: port) {
        case .success(let servers): return servers
        case .failure(let bad):
            throw arguments.error(.invalidValue(option: "--servers", requirement: "list host[:port] entries with ports 1 to 65535",
                                                value: bad.entry))
        }
    }

    static func connect(_ servers: [ServerAddress], _ arguments: ParsedArguments, timeoutMillis: Int) throws -> VoltClientConnection {
        do {
            return try FirstReachable.connect(servers, username: try arguments.string("user"),
                                              password: try arguments.string("password"), timeoutMillis: timeoutMillis)
        } catch let error as NoServerReachable {
            throw RuntimeError(error.description)
        }
    }
}

/// Writes to standard output without buffering surprises between output and error lines.
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
