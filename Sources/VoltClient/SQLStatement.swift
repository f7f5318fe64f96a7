// What one sqlcmd statement asks for. sqlcmd mixes SQL with a few directives of its own; the
// first word decides:
//
//   EXEC | EXECUTE proc [arg[, arg…]]   call a procedure; arguments are SQL literals (SQLLiteral)
//   SHOW TABLES | PROCEDURES | CLASSES  list the catalog (@SystemCatalog)
//   DESCRIBE | DESC table               the table's columns (@SystemCatalog COLUMNS)
//   EXPLAIN sql                         the plan (@Explain)
//   EXIT | QUIT                         leave the shell
//   anything else                       SQL for @AdHoc; DDL when it starts with CREATE, DROP,
//                                       ALTER, PARTITION or DR (the shell then says "Command
//                                       succeeded." instead of printing a modified-tuples count)
//
// Arguments of `exec` are separated by commas, blanks or both, as sqlcmd accepts them.

/// A statement of the sqlcmd language.
public enum SQLStatement: Sendable, Equatable {
    case adHoc(String, isDDL: Bool)
    case exec(procedure: String, arguments: [SQLLiteral])
    case showTables
    case showProcedures
    case showClasses
    case describe(table: String)
    case explain(String)
    case quit

    /// Leading words that make a statement DDL.
    static let ddlKeywords: Set<String> = ["CREATE", "DROP", "ALTER", "PARTITION", "DR"]

    /// Reads one statement as the splitter returned it (trimmed, no final `;`).
    public static func parse(_ text: String) throws(SQLInputError) -> SQLStatement {
        let statement = text.trimmingCharacters()
        var scanner = Scanner(statement)
        let first = scanner.word().uppercased()
        switch first {
        case "EXEC", "EXECUTE":
            let procedure = scanner.token()
            guard !procedure.isEmpty else {
                throw SQLInputError("\(first.lowercased()) needs a procedure name: exec PROCEDURE [arg, ...]")
            }
            return .exec(procedure: procedure, arguments: try SQLLiteral.parseList(scanner.rest))
        case "SHOW":
            let what = scanner.word().uppercased()
            guard scanner.rest.isEmpty else { throw SQLInputError("unexpected text after SHOW \(what): '\(scanner.rest)'") }
            switch what {
            case "TABLES": return .showTables
            case "PROCEDURES", "PROCS": return .showProcedures
            case "CLASSES": return .showClasses
            default: throw SQLInputError("SHOW needs TABLES, PROCEDURES or CLASSES, got '\(what)'")
            }
        case "DESCRIBE", "DESC":
            let table = scanner.token()
            guard !table.isEmpty, scanner.rest.isEmpty else { throw SQLInputError("describe needs one table name: describe TABLE") }
            return .describe(table: table)
        case "EXPLAIN":
            guard !scanner.rest.isEmpty else { throw SQLInputError("explain needs a SQL statement") }
            return .explain(String(scanner.rest))
        case "EXIT", "QUIT":
            if scanner.rest.isEmpty { return .quit }
            return .adHoc(statement, isDDL: false)
        default:
            return .adHoc(statement, isDDL: ddlKeywords.contains(first))
        }
    }

    /// Whether an interactive line is a directive that runs without a final `;` (sqlcmd runs
    /// `exit`, `quit`, `show …` and `describe …` as soon as they are typed).
    public static func isImmediateDirective(_ line: String) -> Bool {
        var scanner = Scanner(line.trimmingCharacters())
        switch scanner.word().uppercased() {
        case "EXIT", "QUIT": return scanner.rest.isEmpty || scanner.rest == ";"
        case "SHOW", "DESCRIBE", "DESC": return true
        default: return false
        }
    }
}

/// A statement the shell cannot send: a malformed directive or literal.
public struct SQLInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads words off the front of a statement.
struct Scanner {
    private(set) var rest: Substring

    init(_ text: String) { rest = text[...] }

    /// The next run of letters (a keyword); leaves the rest trimmed.
    mutating func word() -> String {
        let end = rest.firstIndex { !($0.isLetter || $0 == "_") } ?? rest.endIndex
        let w = String(rest[..<end])
        rest = rest[end...].drop { $0.isWhitespace }
        return w
    }

    /// The next run of characters up to blank space or a comma (a name such as `STORE.upsert`).
    mutating func token() -> String {
        let end = rest.firstIndex { $0.isWhitespace || $0 == "," } ?? rest.endIndex
        let t = String(rest[..<end])
        rest = rest[end...].drop { $0.isWhitespace }
        return t
    }
}
