import Testing
@testable import Node

/// A catalog plus N partition stores, with a sequential MultiPartitionContext over them. Keys are
/// routed by `token mod N` (the ring is not the SQL layer's concern).
final class SQLTestCluster: MultiPartitionContext {
    var catalog = Catalog.empty
    var stores: [PartitionStore]
    var logs: [WriteLog]
    let context = ExecutionContext(transactionID: 42, timestampMicros: 1_600_000_000_123_456)

    init(partitions: Int = 1, schema: String = "") throws {
        stores = (0..<partitions).map { _ in PartitionStore() }
        logs = (0..<partitions).map { _ in WriteLog() }
        if !schema.isEmpty { try ddl(schema) }
    }

    func ddl(_ text: String) throws {
        let (next, changes) = try catalog.applying(ddl: text)
        catalog = next
        for store in stores {
            for change in changes {
                switch change {
                case .createTable(let def): _ = store.createTable(def)
                case .dropTable(let name): store.dropTable(named: name)
                case .createIndex(let i): try store.table(named: i.table)!.addIndex(i)
                case .dropIndex(let table, let name): store.table(named: table)?.dropIndex(named: name)
                }
            }
        }
    }

    func partition(of key: Value, _ type: SQLType) -> Int {
        guard let token = key.partitionToken(as: type) else { return 0 }
        return Int(UInt32(bitPattern: token.rawValue) % UInt32(stores.count))
    }

    /// Runs a procedure the way the engine would: SP on the owning partition, else MP.
    func call(_ p: CompiledProcedure, _ params: [Value] = []) throws -> [ResultTable] {
        switch p.partitioning {
        case .single(let i, let type):
            guard i < params.count else { throw SQLError(.wrongParameterCount, "missing partition parameter") }
            let s = partition(of: params[i], type)
            return try run(s) { try p.executeSinglePartition(params: params, store: stores[s], log: logs[s], context: context) }
        case .singleConstant(let v, let type):
            let s = partition(of: v, type)
            return try run(s) { try p.executeSinglePartition(params: params, store: stores[s], log: logs[s], context: context) }
        case .multi:
            do {
                let r = try p.executeMultiPartition(params: params, mp: self, context: context)
                logs.forEach { $0.commit() }
                return r
            } catch {
                logs.forEach { $0.rollback() }
                throw error
            }
        }
    }

    private func run(_ s: Int, _ body: () throws -> [ResultTable]) throws -> [ResultTable] {
        do {
            let r = try body()
            logs[s].commit()
            return r
        } catch {
            logs[s].rollback()
            throw error
        }
    }

    @discardableResult
    func sql(_ text: String, _ params: [Value] = []) throws -> ResultTable {
        try call(try catalog.compileAdHoc(text), params)[0]
    }

    func procedure(_ name: String, _ params: [Value]) throws -> [ResultTable] {
        guard let p = catalog.procedure(named: name) else { throw SQLError(.unknownProcedure, "Procedure \(name) was not found") }
        return try call(p, params)
    }

    // MultiPartitionContext
    func runOnEveryPartition(_ fragment: @escaping Fragment) throws(SQLError) -> [ResultTable] {
        var out: [ResultTable] = []
        for (i, s) in stores.enumerated() { out.append(try fragment(s, logs[i], context)) }
        return out
    }

    func runOnOnePartition(_ fragment: @escaping Fragment) throws(SQLError) -> ResultTable {
        try fragment(stores[0], logs[0], context)
    }

    func runOnPartition(forKey key: Value, type: SQLType, _ fragment: @escaping Fragment) throws(SQLError) -> ResultTable {
        let s = partition(of: key, type)
        return try fragment(stores[s], logs[s], context)
    }
}

/// Rows rendered as text for readable comparisons ("1|abc|NULL").
func render(_ rows: [[Value]]) -> [String] {
    rows.map { $0.map(\.description).joined(separator: "|") }
}
