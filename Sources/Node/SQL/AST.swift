// The syntax tree the parser produces and the planner consumes. Identifiers are already
// upper-cased (unless quoted); every expression carries the position of its first token so that
// planning errors can point at the text. `Expr.key` is a canonical rendering used to match an
// expression in the select list against the same expression in GROUP BY (position-insensitive).

struct Expr: Sendable, CustomStringConvertible {
    indirect enum Kind: Sendable {
        case literal(Value)
        case parameter(Int)
        case column(table: String?, name: String)
        case unary(String, Expr)                        // "-", "+", "NOT"
        case binary(String, Expr, Expr)                 // arithmetic, comparison, AND, OR, ||
        case isNull(Expr, negated: Bool)
        case inList(Expr, [Expr], negated: Bool)
        case between(Expr, Expr, Expr, negated: Bool)
        case like(Expr, Expr, escape: Expr?, negated: Bool)
        case caseWhen(base: Expr?, whens: [(Expr, Expr)], otherwise: Expr?)
        case cast(Expr, TypeName)
        case function(name: String, args: [Expr], distinct: Bool, star: Bool)
    }

    var kind: Kind
    var position: SourcePosition

    init(_ kind: Kind, _ position: SourcePosition) { self.kind = kind; self.position = position }

    var key: String { description }

    var description: String {
        switch kind {
        case .literal(let v):
            if case .string(let s) = v { return "'\(s)'" }
            if case .bytes = v { return "X'\(v)'" }
            return v.description
        case .parameter(let i): return "?\(i)"
        case .column(let t, let n): return t.map { "\($0).\(n)" } ?? n
        case .unary(let op, let e): return "(\(op) \(e))"
        case .binary(let op, let a, let b): return "(\(a) \(op) \(b))"
        case .isNull(let e, let n): return "(\(e) IS \(n ? "NOT " : "")NULL)"
        case .inList(let e, let l, let n): return "(\(e) \(n ? "NOT " : "")IN (\(l.map(\.description).joined(separator: ", "))))"
        case .between(let e, let a, let b, let n): return "(\(e) \(n ? "NOT " : "")BETWEEN \(a) AND \(b))"
        case .like(let e, let p, let esc, let n): return "(\(e) \(n ? "NOT " : "")LIKE \(p)\(esc.map { " ESCAPE \($0)" } ?? ""))"
        case .caseWhen(let base, let whens, let otherwise):
            var s = "CASE"
            if let base { s += " \(base)" }
            for (w, t) in whens { s += " WHEN \(w) THEN \(t)" }
            if let otherwise { s += " ELSE \(otherwise)" }
            return s + " END"
        case .cast(let e, let t): return "CAST(\(e) AS \(t.type))"
        case .function(let name, let args, let distinct, let star):
            if star { return "\(name)(*)" }
            return "\(name)(\(distinct ? "DISTINCT " : "")\(args.map(\.description).joined(separator: ", ")))"
        }
    }

    /// Calls `body` on this expression and every sub-expression, parents first.
    func walk(_ body: (Expr) -> Void) {
        body(self)
        switch kind {
        case .literal, .parameter, .column: break
        case .unary(_, let e), .isNull(let e, _), .cast(let e, _): e.walk(body)
        case .binary(_, let a, let b): a.walk(body); b.walk(body)
        case .inList(let e, let l, _): e.walk(body); l.forEach { $0.walk(body) }
        case .between(let e, let a, let b, _): e.walk(body); a.walk(body); b.walk(body)
        case .like(let e, let p, let esc, _): e.walk(body); p.walk(body); esc?.walk(body)
        case .caseWhen(let base, let whens, let otherwise):
            base?.walk(body)
            for (w, t) in whens { w.walk(body); t.walk(body) }
            otherwise?.walk(body)
        case .function(_, let args, _, _): args.forEach { $0.walk(body) }
        }
    }

    static let aggregateNames: Set<String> = ["COUNT", "SUM", "MIN", "MAX", "AVG"]

    var isAggregate: Bool {
        if case .function(let name, _, _, _) = kind, Expr.aggregateNames.contains(name) { return true }
        return false
    }

    var containsAggregate: Bool {
        var found = false
        walk { if $0.isAggregate { found = true } }
        return found
    }

    /// Splits a conjunction into its terms.
    var conjuncts: [Expr] {
        if case .binary("AND", let a, let b) = kind { return a.conjuncts + b.conjuncts }
        return [self]
    }
}

struct TypeName: Sendable {
    var type: SQLType
    var length: Int?
    var inBytes: Bool
}

struct TableRef: Sendable {
    var name: String
    var alias: String?
    var position: SourcePosition
    var exposedName: String { alias ?? name }
}

struct SelectItem: Sendable {
    enum Kind: Sendable {
        case star(table: String?)
        case expr(Expr, alias: String?)
    }
    var kind: Kind
    var position: SourcePosition
}

struct OrderItem: Sendable {
    var expr: Expr
    var descending: Bool
}

struct SelectStatement: Sendable {
    var distinct = false
    var items: [SelectItem] = []
    var from: [TableRef] = []
    var joinConditions: [Expr] = []       // ON conditions of inner joins, ANDed into WHERE
    var whereClause: Expr?
    var groupBy: [Expr] = []
    var having: Expr?
    var orderBy: [OrderItem] = []
    var limit: Expr?
    var offset: Expr?
}

struct InsertStatement: Sendable {
    var upsert: Bool
    var table: TableRef
    var columns: [(String, SourcePosition)]?
    var rows: [[Expr]]
    var select: SelectStatement?
}

struct UpdateStatement: Sendable {
    var table: TableRef
    var assignments: [(column: String, position: SourcePosition, value: Expr)]
    var whereClause: Expr?
}

struct DeleteStatement: Sendable {
    var table: TableRef
    var whereClause: Expr?
}

struct ColumnSpec: Sendable {
    var name: String
    var type: TypeName
    var notNull: Bool
    var defaultValue: Expr?
    var primaryKey: Bool
    var unique: Bool
    var assumeUnique = false
    var position: SourcePosition
}

struct ConstraintSpec: Sendable {
    var name: String?
    var primaryKey: Bool                 // false: UNIQUE
    var assumeUnique = false
    var columns: [(String, SourcePosition)]
    var position: SourcePosition
}

struct CreateTableStatement: Sendable {
    var name: String
    var columns: [ColumnSpec]
    var constraints: [ConstraintSpec]
    var limitPartitionRows: Int?
    var position: SourcePosition
}

struct ProcedurePartitionSpec: Sendable {
    var table: String
    var column: String
    var parameter: Int?
    var position: SourcePosition
}

struct CreateProcedureStatement: Sendable {
    var name: String
    var partition: ProcedurePartitionSpec?
    var body: [String]                   // statement texts, in order
    var position: SourcePosition
}

enum Statement: Sendable {
    case select(SelectStatement)
    case insert(InsertStatement)
    case update(UpdateStatement)
    case delete(DeleteStatement)
    case createTable(CreateTableStatement)
    case createIndex(name: String, table: String, columns: [(String, SourcePosition)], unique: Bool, assumeUnique: Bool, position: SourcePosition)
    case dropTable(name: String, ifExists: Bool, cascade: Bool, position: SourcePosition)
    case dropIndex(name: String, ifExists: Bool, position: SourcePosition)
    case dropProcedure(name: String, ifExists: Bool, position: SourcePosition)
    case partitionTable(table: String, column: String, position: SourcePosition)
    case createProcedure(CreateProcedureStatement)
}
