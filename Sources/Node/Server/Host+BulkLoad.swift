// The bulk loader's system procedures (docs/PROTOCOL.md §5.9–5.10).
//
// @LoadSinglepartitionTable(VARBINARY key bytes, STRING table, TINYINT upsert, VOLTTABLE rows): the
// key bytes are hashed as the table's partition column type (integer columns read them
// little-endian at the column's width, as Java does) to pick the partition, and every row is
// inserted (or upserted) in one single-partition transaction on that partition's site. A row that
// belongs to another partition fails the storage layer's ownership check ("Mispartitioned tuple"),
// so a batch is all on one partition or not loaded at all; the Python loader then retries row by
// row, each with its own key.
//
// @LoadMultipartitionTable(STRING table, TINYINT upsert, VOLTTABLE rows): one multi-partition
// transaction; a replicated table gets every row on every partition, a partitioned one gets each
// row on its own partition.
//
// Either way the VOLTTABLE's columns must match the table's in number; each value is coerced to its
// column (ColumnDefinition.coerce) before anything runs, and one bad row fails the whole call with
// nothing loaded. The answer is one BIGINT table holding the number of rows loaded.

import VoltModel
import VoltWire

extension Host {
    private struct LoadRequest: Sendable {
        var table: TableDefinition
        var upsert: Bool
        var rows: [[Value]]
    }

    private enum Parsed: Sendable {
        case success(LoadRequest)
        case failure(InvocationResult)
    }

    private func loadRequest(_ p: [WireParameter], offset: Int, procedure: String, runtime: Runtime) -> Parsed {
        func fail(_ message: String) -> Parsed {
            .failure(InvocationResult(status: .gracefulFailure, statusString: "\(procedure): \(message)"))
        }
        guard p.count == offset + 3 else {
            return fail("expects \(offset + 3) parameters, received \(p.count)")
        }
        guard let name = Host.stringParameter(p, offset) else { return fail("parameter \(offset) must be the table name, a STRING") }
        guard case .value(let flag, _) = p[offset + 1], case .integer(let upsertFlag) = flag else {
            return fail("parameter \(offset + 1) must be the upsert flag, 0 or 1")
        }
        guard case .table(let input) = p[offset + 2] else { return fail("parameter \(offset + 2) must be a VOLTTABLE of rows") }
        guard let table = runtime.engine.catalog.table(named: name) else { return fail("table \(name) does not exist") }
        if upsertFlag != 0 && table.primaryKey == nil {
            return fail("table \(table.name) has no primary key, so rows cannot be upserted")
        }
        guard input.columns.count == table.columns.count else {
            return fail("the rows have \(input.columns.count) columns but table \(table.name) has \(table.columns.count)")
        }
        var rows: [[Value]] = []
        rows.reserveCapacity(input.rows.count)
        for (r, row) in input.rows.enumerated() {
            var coerced: [Value] = []
            coerced.reserveCapacity(row.count)
            for (c, value) in row.enumerated() {
                do {
                    coerced.append(try table.columns[c].coerce(value))
                } catch {
                    return fail("row \(r), column \(table.columns[c].name): \(error.message); nothing was loaded")
                }
            }
            rows.append(coerced)
        }
        return .success(LoadRequest(table: table, upsert: upsertFlag != 0, rows: rows))
    }

    private static func load(_ request: LoadRequest, _ rows: [[Value]], into store: PartitionStore, log: WriteLog) throws(SQLError) {
        guard let table = store.table(named: request.table.name) else {
            throw SQLError(.unknownTable, "Table \(request.table.name) does not exist on this partition")
        }
        do {
            for row in rows {
                if request.upsert { _ = try table.upsert(row, log: log) } else { try table.insert(row, log: log) }
            }
        } catch {
            throw SQLError(storage: error)
        }
    }

    private static func countTable(_ n: Int) -> ResultTable {
        ResultTable(columns: [.init("", .bigint)], rows: [[.integer(Int64(n))]])
    }

    /// From a client (`invocation` set): routes the call. From the cluster (`options` set): runs it here.
    func loadSinglePartitionTable(_ p: [WireParameter], runtime: Runtime, invocation: Invocation? = nil,
                                  options: CallOptions? = nil, reply: @escaping Reply) {
        let procedure = "@LoadSinglepartitionTable"
        let keyBytes: [UInt8]
        switch p.first {
        case .value(.bytes(let b), _)?: keyBytes = b
        case .byteArray(let b)?: keyBytes = b
        default:
            reply(InvocationResult(status: .gracefulFailure,
                                   statusString: "\(procedure): parameter 0 must be the partition key bytes, a VARBINARY"))
            return
        }
        let request: LoadRequest
        switch loadRequest(p, offset: 1, procedure: procedure, runtime: runtime) {
        case .success(let r): request = r
        case .failure(let f): reply(f); return
        }
        guard let column = request.table.partitionColumn else {
            reply(InvocationResult(status: .gracefulFailure,
                statusString: "\(procedure): table \(request.table.name) is replicated; load it with @LoadMultipartitionTable"))
            return
        }
        let engine = runtime.engine
        let partition = engine.ring.partition(forKey: .bytes(keyBytes), type: request.table.columns[column].type)
        let started = Host.monotonicNanos()
        let stats = self.stats
        let recorded: Reply = { result in
            stats.recordProcedure(procedure, partition: partition, status: result.status, nanos: Host.monotonicNanos() - started)
            reply(result)
        }
        let run: @Sendable (CallOptions, @escaping Reply) -> Void = { options, done in
            engine.runSinglePartition(on: partition, options: options, { store, log, _ throws(SQLError) in
                try Host.load(request, request.rows, into: store, log: log)
                return [Host.countTable(request.rows.count)]
            }, completion: done)
        }
        if let options { run(options, reply) } else if let invocation {
            runData(invocation, target: .partition(partition), runtime: runtime, reply: recorded, local: run)
        }
    }

    func loadMultiPartitionTable(_ p: [WireParameter], runtime: Runtime, invocation: Invocation? = nil,
                                 options: CallOptions? = nil, reply: @escaping Reply) {
        let procedure = "@LoadMultipartitionTable"
        let request: LoadRequest
        switch loadRequest(p, offset: 0, procedure: procedure, runtime: runtime) {
        case .success(let r): request = r
        case .failure(let f): reply(f); return
        }
        let engine = runtime.engine
        let ring = engine.ring
        let started = Host.monotonicNanos()
        let stats = self.stats
        let recorded: Reply = { result in
            stats.recordProcedure(procedure, partition: .multiPartitionInitiator, status: result.status,
                                  nanos: Host.monotonicNanos() - started)
            reply(result)
        }
        let run: @Sendable (CallOptions, @escaping Reply) -> Void = { options, done in
            engine.runMultiPartition(options: options, { mp, _ throws(SQLError) in
                if let column = request.table.partitionColumn {
                    let type = request.table.columns[column].type
                    var groups: [PartitionID: [[Value]]] = [:]
                    for row in request.rows { groups[ring.partition(forKey: row[column], type: type), default: []].append(row) }
                    for partition in groups.keys.sorted() {
                        let rows = groups[partition]!
                        _ = try mp.runOnPartition(forKey: rows[0][column], type: type) { store, log, _ throws(SQLError) in
                            try Host.load(request, rows, into: store, log: log)
                            return Host.countTable(rows.count)
                        }
                    }
                } else {
                    _ = try mp.runOnEveryPartition { store, log, _ throws(SQLError) in
                        try Host.load(request, request.rows, into: store, log: log)
                        return Host.countTable(request.rows.count)
                    }
                }
                return [Host.countTable(request.rows.count)]
            }, completion: done)
        }
        if let options { run(options, reply) } else if let invocation {
            runData(invocation, target: .multi, runtime: runtime, reply: recorded, local: run)
        }
    }
}

extension Host {
    /// The partition an `@LoadSinglepartitionTable` call loads, or `.anywhere` when its parameters
    /// are wrong (it then fails the same way wherever it runs).
    func loadSinglePartitionTarget(_ p: [WireParameter], runtime: Runtime) -> CallTarget {
        let keyBytes: [UInt8]
        switch p.first {
        case .value(.bytes(let b), _)?: keyBytes = b
        case .byteArray(let b)?: keyBytes = b
        default: return .anywhere
        }
        guard let name = Host.stringParameter(p, 1), let table = runtime.engine.catalog.table(named: name),
              let column = table.partitionColumn else { return .anywhere }
        return .partition(runtime.engine.ring.partition(forKey: .bytes(keyBytes), type: table.columns[column].type))
    }
}
