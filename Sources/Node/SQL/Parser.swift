// Recursive-descent parser for one SQL statement (DDL or DML/query).
//
// Grammar notes:
// - Expression precedence, loosest first: OR, AND, NOT, comparison / IS / IN / BETWEEN / LIKE,
//   additive (+ - ||), multiplicative (* / %), unary sign, primary.
// - `?` parameters are numbered 0, 1, ... in order of appearance in the statement text.
// - Only inner joins are accepted (`FROM a, b` and `[INNER] JOIN ... ON`); LEFT/RIGHT/FULL joins and
//   subqueries are rejected with a clear message rather than half-supported.
// - `CREATE PROCEDURE name [PARTITION ON TABLE t COLUMN c [PARAMETER n]] [ALLOW roles] AS stmt` and
//   `... AS BEGIN stmt; ...; END`: the body is kept as statement texts, compiled by the catalog.
// - Errors read "unexpected token 'FORM' at line 1, column 10; expected FROM".

struct Parser {
    private let text: [UInt8]
    private let tokens: [SQLToken]
    private var index = 0
    private var parameterCount = 0

    init(_ sql: String) throws(SQLError) {
        text = Array(sql.utf8)
        tokens = try Lexer.tokenize(sql)
    }

    /// Parses exactly one statement; a trailing ';' is allowed.
    static func parse(_ sql: String) throws(SQLError) -> Statement {
        var p = try Parser(sql)
        let s = try p.parseStatement()
        p.skip(.symbol(";"))
        guard p.current.kind == .end else { throw p.unexpected(expected: "end of statement") }
        return s
    }

    /// Parses a statement and returns how many `?` it has.
    static func parseCountingParameters(_ sql: String) throws(SQLError) -> (Statement, Int) {
        var p = try Parser(sql)
        let s = try p.parseStatement()
        p.skip(.symbol(";"))
        guard p.current.kind == .end else { throw p.unexpected(expected: "end of statement") }
        return (s, p.parameterCount)
    }

    // MARK: token helpers

    private var current: SQLToken { tokens[index] }
    private var position: SourcePosition { current.position }

    private func peekKind(_ offset: Int = 1) -> TokenKind {
        index + offset < tokens.count ? tokens[index + offset].kind : .end
    }

    private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    private func isWord(_ w: String) -> Bool { current.kind == .word(w) }

    @discardableResult
    private mutating func skip(_ kind: TokenKind) -> Bool {
        if current.kind == kind { advance(); return true }
        return false
    }

    private mutating func skipWord(_ w: String) -> Bool { skip(.word(w)) }

    private func unexpected(expected: String) -> SQLError {
        let p = current.position
        let what = current.kind == .end ? "unexpected end of statement" : "unexpected token '\(current.display)'"
        return SQLError(.syntax, "\(what) at line \(p.line), column \(p.column); expected \(expected)", position: (p.line, p.column))
    }

    private func error(_ message: String, at p: SourcePosition) -> SQLError {
        SQLError(.syntax, "\(message) at line \(p.line), column \(p.column)", position: (p.line, p.column))
    }

    private mutating func expectWord(_ w: String) throws(SQLError) {
        guard skipWord(w) else { throw unexpected(expected: w) }
    }

    private mutating func expect(_ symbol: String) throws(SQLError) {
        guard skip(.symbol(symbol)) else { throw unexpected(expected: "'\(symbol)'") }
    }

    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "OFFSET", "JOIN", "INNER", "LEFT",
        "RIGHT", "FULL", "OUTER", "CROSS", "ON", "USING", "AS", "AND", "OR", "NOT", "UNION", "INTERSECT", "EXCEPT",
        "SET", "VALUES", "INTO", "ASC", "DESC", "IS", "IN", "BETWEEN", "LIKE", "ESCAPE", "NULL", "CASE", "WHEN",
        "THEN", "ELSE", "END", "DISTINCT", "ALL", "INSERT", "UPDATE", "DELETE", "UPSERT", "CREATE", "DROP",
        "TABLE", "INDEX", "PRIMARY", "KEY", "UNIQUE", "CONSTRAINT", "DEFAULT", "PARTITION", "PROCEDURE",
    ]

    /// An identifier: an unquoted non-reserved word (upper-cased) or a quoted identifier.
    private mutating func identifier(_ what: String) throws(SQLError) -> String {
        switch current.kind {
        case .word(let w) where !Parser.reserved.contains(w): advance(); return w
        case .quotedIdentifier(let w): advance(); return w
        default: throw unexpected(expected: what)
        }
    }

    /// Like `identifier` but also accepts reserved words (object names after a keyword that fixes them).
    private mutating func name(_ what: String) throws(SQLError) -> String {
        switch current.kind {
        case .word(let w), .quotedIdentifier(let w): advance(); return w
        default: throw unexpected(expected: what)
        }
    }

    private mutating func integerLiteral(_ what: String) throws(SQLError) -> Int {
        guard case .integer(let s) = current.kind, let v = Int(s) else { throw unexpected(expected: what) }
        advance()
        return v
    }

    // MARK: statements

    mutating func parseStatement() throws(SQLError) -> Statement {
        guard case .word(let w) = current.kind else { throw unexpected(expected: "a SQL statement") }
        switch w {
        case "SELECT": return .select(try parseSelect())
        case "INSERT", "UPSERT": return .insert(try parseInsert())
        case "UPDATE": return .update(try parseUpdate())
        case "DELETE": return .delete(try parseDelete())
        case "CREATE": return try parseCreate()
        case "DROP": return try parseDrop()
        case "PARTITION": return try parsePartitionTable()
        default: throw unexpected(expected: "a SQL statement")
        }
    }

    private mutating func parseSelect() throws(SQLError) -> SelectStatement {
        try expectWord("SELECT")
        var s = SelectStatement()
        if skipWord("TOP") {
            let p = position
            s.limit = Expr(.literal(.integer(Int64(try integerLiteral("a row count")))), p)
        }
        if skipWord("DISTINCT") { s.distinct = true } else { _ = skipWord("ALL") }
        repeat {
            let p = position
            if skip(.symbol("*")) {
                s.items.append(SelectItem(kind: .star(table: nil), position: p))
                continue
            }
            if case .word(let w) = current.kind, !Parser.reserved.contains(w), peekKind() == .symbol("."), peekKind(2) == .symbol("*") {
                advance(); advance(); advance()
                s.items.append(SelectItem(kind: .star(table: w), position: p))
                continue
            }
            if case .quotedIdentifier(let w) = current.kind, peekKind() == .symbol("."), peekKind(2) == .symbol("*") {
                advance(); advance(); advance()
                s.items.append(SelectItem(kind: .star(table: w), position: p))
                continue
            }
            let e = try parseExpr()
            var alias: String?
            if skipWord("AS") { alias = try name("a column alias") }
            else if isImplicitAlias, case .word(let w) = current.kind { alias = w; advance() }
            else if isImplicitAlias, case .quotedIdentifier(let w) = current.kind { alias = w; advance() }
            s.items.append(SelectItem(kind: .expr(e, alias: alias), position: p))
        } while skip(.symbol(","))
        try expectWord("FROM")
        s.from.append(try parseTableRef())
        while true {
            if skip(.symbol(",")) { s.from.append(try parseTableRef()); continue }
            if isWord("LEFT") || isWord("RIGHT") || isWord("FULL") || isWord("CROSS") {
                throw error("\(current.display) joins are not supported; only inner joins are", at: position)
            }
            if isWord("INNER") || isWord("JOIN") {
                _ = skipWord("INNER")
                try expectWord("JOIN")
                s.from.append(try parseTableRef())
                try expectWord("ON")
                s.joinConditions.append(try parseExpr())
                continue
            }
            break
        }
        if skipWord("WHERE") { s.whereClause = try parseExpr() }
        if skipWord("GROUP") {
            try expectWord("BY")
            repeat { s.groupBy.append(try parseExpr()) } while skip(.symbol(","))
        }
        if skipWord("HAVING") { s.having = try parseExpr() }
        if skipWord("ORDER") {
            try expectWord("BY")
            repeat {
                let e = try parseExpr()
                var desc = false
                if skipWord("DESC") { desc = true } else { _ = skipWord("ASC") }
                s.orderBy.append(OrderItem(expr: e, descending: desc))
            } while skip(.symbol(","))
        }
        if skipWord("LIMIT") { s.limit = try parseLimitValue() }
        if skipWord("OFFSET") { s.offset = try parseLimitValue() }
        if isWord("UNION") || isWord("INTERSECT") || isWord("EXCEPT") {
            throw error("\(current.display) is not supported", at: position)
        }
        return s
    }

    /// A select-list alias without AS must be followed by ',' or FROM; otherwise a misspelt keyword
    /// (`SELECT a FORM t`) would silently become an alias and the error would point past it.
    private var isImplicitAlias: Bool {
        switch current.kind {
        case .word(let w) where Parser.reserved.contains(w): return false
        case .word, .quotedIdentifier:
            let next = peekKind()
            return next == .symbol(",") || next == .word("FROM")
        default: return false
        }
    }

    private mutating func parseLimitValue() throws(SQLError) -> Expr {
        let p = position
        if skip(.parameter) {
            defer { parameterCount += 1 }
            return Expr(.parameter(parameterCount), p)
        }
        return Expr(.literal(.integer(Int64(try integerLiteral("a row count")))), p)
    }

    private mutating func parseTableRef() throws(SQLError) -> TableRef {
        let p = position
        if current.kind == .symbol("(") { throw error("subqueries in FROM are not supported", at: p) }
        let name = try identifier("a table name")
        var alias: String?
        if skipWord("AS") { alias = try identifier("a table alias") }
        else if case .word(let w) = current.kind, !Parser.reserved.contains(w) { alias = w; advance() }
        else if case .quotedIdentifier(let w) = current.kind { alias = w; advance() }
        return TableRef(name: name, alias: alias, position: p)
    }

    private mutating func parseColumnList() throws(SQLError) -> [(String, SourcePosition)] {
        try expect("(")
        var cols: [(String, SourcePosition)] = []
        repeat {
            let p = position
            cols.append((try name("a column name"), p))
        } while skip(.symbol(","))
        try expect(")")
        return cols
    }

    private mutating func parseInsert() throws(SQLError) -> InsertStatement {
        let upsert = isWord("UPSERT")
        advance()
        try expectWord("INTO")
        let table = try parseTableRef()
        var columns: [(String, SourcePosition)]?
        if current.kind == .symbol("(") { columns = try parseColumnList() }
        if isWord("SELECT") {
            return InsertStatement(upsert: upsert, table: table, columns: columns, rows: [], select: try parseSelect())
        }
        try expectWord("VALUES")
        var rows: [[Expr]] = []
        repeat {
            try expect("(")
            var row: [Expr] = []
            repeat { row.append(try parseExpr()) } while skip(.symbol(","))
            try expect(")")
            rows.append(row)
        } while skip(.symbol(","))
        return InsertStatement(upsert: upsert, table: table, columns: columns, rows: rows, select: nil)
    }

    private mutating func parseUpdate() throws(SQLError) -> UpdateStatement {
        try expectWord("UPDATE")
        let table = try parseTableRef()
        try expectWord("SET")
        var assignments: [(column: String, position: SourcePosition, value: Expr)] = []
        repeat {
            let p = position
            var column = try name("a column name")
            if skip(.symbol(".")) { column = try name("a column name") }
            try expect("=")
            assignments.append((column, p, try parseExpr()))
        } while skip(.symbol(","))
        var whereClause: Expr?
        if skipWord("WHERE") { whereClause = try parseExpr() }
        return UpdateStatement(table: table, assignments: assignments, whereClause: whereClause)
    }

    private mutating func parseDelete() throws(SQLError) -> DeleteStatement {
        try expectWord("DELETE")
        try expectWord("FROM")
        let table = try parseTableRef()
        var whereClause: Expr?
        if skipWord("WHERE") { whereClause = try parseExpr() }
        return DeleteStatement(table: table, whereClause: whereClause)
    }

    // MARK: DDL

    private mutating func parseCreate() throws(SQLError) -> Statement {
        let start = position
        try expectWord("CREATE")
        if skipWord("TABLE") { return .createTable(try parseCreateTable(start)) }
        var unique = false
        var assumeUnique = false
        if skipWord("UNIQUE") { unique = true } else if skipWord("ASSUMEUNIQUE") { unique = true; assumeUnique = true }
        if skipWord("INDEX") {
            let name = try self.name("an index name")
            try expectWord("ON")
            let table = try identifier("a table name")
            let columns = try parseColumnList()
            return .createIndex(name: name, table: table, columns: columns, unique: unique, assumeUnique: assumeUnique, position: start)
        }
        if unique { throw unexpected(expected: "INDEX") }
        if skipWord("PROCEDURE") { return .createProcedure(try parseCreateProcedure(start)) }
        throw unexpected(expected: "TABLE, INDEX or PROCEDURE")
    }

    private mutating func parseType() throws(SQLError) -> TypeName {
        let p = position
        guard case .word(let w) = current.kind else { throw unexpected(expected: "a column type") }
        guard let type = SQLType(sqlName: w), w != "STRING" else { throw error("unknown column type '\(w)'", at: p) }
        advance()
        var t = TypeName(type: type, length: nil, inBytes: false)
        switch type {
        case .varchar, .varbinary:
            if skip(.symbol("(")) {
                t.length = try integerLiteral("a length")
                if type == .varchar, skipWord("BYTES") { t.inBytes = true }
                try expect(")")
            }
        case .decimal:
            if skip(.symbol("(")) {
                _ = try integerLiteral("a precision")
                if skip(.symbol(",")) { _ = try integerLiteral("a scale") }
                try expect(")")
            }
        case .float:
            if w == "DOUBLE" { _ = skipWord("PRECISION") }
        default: break
        }
        return t
    }

    private mutating func parseCreateTable(_ start: SourcePosition) throws(SQLError) -> CreateTableStatement {
        let name = try identifier("a table name")
        var stmt = CreateTableStatement(name: name, columns: [], constraints: [], limitPartitionRows: nil, position: start)
        try expect("(")
        repeat {
            let p = position
            if isWord("CONSTRAINT") || isWord("PRIMARY") || isWord("UNIQUE") || isWord("ASSUMEUNIQUE") {
                var cname: String?
                if skipWord("CONSTRAINT") { cname = try self.name("a constraint name") }
                if skipWord("PRIMARY") {
                    try expectWord("KEY")
                    stmt.constraints.append(ConstraintSpec(name: cname, primaryKey: true, columns: try parseColumnList(), position: p))
                } else if isWord("UNIQUE") || isWord("ASSUMEUNIQUE") {
                    let assume = isWord("ASSUMEUNIQUE")
                    advance()
                    stmt.constraints.append(ConstraintSpec(name: cname, primaryKey: false, assumeUnique: assume, columns: try parseColumnList(), position: p))
                } else if skipWord("LIMIT") {
                    stmt.limitPartitionRows = try parseLimitPartitionRows()
                } else {
                    throw unexpected(expected: "PRIMARY KEY or UNIQUE")
                }
                continue
            }
            if skipWord("LIMIT") { stmt.limitPartitionRows = try parseLimitPartitionRows(); continue }
            let cname = try self.name("a column name")
            var col = ColumnSpec(name: cname, type: try parseType(), notNull: false, defaultValue: nil,
                                 primaryKey: false, unique: false, position: p)
            while true {
                if skipWord("NOT") { try expectWord("NULL"); col.notNull = true }
                else if skipWord("NULL") { col.notNull = false }
                else if skipWord("DEFAULT") { col.defaultValue = try parseUnary() }
                else if skipWord("PRIMARY") { try expectWord("KEY"); col.primaryKey = true }
                else if skipWord("UNIQUE") { col.unique = true }
                else if skipWord("ASSUMEUNIQUE") { col.unique = true; col.assumeUnique = true }
                else { break }
            }
            stmt.columns.append(col)
        } while skip(.symbol(","))
        try expect(")")
        if skipWord("LIMIT") { stmt.limitPartitionRows = try parseLimitPartitionRows() }
        return stmt
    }

    private mutating func parseLimitPartitionRows() throws(SQLError) -> Int {
        try expectWord("PARTITION")
        try expectWord("ROWS")
        return try integerLiteral("a row count")
    }

    private mutating func parseDrop() throws(SQLError) -> Statement {
        let start = position
        try expectWord("DROP")
        let kind: String
        if skipWord("TABLE") { kind = "TABLE" }
        else if skipWord("INDEX") { kind = "INDEX" }
        else if skipWord("PROCEDURE") { kind = "PROCEDURE" }
        else { throw unexpected(expected: "TABLE, INDEX or PROCEDURE") }
        var ifExists = false
        if skipWord("IF") { try expectWord("EXISTS"); ifExists = true }
        let name = try self.name("a \(kind.lowercased()) name")
        if skipWord("IF") { try expectWord("EXISTS"); ifExists = true }
        var cascade = false
        if kind == "TABLE", skipWord("CASCADE") { cascade = true }
        switch kind {
        case "TABLE": return .dropTable(name: name, ifExists: ifExists, cascade: cascade, position: start)
        case "INDEX": return .dropIndex(name: name, ifExists: ifExists, position: start)
        default: return .dropProcedure(name: name, ifExists: ifExists, position: start)
        }
    }

    private mutating func parsePartitionTable() throws(SQLError) -> Statement {
        let start = position
        try expectWord("PARTITION")
        try expectWord("TABLE")
        let table = try identifier("a table name")
        try expectWord("ON")
        try expectWord("COLUMN")
        let column = try name("a column name")
        return .partitionTable(table: table, column: column, position: start)
    }

    private mutating func parsePartitionOn() throws(SQLError) -> ProcedurePartitionSpec {
        let p = position
        try expectWord("PARTITION")
        try expectWord("ON")
        try expectWord("TABLE")
        let table = try identifier("a table name")
        try expectWord("COLUMN")
        let column = try name("a column name")
        var parameter: Int?
        if skipWord("PARAMETER") { parameter = try integerLiteral("a parameter index") }
        return ProcedurePartitionSpec(table: table, column: column, parameter: parameter, position: p)
    }

    private mutating func parseCreateProcedure(_ start: SourcePosition) throws(SQLError) -> CreateProcedureStatement {
        // Procedure names keep their spelling (callers name them case-sensitively on the wire);
        // lookups are case-insensitive.
        let rawName = slice(current.start, current.end)
        let name = try self.name("a procedure name")
        _ = name
        var partition: ProcedurePartitionSpec?
        if isWord("PARTITION") { partition = try parsePartitionOn() }
        if skipWord("ALLOW") {
            repeat { _ = try self.name("a role name") } while skip(.symbol(","))
        }
        if partition == nil, isWord("PARTITION") { partition = try parsePartitionOn() }
        if isWord("FROM") { throw error("CREATE PROCEDURE FROM CLASS is not supported; use AS with SQL", at: position) }
        try expectWord("AS")
        var body: [String] = []
        if isWord("BEGIN") {
            advance()
            var stmtStart = current.start
            var caseDepth = 0
            while true {
                switch current.kind {
                case .end: throw unexpected(expected: "END")
                case .word("CASE"): caseDepth += 1; advance()
                case .word("END") where caseDepth > 0: caseDepth -= 1; advance()
                case .word("END"):
                    let last = slice(stmtStart, current.start)
                    if !last.isEmpty { body.append(last) }
                    advance()
                    skip(.symbol(";"))
                    guard current.kind == .end else { throw unexpected(expected: "end of statement") }
                    guard !body.isEmpty else { throw error("procedure \(rawName) has no statements", at: start) }
                    return CreateProcedureStatement(name: rawName.replacingQuotes, partition: partition, body: body, position: start)
                case .symbol(";"):
                    let s = slice(stmtStart, current.start)
                    if !s.isEmpty { body.append(s) }
                    advance()
                    stmtStart = current.start
                default: advance()
                }
            }
        }
        let bodyStart = current.start
        var end = text.count
        // Drop a trailing ';' and whitespace.
        while end > bodyStart, text[end - 1] == UInt8(ascii: ";") || text[end - 1] == 0x20 || text[end - 1] == 0x0A || text[end - 1] == 0x09 || text[end - 1] == 0x0D { end -= 1 }
        let s = slice(bodyStart, end)
        guard !s.isEmpty else { throw unexpected(expected: "a SQL statement") }
        while current.kind != .end { advance() }
        return CreateProcedureStatement(name: rawName.replacingQuotes, partition: partition, body: [s], position: start)
    }

    fileprivate func slice(_ from: Int, _ to: Int) -> String {
        String(decoding: text[from..<max(from, to)], as: UTF8.self).sqlTrimmed
    }

    // MARK: expressions

    mutating func parseExpr() throws(SQLError) -> Expr { try parseOr() }

    private mutating func parseOr() throws(SQLError) -> Expr {
        var e = try parseAnd()
        while isWord("OR") {
            let p = position
            advance()
            e = Expr(.binary("OR", e, try parseAnd()), p)
        }
        return e
    }

    private mutating func parseAnd() throws(SQLError) -> Expr {
        var e = try parseNot()
        while isWord("AND") {
            let p = position
            advance()
            e = Expr(.binary("AND", e, try parseNot()), p)
        }
        return e
    }

    private mutating func parseNot() throws(SQLError) -> Expr {
        if isWord("NOT") {
            let p = position
            advance()
            return Expr(.unary("NOT", try parseNot()), p)
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(SQLError) -> Expr {
        let e = try parseAdditive()
        let p = position
        if case .symbol(let s) = current.kind, ["=", "<>", "!=", "<", "<=", ">", ">="].contains(s) {
            advance()
            return Expr(.binary(s == "!=" ? "<>" : s, e, try parseAdditive()), p)
        }
        if skipWord("IS") {
            let negated = skipWord("NOT")
            if skipWord("DISTINCT") {
                try expectWord("FROM")
                let other = try parseAdditive()
                return Expr(.binary(negated ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM", e, other), p)
            }
            try expectWord("NULL")
            return Expr(.isNull(e, negated: negated), p)
        }
        var negated = false
        if isWord("NOT"), case .word(let next) = peekKind(), ["IN", "BETWEEN", "LIKE"].contains(next) {
            advance()
            negated = true
        }
        if skipWord("IN") {
            try expect("(")
            if isWord("SELECT") { throw error("subqueries are not supported", at: position) }
            var list: [Expr] = []
            repeat { list.append(try parseExpr()) } while skip(.symbol(","))
            try expect(")")
            return Expr(.inList(e, list, negated: negated), p)
        }
        if skipWord("BETWEEN") {
            let lo = try parseAdditive()
            try expectWord("AND")
            let hi = try parseAdditive()
            return Expr(.between(e, lo, hi, negated: negated), p)
        }
        if skipWord("LIKE") {
            let pattern = try parseAdditive()
            var escape: Expr?
            if skipWord("ESCAPE") { escape = try parseAdditive() }
            return Expr(.like(e, pattern, escape: escape, negated: negated), p)
        }
        if skipWord("STARTS") {
            try expectWord("WITH")
            let prefix = try parseAdditive()
            return Expr(.function(name: "STARTS_WITH", args: [e, prefix], distinct: false, star: false), p)
        }
        return e
    }

    private mutating func parseAdditive() throws(SQLError) -> Expr {
        var e = try parseMultiplicative()
        while case .symbol(let s) = current.kind, s == "+" || s == "-" || s == "||" {
            let p = position
            advance()
            e = Expr(.binary(s, e, try parseMultiplicative()), p)
        }
        return e
    }

    private mutating func parseMultiplicative() throws(SQLError) -> Expr {
        var e = try parseUnary()
        while case .symbol(let s) = current.kind, s == "*" || s == "/" || s == "%" {
            let p = position
            advance()
            e = Expr(.binary(s, e, try parseUnary()), p)
        }
        return e
    }

    private mutating func parseUnary() throws(SQLError) -> Expr {
        let p = position
        if skip(.symbol("-")) {
            let operand = try parseUnary()
            // Fold signs into numeric literals so that BIGINT's minimum can be written.
            switch operand.kind {
            case .literal(.integer(let v)) where v != Int64.min: return Expr(.literal(.integer(-v)), p)
            case .literal(.decimal(let d)): return Expr(.literal(.decimal(VoltDecimal(unscaled: -d.unscaled))), p)
            case .literal(.float(let d)): return Expr(.literal(.float(-d)), p)
            default: return Expr(.unary("-", operand), p)
            }
        }
        if skip(.symbol("+")) { return try parseUnary() }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(SQLError) -> Expr {
        let p = position
        switch current.kind {
        case .integer(let s):
            advance()
            if let v = Int64(s) { return Expr(.literal(.integer(v)), p) }
            if let d = VoltDecimal(string: s) { return Expr(.literal(.decimal(d)), p) }
            throw error("numeric literal \(s) is out of range", at: p)
        case .decimal(let s):
            advance()
            guard let d = VoltDecimal(string: s) else { throw error("numeric literal \(s) is out of range", at: p) }
            return Expr(.literal(.decimal(d)), p)
        case .float(let s):
            advance()
            guard let d = Double(s) else { throw error("numeric literal \(s) is out of range", at: p) }
            return Expr(.literal(.float(d)), p)
        case .string(let s):
            advance()
            return Expr(.literal(.string(s)), p)
        case .binary(let b):
            advance()
            return Expr(.literal(.bytes(b)), p)
        case .parameter:
            advance()
            defer { parameterCount += 1 }
            return Expr(.parameter(parameterCount), p)
        case .symbol("("):
            advance()
            if isWord("SELECT") { throw error("subqueries are not supported", at: position) }
            let e = try parseExpr()
            try expect(")")
            return e
        case .quotedIdentifier(let w):
            advance()
            return try parseColumnRest(w, p)
        case .word(let w):
            return try parseWordPrimary(w, p)
        default:
            throw unexpected(expected: "an expression")
        }
    }

    private mutating func parseColumnRest(_ first: String, _ p: SourcePosition) throws(SQLError) -> Expr {
        if skip(.symbol(".")) {
            let column = try name("a column name")
            return Expr(.column(table: first, name: column), p)
        }
        return Expr(.column(table: nil, name: first), p)
    }

    private mutating func parseWordPrimary(_ w: String, _ p: SourcePosition) throws(SQLError) -> Expr {
        switch w {
        case "NULL":
            advance()
            return Expr(.literal(.null), p)
        case "CASE":
            advance()
            var base: Expr?
            if !isWord("WHEN") { base = try parseExpr() }
            var whens: [(Expr, Expr)] = []
            while skipWord("WHEN") {
                let cond = try parseExpr()
                try expectWord("THEN")
                whens.append((cond, try parseExpr()))
            }
            guard !whens.isEmpty else { throw unexpected(expected: "WHEN") }
            var otherwise: Expr?
            if skipWord("ELSE") { otherwise = try parseExpr() }
            try expectWord("END")
            return Expr(.caseWhen(base: base, whens: whens, otherwise: otherwise), p)
        case "CAST":
            advance()
            try expect("(")
            let e = try parseExpr()
            try expectWord("AS")
            let t = try parseType()
            try expect(")")
            return Expr(.cast(e, t), p)
        case "CURRENT_TIMESTAMP" where peekKind() != .symbol("("), "NOW" where peekKind() != .symbol("("):
            advance()
            return Expr(.function(name: "NOW", args: [], distinct: false, star: false), p)
        case "EXTRACT" where peekKind() == .symbol("("):
            advance(); advance()
            let field = try name("a date part")
            try expectWord("FROM")
            let e = try parseExpr()
            try expect(")")
            return Expr(.function(name: "EXTRACT", args: [Expr(.column(table: nil, name: field), p), e], distinct: false, star: false), p)
        case "POSITION" where peekKind() == .symbol("("):
            advance(); advance()
            let needle = try parseAdditive()
            try expectWord("IN")
            let hay = try parseExpr()
            try expect(")")
            return Expr(.function(name: "POSITION", args: [needle, hay], distinct: false, star: false), p)
        case "SUBSTRING" where peekKind() == .symbol("("):
            advance(); advance()
            let s = try parseExpr()
            var args = [s]
            if skipWord("FROM") {
                args.append(try parseExpr())
                if skipWord("FOR") { args.append(try parseExpr()) }
            } else {
                while skip(.symbol(",")) { args.append(try parseExpr()) }
            }
            try expect(")")
            return Expr(.function(name: "SUBSTRING", args: args, distinct: false, star: false), p)
        case "TRIM" where peekKind() == .symbol("("):
            advance(); advance()
            var mode = "BOTH"
            var explicitMode = false
            if isWord("LEADING") || isWord("TRAILING") || isWord("BOTH") {
                if case .word(let m) = current.kind { mode = m }
                advance()
                explicitMode = true
            }
            var chars: Expr?
            var source: Expr
            if explicitMode && skipWord("FROM") {
                source = try parseExpr()
            } else {
                let first = try parseExpr()
                if skipWord("FROM") { chars = first; source = try parseExpr() } else { source = first }
            }
            try expect(")")
            let charsExpr = chars ?? Expr(.literal(.string(" ")), p)
            return Expr(.function(name: "TRIM_\(mode)", args: [charsExpr, source], distinct: false, star: false), p)
        default:
            break
        }
        advance()
        if current.kind == .symbol("(") {
            advance()
            if skip(.symbol("*")) {
                try expect(")")
                return Expr(.function(name: w, args: [], distinct: false, star: true), p)
            }
            var distinct = false
            if skipWord("DISTINCT") { distinct = true } else { _ = skipWord("ALL") }
            var args: [Expr] = []
            if current.kind != .symbol(")") {
                repeat { args.append(try parseExpr()) } while skip(.symbol(","))
            }
            try expect(")")
            return Expr(.function(name: w, args: args, distinct: distinct, star: false), p)
        }
        if Parser.reserved.contains(w) {
            index -= 1
            throw unexpected(expected: "an expression")
        }
        return try parseColumnRest(w, p)
    }
}

extension String {
    /// A quoted identifier's text without its quotes.
    fileprivate var replacingQuotes: String {
        guard hasPrefix("\""), hasSuffix("\""), count >= 2 else { return self }
        return String(dropFirst().dropLast())
    }
}
