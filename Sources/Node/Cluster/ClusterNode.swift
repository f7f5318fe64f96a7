// One host's part in a cluster: the mesh, the metadata log, and everything that follows the
// applied metadata (failure detection, partition detection, routing, replication, multi-partition
// coordination, rejoin).
//
// Threads. Mesh frames arrive on event-loop threads; the mesh timer thread ticks the metadata log
// and runs the failure and partition detectors; transaction completions run on site and
// coordinator threads. Shared state is in Mutexes: the applied `ClusterState`, one stream per
// local partition (ClusterNode+Replication.swift), the forwarded calls, the multi-partition
// bookkeeping (ClusterNode+Multi.swift) and the rejoin progress (ClusterNode+Rejoin.swift).
//
// Failure detection, partition detection and the admission of rejoins are decided by
// `MembershipCore` (MembershipCore.swift, which states the rules); this shell feeds it what the
// mesh observes on every heartbeat tick and every proposal it receives as coordinator, and
// carries out what it decides.

import Consensus
import Dispatch
import Foundation
import Glibc
import Rebalancer
import Synchronization
import VoltModel
import VoltWire

/// What the cluster asks of its host.
protocol ClusterHostServices: AnyObject, Sendable {
    /// Runs a data call on this host's engine with the leader's options (replicas, leaders).
    func executeCall(_ invocation: Invocation, options: CallOptions, completion: @escaping @Sendable (InvocationResult) -> Void)
    /// Where a data call must run (its partition, multi-partition, or anywhere).
    func dataTarget(_ invocation: Invocation) -> CallTarget
    /// The applied metadata changed: refresh routing and push the topology to subscribers.
    func clusterStateChanged(_ state: ClusterState)
    /// The host must stop at once (minority side, declared failed, cluster stopped).
    func clusterFatal(_ reason: String)
    /// A rejoining host has all its replicas: it may serve clients now.
    func rejoinCompleted()
    /// This host's rows of a statistics selector, for a host gathering them from the cluster.
    func localStatistics(_ selector: String) -> ResultTable?
    func log(_ line: String)
}

public final class ClusterNode: Sendable {
    let me: HostID
    let incarnation: UInt64
    let engine: Engine
    let mesh: Mesh
    let heartbeatTimeoutMillis: Int
    /// The cluster's initial state, the base the metadata log applies its entries to.
    let bootstrap: ClusterState
    /// How fast a join this host coordinates moves ranges.
    let pacing: RebalancePacing
    let membership: MembershipCore
    let services: ClusterHostServices
    private let metadataRef = Mutex<MetadataLog?>(nil)
    let current: Mutex<ClusterState>
    /// Indexed by partition id; nil where this host holds no replica.
    let streams: [PartitionStream?]
    let forwards = Mutex<ForwardTable>(ForwardTable())
    let multi = Mutex<MultiState>(MultiState())
    let rejoin = Mutex<RejoinState>(RejoinState())
    let joinRole = Mutex<JoinRole>(JoinRole())
    /// Set once a rejoining host has installed the schema from its leaders (false if it failed).
    let catalogInstalled = OneShot<Bool>()
    let statsGathers = Mutex<(next: Int64, waiting: [Int64: StatsGather])>((1, [:]))
    let fatal = Atomic<Bool>(false)
    /// Serial: proposals, and the join coordinator's work (ClusterNode+Join.swift).
    let proposals = DispatchQueue(label: "cluster-proposals")
    private let poisoned = Mutex<[HostID: Int64]>([:])
    /// Whether any member is failed: lets the hot path skip the declared-failed check.
    let anyFailed = Atomic<Bool>(false)

    /// `bootstrap` is the cluster's initial state; `holding` the state that says which partitions
    /// this host holds (the current one for a host that joined or replaced a joined host).
    init(me: HostID, incarnation: UInt64, engine: Engine, mesh: Mesh, bootstrap: ClusterState, holding: ClusterState? = nil,
         heartbeatTimeoutMillis: Int, pacing: RebalancePacing = RebalancePacing(), restarted: Bool, services: ClusterHostServices) {
        self.me = me
        self.incarnation = incarnation
        self.engine = engine
        self.mesh = mesh
        self.bootstrap = bootstrap
        self.pacing = pacing
        self.heartbeatTimeoutMillis = heartbeatTimeoutMillis
        self.membership = MembershipCore(me: me, heartbeatTimeoutMillis: Int64(heartbeatTimeoutMillis))
        self.services = services
        current = Mutex(bootstrap)
        let layout = holding ?? bootstrap
        var streams = [PartitionStream?](repeating: nil, count: layout.partitionCount)
        for p in layout.slots(of: me) { streams[Int(p.rawValue)] = PartitionStream(partition: p, me: me, restarted: restarted) }
        self.streams = streams
    }

    func attach(_ metadata: MetadataLog) { metadataRef.withLock { $0 = metadata } }
    var metadata: MetadataLog? { metadataRef.withLock { $0 } }
    public var state: ClusterState { current.withLock { $0 } }

    func log(_ line: String) { services.log(line) }

    /// Starts the mesh (heartbeats, dialing) once the metadata log is attached. `endpoints` names
    /// where the other hosts are now, when that may differ from the initial layout (a host that
    /// replaced a missing one learned it from the cluster).
    func start(endpoints: ClusterState? = nil) {
        let state = self.state
        updateStreams(state)   // the bootstrap layout's leaders, before any command is applied
        var peers: [HostID: Mesh.Peer] = [:]
        for m in (endpoints ?? state).members where m.id != me {
            if let peer = Self.endpoint(m.internalEndpoint) { peers[m.id] = peer }
        }
        mesh.start(peers: peers, callbacks: Mesh.Callbacks(
            onMessage: { [self] from, message in receive(message, from: from) },
            onPeerConnected: { [self] peer, incarnation in peerConnected(peer, incarnation: incarnation) },
            onPeerDisconnected: { _ in },
            onTick: { [self] in tick() }))
    }

    func stop() {
        mesh.close()
    }

    static func endpoint(_ text: String) -> Mesh.Peer? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        return Mesh.Peer(host: String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port)
    }

    // MARK: Messages

    private func receive(_ message: PeerMessage, from peer: HostID) {
        guard !fatal.load(ordering: .relaxed) else { return }
        if anyFailed.load(ordering: .relaxed), let member = current.withLock({ $0.member(peer) }), member.state == .failed,
           mesh.incarnation(of: peer) == member.incarnation {
            // The process we declared failed still talks (it was cut off, or paused and resumed,
            // and has not noticed): it must not serve. Tell it, at most once a second.
            if poisoned.withLock({ p in
                let now = Host.monotonicMillis()
                guard now - (p[peer] ?? 0) >= 1_000 else { return false }
                p[peer] = now
                return true
            }) {
                mesh.remember(peer)   // our connection to it was dropped when it was declared failed
                mesh.send(.poison("declared failed at \(state.epoch)"), to: peer)
            }
            if case .raft = message {} else { return }
        }
        switch message {
        case .heartbeat: break
        case .raft(let bytes): metadata?.receive(bytes, from: peer)
        case .propose(let command): coordinatorReceived(command, from: peer)
        case .poison(let why): die("host \(peer.rawValue) says this host was declared failed (\(why)); stopping. Restart it to rejoin the cluster")
        case .forward(let id, let bytes): forwarded(id, bytes, from: peer)
        case .forwardReply(let id, let bytes): forwardReplied(id, bytes)
        case .replicate(let p, let entry): replicated(p, entry, from: peer)
        case .ack(let p, let seq, let status, let hash): acknowledged(p, seq: seq, status: status, hash: hash, from: peer)
        case .mpBegin(let txn, let ts, let bytes):
            multiBegin(ExecutionContext(transactionID: txn, timestampMicros: ts), bytes)
        case .mpResults(let txn, let round, let results): multiResults(txn, round: Int(round), results, from: peer)
        case .mpDone(let txn, let status, _): multiDone(txn, status: status, from: peer)
        case .rejoinRequest(let p): rejoinRequested(p, by: peer)
        case .rejoinChunk(let p, let seq, let ddl, let payload, let last):
            rejoinChunkReceived(p, startSeq: seq, ddl: ddl, payload: payload, last: last, from: peer)
        case .repairQuery(let p, let after, let epoch): repairQueried(p, after: after, epoch: epoch, by: peer)
        case .rejoinLoaded(let p, let lastSeq): rejoinLoaded(p, lastSeq: lastSeq, by: peer)
        case .repairAnswer(let p, let lastSeq, let entries): repairAnswered(p, lastSeq: lastSeq, entries: entries, by: peer)
        case .statsRequest(let id, let selector):
            DispatchQueue.global().async { [self] in
                let table = services.localStatistics(selector) ?? ResultTable(columns: [])
                mesh.send(.statsReply(requestID: id, table: table), to: peer)
            }
        case .statsReply(let id, let table):
            statsReplied(id, table, from: peer)
        case .formationRequest, .addRequest, .refused, .welcome, .hello, .replace, .joinWaiting, .joinWelcome:
            log("Ignoring a \(message.tag) message from host \(peer.rawValue): it has no place on a mesh connection")
        }
    }

    private func peerConnected(_ peer: HostID, incarnation: UInt64) {
        guard let member = state.member(peer) else { return }
        if member.state == .failed && member.incarnation == incarnation {
            // The process we declared failed is back (it was paused or cut off): it must not serve.
            mesh.send(.poison("declared failed at \(state.epoch)"), to: peer)
        }
    }

    // MARK: Metadata

    /// Proposes `command` through the coordinator: if this host coordinates, after the
    /// coordinator's admission rules (`MembershipCore.received`), else sent to the coordinator,
    /// which applies them. Runs on its own queue: it is called from inside metadata callbacks,
    /// which hold the log's lock.
    func propose(_ command: MetadataCommand) {
        proposals.async { [self] in
            guard let metadata else { return }
            if metadata.isCoordinator {
                admit(command, metadata)
            } else if let coordinator = metadata.coordinator, coordinator != me {
                mesh.send(.propose(command), to: coordinator)
            }
        }
    }

    private func coordinatorReceived(_ command: MetadataCommand, from peer: HostID) {
        proposals.async { [self] in
            guard let metadata, metadata.isCoordinator else { return }
            admit(command, metadata)
        }
    }

    /// The coordinator's side of a proposal (on the proposals queue).
    private func admit(_ command: MetadataCommand, _ metadata: MetadataLog) {
        for action in membership.received(command, state: state) {
            switch action {
            case .propose(let admitted): metadata.propose(admitted)
            case .stop(let reason): die(reason)
            case .log(let line): log(line)
            }
        }
    }

    /// Carries out what the membership core decided on a tick.
    private func perform(_ actions: [MembershipCore.Action]) {
        for action in actions {
            switch action {
            case .propose(let command): propose(command)
            case .stop(let reason): die(reason)
            case .log(let line): log(line)
            }
        }
    }

    /// Called by the metadata log, in commit order, for every applied command.
    func applied(_ state: ClusterState, _ command: MetadataCommand) {
        current.withLock { $0 = state }
        anyFailed.store(state.members.contains { $0.state == .failed }, ordering: .relaxed)
        mesh.setHeartbeatEpoch(state.epoch.rawValue)
        log("Metadata \(state.epoch): \(Self.describe(command))")
        switch command {
        // A restarted host replays the whole log, including its own earlier failure: only entries
        // about this incarnation concern it.
        case .hostFailed(let host, _):
            if host == me {
                if state.member(me)?.incarnation == incarnation {
                    die("the cluster declared this host failed; stopping. Restart it with the same command to rejoin")
                    return
                }
            } else {
                mesh.forget(host)
                hostFailed(host, state: state)
            }
        case .rejoinBegin(let member):
            if member.id == me && member.incarnation == incarnation { beginRejoin(state) }
            if member.id != me {
                mesh.remember(member.id)
                // A host that replaced a missing one (--add) lives at a new address.
                if let peer = Self.endpoint(member.internalEndpoint) { mesh.updatePeer(member.id, peer) }
            }
        case .replicaReady(let host, _, _):
            if host == me && state.member(me)?.incarnation == incarnation { rejoinProgress(state) }
        case .rejoinEnd(let host):
            if host == me && state.member(me)?.incarnation == incarnation {
                rejoin.withLock { $0.driver?.finished() }
                services.rejoinCompleted()
            }
        case .joinAdmitted(let admission):
            for member in admission.members where member.id != me {
                if let peer = Self.endpoint(member.internalEndpoint) { mesh.addPeer(member.id, peer) }
            }
        case .schema(let version, let ddl):
            // A joiner built its catalog from the state that admitted it; a change that committed
            // just before its admission is recorded just after, and reaches it here.
            if state.member(me)?.state == .joining && engine.catalog.version < version {
                DispatchQueue.global().async { [self] in
                    guard engine.catalog.version < version else { return }
                    let result = engine.adHoc(ddl)
                    log(result.succeeded ? "Applied the cluster's schema change (catalog version \(version))"
                        : "Cannot apply the cluster's schema change (catalog version \(version)): \(result.statusString ?? "")")
                }
            }
        case .joinerReady, .joinParticipating, .rangeMoved, .joinCompleted:
            break
        }
        if let reason = state.stoppedReason {
            die("the cluster stopped: \(reason)")
            return
        }
        updateStreams(state)
        services.clusterStateChanged(state)
        if metadata?.isCoordinator == true {
            driveJoin { core, now, state, configuration in core.observe(nowMillis: now, state: state, configuration: configuration) }
        }
    }

    static func describe(_ command: MetadataCommand) -> String {
        switch command {
        case .hostFailed(let h, let reason): "host \(h.rawValue) failed (\(reason))"
        case .rejoinBegin(let m): "host \(m.id.rawValue) rejoins (incarnation \(m.incarnation))"
        case .replicaReady(let h, let p, _): "host \(h.rawValue) holds a live replica of partition \(p.rawValue) again"
        case .rejoinEnd(let h): "host \(h.rawValue) finished rejoining"
        case .schema(let v, _): "catalog version \(v)"
        case .joinAdmitted(let a):
            "hosts \(a.members.map { String($0.id.rawValue) }.joined(separator: ", ")) join with partitions "
                + a.partitions.map { String($0.id.rawValue) }.joined(separator: ", ")
        case .joinerReady(let h): "joining host \(h.rawValue) has its partitions' sites"
        case .joinParticipating: "the replicated tables reached the new partitions; ranges start moving"
        case .rangeMoved(let move, let upTo): "move \(move) of the join has moved every token below \(upTo)"
        case .joinCompleted: "the join is complete"
        }
    }

    /// Everything that follows a host's failure on this host (the streams learn it with every state).
    private func hostFailed(_ host: HostID, state: ClusterState) {
        failForwards(to: host)
        // The streams learn their new leaders first: re-sequencing a multi-partition transaction
        // into a partition this host now leads needs that stream to know it leads.
        updateStreams(state)
        multiHostFailed(host, state: state)
    }

    // MARK: Timer

    private func tick() {
        guard !fatal.load(ordering: .relaxed) else { return }
        metadata?.tick()
        let state = self.state
        let now = Host.monotonicMillis()
        var peers: [HostID: MembershipCore.Peer] = [:]
        for m in state.members where m.id != me {
            peers[m.id] = MembershipCore.Peer(silenceMillis: mesh.silenceMillis(m.id, now: now), connected: mesh.isConnected(m.id),
                                              heard: mesh.incarnation(of: m.id) != nil)
        }
        perform(membership.tick(state: state, isCoordinator: metadata?.isCoordinator == true, peers: peers))
        guard !fatal.load(ordering: .relaxed) else { return }
        rejoinTick(state)
        joinTick(state)
        schemaTick(state)
    }

    /// Stops serving at once and tells the host to exit.
    func die(_ reason: String) {
        guard !fatal.exchange(true, ordering: .acquiringAndReleasing) else { return }
        log("FATAL: \(reason)")
        services.clusterFatal(reason)
    }
}

// MARK: Forwarding

/// Calls this host sent to another host, waiting for the answer.
struct ForwardTable {
    var nextID: Int64 = 1
    var waiting: [Int64: (host: HostID, reply: @Sendable (InvocationResult) -> Void)] = [:]
}

extension ClusterNode {
    /// Routes a client call: runs it here if this host leads its partition (or coordinates
    /// multi-partition work), else forwards it to the host that does.
    func submit(_ invocation: Invocation, target: CallTarget, reply: @escaping @Sendable (InvocationResult) -> Void) {
        guard !fatal.load(ordering: .relaxed) else {
            reply(InvocationResult(status: .serverUnavailable, statusString: "this host is stopping"))
            return
        }
        // Read under the lock rather than on a copy of the whole state: this runs for every call.
        let destination: HostID? = switch target {
        case .partition(let p): current.withLock { $0.partition(p)?.leader }
        case .multi: current.withLock { $0.multiPartitionHost }
        case .anywhere: me
        }
        guard let destination else {
            reply(InvocationResult(status: .serverUnavailable, statusString: "no live host leads this call's partition"))
            return
        }
        if destination == me {
            switch target {
            case .partition(let p): lead(p, invocation, reply: reply)
            case .multi: coordinateMulti(invocation, reply: reply)
            case .anywhere: services.executeCall(invocation, options: CallOptions(), completion: reply)
            }
            return
        }
        forward(invocation, to: destination, reply: reply)
    }

    private func forward(_ invocation: Invocation, to host: HostID, reply: @escaping @Sendable (InvocationResult) -> Void) {
        let id = forwards.withLock { t -> Int64 in
            let id = t.nextID
            t.nextID += 1
            t.waiting[id] = (host, reply)
            return id
        }
        let bytes = Self.encode(invocation)
        if !mesh.send(.forward(requestID: id, invocation: bytes), to: host) {
            if let waiting = forwards.withLock({ $0.waiting.removeValue(forKey: id) }) {
                waiting.reply(InvocationResult(status: .serverUnavailable,
                    statusString: "host \(host.rawValue), which leads this call's partition, cannot be reached; retry"))
            }
        }
    }

    private func forwarded(_ id: Int64, _ bytes: [UInt8], from peer: HostID) {
        guard let invocation = try? Invocation.decode(bytes) else { return }
        let target = services.dataTarget(invocation)
        submit(invocation, target: target) { [mesh] result in
            let frame: [UInt8]
            do {
                frame = try ClientResponse(handle: id, status: result.status, statusString: result.statusString,
                                           tables: result.tables).encodeFrame()
            } catch {
                frame = (try? ClientResponse(handle: id, status: .unexpectedFailure,
                                             statusString: "cannot encode the answer: \(error)").encodeFrame()) ?? [0, 0, 0, 0]
            }
            mesh.send(.forwardReply(requestID: id, response: Array(frame.dropFirst(4))), to: peer)
        }
    }

    private func forwardReplied(_ id: Int64, _ bytes: [UInt8]) {
        guard let waiting = forwards.withLock({ $0.waiting.removeValue(forKey: id) }) else { return }
        guard let response = try? ClientResponse.decode(bytes) else {
            waiting.reply(InvocationResult(status: .unexpectedFailure, statusString: "undecodable answer from host \(waiting.host.rawValue)"))
            return
        }
        waiting.reply(InvocationResult(status: ClientStatus(rawValue: response.statusCode) ?? .unexpectedFailure,
                                       statusString: response.statusString, tables: response.tables))
    }

    private func failForwards(to host: HostID) {
        let failed = forwards.withLock { t -> [@Sendable (InvocationResult) -> Void] in
            let ids = t.waiting.filter { $0.value.host == host }.map(\.key).sorted()
            return ids.map { t.waiting.removeValue(forKey: $0)!.reply }
        }
        for reply in failed {
            reply(InvocationResult(status: .connectionLost,
                statusString: "host \(host.rawValue) failed before answering; the call may or may not have committed"))
        }
    }

    static func encode(_ invocation: Invocation) -> [UInt8] {
        // Invocations decoded from a client frame always re-encode. The frame's length prefix is dropped:
        // mesh fields carry their own length.
        do { return Array(try invocation.encodeFrame().dropFirst(4)) } catch {
            preconditionFailure("cannot re-encode \(invocation.procedure): \(error)")
        }
    }
}

// MARK: Statistics

/// One cluster-wide statistics request: this host's rows plus every live peer's.
final class StatsGather: Sendable {
    let pending: Mutex<(remaining: Set<HostID>, rows: [[Value]], columns: [ResultTable.Column])>
    let done = OneShot<Bool>()
    init(remaining: Set<HostID>, local: ResultTable) {
        pending = Mutex((remaining, local.rows, local.columns))
        if remaining.isEmpty { done.set(true) }
    }
}

extension ClusterNode {
    /// Asks every live peer for its rows of `selector` and returns them after this host's, in
    /// host order of arrival; a host that does not answer within `timeoutMillis` is left out.
    /// Blocks: call it off the event loops.
    func gatherStatistics(_ selector: String, local: ResultTable, timeoutMillis: Int = 2_000) -> ResultTable {
        let peers = Set(state.liveMembers.filter { $0 != me })
        let gather = StatsGather(remaining: peers, local: local)
        let id = statsGathers.withLock { g -> Int64 in
            let id = g.next
            g.next += 1
            g.waiting[id] = gather
            return id
        }
        for peer in peers.sorted() { mesh.send(.statsRequest(requestID: id, selector: selector), to: peer) }
        _ = gather.done.wait(timeoutMillis: timeoutMillis)
        _ = statsGathers.withLock { $0.waiting.removeValue(forKey: id) }
        return gather.pending.withLock { ResultTable(columns: $0.columns, rows: $0.rows) }
    }

    fileprivate func statsReplied(_ id: Int64, _ table: ResultTable, from peer: HostID) {
        guard let gather = statsGathers.withLock({ $0.waiting[id] }) else { return }
        let complete = gather.pending.withLock { p -> Bool in
            guard p.remaining.remove(peer) != nil else { return false }
            if table.columns.count == p.columns.count { p.rows += table.rows }
            return p.remaining.isEmpty
        }
        if complete { gather.done.setIfUnset(true) }
    }
}
