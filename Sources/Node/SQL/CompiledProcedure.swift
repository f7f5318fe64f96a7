import Synchronization

// A compiled procedure: a user procedure (CREATE PROCEDURE ... AS), an ad hoc statement, or a
// default CRUD procedure. Immutable after compilation and shared by every site thread.
//
// Parameters: a procedure's parameters are its statements' `?`s in order across statements. Each
// parameter's type is inferred at compile time (see ExprCompiler) and the wire values are converted
// to it once per call, with a `typeMismatch` error naming the parameter when impossible.
//
// Single-partition execution runs every statement against the one site's store (a statement of an
// SP procedure sees only its partition, as in VoltDB). Multi-partition execution runs each statement
// by its distribution: replicated reads on one partition, replicated writes on every partition
// (reporting the first partition's count), partitioned DML on every partition (counts summed),
// partitioned queries as fragments plus a coordinator merge, and statements pinned to one partition
// key through `runOnPartition(forKey:)`.
//
// Lifetime while queued: an engine that installs a catalog pins that catalog's procedures (see
// `Engine.pinnedCatalogs`), and a call of a pinned procedure is queued without retaining it.
//
// Default CRUD procedures bypass the planner: a direct call of the storage operation after
// converting the parameters to the column types (the hot path of the key-value benchmark).

public final class CompiledProcedure: Sendable {
    public let name: String
    public let partitioning: ProcedurePartitioning
    public let parameterCount: Int?
    public let readOnly: Bool
    public let isDefault: Bool
    public let partitionTable: String?
    public let partitionColumn: String?
    /// Like VoltDB's @Explain: one line per table access ("PRIMARY KEY LOOKUP of T",
    /// "INDEX SCAN of T using IDX", "SEQUENTIAL SCAN of T"), statements separated by blank lines.
    public let explain: String
    /// The statements' SQL texts (empty for default procedures).
    public let statementTexts: [String]
    /// The catalog version this procedure was compiled against. A site whose catalog has moved on
    /// resolves the procedure again by name rather than run a plan made for another schema.
    public let catalogVersion: Int64
    /// The serial of the engine that keeps this procedure alive for as long as it exists (0: no
    /// engine does). Set at most once, by `Engine.pin(_:)`, when the engine installs the catalog
    /// holding the procedure; read on every call, written never again, so reading it costs no
    /// cache-line transfer between site threads.
    let pinningEngine = Atomic<UInt64>(0)

    let statements: [CompiledStatement]
    let parameterRanges: [Range<Int>]
    let parameterTypes: [SQLType?]
    let fastPath: DefaultFastPath?

    init(name: String, partitioning: ProcedurePartitioning, parameterCount: Int, readOnly: Bool, isDefault: Bool,
         partitionTable: String?, partitionColumn: String?, explain: String, statements: [CompiledStatement],
         parameterRanges: [Range<Int>], parameterTypes: [SQLType?], fastPath: DefaultFastPath?, catalogVersion: Int64) {
        self.name = name; self.partitioning = partitioning; self.parameterCount = parameterCount; self.readOnly = readOnly
        self.isDefault = isDefault; self.partitionTable = partitionTable; self.partitionColumn = partitionColumn
        self.explain = explain; self.statements = statements; self.parameterRanges = parameterRanges
        self.parameterTypes = parameterTypes; self.fastPath = fastPath
        self.statementTexts = statements.map(\.sql)
        self.catalogVersion = catalogVersion
    }

    // MARK: compilation

    static func compileStatements(_ texts: [String], catalog: CatalogView) throws(SQLError) -> ([CompiledStatement], [Range<Int>], [SQLType?]) {
        let types = ParameterTypes()
        var statements: [CompiledStatement] = []
        var ranges: [Range<Int>] = []
        for text in texts {
            let (statement, count) = try Parser.parseCountingParameters(text)
            let planner = Planner(catalog: catalog, parameters: types)
            statements.append(try planner.plan(statement, sql: text, parameterCount: count))
            ranges.append(types.offset..<(types.offset + count))
            types.offset += count
        }
        let total = types.offset
        return (statements, ranges, (0..<total).map { types.types[$0] })
    }

    static func compileAdHoc(_ sql: String, catalog: CatalogView) throws(SQLError) -> CompiledProcedure {
        let (statements, ranges, types) = try compileStatements([sql], catalog: catalog)
        let s = statements[0]
        var partitioning = ProcedurePartitioning.multi
        if s.touchesPartitioned, !s.writesReplicated, let pin = s.pin, let type = s.pinType {
            switch pin {
            case .constant(let v): partitioning = .singleConstant(SQLValues.convertOrNil(v, to: type) ?? v, type: type)
            case .parameter(let i): partitioning = .single(parameterIndex: i, type: type)
            }
        }
        return CompiledProcedure(name: "@AdHoc", partitioning: partitioning, parameterCount: types.count, readOnly: s.readOnly,
                                 isDefault: false, partitionTable: nil, partitionColumn: nil,
                                 explain: explainText(statements, partitioning), statements: statements, parameterRanges: ranges,
                                 parameterTypes: types, fastPath: nil, catalogVersion: catalog.version)
    }

    static func explainText(_ statements: [CompiledStatement], _ partitioning: ProcedurePartitioning) -> String {
        let mode: String = switch partitioning {
        case .multi: "MULTI-PARTITION"
        default: "SINGLE-PARTITION"
        }
        return statements.map { "\(mode)\n\($0.explain)" }.joined(separator: "\n\n")
    }

    static func compile(_ source: CreateProcedureStatement, catalog: CatalogView) throws(SQLError) -> CompiledProcedure {
        let (statements, ranges, types) = try compileStatements(source.body, catalog: catalog)
        var partitioning = ProcedurePartitioning.multi
        var partitionTable: String?
        var partitionColumn: String?
        if let spec = source.partition {
            let p = spec.position
            guard let table = catalog.tables[spec.table] else {
                throw SQLError(.unknownTable, "Procedure \(source.name) is partitioned on unknown table \(spec.table)", position: (p.line, p.column))
            }
            guard let ci = table.columnIndex(named: spec.column) else {
                throw SQLError(.unknownColumn, "Procedure \(source.name) is partitioned on unknown column \(spec.table).\(spec.column)", position: (p.line, p.column))
            }
            guard table.partitionColumn == ci else {
                throw SQLError(.planning, "Procedure \(source.name) is partitioned on \(spec.table).\(spec.column), which is not the partition column of \(spec.table)", position: (p.line, p.column))
            }
            let index = spec.parameter ?? 0
            guard index >= 0, index < types.count else {
                throw SQLError(.planning, "Procedure \(source.name) partition parameter \(index) is out of range: it has \(types.count) parameter(s)", position: (p.line, p.column))
            }
            for s in statements where s.writesReplicated {
                throw SQLError(.planning, "Procedure \(source.name) is single-partition but statement \"\(s.sql)\" writes a replicated table; replicated tables can only be written by multi-partition procedures", position: (p.line, p.column))
            }
            let columnType = table.columns[ci].type
            if let t = types[index], t.typeClass != columnType.typeClass {
                throw SQLError(.typeMismatch, "Procedure \(source.name) partition parameter \(index) is used as \(t.name) but partition column \(spec.table).\(spec.column) is \(columnType.name)", position: (p.line, p.column))
            }
            // Statements may pin the partition column to other parameters (a procedure commonly
            // takes the key more than once); as in VoltDB, a row that does not belong to the
            // procedure's partition is refused when it is written (mispartitioned tuple).
            partitioning = .single(parameterIndex: index, type: columnType)
            partitionTable = table.name
            partitionColumn = table.columns[ci].name
        }
        return CompiledProcedure(name: source.name, partitioning: partitioning, parameterCount: types.count,
                                 readOnly: statements.allSatisfy(\.readOnly), isDefault: false, partitionTable: partitionTable,
                                 partitionColumn: partitionColumn, explain: explainText(statements, partitioning), statements: statements,
                                 parameterRanges: ranges, parameterTypes: types, fastPath: nil, catalogVersion: catalog.version)
    }

    // MARK: execution

    func convertParameters(_ params: [Value]) throws(SQLError) -> [Value] {
        guard params.count == parameterTypes.count else {
            throw SQLError(.wrongParameterCount, "PROCEDURE \(name) EXPECTS \(parameterTypes.count) PARAMS, BUT RECEIVED \(params.count)")
        }
        var out = params
        for (i, t) in parameterTypes.enumerated() {
            guard let t else { continue }
            do {
                out[i] = try SQLValues.convert(params[i], to: t)
            } catch {
                throw SQLError(error.kind, "Parameter \(i + 1) of \(name): \(error.message)")
            }
        }
        return out
    }

    private func statementParameters(_ params: [Value], _ i: Int) -> [Value] {
        let r = parameterRanges[i]
        return r.count == params.count ? params : Array(params[r])
    }

    public func executeSinglePartition(params: [Value], store: PartitionStore, log: WriteLog, context: ExecutionContext) throws(SQLError) -> [ResultTable] {
        if let fastPath { return [try fastPath.execute(params, store, log)] }
        let converted = try convertParameters(params)
        var results: [ResultTable] = []
        results.reserveCapacity(statements.count)
        for (i, s) in statements.enumerated() {
            results.append(try s.local.execute(store, log, EvalEnv(params: statementParameters(converted, i), context: context)))
        }
        return results
    }

    public func executeMultiPartition(params: [Value], mp: MultiPartitionContext, context: ExecutionContext) throws(SQLError) -> [ResultTable] {
        if let fastPath {
            let converted = try fastPath.convert(params)
            let tables = try mp.runOnEveryPartition { store, log, _ throws(SQLError) in try fastPath.executeConverted(converted, store, log) }
            return [tables.first ?? .modifiedTuples(0)]
        }
        let converted = try convertParameters(params)
        var results: [ResultTable] = []
        for (i, s) in statements.enumerated() {
            let p = statementParameters(converted, i)
            let plan = s.local
            let env = EvalEnv(params: p, context: context)
            if s.touchesPartitioned, !s.writesReplicated, let pin = s.pin, let type = s.pinType {
                let key: Value = switch pin {
                case .constant(let v): SQLValues.convertOrNil(v, to: type) ?? v
                case .parameter(let g): converted[g]
                }
                results.append(try mp.runOnPartition(forKey: key, type: type) { store, log, ctx throws(SQLError) in
                    try plan.execute(store, log, EvalEnv(params: p, context: ctx))
                })
                continue
            }
            switch s.distribution {
            case .onePartition:
                results.append(try mp.runOnOnePartition { store, log, ctx throws(SQLError) in
                    try plan.execute(store, log, EvalEnv(params: p, context: ctx))
                })
            case .everyPartitionFirst:
                let tables = try mp.runOnEveryPartition { store, log, ctx throws(SQLError) in
                    try plan.execute(store, log, EvalEnv(params: p, context: ctx))
                }
                results.append(tables.first ?? .modifiedTuples(0))
            case .everyPartitionSum:
                let tables = try mp.runOnEveryPartition { store, log, ctx throws(SQLError) in
                    try plan.execute(store, log, EvalEnv(params: p, context: ctx))
                }
                results.append(.modifiedTuples(CompiledProcedure.sumOfCounts(tables)))
            case .merge(let fragment, let merge):
                let tables = try mp.runOnEveryPartition { store, log, ctx throws(SQLError) in
                    try fragment.execute(store, log, EvalEnv(params: p, context: ctx))
                }
                results.append(try merge.merge(tables, env))
            case .routedInsert(let insert, let partitionColumn):
                var total: Int64 = 0
                let type = insert.columns[partitionColumn].type
                for exprs in insert.rows {
                    var row: [Value] = []
                    for e in exprs { row.append(try e([], env)) }
                    let key = try coerceForColumn(row[partitionColumn], insert.columns[partitionColumn])
                    let routed = row
                    let t = try mp.runOnPartition(forKey: key, type: type) { store, log, _ throws(SQLError) in
                        guard let table = store.table(named: insert.table) else { throw SQLError(.internalError, "Table \(insert.table) is missing from this partition") }
                        try insert.write(table, routed, log)
                        return .modifiedTuples(1)
                    }
                    if case .integer(let n)? = t.scalar { total += n }
                }
                results.append(.modifiedTuples(total))
            }
        }
        return results
    }

    static func sumOfCounts(_ tables: [ResultTable]) -> Int64 {
        var total: Int64 = 0
        for t in tables { if case .integer(let n)? = t.scalar { total += n } }
        return total
    }
}
