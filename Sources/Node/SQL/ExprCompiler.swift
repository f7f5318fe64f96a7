// Compiles AST expressions into closures over a row of values.
//
// A row is the concatenation of the columns of every table in the FROM list (in FROM order); the
// `Scope` maps `t.c` / `c` to a slot once, at compile time, so evaluation never looks a name up.
// Static types are inferred where known (column types, literal types, VoltDB's arithmetic
// promotion) and used for: result column types, converting literals to the type they are compared
// with (a string literal against a TIMESTAMP column), rejecting comparisons of unrelated types at
// compile time, and inferring the type of each `?` parameter from what it is compared with or
// assigned to. Parameters are converted to that type once per invocation, not per row; integer
// parameters compared with an integer column are widened to BIGINT so that an out-of-range value
// compares unequal instead of failing.
//
// In the aggregate phase a `substitute` hook maps GROUP BY expressions and aggregate calls to the
// slots of the aggregated row; a bare column that is neither is an error, as in VoltDB.

struct EvalEnv: Sendable {
    let params: [Value]
    let context: ExecutionContext
}

typealias Eval = @Sendable (_ row: [Value], _ env: EvalEnv) throws(SQLError) -> Value

struct CompiledExpr: Sendable {
    var eval: Eval
    var type: SQLType?
    var isBoolean = false
    var constant: Value?
    var parameter: Int?
    var slot: Int?                    // a bare column reference
    var varcharLength: Int?

    static func constant(_ v: Value, _ type: SQLType?) -> CompiledExpr {
        CompiledExpr(eval: { _, _ in v }, type: type, constant: v)
    }

    static func slot(_ i: Int, _ type: SQLType?) -> CompiledExpr {
        CompiledExpr(eval: { row, _ in row[i] }, type: type, slot: i)
    }
}

/// The tables visible to an expression and where their columns sit in the row.
struct Scope: Sendable {
    struct Entry: Sendable {
        let exposedName: String
        let table: TableDefinition
        let offset: Int
    }

    var entries: [Entry] = []
    var width: Int { entries.last.map { $0.offset + $0.table.columns.count } ?? 0 }

    mutating func add(_ table: TableDefinition, as exposedName: String) {
        entries.append(Entry(exposedName: exposedName, table: table, offset: width))
    }

    struct Resolved { let slot: Int; let entry: Int; let column: Int; let definition: ColumnDefinition }

    /// The column if it resolves unambiguously, else nil (no error).
    func lookup(_ table: String?, _ name: String) -> Resolved? {
        var found: Resolved?
        for (ei, e) in entries.enumerated() {
            if let table, table != e.exposedName { continue }
            if let ci = e.table.columnIndex(named: name) {
                if found != nil { return nil }
                found = Resolved(slot: e.offset + ci, entry: ei, column: ci, definition: e.table.columns[ci])
            }
        }
        return found
    }

    func resolve(_ table: String?, _ name: String, at p: SourcePosition) throws(SQLError) -> Resolved {
        var found: Resolved?
        for (ei, e) in entries.enumerated() {
            if let table, table != e.exposedName { continue }
            if let ci = e.table.columnIndex(named: name) {
                if found != nil {
                    throw SQLError(.planning, "Column \(name) is ambiguous at line \(p.line), column \(p.column); qualify it with a table name", position: (p.line, p.column))
                }
                found = Resolved(slot: e.offset + ci, entry: ei, column: ci, definition: e.table.columns[ci])
            }
        }
        guard let found else {
            if let table, !entries.contains(where: { $0.exposedName == table }) {
                throw SQLError(.unknownTable, "Object not found: \(table) at line \(p.line), column \(p.column)", position: (p.line, p.column))
            }
            let qualified = table.map { "\($0).\(name)" } ?? name
            throw SQLError(.unknownColumn, "Column \(qualified) not found at line \(p.line), column \(p.column)", position: (p.line, p.column))
        }
        return found
    }
}

/// Collects the inferred type of each parameter across the statements of a procedure.
final class ParameterTypes {
    var types: [Int: SQLType] = [:]
    var offset = 0

    func note(_ index: Int, _ type: SQLType?) {
        guard let type, types[index + offset] == nil else { return }
        types[index + offset] = type
    }
}

enum TypeClass { case number, string, bytes, timestamp }

extension SQLType {
    var typeClass: TypeClass {
        switch self {
        case .tinyint, .smallint, .integer, .bigint, .float, .decimal: .number
        case .varchar: .string
        case .varbinary: .bytes
        case .timestamp: .timestamp
        }
    }

    /// The type a parameter compared with this type is converted to.
    var comparisonType: SQLType { isInteger ? .bigint : self }
}

struct ExprCompiler {
    var scope: Scope
    let parameters: ParameterTypes
    /// Pre-empts compilation of a (sub)expression: GROUP BY keys and aggregates in the aggregate phase.
    var substitute: ((Expr) throws(SQLError) -> CompiledExpr?)?
    /// Set in the aggregate phase: a column that the hook did not substitute is an error.
    var columnsNeedGrouping = false

    init(scope: Scope, parameters: ParameterTypes) {
        self.scope = scope
        self.parameters = parameters
    }

    func error(_ kind: SQLError.Kind, _ message: String, _ p: SourcePosition) -> SQLError {
        SQLError(kind, "\(message) at line \(p.line), column \(p.column)", position: (p.line, p.column))
    }

    func compile(_ e: Expr, hint: SQLType? = nil) throws(SQLError) -> CompiledExpr {
        if let substitute, let s = try substitute(e) { return s }
        switch e.kind {
        case .literal(let v):
            return .constant(v, SQLValues.literalType(v))
        case .parameter(let i):
            parameters.note(i, hint)
            var c = CompiledExpr(eval: { _, env in env.params[i] }, type: hint, parameter: i)
            c.parameter = i
            return c
        case .column(let table, let name):
            if columnsNeedGrouping {
                let shown = table.map { "\($0).\(name)" } ?? name
                throw error(.planning, "Column \(shown) must appear in the GROUP BY clause or be used in an aggregate function", e.position)
            }
            let r = try scope.resolve(table, name, at: e.position)
            var c = CompiledExpr.slot(r.slot, r.definition.type)
            c.varcharLength = r.definition.maxLength
            return c
        case .unary(let op, let operand):
            let a = try compile(operand, hint: op == "NOT" ? nil : hint)
            let f = a.eval
            if op == "NOT" {
                return CompiledExpr(eval: { row, env throws(SQLError) in
                    let v = try f(row, env)
                    if v.isNull { return .null }
                    return SQLValues.bool(!SQLValues.isTrue(v))
                }, type: nil, isBoolean: true)
            }
            if let t = a.type, t.typeClass != .number {
                throw error(.typeMismatch, "Operator \(op) requires a numeric operand, not \(t.name)", e.position)
            }
            return CompiledExpr(eval: { row, env throws(SQLError) in
                let v = try f(row, env)
                return try SQLValues.arithmetic("-", .integer(0), v)
            }, type: a.type.map { $0.isInteger ? .bigint : $0 })
        case .binary(let op, let l, let r):
            return try compileBinary(op, l, r, e.position)
        case .isNull(let operand, let negated):
            let f = try compile(operand).eval
            return CompiledExpr(eval: { row, env throws(SQLError) in
                SQLValues.bool(try f(row, env).isNull != negated)
            }, type: nil, isBoolean: true)
        case .inList(let operand, let list, let negated):
            let a = try compile(operand)
            var items: [CompiledExpr] = []
            for item in list {
                var b = try compile(item, hint: a.type?.comparisonType)
                var a2 = a
                try unify(&a2, &b, e.position)
                items.append(b)
            }
            let f = a.eval
            let fs = items.map(\.eval)
            return CompiledExpr(eval: { row, env throws(SQLError) in
                let v = try f(row, env)
                if v.isNull { return .null }
                var sawNull = false
                for g in fs {
                    let w = try g(row, env)
                    if w.isNull { sawNull = true; continue }
                    if try SQLValues.compare(v, w) == 0 { return SQLValues.bool(!negated) }
                }
                return sawNull ? .null : SQLValues.bool(negated)
            }, type: nil, isBoolean: true)
        case .between(let operand, let lo, let hi, let negated):
            let ge = Expr(.binary(">=", operand, lo), e.position)
            let le = Expr(.binary("<=", operand, hi), e.position)
            let both = Expr(.binary("AND", ge, le), e.position)
            return try compile(negated ? Expr(.unary("NOT", both), e.position) : both)
        case .like(let operand, let pattern, let escape, let negated):
            return try compileLike(operand, pattern, escape, negated, e.position)
        case .caseWhen(let base, let whens, let otherwise):
            return try compileCase(base, whens, otherwise, hint: hint, e.position)
        case .cast(let operand, let t):
            let a = try compile(operand, hint: t.type)
            let f = a.eval
            let type = t.type
            if let c = a.constant {
                let v = try SQLValues.convert(c, to: type)
                return .constant(v, type)
            }
            return CompiledExpr(eval: { row, env throws(SQLError) in
                try SQLValues.convert(try f(row, env), to: type)
            }, type: type)
        case .function(let name, let args, let distinct, let star):
            if Expr.aggregateNames.contains(name) {
                throw error(.planning, "Aggregate function \(name) is not allowed here", e.position)
            }
            if distinct || star { throw error(.syntax, "\(name) does not take DISTINCT or *", e.position) }
            return try SQLFunctions.compile(name, args, self, e.position)
        }
    }

    /// Makes two operands of a comparison agree: a parameter takes the other side's type; a literal
    /// is converted to it; static types of unrelated classes are an error.
    func unify(_ a: inout CompiledExpr, _ b: inout CompiledExpr, _ p: SourcePosition) throws(SQLError) {
        try adapt(&a, to: b, p)
        try adapt(&b, to: a, p)
        if let ta = a.type, let tb = b.type, ta.typeClass != tb.typeClass {
            throw error(.typeMismatch, "Incompatible data types in comparison: \(ta.name) and \(tb.name)", p)
        }
    }

    private func adapt(_ a: inout CompiledExpr, to b: CompiledExpr, _ p: SourcePosition) throws(SQLError) {
        guard let tb = b.type else { return }
        if let i = a.parameter, a.type == nil {
            parameters.note(i, tb.comparisonType)
            a.type = tb.comparisonType
        } else if let c = a.constant, !c.isNull, let ta = a.type, ta.typeClass != tb.typeClass {
            // A string literal may stand for a number, timestamp or bytes; a number never for a string.
            if ta.typeClass == .number {
                throw error(.typeMismatch, "Incompatible data types in comparison: \(ta.name) literal \(c) and \(tb.name)", p)
            }
            do {
                let v = try SQLValues.convert(c, to: tb)
                a = .constant(v, tb)
            } catch {
                throw self.error(.typeMismatch, "Incompatible data types in comparison: \(ta.name) literal \(c) and \(tb.name)", p)
            }
        }
    }

    private func compileBinary(_ op: String, _ l: Expr, _ r: Expr, _ p: SourcePosition) throws(SQLError) -> CompiledExpr {
        switch op {
        case "AND", "OR":
            let a = try compile(l).eval
            let b = try compile(r).eval
            let isAnd = op == "AND"
            return CompiledExpr(eval: { row, env throws(SQLError) in
                let x = try a(row, env)
                if !x.isNull, SQLValues.isTrue(x) != isAnd { return x }       // short circuit: false AND, true OR
                let y = try b(row, env)
                if !y.isNull, SQLValues.isTrue(y) != isAnd { return y }
                if x.isNull || y.isNull { return .null }
                return SQLValues.bool(isAnd)
            }, type: nil, isBoolean: true)
        case "=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM":
            var a = try compile(l)
            var b = try compile(r)
            try unify(&a, &b, p)
            let fa = a.eval, fb = b.eval
            if op.hasPrefix("IS") {
                let distinct = op == "IS DISTINCT FROM"
                return CompiledExpr(eval: { row, env throws(SQLError) in
                    let x = try fa(row, env), y = try fb(row, env)
                    if x.isNull || y.isNull { return SQLValues.bool((x.isNull != y.isNull) == distinct) }
                    return SQLValues.bool((try SQLValues.compare(x, y) != 0) == distinct)
                }, type: nil, isBoolean: true)
            }
            return CompiledExpr(eval: { row, env throws(SQLError) in
                try SQLValues.compareOp(op, try fa(row, env), try fb(row, env))
            }, type: nil, isBoolean: true)
        case "||":
            let a = try compile(l, hint: .varchar)
            let b = try compile(r, hint: .varchar)
            for (x, e) in [(a, l), (b, r)] {
                if let t = x.type, t != .varchar { throw error(.typeMismatch, "Operator || requires VARCHAR operands, not \(t.name)", e.position) }
            }
            let fa = a.eval, fb = b.eval
            return CompiledExpr(eval: { row, env throws(SQLError) in
                let x = try fa(row, env), y = try fb(row, env)
                guard case .string(let s) = x, case .string(let t) = y else { return .null }
                return .string(s + t)
            }, type: .varchar)
        default:
            var a = try compile(l)
            var b = try compile(r)
            if let i = a.parameter, a.type == nil, let t = b.type { parameters.note(i, t.comparisonType); a.type = t.comparisonType }
            if let i = b.parameter, b.type == nil, let t = a.type { parameters.note(i, t.comparisonType); b.type = t.comparisonType }
            for (x, e) in [(a, l), (b, r)] {
                if let t = x.type, t.typeClass != .number {
                    throw error(.typeMismatch, "Operator \(op) requires numeric operands, not \(t.name)", e.position)
                }
            }
            let fa = a.eval, fb = b.eval
            let type = SQLValues.arithmeticResultType(a.type, b.type)
            if let x = a.constant, let y = b.constant {
                return .constant(try SQLValues.arithmetic(op, x, y), type)
            }
            return CompiledExpr(eval: { row, env throws(SQLError) in
                try SQLValues.arithmetic(op, try fa(row, env), try fb(row, env))
            }, type: type)
        }
    }

    private func compileLike(_ operand: Expr, _ pattern: Expr, _ escape: Expr?, _ negated: Bool, _ p: SourcePosition) throws(SQLError) -> CompiledExpr {
        let a = try compile(operand, hint: .varchar)
        let b = try compile(pattern, hint: .varchar)
        if let t = a.type, t != .varchar { throw error(.typeMismatch, "LIKE requires a VARCHAR operand, not \(t.name)", p) }
        var escapeScalar: Unicode.Scalar?
        if let escape {
            guard case .literal(.string(let s)) = escape.kind, s.unicodeScalars.count == 1 else {
                throw error(.typeMismatch, "ESCAPE must be a single-character string literal", escape.position)
            }
            escapeScalar = s.unicodeScalars.first
        }
        let fa = a.eval
        if case .string(let s)? = b.constant {
            let compiled = try SQLValues.LikePattern(s, escape: escapeScalar)
            return CompiledExpr(eval: { row, env throws(SQLError) in
                guard case .string(let text) = try fa(row, env) else { return .null }
                return SQLValues.bool(compiled.matches(text) != negated)
            }, type: nil, isBoolean: true)
        }
        let fb = b.eval
        let esc = escapeScalar
        return CompiledExpr(eval: { row, env throws(SQLError) in
            guard case .string(let text) = try fa(row, env), case .string(let pat) = try fb(row, env) else { return .null }
            return SQLValues.bool(try SQLValues.LikePattern(pat, escape: esc).matches(text) != negated)
        }, type: nil, isBoolean: true)
    }

    private func compileCase(_ base: Expr?, _ whens: [(Expr, Expr)], _ otherwise: Expr?, hint: SQLType?, _ p: SourcePosition) throws(SQLError) -> CompiledExpr {
        var conditions: [Eval] = []
        for (w, _) in whens {
            if let base {
                conditions.append(try compile(Expr(.binary("=", base, w), w.position)).eval)
            } else {
                conditions.append(try compile(w).eval)
            }
        }
        var results = try whens.map { (_, t) throws(SQLError) in try compile(t, hint: hint) }
        var elseExpr = try otherwise.map { o throws(SQLError) in try compile(o, hint: hint) }
        let type = (results + (elseExpr.map { [$0] } ?? [])).compactMap(\.type).first
        if let type {
            for i in results.indices where results[i].type == nil {
                if let pi = results[i].parameter { parameters.note(pi, type) }
                results[i].type = type
            }
            if let pi = elseExpr?.parameter { parameters.note(pi, type) }
            for r in results + (elseExpr.map { [$0] } ?? []) {
                if let t = r.type, t.typeClass != type.typeClass {
                    throw error(.typeMismatch, "CASE results have incompatible types \(type.name) and \(t.name)", p)
                }
            }
        }
        let rs = results.map(\.eval)
        let conds = conditions
        let other = elseExpr?.eval
        elseExpr = nil
        return CompiledExpr(eval: { row, env throws(SQLError) in
            for (i, c) in conds.enumerated() where SQLValues.isTrue(try c(row, env)) {
                return try rs[i](row, env)
            }
            return try other?(row, env) ?? .null
        }, type: type)
    }
}

extension SQLValues {
    static func literalType(_ v: Value) -> SQLType? {
        switch v {
        case .null: nil
        case .integer(let i): Int32(exactly: i) != nil ? .integer : .bigint
        case .float: .float
        case .decimal: .decimal
        case .string: .varchar
        case .bytes: .varbinary
        case .timestamp: .timestamp
        }
    }
}
