// What the cluster shell needs from the engine, and nothing a single host uses.
//
// Single-partition calls take the leader's `ExecutionContext` (transaction id and timestamp), so a
// replica running the same call computes byte-identical results and the same determinism hash.
//
// Multi-partition calls in a cluster run on every host at once: each host runs the procedure's
// coordinator body over its own sites, and wherever the body needs the results of every partition
// (`runOnEveryPartition`, `runOnPartition(forKey:)`, schema changes) the host shares the results
// of its own partitions through a `MultiPartitionExchange` and waits for the other hosts' results.
// Every host therefore sees the same per-partition results in the same order, so every host takes
// the same branches, reaches the same commit-or-rollback decision and returns the same answer
// without a separate decision round. Any replica's result for a partition will do: replicas of
// one partition run the same transactions in the same order, so their results are equal (and the
// exchange compares them when several arrive, as a determinism check).
//
// The barrier of a cluster transaction is pushed onto each site by the shell, when that
// partition's replication stream reaches the transaction, not all at once: the stream is what
// orders the transaction against the single-partition calls around it on every replica.

import Synchronization
import VoltModel

/// How a call runs: with the leader's context (replicas, and leaders that stamped it), and, for a
/// cluster multi-partition transaction, with its exchange.
public struct CallOptions: Sendable {
    public var context: ExecutionContext?
    public var cluster: ClusterMultiHandle?
    /// The partition a single-partition call must run on (the stream that sequenced it), instead
    /// of the one the ring names now. If that partition no longer owns the key, the call does not
    /// run and comes back `txnMispartitioned` with the owner.
    public var partition: PartitionID?

    public init(context: ExecutionContext? = nil, cluster: ClusterMultiHandle? = nil, partition: PartitionID? = nil) {
        self.context = context
        self.cluster = cluster
        self.partition = partition
    }
}

/// Shares one host's fragment results with the other hosts running the same multi-partition
/// transaction, and collects theirs.
public protocol MultiPartitionExchange: AnyObject, Sendable {
    /// Publishes `local` (this host's results of exchange round `round`) and blocks until a result
    /// is known for every partition in `wanted`; returns them in `wanted` order.
    func exchange(round: Int, local: [(PartitionID, Result<ResultTable, SQLError>)],
                  wanted: [PartitionID]) -> [Result<ResultTable, SQLError>]
}

/// A cluster multi-partition transaction created before its body runs, so that the shell can push
/// its barrier onto each site as the replication streams reach it.
public final class ClusterMultiHandle: Sendable {
    let txn: MultiPartitionTransaction
    let exchange: any MultiPartitionExchange
    public var context: ExecutionContext { txn.context }

    init(txn: MultiPartitionTransaction, exchange: any MultiPartitionExchange) {
        self.txn = txn
        self.exchange = exchange
    }
}

extension Engine {
    /// Creates a cluster multi-partition transaction over this host's sites. Its body is submitted
    /// later with `CallOptions(cluster:)`; its barriers with `pushBarrier`.
    public func beginClusterMulti(context: ExecutionContext, exchange: any MultiPartitionExchange,
                                  involved: [PartitionID]? = nil) -> ClusterMultiHandle {
        let local = localSites(of: involved ?? participants).map(\.partition)
        return ClusterMultiHandle(txn: MultiPartitionTransaction(context: context, partitions: local), exchange: exchange)
    }

    /// Queues the barrier of `handle`'s transaction on `partition`'s site, behind everything queued
    /// there before. Returns false when the engine is shutting down.
    @discardableResult
    public func pushBarrier(_ handle: ClusterMultiHandle, on partition: PartitionID) -> Bool {
        guard let site = sites.first(where: { $0.partition == partition }) else {
            preconditionFailure("barrier of transaction \(handle.txn.context.transactionID) for \(partition), which this host does not hold")
        }
        return site.queue.push(.multi(handle.txn))
    }

    /// Runs `body` on `partition`'s site in queue order; for snapshots, loads and checks.
    public func onSite(_ partition: PartitionID, _ body: @escaping @Sendable (PartitionStore, Catalog) -> Void) -> Bool {
        guard let site = sites.first(where: { $0.partition == partition }) else { return false }
        return site.queue.push(.call { site in body(site.store, site.catalog) })
    }
}

/// Where a call must run in a cluster.
public enum CallTarget: Sendable, Equatable {
    /// On the leader of this partition, replicated to its other replicas.
    case partition(PartitionID)
    /// As a multi-partition transaction, ordered by the multi-partition coordinator.
    case multi
    /// Anywhere, without replication: the call will fail before it touches data (it does not
    /// compile, names an unknown table, has the wrong parameters), the same way on every host.
    case anywhere
}

extension Engine {
    /// The target of an `@AdHoc` call, by the same rules `adHoc` runs it with.
    public func adHocTarget(_ sql: String, params: [Value]) -> CallTarget {
        let statements = SQLScript.split(sql)
        guard !statements.isEmpty else { return .anywhere }
        let ddl = statements.map(SQLScript.isDDL)
        if ddl.allSatisfy({ $0 }) { return .multi }
        if ddl.contains(true) { return .anywhere }
        var procedures: [CompiledProcedure] = []
        for text in statements {
            guard let compiled = try? compileAdHoc(text) else { return .anywhere }
            procedures.append(compiled)
        }
        if procedures.count == 1 {
            let p = procedures[0]
            if let expected = p.parameterCount, expected != params.count { return .anywhere }
            switch p.partitioning {
            case .single(let index, let type): return .partition(partition(forKey: params[index], type: type))
            case .singleConstant(let key, let type): return .partition(partition(forKey: key, type: type))
            case .multi: return .multi
            }
        }
        if !params.isEmpty { return .anywhere }
        let homes = Set(procedures.map { p -> PartitionID? in
            if case .singleConstant(let key, let type) = p.partitioning { return partition(forKey: key, type: type) }
            return nil
        })
        if homes.count == 1, let home = homes.first!, procedures.allSatisfy({ $0.parameterCount == 0 }) { return .partition(home) }
        return .multi
    }
}
