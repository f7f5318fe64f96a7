// The planner: binds a parsed DML/query statement to the catalog and compiles it into plans.
//
// Access paths (per FROM table, in FROM order): the conjuncts of WHERE and ON that compare a column
// of the table with an expression over parameters, constants and earlier tables pick, in order of
// preference, a primary-key lookup (equality on every PK column), an index lookup (equality on the
// longest prefix of an index; unique indexes and longer prefixes win), an index range scan (equality
// prefix plus a range on the next index column), else a sequential scan. Conjuncts an access path
// consumes are not re-evaluated.
//
// Partitioning (VoltDB's rules): a statement touching one partitioned table is single-partition when
// its conjunctive equalities pin that table's partition column to a literal or a parameter (directly
// or through equalities with other partition columns). Several partitioned tables may be joined only
// if their partition columns are equated ("Join of multiple partitioned tables has insufficient join
// criteria" otherwise). Partitioned x replicated joins run per partition. Everything else that reads a
// partitioned table is multi-partition: a per-partition fragment plus a coordinator merge —
// concatenation; partial aggregates (AVG as SUM + COUNT) combined by final ones; DISTINCT aggregates
// by shipping the (deduplicated) argument values; top-(LIMIT+OFFSET) per partition then a sort at
// the coordinator; DISTINCT re-applied at the merge. Partitioned DML sums the partitions' counts;
// replicated DML runs on every partition (each holds a copy) and reports one partition's count.
//
// Choices: UPDATE of a partitioned table's partition column is rejected (a row would change
// partition); INSERT ... SELECT is supported when the target is replicated and the source reads only
// replicated tables, or when the target's partition column is fed by the source's partition column
// (rows stay in their partition).

struct CatalogView: Sendable {
    var tables: [String: TableDefinition]
    var indexes: [String: IndexDefinition]
    /// The version of the catalog that procedures compiled against this view belong to.
    var version: Int64

    func table(_ name: String, at p: SourcePosition) throws(SQLError) -> TableDefinition {
        guard let t = tables[name] else {
            throw SQLError(.unknownTable, "Object not found: \(name) at line \(p.line), column \(p.column)", position: (p.line, p.column))
        }
        return t
    }

    func indexes(on table: String) -> [IndexDefinition] {
        indexes.values.filter { $0.table == table }.sorted { $0.name < $1.name }
    }
}

/// Where a statement's rows live. `indirect` boxes the Value: with a DECIMAL's Int128 stored inline,
/// this toolchain's debug code generation emitted misaligned 16-byte stack accesses (SIGSEGV).
indirect enum PartitionPin: Sendable, Equatable {
    case constant(Value)
    case parameter(Int)
}

enum Distribution: Sendable {
    /// Reads only replicated tables: any one partition answers.
    case onePartition
    /// Writes a replicated table: every partition applies it; one partition's count is reported.
    case everyPartitionFirst
    /// Partitioned DML over all partitions: the counts are summed.
    case everyPartitionSum
    /// Partitioned query over all partitions: fragments merged at the coordinator.
    case merge(SelectPlan, MergePlan)
    /// INSERT VALUES into a partitioned table from a multi-partition context: each row is routed.
    case routedInsert(InsertPlan, partitionColumn: Int)
}

final class CompiledStatement: Sendable {
    let sql: String
    let local: LocalPlan
    let distribution: Distribution
    let pin: PartitionPin?
    let pinType: SQLType?
    let readOnly: Bool
    let touchesPartitioned: Bool
    let writesReplicated: Bool
    let parameterCount: Int
    let explain: String

    init(sql: String, local: LocalPlan, distribution: Distribution, pin: PartitionPin?, pinType: SQLType?, readOnly: Bool,
         touchesPartitioned: Bool, writesReplicated: Bool, parameterCount: Int, explain: String) {
        self.sql = sql; self.local = local; self.distribution = distribution; self.pin = pin; self.pinType = pinType
        self.readOnly = readOnly; self.touchesPartitioned = touchesPartitioned; self.writesReplicated = writesReplicated
        self.parameterCount = parameterCount; self.explain = explain
    }
}

struct Planner {
    let catalog: CatalogView
    let parameters: ParameterTypes

    static func error(_ kind: SQLError.Kind, _ message: String, _ p: SourcePosition) -> SQLError {
        SQLError(kind, "\(message) at line \(p.line), column \(p.column)", position: (p.line, p.column))
    }

    func plan(_ statement: Statement, sql: String, parameterCount: Int) throws(SQLError) -> CompiledStatement {
        switch statement {
        case .select(let s): return try planSelect(s, sql: sql, parameterCount: parameterCount)
        case .insert(let s): return try planInsert(s, sql: sql, parameterCount: parameterCount)
        case .update(let s): return try planUpdate(s, sql: sql, parameterCount: parameterCount)
        case .delete(let s): return try planDelete(s, sql: sql, parameterCount: parameterCount)
        default:
            throw SQLError(.planning, "DDL is not allowed here: \(sql.prefix(60))")
        }
    }

    // MARK: binding helpers

    func makeScope(_ from: [TableRef]) throws(SQLError) -> Scope {
        var scope = Scope()
        for ref in from {
            let t = try catalog.table(ref.name, at: ref.position)
            if scope.entries.contains(where: { $0.exposedName == ref.exposedName }) {
                throw Planner.error(.planning, "Table \(ref.exposedName) appears twice in FROM; give one an alias", ref.position)
            }
            scope.add(t, as: ref.exposedName)
        }
        return scope
    }

    /// The FROM entries an expression refers to.
    func references(_ e: Expr, _ scope: Scope) throws(SQLError) -> Set<Int> {
        var out: Set<Int> = []
        var failure: SQLError?
        e.walk { x in
            guard failure == nil, case .column(let t, let n) = x.kind else { return }
            do throws(SQLError) { out.insert(try scope.resolve(t, n, at: x.position).entry) } catch { failure = error }
        }
        if let failure { throw failure }
        return out
    }

    func referencesIfValid(_ e: Expr, _ scope: Scope) -> Set<Int>? {
        var out: Set<Int> = []
        var valid = true
        e.walk { x in
            guard case .column(let t, let n) = x.kind else { return }
            if let r = scope.lookup(t, n) { out.insert(r.entry) } else { valid = false }
        }
        return valid ? out : nil
    }

    /// Splits conjuncts and expands BETWEEN so that both bounds can drive an index.
    func conjuncts(_ exprs: [Expr?]) -> [Expr] {
        var out: [Expr] = []
        for e in exprs.compactMap({ $0 }) {
            for c in e.conjuncts {
                if case .between(let x, let lo, let hi, false) = c.kind {
                    out.append(Expr(.binary(">=", x, lo), c.position))
                    out.append(Expr(.binary("<=", x, hi), c.position))
                } else {
                    out.append(c)
                }
            }
        }
        return out
    }

    // MARK: access paths

    struct Comparison {
        var conjunct: Int
        var column: Int
        var op: String
        var other: Expr
    }

    static func flip(_ op: String) -> String {
        switch op { case "<": ">"; case "<=": ">="; case ">": "<"; case ">=": "<="; default: op }
    }

    func buildSource(_ scope: Scope, _ conjuncts: [Expr], compiler: ExprCompiler) throws(SQLError) -> RowSource {
        var refs: [Set<Int>] = []
        for c in conjuncts {
            if c.containsAggregate { throw Planner.error(.planning, "Aggregate functions are not allowed in WHERE", c.position) }
            refs.append(try references(c, scope))
        }
        var used = [Bool](repeating: false, count: conjuncts.count)
        var levels: [TableAccess] = []
        for (level, entry) in scope.entries.enumerated() {
            let table = entry.table
            var comparisons: [Comparison] = []
            for (ci, c) in conjuncts.enumerated() where !used[ci] && refs[ci].contains(level) && refs[ci].allSatisfy({ $0 <= level }) {
                guard case .binary(let op, let l, let r) = c.kind, ["=", "<", "<=", ">", ">="].contains(op) else { continue }
                for (side, other, o) in [(l, r, op), (r, l, Planner.flip(op))] {
                    guard case .column(let tn, let cn) = side.kind,
                          let res = scope.lookup(tn, cn), res.entry == level,
                          let otherRefs = referencesIfValid(other, scope), otherRefs.allSatisfy({ $0 < level }) else { continue }
                    // The other side's static type must be of the column's class to drive a lookup.
                    let probe = try compiler.compile(other, hint: res.definition.type.comparisonType)
                    if let t = probe.type, t.typeClass != res.definition.type.typeClass, probe.constant == nil { continue }
                    comparisons.append(Comparison(conjunct: ci, column: res.column, op: o, other: other))
                    break
                }
            }
            func eq(_ col: Int) -> Comparison? { comparisons.first { $0.column == col && $0.op == "=" } }
            var path = AccessPath.sequential
            var explain = "SEQUENTIAL SCAN of \(table.name)"
            var keyTypes: [SQLType] = []
            var consumed: [Int] = []
            func compileKeys(_ cs: [Comparison]) throws(SQLError) -> [Eval] {
                var out: [Eval] = []
                for c in cs {
                    out.append(try compiler.compile(c.other, hint: table.columns[c.column].type.comparisonType).eval)
                    keyTypes.append(table.columns[c.column].type)
                    consumed.append(c.conjunct)
                }
                return out
            }
            if let pk = table.primaryKey, !pk.columns.isEmpty, pk.columns.allSatisfy({ eq($0) != nil }) {
                path = .primaryKey(try compileKeys(pk.columns.map { eq($0)! }))
                explain = "PRIMARY KEY LOOKUP of \(table.name)"
            } else {
                var best: (score: Int, index: IndexDefinition, prefix: Int, range: Bool)?
                for index in catalog.indexes(on: table.name) {
                    var prefix = 0
                    while prefix < index.columns.count, eq(index.columns[prefix]) != nil { prefix += 1 }
                    let range = prefix < index.columns.count && comparisons.contains { $0.column == index.columns[prefix] && $0.op != "=" }
                    let full = prefix == index.columns.count
                    let score = prefix * 4 + (range ? 2 : 0) + (full && index.unique ? 100 : 0)
                    if score > 0, score > best?.score ?? 0 { best = (score, index, prefix, range) }
                }
                if let best {
                    let eqs = best.index.columns.prefix(best.prefix).map { eq($0)! }
                    let prefixKeys = try compileKeys(eqs)
                    if best.range {
                        let col = best.index.columns[best.prefix]
                        let lower = comparisons.first { $0.column == col && ($0.op == ">" || $0.op == ">=") }
                        let upper = comparisons.first { $0.column == col && ($0.op == "<" || $0.op == "<=") }
                        let hint = table.columns[col].type.comparisonType
                        let lo = try lower.map { c throws(SQLError) in try compiler.compile(c.other, hint: hint).eval }
                        let hi = try upper.map { c throws(SQLError) in try compiler.compile(c.other, hint: hint).eval }
                        if let lower { consumed.append(lower.conjunct) }
                        if let upper { consumed.append(upper.conjunct) }
                        path = .indexRange(best.index.name, prefix: prefixKeys, lower: lo, lowerInclusive: lower?.op == ">=",
                                           upper: hi, upperInclusive: upper?.op == "<=")
                    } else {
                        path = .indexEquality(best.index.name, prefixKeys)
                    }
                    explain = "INDEX SCAN of \(table.name) using \(best.index.name)"
                }
            }
            // Consumed conjuncts are still compiled once, so type errors surface the same either way.
            for ci in consumed { _ = try compiler.compile(conjuncts[ci]); used[ci] = true }
            var filters: [Eval] = []
            for (ci, c) in conjuncts.enumerated() where !used[ci] && !refs[ci].isEmpty && refs[ci].max() == level {
                filters.append(try compiler.compile(c).eval)
                used[ci] = true
            }
            levels.append(TableAccess(table: table.name, offset: entry.offset, width: table.columns.count, path: path,
                                      filters: filters, keyTypes: keyTypes, explain: explain))
        }
        var constant: [Eval] = []
        for (ci, c) in conjuncts.enumerated() where !used[ci] { constant.append(try compiler.compile(c).eval) }
        return RowSource(levels: levels, width: scope.width, constantFilters: constant)
    }

    // MARK: partitioning

    struct PartitionAnalysis {
        var partitionedEntries: [Int] = []
        var pin: PartitionPin?
        var pinType: SQLType?
    }

    func analyzePartitioning(_ scope: Scope, _ conjuncts: [Expr], at p: SourcePosition) throws(SQLError) -> PartitionAnalysis {
        let result = Planner.partitioning(scope, conjuncts, parameterOffset: parameters.offset)
        if result.insufficientJoin {
            throw Planner.error(.planning, "Join of multiple partitioned tables has insufficient join criteria", p)
        }
        return result.analysis
    }

    private static func partitionEntry(_ e: Expr, _ scope: Scope) -> Int? {
        guard case .column(let t, let n) = e.kind, let r = scope.lookup(t, n),
              scope.entries[r.entry].table.partitionColumn == r.column else { return nil }
        return r.entry
    }

    private static func pinValue(_ e: Expr, _ offset: Int) -> PartitionPin? {
        switch e.kind {
        case .literal(let v): return v.isNull ? nil : .constant(v)
        case .parameter(let i): return .parameter(i + offset)
        default: return nil
        }
    }

    private static func root(_ parent: [Int], _ x: Int) -> Int {
        var x = x
        while parent[x] != x { x = parent[x] }
        return x
    }

    /// Union-find over partition columns equated by conjuncts; pins from `column = literal / ?`.
    private static func partitioning(_ scope: Scope, _ conjuncts: [Expr], parameterOffset: Int) -> (analysis: PartitionAnalysis, insufficientJoin: Bool) {
        var a = PartitionAnalysis()
        a.partitionedEntries = scope.entries.indices.filter { scope.entries[$0].table.partitionColumn != nil }
        if a.partitionedEntries.isEmpty { return (a, false) }
        var parent = Array(scope.entries.indices)
        // An array, not a Dictionary: values holding Int128 (DECIMAL) in Dictionary storage crashed
        // this toolchain with a misaligned access.
        var pins = [PartitionPin?](repeating: nil, count: scope.entries.count)
        for c in conjuncts {
            guard case .binary(let op, let l, let r) = c.kind, op == "=" else { continue }
            let pl = partitionEntry(l, scope), pr = partitionEntry(r, scope)
            if let x = pl, let y = pr {
                parent[root(parent, x)] = root(parent, y)
                continue
            }
            if let x = pl, pins[x] == nil, let v = pinValue(r, parameterOffset) { pins[x] = v }
            if let x = pr, pins[x] == nil, let v = pinValue(l, parameterOffset) { pins[x] = v }
        }
        let first = root(parent, a.partitionedEntries[0])
        if a.partitionedEntries.contains(where: { root(parent, $0) != first }) { return (a, true) }
        for e in a.partitionedEntries {
            if let pin = pins[e] ?? nil {
                a.pin = pin
                let t = scope.entries[e].table
                a.pinType = t.columns[t.partitionColumn!].type
                break
            }
        }
        return (a, false)
    }

    // MARK: SELECT

    private func outputName(_ item: Expr, alias: String?, index: Int) -> String {
        if let alias { return alias }
        if case .column(_, let n) = item.kind { return n }
        return "C\(index + 1)"
    }

    struct AggregateCall {
        var expr: Expr
        var name: String
        var distinct: Bool
        var argument: Expr?
    }

    func planSelect(_ s: SelectStatement, sql: String, parameterCount: Int) throws(SQLError) -> CompiledStatement {
        let (local, analysis, scope) = try compileSelect(s)
        let readsPartitioned = !analysis.partitionedEntries.isEmpty
        let distribution: Distribution = readsPartitioned ? .merge(local.fragment, local.merge) : .onePartition
        return CompiledStatement(sql: sql, local: local.plan, distribution: distribution, pin: analysis.pin, pinType: analysis.pinType,
                                 readOnly: true, touchesPartitioned: readsPartitioned, writesReplicated: false,
                                 parameterCount: parameterCount, explain: local.plan.source.explain + (scope.entries.count > 1 ? "\nNESTED LOOP JOIN" : ""))
    }

    struct SelectPlans {
        var plan: SelectPlan
        var fragment: SelectPlan
        var merge: MergePlan
    }

    func compileSelect(_ s: SelectStatement) throws(SQLError) -> (SelectPlans, PartitionAnalysis, Scope) {
        let scope = try makeScope(s.from)
        let compiler = ExprCompiler(scope: scope, parameters: parameters)
        let where_ = conjuncts([s.whereClause] + s.joinConditions)
        let analysis = try analyzePartitioning(scope, where_, at: s.from[0].position)
        let source = try buildSource(scope, where_, compiler: compiler)

        // Expand the select list.
        var items: [(expr: Expr, name: String)] = []
        for item in s.items {
            switch item.kind {
            case .star(let table):
                var matched = false
                for e in scope.entries where table == nil || e.exposedName == table {
                    matched = true
                    for c in e.table.columns { items.append((Expr(.column(table: e.exposedName, name: c.name), item.position), c.name)) }
                }
                if !matched { throw Planner.error(.unknownTable, "Object not found: \(table ?? "*")", item.position) }
            case .expr(let e, let alias):
                items.append((e, outputName(e, alias: alias, index: items.count)))
            }
        }
        // GROUP BY may name a select alias.
        let groupBy = s.groupBy.map { g -> Expr in
            if case .column(nil, let n) = g.kind, scope.lookup(nil, n) == nil,
               let item = items.first(where: { $0.name == n }) { return item.expr }
            return g
        }
        // ORDER BY: an ordinal or alias refers to an output column.
        enum OrderRef { case output(Int), expr(Expr) }
        var orderRefs: [(OrderRef, Bool)] = []
        for o in s.orderBy {
            if case .literal(.integer(let n)) = o.expr.kind {
                guard n >= 1, n <= items.count else { throw Planner.error(.planning, "ORDER BY position \(n) is not in the select list", o.expr.position) }
                orderRefs.append((.output(Int(n) - 1), o.descending))
            } else if case .column(nil, let n) = o.expr.kind, let i = items.firstIndex(where: { $0.name == n }),
                      scope.lookup(nil, n) == nil || items[i].expr.key != o.expr.key {
                orderRefs.append((.output(i), o.descending))
            } else {
                orderRefs.append((.expr(o.expr), o.descending))
            }
        }

        var aggregates: [AggregateCall] = []
        var exprsToScan = items.map(\.expr) + (s.having.map { [$0] } ?? [])
        for case (.expr(let e), _) in orderRefs { exprsToScan.append(e) }
        for e in exprsToScan {
            var failure: SQLError?
            e.walk { x in
                guard x.isAggregate, case .function(let name, let args, let distinct, let star) = x.kind else { return }
                if args.contains(where: \.containsAggregate) { failure = Planner.error(.planning, "Aggregate functions cannot be nested", x.position) }
                if !star && args.count != 1 { failure = Planner.error(.planning, "\(name) takes one argument", x.position) }
                if star && name != "COUNT" { failure = Planner.error(.planning, "\(name)(*) is not allowed", x.position) }
                if !aggregates.contains(where: { $0.expr.key == x.key }) {
                    aggregates.append(AggregateCall(expr: x, name: name, distinct: distinct, argument: star ? nil : args.first))
                }
            }
            if let failure { throw failure }
        }
        if s.having != nil && aggregates.isEmpty && groupBy.isEmpty {
            throw Planner.error(.planning, "HAVING requires GROUP BY or an aggregate", s.having!.position)
        }
        let grouped = !aggregates.isEmpty || !groupBy.isEmpty
        let limit = try s.limit.map { l throws(SQLError) in try compiler.compile(l, hint: .bigint).eval }
        let offset = try s.offset.map { o throws(SQLError) in try compiler.compile(o, hint: .bigint).eval }

        if !grouped {
            var projection: [CompiledExpr] = []
            for item in items { projection.append(try compiler.compile(item.expr)) }
            var sortKeys: [SortKey] = []
            for (ref, desc) in orderRefs {
                switch ref {
                case .output(let i): sortKeys.append(SortKey(eval: projection[i].eval, descending: desc))
                case .expr(let e): sortKeys.append(SortKey(eval: try compiler.compile(e).eval, descending: desc))
                }
            }
            let columns = zip(items, projection).map { ResultTable.Column($0.name, Planner.columnType($1)) }
            let evals = projection.map(\.eval)
            let plan = SelectPlan(source: source, pipeline: RowPipeline(aggregation: nil, having: nil, projection: evals, sortKeys: sortKeys,
                                                                        distinct: s.distinct, limit: limit, offset: offset, fragmentMode: false),
                                  columns: columns, countStarTable: nil)
            let fragment = SelectPlan(source: source, pipeline: RowPipeline(aggregation: nil, having: nil, projection: evals, sortKeys: sortKeys,
                                                                            distinct: s.distinct, limit: limit, offset: offset, fragmentMode: true),
                                      columns: columns + sortKeys.map { _ in ResultTable.Column("", .varchar) }, countStarTable: nil)
            let n = items.count
            let mergeKeys = sortKeys.enumerated().map { i, k in SortKey(eval: { row, _ in row[n + i] }, descending: k.descending) }
            let mergeProjection: [Eval] = (0..<n).map { i in { row, _ in row[i] } }
            let merge = MergePlan(pipeline: RowPipeline(aggregation: nil, having: nil, projection: mergeProjection, sortKeys: mergeKeys,
                                                        distinct: s.distinct, limit: limit, offset: offset, fragmentMode: false), columns: columns)
            return (SelectPlans(plan: plan, fragment: fragment, merge: merge), analysis, scope)
        }

        // Aggregated query. Group keys and aggregate arguments are compiled against the source row.
        var keyCompiled: [CompiledExpr] = []
        for g in groupBy {
            if g.containsAggregate { throw Planner.error(.planning, "Aggregate functions are not allowed in GROUP BY", g.position) }
            keyCompiled.append(try compiler.compile(g))
        }
        var specs: [AccumulatorSpec] = []
        var argCompiled: [CompiledExpr?] = []
        for a in aggregates {
            let arg = try a.argument.map { e throws(SQLError) in try compiler.compile(e) }
            argCompiled.append(arg)
            let argType = arg?.type ?? .bigint
            if ["SUM", "AVG"].contains(a.name), argType.typeClass != .number {
                throw Planner.error(.typeMismatch, "\(a.name) requires a numeric argument, not \(argType.name)", a.expr.position)
            }
            let kind: AccumulatorKind
            var resultType = argType
            switch a.name {
            case "COUNT": kind = a.argument == nil ? .countStar : .count; resultType = .bigint
            case "SUM": kind = .sum; if argType.isInteger { resultType = .bigint }
            case "AVG": kind = .avg
            case "MIN": kind = .min
            default: kind = .max
            }
            specs.append(AccumulatorSpec(kind: kind, argument: arg?.eval, distinct: a.distinct, resultType: resultType))
        }
        let k = groupBy.count

        /// Compiles post-aggregation expressions over a row `[keys..., slots...]`.
        func postCompiler(_ aggregateValue: @escaping (Int) -> CompiledExpr) -> ExprCompiler {
            var c = ExprCompiler(scope: scope, parameters: parameters)
            c.columnsNeedGrouping = true
            let keys = groupBy.map(\.key)
            let keyTypes = keyCompiled.map(\.type)
            let aggKeys = aggregates.map(\.expr.key)
            c.substitute = { e throws(SQLError) in
                if let i = keys.firstIndex(of: e.key) { return .slot(i, keyTypes[i]) }
                if let i = aggKeys.firstIndex(of: e.key) { return aggregateValue(i) }
                return nil
            }
            return c
        }
        func finish(_ post: ExprCompiler) throws(SQLError) -> (projection: [CompiledExpr], having: Eval?, sort: [SortKey]) {
            var projection: [CompiledExpr] = []
            for item in items { projection.append(try post.compile(item.expr)) }
            let having = try s.having.map { h throws(SQLError) in try post.compile(h).eval }
            var sort: [SortKey] = []
            for (ref, desc) in orderRefs {
                switch ref {
                case .output(let i): sort.append(SortKey(eval: projection[i].eval, descending: desc))
                case .expr(let e): sort.append(SortKey(eval: try post.compile(e).eval, descending: desc))
                }
            }
            return (projection, having, sort)
        }

        // Single-partition plan: accumulators in slots k..<k+n.
        let spPost = try finish(postCompiler { i in .slot(k + i, specs[i].resultType) })
        let columns = zip(items, spPost.projection).map { ResultTable.Column($0.name, Planner.columnType($1)) }
        var countStarTable: String?
        if s.whereClause == nil, s.joinConditions.isEmpty, scope.entries.count == 1, groupBy.isEmpty, s.having == nil,
           aggregates.count == 1, specs[0].kind == .countStar, items.count == 1, items[0].expr.key == aggregates[0].expr.key {
            countStarTable = scope.entries[0].table.name
        }
        let plan = SelectPlan(source: source,
                              pipeline: RowPipeline(aggregation: Aggregation(keys: keyCompiled.map(\.eval), accumulators: specs),
                                                    having: spPost.having, projection: spPost.projection.map(\.eval), sortKeys: spPost.sort,
                                                    distinct: s.distinct, limit: limit, offset: offset, fragmentMode: false),
                              columns: columns, countStarTable: countStarTable)

        let fragment: SelectPlan
        let merge: MergePlan
        let keySlots: [Eval] = (0..<k).map { i in { row, _ in row[i] } }
        if specs.contains(where: \.distinct) {
            // Ship group keys and raw aggregate arguments; deduplicate when every aggregate ignores duplicates.
            var shipped: [Eval] = keyCompiled.map(\.eval)
            var finalSpecs = specs
            for (i, arg) in argCompiled.enumerated() {
                if let arg {
                    let slot = shipped.count
                    shipped.append(arg.eval)
                    finalSpecs[i].argument = { row, _ in row[slot] }
                }
            }
            let dedupe = specs.allSatisfy { $0.distinct || $0.kind == .min || $0.kind == .max }
            fragment = SelectPlan(source: source, pipeline: RowPipeline(aggregation: nil, having: nil, projection: shipped, sortKeys: [],
                                                                        distinct: dedupe, limit: nil, offset: nil, fragmentMode: true),
                                  columns: shipped.map { _ in ResultTable.Column("", .varchar) }, countStarTable: nil)
            merge = MergePlan(pipeline: RowPipeline(aggregation: Aggregation(keys: keySlots, accumulators: finalSpecs),
                                                    having: spPost.having, projection: spPost.projection.map(\.eval), sortKeys: spPost.sort,
                                                    distinct: s.distinct, limit: limit, offset: offset, fragmentMode: false), columns: columns)
        } else {
            // Partial aggregates per partition, final aggregates at the coordinator.
            var partial: [AccumulatorSpec] = []
            var final: [AccumulatorSpec] = []
            var finalSlots: [[Int]] = []
            for spec in specs {
                let first = k + partial.count
                func slotEval(_ i: Int) -> Eval { { row, _ in row[i] } }
                switch spec.kind {
                case .countStar, .count, .sumOfCounts:
                    partial.append(spec)
                    final.append(AccumulatorSpec(kind: .sumOfCounts, argument: slotEval(first), distinct: false, resultType: .bigint))
                    finalSlots.append([final.count - 1])
                case .sum, .min, .max:
                    partial.append(spec)
                    final.append(AccumulatorSpec(kind: spec.kind, argument: slotEval(first), distinct: false, resultType: spec.resultType))
                    finalSlots.append([final.count - 1])
                case .avg:
                    let sumType: SQLType = spec.resultType.isInteger ? .bigint : spec.resultType
                    partial.append(AccumulatorSpec(kind: .sum, argument: spec.argument, distinct: false, resultType: sumType))
                    partial.append(AccumulatorSpec(kind: .count, argument: spec.argument, distinct: false, resultType: .bigint))
                    final.append(AccumulatorSpec(kind: .sum, argument: slotEval(first), distinct: false, resultType: sumType))
                    final.append(AccumulatorSpec(kind: .sumOfCounts, argument: slotEval(first + 1), distinct: false, resultType: .bigint))
                    finalSlots.append([final.count - 2, final.count - 1])
                }
            }
            var cst: String?
            if countStarTable != nil { cst = countStarTable }
            fragment = SelectPlan(source: source, pipeline: RowPipeline(aggregation: Aggregation(keys: keyCompiled.map(\.eval), accumulators: partial),
                                                                        having: nil, projection: nil, sortKeys: [], distinct: false,
                                                                        limit: nil, offset: nil, fragmentMode: true),
                                  columns: (0..<(k + partial.count)).map { _ in ResultTable.Column("", .varchar) }, countStarTable: cst)
            let post = postCompiler { i in
                let slots = finalSlots[i].map { k + $0 }
                if specs[i].kind == .avg {
                    let type = specs[i].resultType
                    let (s0, s1) = (slots[0], slots[1])
                    return CompiledExpr(eval: { row, _ throws(SQLError) in
                        guard case .integer(let n) = row[s1] else { return .null }
                        return try AccumulatorState.average(row[s0], n, type)
                    }, type: type)
                }
                return .slot(slots[0], specs[i].resultType)
            }
            let mp = try finish(post)
            merge = MergePlan(pipeline: RowPipeline(aggregation: Aggregation(keys: keySlots, accumulators: final),
                                                    having: mp.having, projection: mp.projection.map(\.eval), sortKeys: mp.sort,
                                                    distinct: s.distinct, limit: limit, offset: offset, fragmentMode: false), columns: columns)
        }
        return (SelectPlans(plan: plan, fragment: fragment, merge: merge), analysis, scope)
    }

    static func columnType(_ c: CompiledExpr) -> SQLType {
        if c.isBoolean { return .tinyint }
        return c.type ?? .varchar
    }

    // MARK: DML

    func planInsert(_ s: InsertStatement, sql: String, parameterCount: Int) throws(SQLError) -> CompiledStatement {
        let table = try catalog.table(s.table.name, at: s.table.position)
        if s.upsert && table.primaryKey == nil {
            throw Planner.error(.planning, "UPSERT requires table \(table.name) to have a primary key", s.table.position)
        }
        var target: [Int] = []
        if let cols = s.columns {
            for (name, p) in cols {
                guard let i = table.columnIndex(named: name) else { throw Planner.error(.unknownColumn, "Column \(name) not found in table \(table.name)", p) }
                if target.contains(i) { throw Planner.error(.planning, "Column \(name) is listed twice", p) }
                target.append(i)
            }
        } else {
            target = Array(table.columns.indices)
        }
        var provided = [Bool](repeating: false, count: table.columns.count)
        for i in target { provided[i] = true }
        if s.upsert, let pk = table.primaryKey, pk.columns.contains(where: { !provided[$0] }) {
            throw Planner.error(.planning, "UPSERT into \(table.name) must provide every primary key column", s.table.position)
        }
        let compiler = ExprCompiler(scope: Scope(), parameters: parameters)
        var rows: [[Eval]] = []
        var pins: [PartitionPin?] = []
        for row in s.rows {
            guard row.count == target.count else {
                throw Planner.error(.planning, "INSERT has \(row.count) values for \(target.count) columns", s.table.position)
            }
            var evals: [Eval] = table.columns.map { c in let d = c.defaultValue ?? .null; return { _, _ in d } }
            var pin: PartitionPin?
            for (i, e) in row.enumerated() {
                let col = table.columns[target[i]]
                let c = try compiler.compile(e, hint: col.type)
                if let t = c.type, t.typeClass != col.type.typeClass, c.constant == nil {
                    throw Planner.error(.typeMismatch, "Can't insert a \(t.name) value into column \(col.name) of type \(col.type.name)", e.position)
                }
                if let v = c.constant { _ = try coerceForColumn(v, col) }
                evals[target[i]] = c.eval
                if target[i] == table.partitionColumn {
                    if let v = c.constant { pin = .constant(v) } else if let p = c.parameter { pin = .parameter(p + parameters.offset) }
                }
            }
            rows.append(evals)
            pins.append(pin)
        }
        var select: SelectPlan?
        var selectAnalysis: PartitionAnalysis?
        var selectScope: Scope?
        if let sel = s.select {
            let (plans, analysis, scope) = try compileSelect(sel)
            guard plans.plan.columns.count == target.count else {
                throw Planner.error(.planning, "INSERT ... SELECT returns \(plans.plan.columns.count) columns for \(target.count) target columns", s.table.position)
            }
            select = plans.plan
            selectAnalysis = analysis
            selectScope = scope
            if let pc = table.partitionColumn {
                // The target's partition column must come straight from a source partition column.
                guard let ti = target.firstIndex(of: pc), case .expr(let e, _)? = sel.items.count == target.count ? sel.items[ti].kind : nil,
                      case .column(let tn, let cn) = e.kind, let r = scope.lookup(tn, cn),
                      scope.entries[r.entry].table.partitionColumn == r.column else {
                    throw Planner.error(.planning, "INSERT INTO partitioned table \(table.name) ... SELECT must take its partition column from the source's partition column", s.table.position)
                }
            } else if !analysis.partitionedEntries.isEmpty {
                throw Planner.error(.planning, "INSERT INTO replicated table \(table.name) ... SELECT may read only replicated tables", s.table.position)
            }
        }
        let plan = InsertPlan(table: table.name, columns: table.columns, rows: rows, select: select, targetColumns: target,
                              upsert: s.upsert, providedColumns: provided)
        let verb = s.upsert ? "UPSERT" : "INSERT"
        if table.partitionColumn == nil {
            return CompiledStatement(sql: sql, local: plan, distribution: .everyPartitionFirst, pin: nil, pinType: nil, readOnly: false,
                                     touchesPartitioned: false, writesReplicated: true, parameterCount: parameterCount,
                                     explain: "\(verb) into \(table.name)" + (select.map { "\n" + $0.source.explain } ?? ""))
        }
        let pType = table.columns[table.partitionColumn!].type
        if select != nil {
            return CompiledStatement(sql: sql, local: plan, distribution: .everyPartitionSum, pin: selectAnalysis?.pin, pinType: selectAnalysis?.pinType,
                                     readOnly: false, touchesPartitioned: true, writesReplicated: false, parameterCount: parameterCount,
                                     explain: "\(verb) into \(table.name)\n" + select!.source.explain + ((selectScope?.entries.count ?? 0) > 1 ? "\nNESTED LOOP JOIN" : ""))
        }
        let first = pins.first ?? nil
        let samePin = pins.allSatisfy { $0 != nil && $0 == first }
        return CompiledStatement(sql: sql, local: plan, distribution: .routedInsert(plan, partitionColumn: table.partitionColumn!),
                                 pin: samePin ? first : nil, pinType: samePin ? pType : nil, readOnly: false, touchesPartitioned: true,
                                 writesReplicated: false, parameterCount: parameterCount, explain: "\(verb) into \(table.name)")
    }

    func planUpdate(_ s: UpdateStatement, sql: String, parameterCount: Int) throws(SQLError) -> CompiledStatement {
        let scope = try makeScope([s.table])
        let table = scope.entries[0].table
        let compiler = ExprCompiler(scope: scope, parameters: parameters)
        let where_ = conjuncts([s.whereClause])
        let analysis = try analyzePartitioning(scope, where_, at: s.table.position)
        let source = try buildSource(scope, where_, compiler: compiler)
        var assignments: [(column: Int, value: Eval)] = []
        for a in s.assignments {
            guard let i = table.columnIndex(named: a.column) else { throw Planner.error(.unknownColumn, "Column \(a.column) not found in table \(table.name)", a.position) }
            if i == table.partitionColumn {
                throw Planner.error(.planning, "Partition column \(a.column) of table \(table.name) cannot be updated", a.position)
            }
            let c = try compiler.compile(a.value, hint: table.columns[i].type)
            if let t = c.type, t.typeClass != table.columns[i].type.typeClass, c.constant == nil {
                throw Planner.error(.typeMismatch, "Can't assign a \(t.name) value to column \(a.column) of type \(table.columns[i].type.name)", a.value.position)
            }
            assignments.append((i, c.eval))
        }
        let plan = UpdatePlan(source: source, assignments: assignments, columns: table.columns)
        return dmlStatement(sql, plan, table, analysis, parameterCount, "UPDATE \(table.name)\n" + source.explain)
    }

    func planDelete(_ s: DeleteStatement, sql: String, parameterCount: Int) throws(SQLError) -> CompiledStatement {
        let scope = try makeScope([s.table])
        let table = scope.entries[0].table
        let compiler = ExprCompiler(scope: scope, parameters: parameters)
        let where_ = conjuncts([s.whereClause])
        let analysis = try analyzePartitioning(scope, where_, at: s.table.position)
        let source = try buildSource(scope, where_, compiler: compiler)
        return dmlStatement(sql, DeletePlan(source: source), table, analysis, parameterCount, "DELETE FROM \(table.name)\n" + source.explain)
    }

    private func dmlStatement(_ sql: String, _ plan: LocalPlan, _ table: TableDefinition, _ a: PartitionAnalysis, _ n: Int, _ explain: String) -> CompiledStatement {
        let replicated = table.partitionColumn == nil
        return CompiledStatement(sql: sql, local: plan, distribution: replicated ? .everyPartitionFirst : .everyPartitionSum,
                                 pin: a.pin, pinType: a.pinType, readOnly: false, touchesPartitioned: !replicated,
                                 writesReplicated: replicated, parameterCount: n, explain: explain)
    }
}
