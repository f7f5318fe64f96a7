// The types through which the engine (execution sites, transactions) drives the SQL layer. They are
// the contract agreed with the engine: the engine routes by `ProcedurePartitioning`, runs
// single-partition work with `CompiledProcedure.executeSinglePartition` on the owning site, and
// multi-partition work with `executeMultiPartition`, which sends `Fragment`s through a
// `MultiPartitionContext`. Everything that must be deterministic across replicas (the transaction
// id, "now") arrives in `ExecutionContext`, never from a clock.

/// Per-transaction inputs that must come from the transaction, never the clock (determinism).
public struct ExecutionContext: Sendable {
    public var transactionID: Int64
    public var timestampMicros: Int64
    public init(transactionID: Int64, timestampMicros: Int64) {
        self.transactionID = transactionID
        self.timestampMicros = timestampMicros
    }
}

public enum ProcedurePartitioning: Sendable, Equatable {
    /// Route by hashing `params[parameterIndex]` as `type`.
    case single(parameterIndex: Int, type: SQLType)
    /// An ad hoc statement pinned by a literal partition key. (`indirect` keeps the Value, whose
    /// DECIMAL holds an Int128, out of line: inline it triggered misaligned stack accesses in
    /// debug builds of this toolchain.)
    indirect case singleConstant(Value, type: SQLType)
    /// Multi-partition.
    case multi
}

public enum SchemaChange: Sendable, Equatable {
    case createTable(TableDefinition)
    case dropTable(String)
    case createIndex(IndexDefinition)
    case dropIndex(table: String, name: String)
}

public typealias Fragment = @Sendable (PartitionStore, WriteLog, ExecutionContext) throws(SQLError) -> ResultTable

public protocol MultiPartitionContext: AnyObject {
    /// Runs the fragment on every partition (every site; replicated tables have a copy on every
    /// site, so a replicated write goes through this too); results in partition order.
    func runOnEveryPartition(_ fragment: @escaping Fragment) throws(SQLError) -> [ResultTable]
    /// Runs the fragment on one partition (reads of replicated tables only).
    func runOnOnePartition(_ fragment: @escaping Fragment) throws(SQLError) -> ResultTable
    /// Runs the fragment on the partition that owns `key` hashed as `type` (a statement of a
    /// multi-partition procedure pinned to one key, e.g. an INSERT into a partitioned table).
    /// Addition to the agreed contract: without it an MP procedure cannot insert into a partitioned
    /// table. The default implementation refuses with a clear error.
    func runOnPartition(forKey key: Value, type: SQLType, _ fragment: @escaping Fragment) throws(SQLError) -> ResultTable
}

extension MultiPartitionContext {
    public func runOnPartition(forKey key: Value, type: SQLType, _ fragment: @escaping Fragment) throws(SQLError) -> ResultTable {
        throw SQLError(.planning, "This multi-partition context cannot route a statement to the partition of key \(key)")
    }
}
