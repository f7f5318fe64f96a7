// One sqlcmd session: runs statements against a connection and prints what sqlcmd would.
//
// Each statement (already split, see SQLStatementSplitter) is parsed into a `SQLStatement` and
// carried out with system procedures: SQL through @AdHoc, `exec` through the named procedure,
// `show`/`describe` through @SystemCatalog, `explain` through @Explain. Results go to `output` as
// blocks separated by one blank line; errors go to `errorOutput` as
// `ERROR (<STATUS NAME>): <message>`.
//
// Outcomes: a statement succeeds, fails (an error response, or input the shell rejects before
// sending), asks to quit, or finds the connection gone. A script (`--query`, `--file`, standard
// input) stops at the first failure when `stopOnError` is set, as sqlcmd's default
// `--stop-on-error=true` does, and always stops when the connection is gone.
//
// `exec` converts its literal arguments to the procedure's parameter types when the server lists
// them in @SystemCatalog PROCEDURECOLUMNS (asked once, again after DDL); otherwise each literal
// goes as its natural type and the server coerces (SQLLiteral). Elapsed time in the footers comes
// from the injected clock, so tests can fix it.

import VoltCLI
import VoltModel
import VoltWire

/// Something that calls a procedure and waits for its response: a client connection, or a fake.
public protocol ProcedureCaller: AnyObject {
    func invoke(_ procedure: String, _ parameters: [WireParameter]) throws(ClientConnectionError) -> ClientResponse
}

extension VoltClientConnection: ProcedureCaller {
    public func invoke(_ procedure: String, _ parameters: [WireParameter]) throws(ClientConnectionError) -> ClientResponse {
        try call(procedure, parameters)
    }
}

/// Runs sqlcmd statements and prints their results.
public final class SQLSession {
    public enum Outcome: Sendable, Equatable {
        case succeeded
        case failed
        case quit
        /// The connection broke; nothing more can run. Carries the reason.
        case connectionLost(String)
    }

    /// How a script ended.
    public struct ScriptOutcome: Sendable, Equatable {
        public var statements: Int
        public var failures: Int
        /// Set when the connection broke; the script stopped there.
        public var connectionLost: String?
        public var quit: Bool

        public init(statements: Int, failures: Int, connectionLost: String?, quit: Bool) {
            self.statements = statements
            self.failures = failures
            self.connectionLost = connectionLost
            self.quit = quit
        }
    }

    public let formatter: SQLResultFormatter
    private let caller: any ProcedureCaller
    private let output: (String) -> Void
    private let errorOutput: (String) -> Void
    private let clockNanos: () -> UInt64
    private var hasPrinted = false
    /// Parameter types by upper-cased procedure name; nil until asked, empty when unavailable.
    private var procedureTypes: [String: [SQLType?]]?

    public init(caller: any ProcedureCaller, formatter: SQLResultFormatter,
                output: @escaping (String) -> Void, errorOutput: @escaping (String) -> Void,
                clockNanos: @escaping () -> UInt64) {
        self.caller = caller
        self.formatter = formatter
        self.output = output
        self.errorOutput = errorOutput
        self.clockNanos = clockNanos
    }

    /// Runs every statement of `text` in order.
    public func runScript(_ text: String, stopOnError: Bool) -> ScriptOutcome {
        var outcome = ScriptOutcome(statements: 0, failures: 0, connectionLost: nil, quit: false)
        for statement in SQLStatementSplitter.split(text) {
            outcome.statements += 1
            switch execute(statement) {
            case .succeeded:
                continue
            case .failed:
                outcome.failures += 1
                if stopOnError { return outcome }
            case .quit:
                outcome.quit = true
                return outcome
            case .connectionLost(let reason):
                outcome.failures += 1
                outcome.connectionLost = reason
                return outcome
            }
        }
        return outcome
    }

    /// Runs one statement (without its `;`).
    public func execute(_ text: String) -> Outcome {
        let statement: SQLStatement
        do {
            statement = try SQLStatement.parse(text)
        } catch {
            errorOutput("ERROR: \(error.message)")
            return .failed
        }
        do {
            return try run(statement)
        } catch {
            return .connectionLost(error.description)
        }
    }

    // MARK: Statements

    private func run(_ statement: SQLStatement) throws(ClientConnectionError) -> Outcome {
        let started = clockNanos()
        switch statement {
        case .quit:
            return .quit
        case let .adHoc(sql, isDDL):
            let response = try caller.invoke("@AdHoc", [.string(sql)])
            guard succeeded(response) else { return .failed }
            if isDDL {
                procedureTypes = nil
                if formatter.showsMetadata { emit("Command succeeded.") }
                return .succeeded
            }
            printTables(response.tables, started: started)
            return .succeeded
        case let .exec(procedure, arguments):
            let parameters: [WireParameter]
            do {
                parameters = try convert(arguments, for: procedure)
            } catch {
                errorOutput("ERROR: \(error.message)")
                return .failed
            }
            let response = try caller.invoke(procedure, parameters)
            guard succeeded(response) else { return .failed }
            printTables(response.tables, started: started)
            return .succeeded
        case .explain(let sql):
            let response = try caller.invoke("@Explain", [.string(sql)])
            guard succeeded(response) else { return .failed }
            printTables(response.tables, started: started)
            return .succeeded
        case .showTables:
            return try showTables()
        case .showProcedures:
            return try showProcedures()
        case .showClasses:
            let response = try caller.invoke("@SystemCatalog", [.string("CLASSES")])
            guard succeeded(response) else { return .failed }
            printTables(response.tables, started: started)
            return .succeeded
        case .describe(let table):
            return try describe(table)
        }
    }

    private func showTables() throws(ClientConnectionError) -> Outcome {
        let response = try caller.invoke("@SystemCatalog", [.string("TABLES")])
        guard succeeded(response) else { return .failed }
        guard let table = response.tables.first else { return missingTable("TABLES") }
        var sections: [(String, [String])] = [("User Tables", []), ("User Views", []), ("User Export Streams", [])]
        for row in table.rows {
            guard let name = table.text(row, "TABLE_NAME") else { continue }
            switch (table.text(row, "TABLE_TYPE") ?? "TABLE").uppercased() {
            case "VIEW": sections[1].1.append(name)
            case "EXPORT", "STREAM": sections[2].1.append(name)
            default: sections[0].1.append(name)
            }
        }
        emit(sections.map { title, names in
            ([Self.sectionRule(title)] + names.sorted()).joined(separator: "\n")
        }.joined(separator: "\n\n"))
        return .succeeded
    }

    private func showProcedures() throws(ClientConnectionError) -> Outcome {
        let response = try caller.invoke("@SystemCatalog", [.string("PROCEDURES")])
        guard succeeded(response) else { return .failed }
        guard let table = response.tables.first else { return missingTable("PROCEDURES") }
        let names = Set(table.rows.compactMap { table.text($0, "PROCEDURE_NAME") }).sorted()
        let types = try parameterTypes()
        let width = max(30, (names.map(\.count).max() ?? 0) + 2)
        let lines = names.map { name -> String in
            let padded = name + String(repeating: " ", count: width - name.count)
            let parameters = (types[name.uppercased()] ?? []).map { $0.map { $0.name.lowercased() } ?? "?" }
            return ([padded] + parameters).joined(separator: "\t").trimmingCharacters()
        }
        emit(([Self.sectionRule("User Procedures")] + lines).joined(separator: "\n"))
        return .succeeded
    }

    private func describe(_ name: String) throws(ClientConnectionError) -> Outcome {
        let started = clockNanos()
        let response = try caller.invoke("@SystemCatalog", [.string("COLUMNS")])
        guard succeeded(response) else { return .failed }
        guard let table = response.tables.first else { return missingTable("COLUMNS") }
        let wanted = name.uppercased()
        let rows = table.rows
            .filter { table.text($0, "TABLE_NAME")?.uppercased() == wanted }
            .sorted { (table.integer($0, "ORDINAL_POSITION") ?? 0) < (table.integer($1, "ORDINAL_POSITION") ?? 0) }
        guard !rows.isEmpty else {
            errorOutput("ERROR: table \(name) does not exist")
            return .failed
        }
        let described = ResultTable(
            columns: [.init("COLUMN", .varchar), .init("DATATYPE", .varchar), .init("SIZE", .integer),
                      .init("NULLABLE", .varchar), .init("REMARKS", .varchar)],
            rows: rows.map { row in
                let type = table.text(row, "TYPE_NAME") ?? "?"
                let sized = type == "VARCHAR" || type == "VARBINARY"
                return [
                    .string(table.text(row, "COLUMN_NAME") ?? "?"),
                    .string(type),
                    sized ? (table.integer(row, "COLUMN_SIZE").map(Value.integer) ?? .null) : .null,
                    .string(table.text(row, "IS_NULLABLE") ?? ""),
                    table.text(row, "REMARKS").map(Value.string) ?? .null,
                ]
            })
        printTables([described], started: started)
        return .succeeded
    }

    // MARK: exec parameters

    private func convert(_ arguments: [SQLLiteral], for procedure: String) throws(SQLInputError) -> [WireParameter] {
        let known: [SQLType?]?
        do {
            known = try parameterTypes()[procedure.uppercased()]
        } catch {
            // A broken connection shows up again, with its reason, on the call itself.
            known = nil
        }
        guard let known else { return arguments.map(\.naturalParameter) }
        guard known.count == arguments.count else {
            throw SQLInputError("procedure \(procedure) takes \(known.count) parameter\(known.count == 1 ? "" : "s"), got \(arguments.count)")
        }
        var parameters: [WireParameter] = []
        for (argument, type) in zip(arguments, known) { parameters.append(try argument.wireParameter(for: type)) }
        return parameters
    }

    /// Parameter types of every procedure, from @SystemCatalog PROCEDURECOLUMNS; empty when the
    /// server does not answer it.
    private func parameterTypes() throws(ClientConnectionError) -> [String: [SQLType?]] {
        if let procedureTypes { return procedureTypes }
        var types: [String: [SQLType?]] = [:]
        let response = try caller.invoke("@SystemCatalog", [.string("PROCEDURECOLUMNS")])
        if response.status == .success, let table = response.tables.first {
            var byProcedure: [String: [(Int64, SQLType?)]] = [:]
            for row in table.rows {
                guard let name = table.text(row, "PROCEDURE_NAME") else { continue }
                let type = table.text(row, "TYPE_NAME").flatMap(SQLType.init(sqlName:))
                byProcedure[name.uppercased(), default: []].append((table.integer(row, "ORDINAL_POSITION") ?? 0, type))
            }
            for (name, columns) in byProcedure { types[name] = columns.sorted { $0.0 < $1.0 }.map(\.1) }
        }
        procedureTypes = types
        return types
    }

    // MARK: Output

    private func succeeded(_ response: ClientResponse) -> Bool {
        if response.status == .success { return true }
        errorOutput(SQLResultFormatter.errorLine(statusCode: response.statusCode, message: response.statusString))
        return false
    }

    private func missingTable(_ selector: String) -> Outcome {
        errorOutput("ERROR: @SystemCatalog \(selector) returned no table")
        return .failed
    }

    private func printTables(_ tables: [ResultTable], started: UInt64) {
        let elapsed = Double(clockNanos() &- started) / 1e9
        for table in tables {
            if let count = SQLResultFormatter.modifiedTuples(table) {
                if let text = formatter.renderModifiedCount(count, elapsedSeconds: elapsed) { emit(text) }
            } else {
                emit(formatter.render(table, elapsedSeconds: elapsed))
            }
        }
    }

    private func emit(_ block: String) {
        guard !block.isEmpty else { return }
        if hasPrinted && formatter.showsMetadata { output("") }
        hasPrinted = true
        output(block)
    }

    static func sectionRule(_ title: String) -> String {
        let head = "--- \(title) "
        return head + String(repeating: "-", count: max(3, 60 - head.count))
    }
}
