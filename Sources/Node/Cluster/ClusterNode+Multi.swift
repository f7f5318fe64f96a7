// Multi-partition transactions across hosts (Engine+Cluster.swift explains the execution model).
//
// Ordering. One host coordinates multi-partition work: the lowest live host
// (`ClusterState.multiPartitionHost`). It runs one transaction at a time: it stamps it and sends
// `mpBegin` to every live host; each host sequences it into the stream of every partition it
// leads, exactly like a single-partition call, so the transaction takes one place in each
// partition's order and every replica of that partition sees it at the same place. When any
// partition's stream reaches it on a host, that host starts its own run of the transaction (once)
// and queues the barrier on that partition's site. Each host reports `mpDone` to the coordinator
// when its run has committed or rolled back; the client is answered when every live host has.
//
// Exchange. Each round of fragments, every host sends the results of its own partitions to every
// other host that is not failed and waits until it has one result per partition. Results that
// arrive before the host has started the transaction wait in an inbox.
//
// Failover. Every host remembers the transactions it was asked to begin until its own run
// finishes; when a host fails, it sequences them again into the partitions it now leads (a
// stream that already holds one skips it), so a partition whose old leader died before
// sequencing the transaction still gets it from its new leader. Not handled yet: if the
// coordinator itself fails, queued multi-partition calls it had not started are answered as lost
// by the hosts that forwarded them, and a transaction it had started completes on the hosts but
// nobody answers its client.

import Dispatch
import Synchronization
import VoltModel
import VoltWire

struct MultiState {
    struct Active {
        var transactionID: Int64
        var reply: @Sendable (InvocationResult) -> Void
        var awaiting: Set<HostID>
        var local: InvocationResult?
    }

    // Coordinator side.
    var queue: [(invocation: Invocation, reply: @Sendable (InvocationResult) -> Void)] = []
    var active: Active?
    var counter: Int64 = 0
    // Every host.
    var begun: [Int64: (context: ExecutionContext, invocation: [UInt8])] = [:]
    var running: [Int64: ClusterMultiHandle] = [:]
    var inbox: [Int64: [Int: [PartitionID: MPResult]]] = [:]
    var waiters: [Int64: DispatchSemaphore] = [:]
    var finished: Set<Int64> = []
    var finishedOrder: [Int64] = []
    /// Schema changes this host coordinated that the metadata log has not applied yet.
    var unrecordedSchema: [(version: Int64, ddl: String)] = []
}

extension ClusterNode {
    /// Coordinator: queue the call, start it if nothing runs.
    func coordinateMulti(_ invocation: Invocation, reply clientReply: @escaping @Sendable (InvocationResult) -> Void) {
        // A schema change that committed everywhere is recorded in the metadata log, so the
        // catalog's history is part of the replicated cluster state.
        var reply = clientReply
        if let ddl = Self.schemaChange(invocation) {
            if state.join != nil {
                // A joiner builds its catalog from the log's schema history when it is admitted;
                // a change meanwhile could reach some sites and not others.
                clientReply(InvocationResult(status: .gracefulFailure, statusString: "The cluster is growing (an elastic join is "
                    + "in progress): schema changes are refused until it completes. Retry once @Statistics REBALANCE shows no "
                    + "join in progress."))
                return
            }
            let engine = self.engine
            reply = { [weak self] result in
                if result.succeeded { self?.recordSchemaChange(version: engine.catalog.version, ddl: ddl) }
                clientReply(result)
            }
        }
        let queued = reply
        let start = multi.withLock { m -> Bool in
            m.queue.append((invocation, queued))
            return m.active == nil
        }
        if start { startNextMulti() }
    }

    private func startNextMulti() {
        let state = self.state
        // Every member that has not failed takes part, joiners included: a join's placement
        // changes involve their partitions, and once the replicated tables reach them they take
        // part in everything (a host with nothing to do reports done at once, `multiBegin`).
        let hosts = state.members.filter { $0.state != .failed }.map(\.id)
        let begin = multi.withLock { m -> (ExecutionContext, [UInt8])? in
            guard m.active == nil, !m.queue.isEmpty else { return nil }
            let (invocation, reply) = m.queue.removeFirst()
            m.counter += 1
            let txn = Int64(1) << 62 | Int64(state.epoch.rawValue & 0xFFFF) << 40 | m.counter
            m.active = MultiState.Active(transactionID: txn, reply: reply, awaiting: Set(hosts), local: nil)
            return (ExecutionContext(transactionID: txn, timestampMicros: Engine.wallClockMicros()), Self.encode(invocation))
        }
        guard let (context, bytes) = begin else { return }
        for host in hosts where host != me {
            mesh.send(.mpBegin(transactionID: context.transactionID, timestampMicros: context.timestampMicros, invocation: bytes), to: host)
        }
        multiBegin(context, bytes)
    }

    /// Proposes a committed schema change to the metadata log, and again on every tick until it
    /// is applied: a proposal made while no coordinator is known (an election) is not kept.
    func recordSchemaChange(version: Int64, ddl: String) {
        multi.withLock { $0.unrecordedSchema.append((version, ddl)) }
        propose(.schema(version: version, ddl: ddl))
    }

    /// On every tick: the schema changes not yet in the applied state, proposed again (oldest first).
    func schemaTick(_ state: ClusterState) {
        let pending = multi.withLock { m -> [(Int64, String)] in
            m.unrecordedSchema.removeAll { $0.version <= state.catalogVersion }
            return m.unrecordedSchema
        }
        for (version, ddl) in pending { propose(.schema(version: version, ddl: ddl)) }
    }

    /// The DDL text of an `@AdHoc` call made only of schema statements, else nil.
    static func schemaChange(_ invocation: Invocation) -> String? {
        guard invocation.procedure.lowercased() == "@adhoc", let sql = Host.stringParameter(invocation.parameters, 0) else { return nil }
        let statements = SQLScript.split(sql)
        return !statements.isEmpty && statements.allSatisfy(SQLScript.isDDL) ? sql : nil
    }

    /// Any host: sequence the transaction into every partition it involves that this host leads
    /// (a placement change involves its own partitions; anything else, the participants). A host
    /// that holds none of them runs a placement change's body at once, with no barrier, so that
    /// its ring changes at the same point of the multi-partition order as everyone's; for other
    /// work it has nothing to do and reports done.
    func multiBegin(_ context: ExecutionContext, _ bytes: [UInt8]) {
        let txn = context.transactionID
        let known = multi.withLock { m -> Bool in
            if m.finished.contains(txn) { return true }
            m.begun[txn] = (context, bytes)
            return false
        }
        if known { return }
        let placement = Self.placementChange(bytes)
        let involved = Set(placement?.involved ?? engine.participants)
        guard engine.partitions.contains(where: involved.contains) else {
            if placement != nil {
                _ = startMultiRun(context, bytes, placement: placement)
            } else {
                multiFinishedLocally(txn, InvocationResult(status: .success, transactionID: txn))
            }
            return
        }
        let state = self.state
        for partition in state.partitions where partition.leader == me && involved.contains(partition.id) {
            guard let stream = stream(for: partition.id) else { continue }
            step(stream) { s in
                guard s.core.isLeader else { return [] }
                return s.core.submit(call: nil, record: .multi(bytes), transactionID: txn, timestampMicros: context.timestampMicros)
            }
        }
    }

    /// The placement change a multi-partition invocation carries, if it is one.
    static func placementChange(_ bytes: [UInt8]) -> PlacementChange? {
        // The header first: a bulk load's parameters can be megabytes.
        var r = WireReader(bytes)
        guard let header = try? InvocationHeader.decode(from: &r),
              header.procedure.lowercased() == PlacementChange.procedureName.lowercased(),
              let invocation = try? Invocation.decode(bytes) else { return nil }
        return PlacementChange(invocation: invocation)
    }

    /// A partition's stream reached the transaction on this host (under that stream's lock).
    func multiArrived(_ p: PartitionID, context: ExecutionContext, invocation bytes: [UInt8]) {
        guard let handle = startMultiRun(context, bytes, placement: Self.placementChange(bytes)) else { return }
        engine.pushBarrier(handle, on: p)
    }

    /// Starts this host's run of the transaction (once) and returns its handle; nil once it has
    /// finished here.
    private func startMultiRun(_ context: ExecutionContext, _ bytes: [UInt8], placement: PlacementChange?) -> ClusterMultiHandle? {
        let txn = context.transactionID
        let (handle, fresh) = multi.withLock { m -> (ClusterMultiHandle?, Bool) in
            if m.finished.contains(txn) { return (nil, false) }
            if let h = m.running[txn] { return (h, false) }
            let h = engine.beginClusterMulti(context: context, exchange: ClusterExchange(node: self, transactionID: txn, placement: placement),
                                             involved: placement?.involved)
            m.running[txn] = h
            if m.begun[txn] == nil { m.begun[txn] = (context, bytes) }
            return (h, true)
        }
        guard let handle else { return nil }
        if fresh {
            guard let invocation = try? Invocation.decode(bytes) else {
                preconditionFailure("multi-partition transaction \(txn) does not decode")
            }
            services.executeCall(invocation, options: CallOptions(context: context, cluster: handle)) { [self] result in
                multiFinishedLocally(txn, result)
            }
        }
        return handle
    }

    private func multiFinishedLocally(_ txn: Int64, _ result: InvocationResult) {
        let coordinatorResult = multi.withLock { m -> Bool in
            m.running[txn] = nil
            m.begun[txn] = nil
            m.inbox[txn] = nil
            m.finished.insert(txn)
            m.finishedOrder.append(txn)
            if m.finishedOrder.count > 4096 { m.finished.remove(m.finishedOrder.removeFirst()) }
            guard m.active?.transactionID == txn else { return false }
            m.active!.local = result
            return true
        }
        if coordinatorResult {
            multiDone(txn, status: result.status.rawValue, from: me)
        } else if let coordinator = state.multiPartitionHost {
            mesh.send(.mpDone(transactionID: txn, status: result.status.rawValue, hash: result.determinismHash), to: coordinator)
        }
    }

    func multiDone(_ txn: Int64, status: Int8, from peer: HostID) {
        let live = Set(state.liveMembers)
        let done = multi.withLock { m -> (@Sendable (InvocationResult) -> Void, InvocationResult)? in
            guard var active = m.active, active.transactionID == txn else { return nil }
            active.awaiting.remove(peer)
            active.awaiting.formIntersection(live)
            m.active = active
            guard active.awaiting.isEmpty, let local = active.local else { return nil }
            m.active = nil
            return (active.reply, local)
        }
        if let (reply, result) = done {
            reply(result)
            startNextMulti()
        }
    }

    /// After a failure: re-sequence begun transactions into partitions this host now leads, and
    /// stop waiting for the failed host's report.
    func multiHostFailed(_ host: HostID, state: ClusterState) {
        let begun = multi.withLock { m in m.begun.keys.sorted().map { m.begun[$0]! } }
        for (context, bytes) in begun { multiBegin(context, bytes) }
        if let txn = multi.withLock({ $0.active?.transactionID }) { multiDone(txn, status: 1, from: host) }
    }

    // MARK: Exchange

    func multiResults(_ txn: Int64, round: Int, _ results: [MPResult], from peer: HostID) {
        let waiter = multi.withLock { m -> DispatchSemaphore? in
            guard !m.finished.contains(txn) else { return nil }
            for r in results where m.inbox[txn, default: [:]][round, default: [:]][r.partition] == nil {
                m.inbox[txn, default: [:]][round, default: [:]][r.partition] = r
            }
            return m.waiters[txn]
        }
        waiter?.signal()
    }

    /// Publishes this host's round results and waits for every wanted partition's.
    func exchange(_ txn: Int64, round: Int, local: [(PartitionID, Result<ResultTable, SQLError>)],
                  wanted: [PartitionID], placement: PlacementChange? = nil) -> [Result<ResultTable, SQLError>] {
        let mine = local.map { MPResult(partition: $0.0, $0.1) }
        let state = self.state
        if !mine.isEmpty {
            let frame = PeerMessage.mpResults(transactionID: txn, round: Int32(round), results: mine).encodeFrame()
            // A placement change's rows go only to the hosts that load them; the others get the
            // counts and checksums, which is all their run of the change needs.
            var loaders: Set<HostID>?
            var light: [UInt8] = []
            if let placement, round == PlacementChange.rowsRound {
                loaders = Set(placement.loadingPartitions.flatMap { state.partition($0)?.replicas ?? [] })
                let stripped = local.map { p, r in MPResult(partition: p, r.map(Engine.withoutRows)) }
                light = PeerMessage.mpResults(transactionID: txn, round: Int32(round), results: stripped).encodeFrame()
            }
            for m in state.members where m.id != me && m.state != .failed {
                mesh.send(frame: loaders.map { $0.contains(m.id) } ?? true ? frame : light, to: m.id)
            }
        }
        let semaphore = DispatchSemaphore(value: 0)
        multi.withLock { m in
            m.waiters[txn] = semaphore
            for r in mine { m.inbox[txn, default: [:]][round, default: [:]][r.partition] = r }
        }
        while true {
            let have = multi.withLock { m -> [MPResult]? in
                let got = m.inbox[txn]?[round] ?? [:]
                let found = wanted.compactMap { got[$0] }
                guard found.count == wanted.count else { return nil }
                m.waiters[txn] = nil
                return found
            }
            if let have { return have.map(\.result) }
            if fatal.load(ordering: .relaxed) {
                return wanted.map { _ in .failure(SQLError(.internalError, "this host is stopping")) }
            }
            _ = semaphore.wait(timeout: .now() + .milliseconds(100))
        }
    }
}

/// One transaction's view of the exchange, handed to the engine.
final class ClusterExchange: MultiPartitionExchange {
    private let node: ClusterNode
    private let transactionID: Int64
    private let placement: PlacementChange?

    init(node: ClusterNode, transactionID: Int64, placement: PlacementChange? = nil) {
        self.node = node
        self.transactionID = transactionID
        self.placement = placement
    }

    func exchange(round: Int, local: [(PartitionID, Result<ResultTable, SQLError>)], wanted: [PartitionID]) -> [Result<ResultTable, SQLError>] {
        node.exchange(transactionID, round: round, local: local, wanted: wanted, placement: placement)
    }
}
