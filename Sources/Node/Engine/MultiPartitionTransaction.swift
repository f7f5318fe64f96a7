import Synchronization

/// One multi-partition transaction as the sites and the coordinator see it.
///
/// The engine pushes the transaction onto every site's queue (all sites, same order for every
/// multi-partition transaction). Each site, on reaching it, serves its mailbox here until a
/// `.finish` arrives. The coordinator thread drives it through `MultiPartitionContext`: each
/// `runOnEveryPartition` sends one fragment to every mailbox and waits for every reply; the
/// decision (commit if the procedure returned, roll back if it threw) goes out last, and the
/// coordinator waits until every site has applied it, so the next multi-partition transaction
/// starts from a settled state.
final class MultiPartitionTransaction: Sendable {
    let context: ExecutionContext
    let partitions: [PartitionID]
    private let mailboxes: [BlockingQueue<MultiPartitionMessage>]
    private let finished: Mutex<(count: Int, hash: UInt64)> = Mutex((0, 0))
    private let allFinished = OneShot<UInt64>()

    init(context: ExecutionContext, partitions: [PartitionID]) {
        // No local partition is possible in a cluster: a host that holds neither side of a range
        // move still runs the transaction's body, to reach the same decision as the others.
        self.context = context
        self.partitions = partitions
        self.mailboxes = partitions.map { _ in BlockingQueue<MultiPartitionMessage>() }
    }

    func mailbox(for partition: PartitionID) -> BlockingQueue<MultiPartitionMessage> {
        mailboxes[index(of: partition)]
    }

    private func index(of partition: PartitionID) -> Int {
        guard let i = partitions.firstIndex(of: partition) else {
            preconditionFailure("\(partition) is not part of transaction \(context.transactionID)")
        }
        return i
    }

    func siteFinished(_ partition: PartitionID, determinismHash: UInt64) {
        let done = finished.withLock { state -> UInt64? in
            state.count += 1
            // Combine per-partition hashes in an order-independent way: partitions finish in any order.
            state.hash = state.hash &+ (determinismHash &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(partition.rawValue)))
            return state.count == partitions.count ? state.hash : nil
        }
        if let done { allFinished.set(done) }
    }

    /// Sends the decision to every site and waits until all have applied it. Returns the combined
    /// determinism hash.
    func finish(commit: Bool) -> UInt64 {
        if partitions.isEmpty { return 0 }
        for mailbox in mailboxes { mailbox.push(.finish(commit: commit)) }
        return allFinished.wait()
    }

    /// Sends one message per partition (built by `make`) and waits for every reply, in partition order.
    func roundTrip(to targets: [PartitionID],
                   _ make: (@escaping @Sendable (PartitionID, Result<ResultTable, SQLError>) -> Void) -> MultiPartitionMessage)
        -> [Result<ResultTable, SQLError>] {
        let collector = ReplyCollector(partitions: targets)
        let message = make { partition, result in collector.deliver(partition, result) }
        for p in targets { mailbox(for: p).push(message) }
        return collector.wait()
    }
}

enum MultiPartitionMessage: Sendable {
    case fragment(Fragment, reply: @Sendable (PartitionID, Result<ResultTable, SQLError>) -> Void)
    case schema([SchemaChange], Catalog, reply: @Sendable (PartitionID, Result<ResultTable, SQLError>) -> Void)
    case finish(commit: Bool)
}

/// Gathers one reply per partition from site threads and hands them, in partition order, to the
/// waiting coordinator.
final class ReplyCollector: Sendable {
    private let partitions: [PartitionID]
    private let state: Mutex<(results: [Result<ResultTable, SQLError>?], remaining: Int)>
    private let done = OneShot<[Result<ResultTable, SQLError>]>()

    init(partitions: [PartitionID]) {
        self.partitions = partitions
        state = Mutex((Array(repeating: nil, count: partitions.count), partitions.count))
    }

    func deliver(_ partition: PartitionID, _ result: Result<ResultTable, SQLError>) {
        guard let i = partitions.firstIndex(of: partition) else {
            preconditionFailure("reply from \(partition), which was not asked")
        }
        let complete = state.withLock { s -> [Result<ResultTable, SQLError>]? in
            precondition(s.results[i] == nil, "two replies from \(partition)")
            s.results[i] = result
            s.remaining -= 1
            return s.remaining == 0 ? s.results.map { $0! } : nil
        }
        if let complete { done.set(complete) }
    }

    func wait() -> [Result<ResultTable, SQLError>] { done.wait() }
}

/// The coordinator's side of a running multi-partition transaction, handed to compiled procedures.
/// In a cluster (`exchange` set) it runs fragments on this host's partitions and gets the other
/// partitions' results from the exchange (Engine+Cluster.swift).
final class CoordinatorContext: MultiPartitionContext {
    let txn: MultiPartitionTransaction
    /// The ring and the participants as every earlier multi-partition transaction left them: the
    /// same on every host at this point of the global order.
    let ring: HashRing
    let participants: [PartitionID]
    let exchange: (any MultiPartitionExchange)?
    private var round = 0

    init(txn: MultiPartitionTransaction, ring: HashRing, participants: [PartitionID], exchange: (any MultiPartitionExchange)? = nil) {
        self.txn = txn
        self.ring = ring
        self.participants = participants
        self.exchange = exchange
    }

    /// Runs `make`'s message on this host's partitions among `targets`, then (in a cluster) trades
    /// results with the other hosts; returns one result per target, in target order.
    private func run(on targets: [PartitionID],
                     _ make: (@escaping @Sendable (PartitionID, Result<ResultTable, SQLError>) -> Void) -> MultiPartitionMessage)
        -> [Result<ResultTable, SQLError>] {
        guard let exchange else { return txn.roundTrip(to: targets, make) }
        let local = targets.filter { txn.partitions.contains($0) }
        let results = local.isEmpty ? [] : txn.roundTrip(to: local, make)
        round += 1
        return exchange.exchange(round: round, local: Array(zip(local, results)), wanted: targets)
    }

    private var everyPartition: [PartitionID] {
        exchange == nil ? txn.partitions : participants
    }

    /// Runs the fragment on each of `targets` (system work that names its partitions: a range
    /// move's source and destination); results in `targets` order.
    func runOnPartitions(_ targets: [PartitionID], _ fragment: @escaping Fragment) throws(SQLError) -> [ResultTable] {
        try Self.unwrap(run(on: targets) { .fragment(fragment, reply: $0) })
    }

    func runOnEveryPartition(_ fragment: @escaping Fragment) throws(SQLError) -> [ResultTable] {
        try Self.unwrap(run(on: everyPartition) { .fragment(fragment, reply: $0) })
    }

    func runOnOnePartition(_ fragment: @escaping Fragment) throws(SQLError) -> ResultTable {
        // Every site holds the same replicated rows; this host's lowest partition answers.
        guard !txn.partitions.isEmpty else {
            throw SQLError(.internalError, "this host holds no partition that takes part in multi-partition transactions yet")
        }
        return try Self.unwrap(txn.roundTrip(to: [txn.partitions[0]]) { .fragment(fragment, reply: $0) })[0]
    }

    func runOnPartition(forKey key: Value, type: SQLType, _ fragment: @escaping Fragment) throws(SQLError) -> ResultTable {
        try Self.unwrap(run(on: [ring.partition(forKey: key, type: type)]) { .fragment(fragment, reply: $0) })[0]
    }

    func applySchema(_ changes: [SchemaChange], catalog: Catalog) throws(SQLError) {
        // Exchanged too: a change can fail on one partition's data (a unique index over duplicate
        // rows), and every host must then roll back.
        _ = try Self.unwrap(run(on: everyPartition) { .schema(changes, catalog, reply: $0) })
    }

    /// The first failure in partition order wins, so the error a client sees does not depend on timing.
    private static func unwrap(_ results: [Result<ResultTable, SQLError>]) throws(SQLError) -> [ResultTable] {
        var tables: [ResultTable] = []
        tables.reserveCapacity(results.count)
        for r in results {
            switch r {
            case .success(let t): tables.append(t)
            case .failure(let e): throw e
            }
        }
        return tables
    }
}
