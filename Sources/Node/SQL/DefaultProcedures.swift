// VoltDB's default CRUD procedures (docs/PROTOCOL.md §5.12), generated per table:
//
// | table kind                                  | procedures                         | routing            |
// |---------------------------------------------|------------------------------------|--------------------|
// | partitioned                                 | insert (all columns)               | SP, partition col  |
// | partitioned, PK containing partition column | upsert (all columns)               | SP, partition col  |
// |                                             | select, delete (PK columns)        | SP, its PK position|
// |                                             | update (all columns, then PK)      | SP, count + PK pos |
// | replicated                                  | insert                             | MP                 |
// | replicated with PK                          | upsert, update, delete             | MP                 |
//
// Names are "<TABLE>.<action>". Each runs one storage call directly (`DefaultFastPath`): parameters
// are converted to the column types, then insert / upsert / lookup(primaryKey:) + update or delete.
// `select` returns the row (SELECT * shape) or no rows; DML returns modified_tuples.

enum DefaultProcedures {
    static func make(for table: TableDefinition, catalogVersion: Int64) -> [CompiledProcedure] {
        var out: [CompiledProcedure] = []
        let n = table.columns.count
        let partitioned = table.partitionColumn != nil
        let pk = table.primaryKey?.columns ?? []
        let pkHasPartition = partitioned && pk.contains(table.partitionColumn!)
        let pcType = table.partitionColumn.map { table.columns[$0].type }
        func make(_ action: DefaultFastPath.Action, _ routing: Int?) -> CompiledProcedure {
            let fast = DefaultFastPath(action: action, table: table)
            let partitioning: ProcedurePartitioning = routing.map { .single(parameterIndex: $0, type: pcType!) } ?? .multi
            return CompiledProcedure(name: "\(table.name).\(action.rawValue)", partitioning: partitioning, parameterCount: fast.parameterColumns.count,
                                     readOnly: action == .select, isDefault: true,
                                     partitionTable: partitioned ? table.name : nil,
                                     partitionColumn: table.partitionColumn.map { table.columns[$0].name },
                                     explain: fast.explain, statements: [], parameterRanges: [], parameterTypes: fast.parameterColumns.map { $0.type },
                                     fastPath: fast, catalogVersion: catalogVersion)
        }
        if let pc = table.partitionColumn {
            out.append(make(.insert, pc))
            if pkHasPartition {
                let pos = pk.firstIndex(of: pc)!
                out.append(make(.upsert, pc))
                out.append(make(.select, pos))
                out.append(make(.delete, pos))
                out.append(make(.update, n + pos))
            }
        } else {
            out.append(make(.insert, nil))
            if !pk.isEmpty {
                out.append(make(.upsert, nil))
                out.append(make(.update, nil))
                out.append(make(.delete, nil))
            }
        }
        return out
    }
}

final class DefaultFastPath: Sendable {
    enum Action: String, Sendable { case insert, upsert, select, delete, update }

    let action: Action
    let table: String
    let definition: TableDefinition
    /// The column each parameter is converted to.
    let parameterColumns: [ColumnDefinition]
    let resultColumns: [ResultTable.Column]

    init(action: Action, table: TableDefinition) {
        self.action = action
        self.table = table.name
        self.definition = table
        let pk = (table.primaryKey?.columns ?? []).map { table.columns[$0] }
        switch action {
        case .insert, .upsert: parameterColumns = table.columns
        case .select, .delete: parameterColumns = pk
        case .update: parameterColumns = table.columns + pk
        }
        resultColumns = table.columns.map { ResultTable.Column($0.name, $0.type) }
    }

    var explain: String {
        switch action {
        case .insert: "INSERT into \(table)"
        case .upsert: "UPSERT into \(table)"
        case .select: "PRIMARY KEY LOOKUP of \(table)"
        case .delete: "DELETE FROM \(table)\nPRIMARY KEY LOOKUP of \(table)"
        case .update: "UPDATE \(table)\nPRIMARY KEY LOOKUP of \(table)"
        }
    }

    @inline(__always)
    func convert(_ params: [Value]) throws(SQLError) -> [Value] {
        guard params.count == parameterColumns.count else {
            throw SQLError(.wrongParameterCount, "PROCEDURE \(table).\(action.rawValue) EXPECTS \(parameterColumns.count) PARAMS, BUT RECEIVED \(params.count)")
        }
        var out = params
        for i in out.indices {
            let c = parameterColumns[i]
            // Values already in the column's representation skip conversion (the common case).
            switch (out[i], c.type.typeClass) {
            case (.integer(let v), .number) where c.type.isInteger:
                if c.type != .bigint, !c.type.integerRange!.contains(v) { break }
                continue
            case (.string(let v), .string):
                // Length limits are checked here so the fast path never relies on storage for them.
                // Checked, not coerced: a string or byte value is already in its stored form, and
                // writing it back into `out` would copy the whole parameter array.
                if c.maxLength != nil { do { try c.checkLength(of: v) } catch { throw SQLError(storage: error) } }
                continue
            case (.bytes(let v), .bytes):
                if c.maxLength != nil { do { try c.checkLength(byteCount: v.count) } catch { throw SQLError(storage: error) } }
                continue
            case (.timestamp, .timestamp): continue
            case (.float, _) where c.type == .float: continue
            case (.null, _): continue
            default:
                break
            }
            do { out[i] = try SQLValues.convert(out[i], to: c.type) } catch {
                throw SQLError(error.kind, "Parameter \(i + 1) of \(table).\(action.rawValue): \(error.message)")
            }
            if c.maxLength != nil { do { out[i] = try c.coerce(out[i]) } catch { throw SQLError(storage: error) } }
        }
        return out
    }

    func execute(_ params: [Value], _ store: PartitionStore, _ log: WriteLog) throws(SQLError) -> ResultTable {
        try executeConverted(try convert(params), store, log)
    }

    func executeConverted(_ p: [Value], _ store: PartitionStore, _ log: WriteLog) throws(SQLError) -> ResultTable {
        guard let t = store.table(named: table) else { throw SQLError(.internalError, "Table \(table) is missing from this partition") }
        do {
            switch action {
            case .insert:
                _ = try t.insert(p, log: log)
                return .modifiedTuples(1)
            case .upsert:
                _ = try t.upsert(p, log: log)
                return .modifiedTuples(1)
            case .select:
                guard let id = t.lookup(primaryKey: p) else { return ResultTable(columns: resultColumns) }
                return ResultTable(columns: resultColumns, rows: [t.row(id)])
            case .delete:
                guard let id = t.lookup(primaryKey: p) else { return .modifiedTuples(0) }
                t.delete(id, log: log)
                return .modifiedTuples(1)
            case .update:
                let n = definition.columns.count
                guard let id = t.lookup(primaryKey: Array(p[n...])) else { return .modifiedTuples(0) }
                try t.update(id, to: Array(p[..<n]), log: log)
                return .modifiedTuples(1)
            }
        } catch {
            throw SQLError(storage: error)
        }
    }
}
