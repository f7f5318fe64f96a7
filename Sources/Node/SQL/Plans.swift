// Executable plan nodes. A statement is compiled once into an immutable tree of these final classes
// (shared by every site thread, hence Sendable with `let` state only) and executed many times.
//
// Row source: a left-deep nested-loop join over the FROM tables in FROM order. Each level binds one
// table's columns into a row buffer (the concatenation of all FROM tables' columns) through its
// access path — primary-key lookup, index equality lookup, index range scan or sequential scan —
// whose keys may refer to parameters, constants and columns of earlier levels (an index nested-loop
// join). Each WHERE/ON conjunct is evaluated at the first level where all its tables are bound.
//
// Row pipeline (after the source): optional aggregation (GROUP BY keys + accumulators, groups in
// first-seen order so results are deterministic), HAVING, projection plus sort keys, DISTINCT,
// ORDER BY (stable sort), OFFSET, LIMIT. The same pipeline class runs on a partition (a fragment)
// and on the multi-partition coordinator (the merge), with different compiled expressions.
//
// DML collects the target row ids first and mutates after the scan (storage forbids mutation inside
// `forEachRow`); every write goes through the transaction's WriteLog so a failure rolls back.

protocol LocalPlan: Sendable {
    func execute(_ store: PartitionStore, _ log: WriteLog, _ env: EvalEnv) throws(SQLError) -> ResultTable
}

enum AccessPath: Sendable {
    case sequential
    case primaryKey([Eval])
    case indexEquality(String, [Eval])
    case indexRange(String, prefix: [Eval], lower: Eval?, lowerInclusive: Bool, upper: Eval?, upperInclusive: Bool)
}

final class TableAccess: Sendable {
    let table: String
    let offset: Int
    let width: Int
    let path: AccessPath
    /// Conjuncts evaluated once this level's columns are bound.
    let filters: [Eval]
    /// Per key column: the column type key values are converted to (integers stay width-agnostic).
    let keyTypes: [SQLType]
    let explain: String

    init(table: String, offset: Int, width: Int, path: AccessPath, filters: [Eval], keyTypes: [SQLType], explain: String) {
        self.table = table; self.offset = offset; self.width = width; self.path = path
        self.filters = filters; self.keyTypes = keyTypes; self.explain = explain
    }

    /// Evaluates key expressions; nil when a key is NULL or cannot be represented in the column's
    /// type (no row can match an equality with it).
    func keys(_ evals: [Eval], _ row: [Value], _ env: EvalEnv, typesFrom start: Int = 0) throws(SQLError) -> [Value]? {
        var out: [Value] = []
        out.reserveCapacity(evals.count)
        for (i, e) in evals.enumerated() {
            let v = try e(row, env)
            if v.isNull { return nil }
            guard let n = try TableAccess.normalize(v, keyTypes[start + i]) else { return nil }
            out.append(n)
        }
        return out
    }

    /// A key value in the representation the storage holds for `type`, or nil if none is equal.
    static func normalize(_ v: Value, _ type: SQLType) throws(SQLError) -> Value? {
        switch (v, type.typeClass) {
        case (.integer, .number) where type.isInteger: return v
        case (.float(let d), .number) where type.isInteger:
            guard let i = Int64(exactly: d) else { return nil }
            return .integer(i)
        case (.decimal(let d), .number) where type.isInteger:
            guard d.unscaled % VoltDecimal.scaleFactor == 0, let i = d.truncatedInt64 else { return nil }
            return .integer(i)
        case (.string, .string), (.bytes, .bytes), (.timestamp, .timestamp): return v
        default:
            return SQLValues.convertOrNil(v, to: type)
        }
    }

    /// Calls `body` with each candidate row id of this level.
    func candidates(_ t: Table, _ row: [Value], _ env: EvalEnv, _ body: (RowID) throws(SQLError) -> Bool) throws(SQLError) -> Bool {
        switch path {
        case .sequential:
            var failure: SQLError?
            var keepGoing = true
            t.forEachRow { id in
                do throws(SQLError) {
                    keepGoing = try body(id)
                    return keepGoing
                } catch {
                    failure = error
                    return false
                }
            }
            if let failure { throw failure }
            return keepGoing
        case .primaryKey(let evals):
            guard let k = try keys(evals, row, env), let id = t.lookup(primaryKey: k) else { return true }
            return try body(id)
        case .indexEquality(let name, let evals):
            guard let k = try keys(evals, row, env) else { return true }
            for id in t.indexLookup(name, prefix: k) where try !body(id) { return false }
            return true
        case .indexRange(let name, let prefix, let lower, let lowerInclusive, let upper, let upperInclusive):
            guard let p = try keys(prefix, row, env) else { return true }
            var lo: [Value]? = p.isEmpty ? nil : p
            var hi: [Value]? = p.isEmpty ? nil : p
            if let lower {
                let v = try lower(row, env)
                if v.isNull { return true }
                lo = p + [v]
            }
            if let upper {
                let v = try upper(row, env)
                if v.isNull { return true }
                hi = p + [v]
            }
            // Index keys order NULL first: a range with only an upper bound must not return NULLs.
            let excludeNullLow = lower == nil && upper != nil
            if excludeNullLow { lo = p + [.null] }
            let ids = t.indexScan(name, lower: lo, lowerInclusive: excludeNullLow ? false : lowerInclusive,
                                  upper: hi, upperInclusive: upperInclusive, descending: false, limit: nil)
            for id in ids where try !body(id) { return false }
            return true
        }
    }
}

/// Nested-loop row source over the FROM tables.
final class RowSource: Sendable {
    let levels: [TableAccess]
    let width: Int
    /// Conjuncts with no table reference (constant or parameter-only), checked once.
    let constantFilters: [Eval]

    init(levels: [TableAccess], width: Int, constantFilters: [Eval]) {
        self.levels = levels; self.width = width; self.constantFilters = constantFilters
    }

    var explain: String { levels.map(\.explain).joined(separator: "\n") }

    func tables(_ store: PartitionStore) throws(SQLError) -> [Table] {
        var out: [Table] = []
        for l in levels {
            guard let t = store.table(named: l.table) else {
                throw SQLError(.internalError, "Table \(l.table) is in the catalog but not in this partition's store")
            }
            out.append(t)
        }
        return out
    }

    /// Calls `emit` with each joined row and, for single-table sources, its row id; `emit` returns
    /// false to stop.
    func run(_ store: PartitionStore, _ env: EvalEnv, _ emit: ([Value], RowID) throws(SQLError) -> Bool) throws(SQLError) {
        for f in constantFilters where !SQLValues.isTrue(try f([], env)) { return }
        let tables = try tables(store)
        var row = [Value](repeating: .null, count: width)
        _ = try scan(0, tables, &row, env, emit)
    }

    private func scan(_ level: Int, _ tables: [Table], _ row: inout [Value], _ env: EvalEnv,
                      _ emit: ([Value], RowID) throws(SQLError) -> Bool) throws(SQLError) -> Bool {
        let access = levels[level]
        let t = tables[level]
        let last = level == levels.count - 1
        var buffer = row
        let result = try access.candidates(t, buffer, env) { id throws(SQLError) in
            let values = t.row(id)
            for c in 0..<access.width { buffer[access.offset + c] = values[c] }
            for f in access.filters where !SQLValues.isTrue(try f(buffer, env)) { return true }
            if last { return try emit(buffer, id) }
            return try scan(level + 1, tables, &buffer, env, emit)
        }
        row = buffer
        return result
    }
}

// MARK: aggregation

enum AccumulatorKind: Sendable { case countStar, count, sum, min, max, avg, sumOfCounts }

struct AccumulatorSpec: Sendable {
    var kind: AccumulatorKind
    var argument: Eval?
    var distinct: Bool
    var resultType: SQLType
}

struct AccumulatorState {
    var count: Int64 = 0
    var value: Value = .null
    var seen: Set<Value>?

    mutating func add(_ spec: AccumulatorSpec, _ row: [Value], _ env: EvalEnv) throws(SQLError) {
        if spec.kind == .countStar { count += 1; return }
        let v = try spec.argument!(row, env)
        if v.isNull { return }
        if spec.distinct {
            if seen == nil { seen = [] }
            if !seen!.insert(v).inserted { return }
        }
        switch spec.kind {
        case .countStar: break
        case .count: count += 1
        case .sumOfCounts:
            guard case .integer(let c) = v else { return }
            count += c
        case .sum, .avg:
            count += 1
            value = value.isNull ? v : try SQLValues.arithmetic("+", value, v)
        case .min:
            if value.isNull { value = v } else if try SQLValues.compare(v, value) < 0 { value = v }
        case .max:
            if value.isNull { value = v } else if try SQLValues.compare(v, value) > 0 { value = v }
        }
    }

    func result(_ spec: AccumulatorSpec) throws(SQLError) -> Value {
        switch spec.kind {
        case .countStar, .count, .sumOfCounts: return .integer(count)
        case .sum, .min, .max: return value.isNull ? .null : try SQLValues.convert(value, to: spec.resultType)
        case .avg:
            guard count > 0 else { return .null }
            return try AccumulatorState.average(value, count, spec.resultType)
        }
    }

    /// VoltDB's AVG keeps the argument's type: integer averages truncate.
    static func average(_ sum: Value, _ count: Int64, _ type: SQLType) throws(SQLError) -> Value {
        if sum.isNull || count == 0 { return .null }
        let divisor: Value = switch sum {
        case .float: .float(Double(count))
        case .decimal: .decimal(VoltDecimal(count))
        default: .integer(count)
        }
        return try SQLValues.convert(try SQLValues.arithmetic("/", sum, divisor), to: type)
    }
}

final class Aggregation: Sendable {
    let keys: [Eval]
    let accumulators: [AccumulatorSpec]

    init(keys: [Eval], accumulators: [AccumulatorSpec]) { self.keys = keys; self.accumulators = accumulators }

    /// Rows of `[key values..., accumulator results...]`, groups in first-seen order. Without GROUP BY
    /// there is exactly one row, even for no input.
    func run(_ input: [[Value]], _ env: EvalEnv) throws(SQLError) -> [[Value]] {
        var groupIndex: [[Value]: Int] = [:]
        var groupKeys: [[Value]] = []
        var states: [[AccumulatorState]] = []
        let fresh = [AccumulatorState](repeating: AccumulatorState(), count: accumulators.count)
        if keys.isEmpty { groupKeys.append([]); states.append(fresh); groupIndex[[]] = 0 }
        for row in input {
            var key: [Value] = []
            key.reserveCapacity(keys.count)
            for k in keys { key.append(try k(row, env)) }
            let g: Int
            if let existing = groupIndex[key] { g = existing } else {
                g = groupKeys.count
                groupIndex[key] = g
                groupKeys.append(key)
                states.append(fresh)
            }
            for i in accumulators.indices { try states[g][i].add(accumulators[i], row, env) }
        }
        var out: [[Value]] = []
        out.reserveCapacity(groupKeys.count)
        for (g, key) in groupKeys.enumerated() {
            var row = key
            for i in accumulators.indices { row.append(try states[g][i].result(accumulators[i])) }
            out.append(row)
        }
        return out
    }
}

// MARK: pipeline

struct SortKey: Sendable {
    var eval: Eval
    var descending: Bool
}

final class RowPipeline: Sendable {
    let aggregation: Aggregation?
    let having: Eval?
    /// Output expressions over the (aggregated) row; nil passes rows through unchanged.
    let projection: [Eval]?
    let sortKeys: [SortKey]
    let distinct: Bool
    let limit: Eval?
    let offset: Eval?
    /// Fragment mode: LIMIT becomes LIMIT + OFFSET with no OFFSET, and the sort key values stay
    /// appended to each row as hidden columns for the coordinator's merge.
    let fragmentMode: Bool

    init(aggregation: Aggregation?, having: Eval?, projection: [Eval]?, sortKeys: [SortKey], distinct: Bool,
         limit: Eval?, offset: Eval?, fragmentMode: Bool) {
        self.aggregation = aggregation; self.having = having; self.projection = projection; self.sortKeys = sortKeys
        self.distinct = distinct; self.limit = limit; self.offset = offset; self.fragmentMode = fragmentMode
    }

    /// Without aggregation, sorting or DISTINCT the source can stop after this many rows.
    func earlyStop(_ env: EvalEnv) throws(SQLError) -> Int? {
        guard aggregation == nil, sortKeys.isEmpty, !distinct, having == nil, let limit else { return nil }
        return try RowPipeline.count(limit, env, "LIMIT") + (try offset.map { o throws(SQLError) in try RowPipeline.count(o, env, "OFFSET") } ?? 0)
    }

    static func count(_ e: Eval, _ env: EvalEnv, _ what: String) throws(SQLError) -> Int {
        let v = try e([], env)
        guard case .integer(let n) = v, n >= 0 else {
            throw SQLError(.valueOutOfRange, "\(what) must be a non-negative integer, not \(v)")
        }
        return Int(clamping: n)
    }

    func run(_ input: [[Value]], _ env: EvalEnv) throws(SQLError) -> [[Value]] {
        var rows = input
        if let aggregation { rows = try aggregation.run(rows, env) }
        if let having {
            var kept: [[Value]] = []
            for r in rows where SQLValues.isTrue(try having(r, env)) { kept.append(r) }
            rows = kept
        }
        var out: [[Value]] = []
        out.reserveCapacity(rows.count)
        let visible = projection?.count ?? (rows.first?.count ?? 0) - (fragmentMode ? 0 : 0)
        for r in rows {
            var o: [Value]
            if let projection {
                o = []
                o.reserveCapacity(projection.count + sortKeys.count)
                for p in projection { o.append(try p(r, env)) }
            } else {
                o = r
            }
            for k in sortKeys { o.append(try k.eval(r, env)) }
            out.append(o)
        }
        let width = visible
        if distinct {
            var seen: Set<ArraySlice<Value>> = []
            out = out.filter { seen.insert($0[0..<(fragmentMode ? $0.count : width)]).inserted }
        }
        if !sortKeys.isEmpty {
            let keys = sortKeys
            let base = width
            out = try RowPipeline.stableSort(out) { a, b throws(SQLError) in
                for (i, k) in keys.enumerated() {
                    let c = Value.compare(a[base + i], b[base + i])
                    if c != 0 { return k.descending ? c > 0 : c < 0 }
                }
                return false
            }
        }
        var skip = try offset.map { o throws(SQLError) in try RowPipeline.count(o, env, "OFFSET") } ?? 0
        var take = try limit.map { l throws(SQLError) in try RowPipeline.count(l, env, "LIMIT") }
        if fragmentMode { if let t = take { take = t + skip }; skip = 0 }
        if skip > 0 { out = Array(out.dropFirst(skip)) }
        if let take, out.count > take { out = Array(out.prefix(take)) }
        if !fragmentMode && !sortKeys.isEmpty {
            for i in out.indices { out[i].removeLast(sortKeys.count) }
        }
        return out
    }

    static func stableSort(_ rows: [[Value]], _ less: ([Value], [Value]) throws(SQLError) -> Bool) throws(SQLError) -> [[Value]] {
        var indexed = Array(rows.enumerated())
        var failure: SQLError?
        indexed.sort { a, b in
            if failure != nil { return false }
            do throws(SQLError) {
                if try less(a.element, b.element) { return true }
                if try less(b.element, a.element) { return false }
                return a.offset < b.offset
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return indexed.map(\.element)
    }
}

// MARK: statements

final class SelectPlan: LocalPlan {
    let source: RowSource
    let pipeline: RowPipeline
    let columns: [ResultTable.Column]
    /// `SELECT COUNT(*) FROM t` with no WHERE: answered from the table's row count.
    let countStarTable: String?

    init(source: RowSource, pipeline: RowPipeline, columns: [ResultTable.Column], countStarTable: String?) {
        self.source = source; self.pipeline = pipeline; self.columns = columns; self.countStarTable = countStarTable
    }

    func rows(_ store: PartitionStore, _ env: EvalEnv) throws(SQLError) -> [[Value]] {
        if let countStarTable {
            guard let t = store.table(named: countStarTable) else { throw SQLError(.internalError, "Table \(countStarTable) is missing from this partition") }
            return [[.integer(Int64(t.rowCount))]]
        }
        var input: [[Value]] = []
        let stop = try pipeline.earlyStop(env)
        if stop == 0 { return [] }
        try source.run(store, env) { row, _ in
            input.append(row)
            return stop.map { input.count < $0 } ?? true
        }
        return try pipeline.run(input, env)
    }

    func execute(_ store: PartitionStore, _ log: WriteLog, _ env: EvalEnv) throws(SQLError) -> ResultTable {
        ResultTable(columns: columns, rows: try rows(store, env))
    }
}

/// The coordinator side of a multi-partition SELECT: merges the fragments' tables.
final class MergePlan: Sendable {
    let pipeline: RowPipeline
    let columns: [ResultTable.Column]

    init(pipeline: RowPipeline, columns: [ResultTable.Column]) { self.pipeline = pipeline; self.columns = columns }

    func merge(_ parts: [ResultTable], _ env: EvalEnv) throws(SQLError) -> ResultTable {
        var rows: [[Value]] = []
        for p in parts { rows.append(contentsOf: p.rows) }
        return ResultTable(columns: columns, rows: try pipeline.run(rows, env))
    }
}

final class InsertPlan: LocalPlan {
    let table: String
    let columns: [ColumnDefinition]
    /// Per row, per table column: the value expression (defaults already filled in).
    let rows: [[Eval]]
    /// INSERT ... SELECT: the source query; its output columns map to `targetColumns`.
    let select: SelectPlan?
    let targetColumns: [Int]
    let upsert: Bool
    /// For UPSERT with a column list: which columns an existing row takes from the statement.
    let providedColumns: [Bool]

    init(table: String, columns: [ColumnDefinition], rows: [[Eval]], select: SelectPlan?, targetColumns: [Int],
         upsert: Bool, providedColumns: [Bool]) {
        self.table = table; self.columns = columns; self.rows = rows; self.select = select
        self.targetColumns = targetColumns; self.upsert = upsert; self.providedColumns = providedColumns
    }

    func execute(_ store: PartitionStore, _ log: WriteLog, _ env: EvalEnv) throws(SQLError) -> ResultTable {
        guard let t = store.table(named: table) else { throw SQLError(.internalError, "Table \(table) is missing from this partition") }
        var values: [[Value]] = []
        if let select {
            for r in try select.rows(store, env) {
                var row = columns.map { $0.defaultValue ?? .null }
                for (i, c) in targetColumns.enumerated() { row[c] = r[i] }
                values.append(row)
            }
        } else {
            for exprs in rows {
                var row: [Value] = []
                row.reserveCapacity(exprs.count)
                for e in exprs { row.append(try e([], env)) }
                values.append(row)
            }
        }
        for row in values { try write(t, row, log) }
        return .modifiedTuples(Int64(values.count))
    }

    func write(_ t: Table, _ raw: [Value], _ log: WriteLog) throws(SQLError) {
        var row: [Value] = []
        row.reserveCapacity(raw.count)
        for (i, v) in raw.enumerated() { row.append(try coerceForColumn(v, columns[i])) }
        do {
            if !upsert {
                _ = try t.insert(row, log: log)
            } else if providedColumns.allSatisfy({ $0 }) {
                _ = try t.upsert(row, log: log)
            } else {
                let pk = t.definition.primaryKey!.columns
                if let id = t.lookup(primaryKey: pk.map { row[$0] }) {
                    var merged = t.row(id)
                    for i in merged.indices where providedColumns[i] { merged[i] = row[i] }
                    try t.update(id, to: merged, log: log)
                } else {
                    _ = try t.insert(row, log: log)
                }
            }
        } catch {
            throw SQLError(storage: error)
        }
    }
}

/// Converts a value to a column's type (SQL conversion rules), then lets storage check range,
/// length and nullability.
@inline(__always)
func coerceForColumn(_ v: Value, _ c: ColumnDefinition) throws(SQLError) -> Value {
    let converted: Value
    do {
        converted = try SQLValues.convert(v, to: c.type)
    } catch {
        throw SQLError(error.kind, "\(error.message) for column \(c.name)")
    }
    do { return try c.coerce(converted) } catch { throw SQLError(storage: error) }
}

final class UpdatePlan: LocalPlan {
    let source: RowSource
    let assignments: [(column: Int, value: Eval)]
    let columns: [ColumnDefinition]

    init(source: RowSource, assignments: [(column: Int, value: Eval)], columns: [ColumnDefinition]) {
        self.source = source; self.assignments = assignments; self.columns = columns
    }

    func execute(_ store: PartitionStore, _ log: WriteLog, _ env: EvalEnv) throws(SQLError) -> ResultTable {
        var targets: [(RowID, [Value])] = []
        try source.run(store, env) { row, id throws(SQLError) in
            var new = row
            for a in assignments { new[a.column] = try coerceForColumn(try a.value(row, env), columns[a.column]) }
            targets.append((id, new))
            return true
        }
        let t = try source.tables(store)[0]
        for (id, row) in targets {
            do { try t.update(id, to: row, log: log) } catch { throw SQLError(storage: error) }
        }
        return .modifiedTuples(Int64(targets.count))
    }
}

final class DeletePlan: LocalPlan {
    let source: RowSource

    init(source: RowSource) { self.source = source }

    func execute(_ store: PartitionStore, _ log: WriteLog, _ env: EvalEnv) throws(SQLError) -> ResultTable {
        var targets: [RowID] = []
        try source.run(store, env) { _, id in targets.append(id); return true }
        let t = try source.tables(store)[0]
        for id in targets { t.delete(id, log: log) }
        return .modifiedTuples(Int64(targets.count))
    }
}
