import Foundation
import Synchronization

/// The in-process database of one host: one site per partition, the catalog, the ring, and the
/// dispatch of single- and multi-partition transactions.
///
/// Life of a call: `invoke` resolves the procedure in the catalog in force, stamps the call with a
/// transaction id and a timestamp (the only clock reading a transaction ever sees), and then
/// - single-partition: hashes the partition parameter through the ring and pushes the call onto
///   that partition's site queue; the completion runs on the site thread;
/// - multi-partition (and DDL): under `barrierLock`, pushes one barrier onto every site queue, so
///   all sites see all multi-partition transactions in one order, and hands the transaction to
///   the coordinator thread, which runs the procedure's fragments at the barrier and commits or
///   rolls back everywhere.
///
/// The engine is deliberately ignorant of sockets and replication: the server feeds it, and later
/// the partition leaders will order calls before they reach it.
public final class Engine: Sendable {
    public struct Configuration: Sendable {
        public var sitesPerHost: Int
        /// The partitions this host holds a replica of, one site each, ascending. A single host
        /// holds partitions 0..<sitesPerHost; a cluster host holds what the layout gave it.
        public var partitions: [PartitionID]
        /// The ring at start-up: a fresh ring, or a cluster's ring as elastic joins left it.
        public var ring: HashRing
        /// The partitions of the whole cluster that take part in multi-partition transactions,
        /// ascending: those that hold the replicated tables (a partition added by a join takes
        /// part once they have been copied to it).
        public var participants: [PartitionID]
        /// Microseconds since the epoch. Injected so tests and replicas can make time deterministic.
        public var clock: @Sendable () -> Int64

        public init(sitesPerHost: Int, clock: @escaping @Sendable () -> Int64 = Engine.wallClockMicros) {
            precondition(sitesPerHost >= 1, "an engine needs at least one site, got \(sitesPerHost)")
            self.init(partitions: (0..<sitesPerHost).map { PartitionID(Int32($0)) }, partitionCount: sitesPerHost, clock: clock)
        }

        /// A cluster host's engine: sites for `partitions` out of `partitionCount`, on a fresh ring.
        public init(partitions: [PartitionID], partitionCount: Int,
                    clock: @escaping @Sendable () -> Int64 = Engine.wallClockMicros) {
            precondition(partitions.allSatisfy { $0.rawValue >= 0 && Int($0.rawValue) < partitionCount },
                         "partitions \(partitions) are not all below the partition count \(partitionCount)")
            self.init(partitions: partitions, ring: HashRing(partitionCount: partitionCount),
                      participants: (0..<partitionCount).map { PartitionID(Int32($0)) }, clock: clock)
        }

        /// An engine with sites for `partitions`, starting from `ring` and `participants`.
        public init(partitions: [PartitionID], ring: HashRing, participants: [PartitionID],
                    clock: @escaping @Sendable () -> Int64 = Engine.wallClockMicros) {
            precondition(!partitions.isEmpty, "an engine needs at least one site")
            precondition(partitions.allSatisfy { $0.rawValue >= 0 }, "negative partition id in \(partitions)")
            self.sitesPerHost = partitions.count
            self.partitions = partitions.sorted()
            self.ring = ring
            self.participants = participants.sorted()
            self.clock = clock
        }
    }

    /// Set when shutdown begins; sites and the coordinator then answer queued work without running it.
    let draining: DrainFlag
    public let configuration: Configuration
    /// The ring and the multi-partition participants as the last transaction that changed them
    /// (a range move, a join's copy of the replicated tables) left them. Routing reads it; the
    /// sites keep their own ownership, changed at the same transaction, which is what decides.
    private let placement: Mutex<Placement>
    public var partitions: [PartitionID] { sites.map(\.partition) }
    let sites: [Site]
    private let catalogState: Mutex<Catalog> = Mutex(.empty)
    /// Every catalog this engine has installed, kept for the engine's whole life so that their
    /// procedures never die while a call of theirs is queued (see `SinglePartitionTask`). A
    /// caller may resolve a procedure, invoke it and drop it before its site runs it, and a
    /// catalog change does not wait for earlier calls, so no earlier release point is safe
    /// without tracking every queued call. The cost is one retired catalog per schema change.
    private let pinnedCatalogs = Mutex<[Catalog]>([])
    /// Distinguishes this engine from every other one in the process, for `pinningEngine`.
    private let serial: UInt64
    private static let serials = Atomic<UInt64>(1)
    private let adHocCache: Mutex<(version: Int64, plans: [String: CompiledProcedure])> = Mutex((0, [:]))
    /// In its own padded allocation: every call increments it from whichever thread submits, and
    /// on the engine's own cache lines that write would evict the read-only fields every call
    /// reads (the ring, the sites, the clock).
    private let nextTransactionID = TransactionIDCounter()
    /// Each site's queue by partition id, shared with the sites (which pass on a call whose key
    /// moved).
    private let directory: SiteDirectory
    private let barrierLock = Mutex(())
    /// Set once a range has moved between partitions: until then routing reads the ring the
    /// engine started with, without the lock.
    let ringMoved = Atomic<Bool>(false)
    private let coordinatorQueue = BlockingQueue<CoordinatorRequest>()
    private let coordinatorStopped = OneShot<Bool>()

    public init(configuration: Configuration) {
        self.configuration = configuration
        serial = Engine.serials.wrappingAdd(1, ordering: .relaxed).oldValue
        let ring = configuration.ring
        placement = Mutex(Placement(ring: ring, participants: configuration.participants))
        let drainFlag = DrainFlag()
        draining = drainFlag
        sites = configuration.partitions.enumerated().map { index, partition in
            Site(id: SiteID(Int32(index)), partition: partition, ring: ring, draining: drainFlag)
        }
        directory = SiteDirectory(sites)
        for site in sites { site.directory = directory }
        for site in sites { site.start() }
        let coordinator = Thread { [self] in coordinatorLoop() }
        coordinator.name = "mp-coordinator"
        coordinator.start()
    }

    /// Stops accepting work, lets queued transactions finish, and joins every thread.
    ///
    /// Work that is queued but not yet started when `shutdown` begins is not run: each such call is
    /// answered SERVER_UNAVAILABLE, as VoltDB answers calls stranded by a shutdown, so a backlog
    /// (a client that queued thousands of expensive calls and went away) cannot hold the process.
    public func shutdown() {
        draining.start()
        coordinatorQueue.close()
        _ = coordinatorStopped.wait()
        for site in sites { site.stop() }
    }

    public var catalog: Catalog { catalogState.withLock { $0 } }

    /// The ring routing follows now.
    public var ring: HashRing { placement.withLock { $0.ring } }

    /// The partitions multi-partition transactions run on now, ascending.
    public var participants: [PartitionID] { placement.withLock { $0.participants } }

    /// The partition owning a key now (read under the lock, without copying the ring, once a
    /// range has moved; before, from the ring the engine started with).
    func partition(forKey key: Value, type: SQLType) -> PartitionID {
        partition(of: key.partitionToken(as: type))
    }

    /// The partition owning `token` now; SQL NULL (no token) is partition 0. Until a range has
    /// moved, the ring the engine started with, read without the lock (this is on the path of
    /// every call); a stale read only sends a call to the partition that gave the key away, whose
    /// site passes it on (Site.runSinglePartition).
    private func partition(of token: Token?) -> PartitionID {
        guard let token else { return PartitionID(0) }
        guard ringMoved.load(ordering: .relaxed) else { return configuration.ring.partition(for: token) }
        return placement.withLock { $0.ring.partition(for: token) }
    }

    /// The ring after a committed transaction moved a range, or after one made new partitions
    /// participants. Called on the coordinator thread once the transaction has committed.
    func updatePlacement(_ change: (inout Placement) -> Void) {
        placement.withLock { change(&$0) }
    }

    public static let wallClockMicros: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    // MARK: Invocation

    /// Looks a procedure up in the catalog in force (user procedures and default CRUD procedures).
    public func procedure(named name: String) -> CompiledProcedure? {
        // Looked up under the lock rather than on a copy of the catalog, which would retain and
        // release each of its dictionaries on every call.
        catalogState.withLock { $0.procedure(named: name) }
    }

    /// Runs a stored procedure. The completion is called exactly once, on a site or coordinator thread.
    public func invoke(_ name: String, _ params: [Value], completion: @escaping @Sendable (InvocationResult) -> Void) {
        guard let procedure = procedure(named: name) else {
            completion(.failure(SQLError(.unknownProcedure, "Procedure \(name) was not found")))
            return
        }
        invoke(procedure, params, completion: completion)
    }

    /// Runs an already resolved procedure: the hot path for callers that resolve once (bench, server).
    public func invoke(_ procedure: CompiledProcedure, _ params: [Value], options: CallOptions = CallOptions(),
                       completion: @escaping @Sendable (InvocationResult) -> Void) {
        if let expected = procedure.parameterCount, expected != params.count {
            completion(.failure(SQLError(.wrongParameterCount, "PROCEDURE \(procedure.name) EXPECTS \(expected) PARAMS, BUT RECEIVED \(params.count)")))
            return
        }
        switch procedure.partitioning {
        case .single(let index, let type):
            submitSingle(procedure, params, key: params[index], type: type, options: options, completion: completion)
        case .singleConstant(let key, let type):
            submitSingle(procedure, params, key: key, type: type, options: options, completion: completion)
        case .multi:
            submitMulti(.procedure(procedure, params), options: options, completion: completion)
        }
    }

    /// Blocking form of `invoke`, for tests, tools and the embedded benchmark's set-up.
    public func call(_ name: String, _ params: [Value] = []) -> InvocationResult {
        let result = OneShot<InvocationResult>()
        invoke(name, params) { result.set($0) }
        return result.wait()
    }

    /// `@AdHoc`: one or more `;`-separated statements, all DDL or all DML/queries. A DDL batch is one
    /// schema transaction; a DML/query batch is one transaction (all statements or none) returning
    /// one table per statement.
    public func adHoc(_ sql: String, params: [Value] = [], options: CallOptions = CallOptions(),
                      completion: @escaping @Sendable (InvocationResult) -> Void) {
        let statements = SQLScript.split(sql)
        guard !statements.isEmpty else {
            completion(InvocationResult(status: .gracefulFailure, statusString: "no SQL statement to run"))
            return
        }
        let ddl = statements.map(SQLScript.isDDL)
        if ddl.allSatisfy({ $0 }) {
            submitMulti(.schema(sql), options: options, completion: completion)
            return
        }
        guard !ddl.contains(true) else {
            completion(InvocationResult(status: .gracefulFailure,
                statusString: "DDL mixed with DML and queries is unsupported: run them as separate @AdHoc calls"))
            return
        }
        runAdHocStatements(statements, params: params, options: options, completion: completion)
    }

    public func adHoc(_ sql: String, params: [Value] = []) -> InvocationResult {
        let result = OneShot<InvocationResult>()
        adHoc(sql, params: params) { result.set($0) }
        return result.wait()
    }

    /// Runs a batch of DML/query statements as ONE transaction, as VoltDB does: they all succeed or
    /// all roll back. A batch whose statements are all pinned to one partition is a single-partition
    /// transaction there; anything else is one multi-partition transaction. A single statement keeps
    /// its own routing and takes the call's parameters.
    private func runAdHocStatements(_ statements: [String], params: [Value], options: CallOptions,
                                    completion: @escaping @Sendable (InvocationResult) -> Void) {
        var procedures: [CompiledProcedure] = []
        for sql in statements {
            do {
                procedures.append(try compileAdHoc(sql))
            } catch {
                completion(.failure(error))
                return
            }
        }
        if procedures.count == 1 {
            invoke(procedures[0], params, options: options, completion: completion)
            return
        }
        if !params.isEmpty {
            completion(InvocationResult(status: .gracefulFailure,
                statusString: "parameters can only be given to a single-statement @AdHoc call; this batch has \(procedures.count) statements"))
            return
        }
        let batch = procedures
        let homes = Set(batch.map { p -> PartitionID? in
            if case .singleConstant(let key, let type) = p.partitioning { return partition(forKey: key, type: type) }
            return nil
        })
        if homes.count == 1, let home = homes.first!, batch.allSatisfy({ $0.parameterCount == 0 }) {
            let tokens = batch.compactMap { p -> Token? in
                if case .singleConstant(let key, let type) = p.partitioning { return key.partitionToken(as: type) }
                return nil
            }
            runSinglePartition(on: options.partition ?? home, options: options, owning: tokens, { store, log, context throws(SQLError) in
                var tables: [ResultTable] = []
                for p in batch { tables += try p.executeSinglePartition(params: [], store: store, log: log, context: context) }
                return tables
            }, completion: { [self] result in
                // A range under one of the keys moved between routing and running: route the
                // batch again (it may now span partitions). Pinned, the shell does it.
                if result.status == .txnMispartitioned && options.partition == nil {
                    runAdHocStatements(statements, params: params, options: options, completion: completion)
                } else {
                    completion(result)
                }
            })
            return
        }
        runMultiPartition(options: options, { mp, context throws(SQLError) in
            var tables: [ResultTable] = []
            for p in batch { tables += try p.executeMultiPartition(params: [], mp: mp, context: context) }
            return tables
        }, completion: completion)
    }

    /// Compiles an ad hoc statement, caching the plan by its text for the catalog in force.
    func compileAdHoc(_ sql: String) throws(SQLError) -> CompiledProcedure {
        let current = catalog
        if let cached = adHocCache.withLock({ $0.version == current.version ? $0.plans[sql] : nil }) {
            return cached
        }
        let compiled = try current.compileAdHoc(sql)
        adHocCache.withLock { cache in
            if cache.version != current.version || cache.plans.count >= 4096 { cache = (current.version, [:]) }
            cache.plans[sql] = compiled
        }
        return compiled
    }

    // MARK: Submission

    func stamp() -> ExecutionContext {
        ExecutionContext(transactionID: nextTransactionID.value.wrappingAdd(1, ordering: .relaxed).oldValue,
                         timestampMicros: configuration.clock())
    }

    /// Keeps `catalog` (and so its procedures) alive as long as this engine, and marks its
    /// procedures as pinned by this engine. Runs before the catalog is published, so anyone who
    /// obtains one of its procedures from this engine sees the mark.
    private func pin(_ catalog: Catalog) {
        pinnedCatalogs.withLock { $0.append(catalog) }
        for procedure in catalog.compiledProcedures.values {
            // A procedure belongs to one catalog; if another engine installed that catalog first,
            // that engine keeps it alive, not this one, and calls here retain it instead.
            _ = procedure.pinningEngine.compareExchange(expected: 0, desired: serial, ordering: .relaxed)
        }
    }

    /// Runs a single-partition call on the partition of `key`: the one the cluster shell chose
    /// (`options.partition`, the stream it sequenced the call in) or the ring's. The site checks
    /// that it still owns the key's token when the call's turn comes. Unpinned, a call that finds
    /// its range moved away is passed on to the owner's site; pinned, the answer goes back to the
    /// shell.
    private func submitSingle(_ procedure: CompiledProcedure, _ params: [Value], key: Value, type: SQLType,
                              options: CallOptions, completion: @escaping @Sendable (InvocationResult) -> Void) {
        let token = key.partitionToken(as: type)
        let partition = options.partition ?? partition(of: token)
        submitSingle(procedure, params, partition: partition, token: token, pinned: options.partition != nil,
                     context: options.context, completion: completion)
    }

    private func submitSingle(_ procedure: CompiledProcedure, _ params: [Value], partition: PartitionID, token: Token?, pinned: Bool,
                              context: ExecutionContext?, completion: @escaping @Sendable (InvocationResult) -> Void) {
        guard let queue = directory.queue(for: partition) else {
            completion(InvocationResult(status: .unexpectedFailure, statusString: "\(partition) has no replica on this host"))
            return
        }
        let kept = procedure.pinningEngine.load(ordering: .relaxed) == serial
        let task = SinglePartitionTask(procedure: Unmanaged.passUnretained(procedure), retainer: kept ? nil : procedure,
                                       params: params, token: token, pinned: pinned, context: context ?? stamp(),
                                       completion: completion)
        if !queue.queue._withUnsafeGuaranteedRef({ $0.push(.single(task)) }) {
            completion(InvocationResult(status: .serverUnavailable, statusString: "the database is shutting down"))
        }
    }

    /// Queues a multi-partition transaction. Its barrier goes on the sites of `involved` (a
    /// two-partition range move) or, by default, of every participant this host holds.
    func submitMulti(_ work: CoordinatorRequest.Work, options: CallOptions = CallOptions(), involved: [PartitionID]? = nil,
                     completion: @escaping @Sendable (InvocationResult) -> Void) {
        if let cluster = options.cluster {
            // The cluster shell pushes this transaction's barriers onto the sites itself, each
            // when its partition's replication stream reaches it (ClusterMultiPartition).
            if !coordinatorQueue.push(CoordinatorRequest(txn: cluster.txn, work: work, exchange: cluster.exchange,
                                                         completion: completion)) {
                completion(InvocationResult(status: .serverUnavailable, statusString: "the database is shutting down"))
            }
            return
        }
        barrierLock.withLock { _ in
            // A schema change goes to every site here, participant or not: a partition added by a
            // join needs the tables before its first rows arrive. (A cluster refuses schema
            // changes while a join runs, so the sites of all hosts stay in step.)
            let everySite: Bool = if case .schema = work { true } else { false }
            let targets = everySite ? sites : localSites(of: involved ?? participants)
            let txn = MultiPartitionTransaction(context: stamp(), partitions: targets.map(\.partition))
            guard coordinatorQueue.push(CoordinatorRequest(txn: txn, work: work, exchange: nil, completion: completion)) else {
                completion(InvocationResult(status: .serverUnavailable, statusString: "the database is shutting down"))
                return
            }
            for site in targets { site.queue.push(.multi(txn)) }
        }
    }

    /// This host's sites of `partitions`, in partition order.
    func localSites(of partitions: [PartitionID]) -> [Site] {
        sites.filter { partitions.contains($0.partition) }
    }

    /// Runs `body` on every site in its queue order (after everything queued before it) and returns
    /// the results in partition order. For statistics, checksums and tests; not for user work.
    public func onEverySite<T: Sendable>(_ body: @escaping @Sendable (PartitionID, PartitionStore) -> T) -> [T] {
        let results = Mutex<[PartitionID: T]>([:])
        let done = OneShot<Bool>()
        let remaining = Atomic<Int>(sites.count)
        for site in sites {
            site.queue.push(.call { site in
                let value = body(site.partition, site.store)
                results.withLock { $0[site.partition] = value }
                if remaining.wrappingSubtract(1, ordering: .acquiringAndReleasing).oldValue == 1 { done.set(true) }
            })
        }
        _ = done.wait()
        return results.withLock { r in partitions.map { r[$0]! } }
    }

    // MARK: Coordinator

    private func coordinatorLoop() {
        var batch = BlockingQueue<CoordinatorRequest>.Batch(capacity: 64)
        while coordinatorQueue.takeAll(into: &batch) {
            batch.consumeAll { request in coordinate(request) }
        }
        coordinatorStopped.set(true)
    }

    private func coordinate(_ request: CoordinatorRequest) {
        let txn = request.txn
        if draining.isDraining {
            _ = txn.finish(commit: false)
            request.completion(.notRunBecauseOfShutdown(transactionID: txn.context.transactionID))
            return
        }
        let current = placement.withLock { $0 }
        let context = CoordinatorContext(txn: txn, ring: current.ring, participants: current.participants, exchange: request.exchange)
        let transactionID = txn.context.transactionID
        do {
            switch request.work {
            case .placement(let change):
                let (tables, next) = try runPlacementChange(change, context)
                let hash = txn.finish(commit: true)
                if let next {
                    // After every local site committed and before the next multi-partition
                    // transaction starts here, so every host changes its ring at the same point of
                    // the global order.
                    updatePlacement { $0 = next }
                    if next.ring != current.ring { ringMoved.store(true, ordering: .relaxed) }
                }
                request.completion(InvocationResult(status: .success, tables: tables, determinismHash: hash,
                                                    transactionID: transactionID))
            case .procedure(let procedure, let params):
                let tables = try procedure.executeMultiPartition(params: params, mp: context, context: txn.context)
                let hash = txn.finish(commit: true)
                request.completion(InvocationResult(status: .success, tables: tables, determinismHash: hash,
                                                    transactionID: transactionID))
            case .custom(let work):
                let tables = try work(context, txn.context)
                let hash = txn.finish(commit: true)
                request.completion(InvocationResult(status: .success, tables: tables, determinismHash: hash,
                                                    transactionID: transactionID))
            case .schema(let ddl):
                let (newCatalog, changes) = try catalog.applying(ddl: ddl)
                try context.applySchema(changes, catalog: newCatalog)
                let hash = txn.finish(commit: true)
                pin(newCatalog)
                catalogState.withLock { $0 = newCatalog }
                request.completion(InvocationResult(status: .success, tables: [], determinismHash: hash,
                                                    transactionID: transactionID))
            }
        } catch {
            _ = txn.finish(commit: false)
            request.completion(.failure(error, transactionID: transactionID))
        }
    }
}

struct CoordinatorRequest: Sendable {
    enum Work: Sendable {
        case procedure(CompiledProcedure, [Value])
        case schema(String)
        /// System work (bulk loads of replicated tables) as an MP transaction.
        case custom(@Sendable (MultiPartitionContext, ExecutionContext) throws(SQLError) -> [ResultTable])
        /// A change of where data lives: a range move, or partitions joining the participants
        /// (Engine+Placement.swift).
        case placement(PlacementChange)
    }

    let txn: MultiPartitionTransaction
    let work: Work
    /// Set for a cluster transaction: fragment results are shared with the other hosts.
    let exchange: (any MultiPartitionExchange)?
    let completion: @Sendable (InvocationResult) -> Void
}

/// The transaction id counter, alone on its cache lines.
final class TransactionIDCounter: Sendable {
    /// Keeps `value` away from whatever the allocator places before this object.
    private let paddingBefore: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    let value = Atomic<Int64>(1)
    /// Keeps `value` away from whatever the allocator places after this object.
    private let paddingAfter: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
}

/// A site queue referred to without retaining it.
struct UnretainedQueue: @unchecked Sendable {
    // SAFETY: the queue belongs to a site the engine holds in `sites` for its whole life, so it
    // outlives every push through this reference; the queue itself is thread-safe.
    let queue: Unmanaged<BlockingQueue<SiteTask>>
    init(_ queue: BlockingQueue<SiteTask>) { self.queue = .passUnretained(queue) }
}

/// Whether the engine is shutting down. Read once per queued task; written once.
final class DrainFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func start() { flag.store(true, ordering: .releasing) }
    var isDraining: Bool { flag.load(ordering: .acquiring) }
}

extension InvocationResult {
    static func notRunBecauseOfShutdown(transactionID: Int64) -> InvocationResult {
        InvocationResult(status: .serverUnavailable,
                         statusString: "the database is shutting down; this call was queued and was not run",
                         transactionID: transactionID)
    }
}
