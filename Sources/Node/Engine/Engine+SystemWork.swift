/// Transactions that are not stored procedures: system procedures such as
/// `@LoadSinglepartitionTable` and `@LoadMultipartitionTable`, and later the rebalancer's range
/// operations. They get the same guarantees as a procedure: a single-partition one runs in its
/// site's queue order with its own write log and rolls back on any error; a multi-partition one
/// runs at a barrier on every site and commits or rolls back everywhere.
extension Engine {
    public typealias SinglePartitionWork = @Sendable (PartitionStore, WriteLog, ExecutionContext) throws(SQLError) -> [ResultTable]
    public typealias MultiPartitionWork = @Sendable (MultiPartitionContext, ExecutionContext) throws(SQLError) -> [ResultTable]

    /// Runs `work` as a single-partition transaction on `partition`. When `tokens` are given, the
    /// site first checks that it owns every one of them and answers `txnMispartitioned` (running
    /// nothing) if a range holding one has moved away.
    public func runSinglePartition(on partition: PartitionID, options: CallOptions = CallOptions(), owning tokens: [Token] = [],
                                   _ work: @escaping SinglePartitionWork,
                                   completion: @escaping @Sendable (InvocationResult) -> Void) {
        guard let site = sites.first(where: { $0.partition == partition }) else {
            completion(InvocationResult(status: .gracefulFailure, statusString: "\(partition) does not exist on this host"))
            return
        }
        let context = options.context ?? stamp()
        let queued = site.queue.push(.call { site in
            if let ownership = site.store.ownership, let moved = tokens.first(where: { !ownership.owns($0) }) {
                completion(.mispartitioned(partition, owner: ownership.ring.partition(for: moved), transactionID: context.transactionID))
                return
            }
            let log = WriteLog()
            do throws(SQLError) {
                let tables = try work(site.store, log, context)
                let hash = log.determinismHash
                log.commit()
                completion(InvocationResult(status: .success, tables: tables, determinismHash: hash,
                                            transactionID: context.transactionID))
            } catch {
                log.rollback()
                completion(.failure(error, transactionID: context.transactionID))
            }
        })
        if !queued {
            completion(InvocationResult(status: .serverUnavailable, statusString: "the database is shutting down"))
        }
    }

    /// Runs `work` as a multi-partition transaction, driven from the coordinator.
    public func runMultiPartition(options: CallOptions = CallOptions(), _ work: @escaping MultiPartitionWork,
                                  completion: @escaping @Sendable (InvocationResult) -> Void) {
        submitMulti(.custom(work), options: options, completion: completion)
    }
}
