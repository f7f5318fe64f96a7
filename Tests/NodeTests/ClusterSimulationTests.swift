// A deterministic simulation of the cluster: the real Raft core (`RaftNode`), the real metadata
// state machine (`ClusterState.applying`), the real replication core (`PartitionStreamCore`,
// one per partition replica, driving a fake site that applies key-value writes) and the real
// membership core (`MembershipCore`: partition detection, failure detection, rejoin admission)
// and the real rejoin driver (`RejoinDriver`: when a restarted host asks, fetches, reminds and
// ends its rejoin), over a seeded fake network and clock; only the bytes are simulated (a
// snapshot is one message carrying the fake site). Clients write through the partition leaders; a write is acknowledged when
// its leader's core answers it.
//
// The network drops, duplicates, delays and reorders messages; it is cut symmetrically and
// asymmetrically; hosts crash (losing everything but their Raft disk), restart with a new
// incarnation and rejoin; a host is paused (it neither ticks nor receives, like SIGSTOP) and
// resumed. After every step the invariants are checked:
// - each host's applied state is internally consistent (`ClusterState.violations`: leaders are
//   live replicas on live hosts, one rejoin at a time, ...);
// - epochs only grow on a host;
// - two hosts that applied the same epoch hold identical states, so a partition has at most one
//   leader per epoch;
// - every partition has a live replica, or the cluster has stopped;
// - every host's applied command sequence is a prefix of the longest one (nothing committed is
//   lost or reordered);
// - every acknowledged write is held by every live replica of its partition (so no failover or
//   rejoin loses it), unless the cluster stopped;
// - replicas of a partition that applied the same prefix of its stream have identical state hashes.
// A failure prints its seed; `CLUSTER_SEED=n swift test --filter ClusterSimulation` replays one
// seed and `CLUSTER_SEEDS=n` sweeps seeds 1...n.
//
// The data channels between hosts are FIFO per direction, like the mesh's TCP connections, and a
// cut drops what is in flight on them (a broken connection). Not simulated here: multi-partition
// transactions and their exchange, covered by the multi-process tests.

import Consensus
import Foundation
import Rebalancer
import Testing
import VoltModel
@testable import Node

private struct SimMessage {
    var from: HostID
    var to: HostID
    var deliverAt: Int
    var payload: Payload
    enum Payload {
        case raft(RaftMessage)
        case propose(MetadataCommand)
        case heartbeat
    }
}

/// A site's state: key-value writes applied in stream order, and a hash of everything applied.
private struct FakeSite: Equatable {
    var values: [Int64: Int64] = [:]
    var writes: [Int64: [UInt8]] = [:]   // seq -> the entry's payload
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func apply(_ entry: StreamEntry) -> StreamOutcome {
        guard case .call(let bytes) = entry.record, bytes.count == 16 else { return StreamOutcome(status: 1, hash: 0) }
        let key = bytes[0..<8].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let value = bytes[8..<16].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        values[key] = value
        writes[entry.seq] = bytes
        var h = UInt64(bitPattern: entry.seq) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: key) ^ UInt64(bitPattern: value) &* 31
        h ^= h >> 29
        hash = (hash ^ h) &* 0x0000_0100_0000_01B3
        return StreamOutcome(status: 1, hash: h)
    }
}

private enum DataPayload {
    case entry(PartitionID, StreamEntry)
    case ack(PartitionID, Int64, StreamOutcome)
    case repairQuery(PartitionID, Int64, UInt64)
    case repairAnswer(PartitionID, Int64, [StreamEntry])
    case rejoinRequest(PartitionID)
    case snapshot(PartitionID, Int64, FakeSite)
    case rejoinLoaded(PartitionID, Int64)
}

private struct SimHost {
    var id: HostID
    var raft: RaftNode
    var disk: PersistentState
    var state: ClusterState
    var applied: [MetadataCommand] = []
    var appliedIndex: UInt64 = 0
    var alive = true
    var paused = false
    var incarnation: UInt64
    var lastHeard: [HostID: Int] = [:]
    /// The rejoining side's decisions: the real `RejoinDriver`, ticks for milliseconds.
    var rejoin: RejoinDriver
    var stopped: String?
    var streams: [PartitionID: PartitionStreamCore] = [:]
    var sites: [PartitionID: FakeSite] = [:]
    var loaded: Set<PartitionID> = []
}

private final class ClusterSimulation {
    let seed: UInt64
    var rng: SplitMix64
    var now = 0
    var hosts: [SimHost] = []
    var network: [SimMessage] = []
    /// FIFO data channels, by directed (from, to) pair.
    var channels: [[Int32]: [(deliverAt: Int, payload: DataPayload)]] = [:]
    var calls: [Int64: (partition: PartitionID, bytes: [UInt8])] = [:]
    var nextCall: Int64 = 1
    var acknowledged: [(partition: PartitionID, seq: Int64, bytes: [UInt8])] = []
    lazy var freshest: ClusterState = bootstrap
    let trace = ProcessInfo.processInfo.environment["CLUSTER_TRACE"] != nil
    var cut: Set<[Int32]> = []   // directed (from, to) pairs that drop everything
    let bootstrap: ClusterState
    let timeoutTicks = 8
    let disconnectGraceTicks = 2
    static let rejoinAskTicks: Int64 = 3
    var violations: [String] = []
    var events: [String] = []
    let config = RaftConfig(electionTimeoutTicks: 6, heartbeatIntervalTicks: 2, maxEntriesPerMessage: 16)

    init(seed: UInt64, hostCount: Int, kFactor: Int) throws {
        self.seed = seed
        rng = SplitMix64(seed: seed)
        let ids = (0..<hostCount).map { HostID(Int32($0)) }
        let layout = try planInitialLayout(hosts: ids.map { HostSpec(id: $0) }, sitesPerHost: 2, kFactor: kFactor)
        let members = ids.map { ClusterMember(id: $0, internalEndpoint: "127.0.0.1:\(3021 + Int($0.rawValue))", address: "127.0.0.1",
                                              hostname: "h\($0.rawValue)", clientPort: 21212, adminPort: 21211, incarnation: 1,
                                              startedMillis: 0) }
        bootstrap = ClusterState(layout: layout, members: members)
        for id in ids {
            hosts.append(SimHost(id: id, raft: RaftNode(id: id, members: ids, config: config, rng: SplitMix64(seed: seed &+ UInt64(id.rawValue))),
                                 disk: PersistentState(), state: bootstrap, incarnation: 1,
                                 rejoin: RejoinDriver(me: id, askIntervalMillis: Self.rejoinAskTicks, restartedAs: nil)))
        }
        for i in hosts.indices {
            for p in bootstrap.slots(of: hosts[i].id) {
                hosts[i].streams[p] = PartitionStreamCore(partition: p, me: hosts[i].id)
                hosts[i].sites[p] = FakeSite()
                hosts[i].loaded.insert(p)
            }
            updateStreams(i)
        }
    }

    func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) / 1_000_000 < p }
    func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

    // MARK: Steps

    func step() {
        now += 1
        perturb()
        for i in hosts.indices where hosts[i].alive && !hosts[i].paused {
            let ready = hosts[i].raft.tick()
            handle(i, ready)
            // Mesh heartbeats: every host tells every other one it is alive each tick.
            for j in hosts.indices where j != i { send(from: i, to: j, .heartbeat, delay: 0) }
        }
        deliver()
        deliverData()
        for i in hosts.indices where hosts[i].alive && !hosts[i].paused {
            detect(i)
            driveRejoin(i) { [now] d, state in d.tick(nowMillis: Int64(now), state: state) }
        }
        for _ in 0..<2 where chance(0.6) { write() }
        check()
    }

    private func perturb() {
        if chance(0.02) {
            let i = pick(hosts.count)
            if hosts[i].alive { crash(i, why: "crash") } else { restart(i) }
        }
        if chance(0.01) {
            let i = pick(hosts.count)
            if hosts[i].alive {
                hosts[i].paused.toggle()
                events.append("t\(now) host \(i) \(hosts[i].paused ? "paused" : "resumed")")
                if !hosts[i].paused { resumeChecks(i) }
            }
        }
        if chance(0.02) {
            if cut.isEmpty {
                let a = Int32(pick(hosts.count)), b = Int32(pick(hosts.count))
                if a != b {
                    cut.insert([a, b])
                    if chance(0.5) { cut.insert([b, a]) }   // else asymmetric
                    events.append("t\(now) cut \(cut.sorted { $0.lexicographicallyPrecedes($1) })")
                }
            } else {
                cut.removeAll()
                events.append("t\(now) healed")
            }
        }
        // Dead hosts come back eventually, so rejoins happen.
        for i in hosts.indices where !hosts[i].alive && chance(0.05) { restart(i) }
    }

    private func crash(_ i: Int, why: String) {
        hosts[i].alive = false
        hosts[i].paused = false
        events.append("t\(now) host \(i) \(why)")
    }

    private func restart(_ i: Int) {
        var h = hosts[i]
        h.incarnation += 1
        h.raft = RaftNode(id: h.id, members: bootstrap.memberIDs, config: config, restoring: h.disk,
                          rng: SplitMix64(seed: seed &+ UInt64(now) &* 31 &+ UInt64(i)))
        h.state = bootstrap
        h.applied = []
        h.appliedIndex = 0
        h.alive = true
        h.paused = false
        h.lastHeard = [:]
        var rejoiner = bootstrap.member(h.id)!
        rejoiner.incarnation = h.incarnation
        rejoiner.state = .rejoining
        h.rejoin = RejoinDriver(me: h.id, askIntervalMillis: Self.rejoinAskTicks, restartedAs: rejoiner)
        h.stopped = nil
        h.sites = [:]
        h.loaded = []
        h.streams = [:]
        for p in bootstrap.slots(of: h.id) { h.streams[p] = PartitionStreamCore(partition: p, me: h.id, restarted: true) }
        for j in hosts.indices where j != i { h.lastHeard[hosts[j].id] = now }
        hosts[i] = h
        events.append("t\(now) host \(i) restarted (incarnation \(h.incarnation))")
    }

    /// A resumed host finds it has heard from nobody for the whole pause: partition detection.
    private func resumeChecks(_ i: Int) { detect(i) }

    private func send(from i: Int, to j: Int, _ payload: SimMessage.Payload, delay: Int? = nil) {
        if case .heartbeat = payload {} else if chance(0.05) { return }   // dropped
        let d = delay ?? pick(3)
        network.append(SimMessage(from: hosts[i].id, to: hosts[j].id, deliverAt: now + d, payload: payload))
        if case .raft = payload, chance(0.02) {
            network.append(SimMessage(from: hosts[i].id, to: hosts[j].id, deliverAt: now + pick(4), payload: payload))
        }
    }

    private func deliver() {
        var later: [SimMessage] = []
        var due: [SimMessage] = []
        for m in network { if m.deliverAt <= now { due.append(m) } else { later.append(m) } }
        network = later
        // Reorder what is due.
        for k in stride(from: due.count - 1, to: 0, by: -1) { due.swapAt(k, pick(k + 1)) }
        for m in due {
            let i = Int(m.from.rawValue), j = Int(m.to.rawValue)
            guard hosts[j].alive, hosts[i].alive || true, !cut.contains([m.from.rawValue, m.to.rawValue]) else { continue }
            if hosts[j].paused {
                network.append(SimMessage(from: m.from, to: m.to, deliverAt: now + 1, payload: m.payload))   // waits in the socket
                continue
            }
            hosts[j].lastHeard[m.from] = now
            switch m.payload {
            case .heartbeat: break
            case .raft(let message):
                let ready = hosts[j].raft.receive(message, from: m.from)
                handle(j, ready)
            case .propose(let command):
                propose(j, command)
            }
        }
    }

    private func handle(_ i: Int, _ ready: Ready) {
        hosts[i].disk.persist(ready)
        for e in ready.messages {
            send(from: i, to: Int(e.to.rawValue), .raft(e.message))
        }
        for entry in ready.committedEntries where entry.index.rawValue > hosts[i].appliedIndex {
            hosts[i].appliedIndex = entry.index.rawValue
            guard entry.kind == .command, let command = try? MetadataCommand.decode(entry.payload) else { continue }
            let before = hosts[i].state.epoch
            let next = hosts[i].state.applying(command)
            if next.epoch < before { violations.append("epochs only grow: host \(i) \(before) -> \(next.epoch)") }
            guard next.epoch != before else { continue }
            hosts[i].state = next
            hosts[i].applied.append(command)
            updateStreams(i)
            if trace { events.append("t\(now) host \(i) applies \(command) -> \(next.epoch)") }
            if case .hostFailed(let h, _) = command, h == hosts[i].id, next.member(h)?.incarnation == hosts[i].incarnation {
                crash(i, why: "stopped: declared failed")
            }
            // The rejoining side follows the applied metadata about this incarnation.
            let mine = next.member(hosts[i].id)?.incarnation == hosts[i].incarnation
            switch command {
            case .rejoinBegin(let m) where m.id == hosts[i].id && m.incarnation == hosts[i].incarnation:
                driveRejoin(i) { d, state in d.begin(state: state) }
            case .replicaReady(let h, _, _) where h == hosts[i].id && mine:
                driveRejoin(i) { d, state in d.progressed(state: state) }
            case .rejoinEnd(let h) where h == hosts[i].id && mine:
                hosts[i].rejoin.finished()
            default: break
            }
        }
    }

    /// A host proposes `command`: as the coordinator, after the coordinator's admission rules
    /// (the real `MembershipCore`); otherwise it sends it to the coordinator it knows.
    private func propose(_ i: Int, _ command: MetadataCommand) {
        guard hosts[i].raft.role == .leader else {
            if let leader = hosts[i].raft.leader, leader != hosts[i].id { send(from: i, to: Int(leader.rawValue), .propose(command)) }
            return
        }
        for case .propose(let admitted) in membership(i).received(command, state: hosts[i].state) {
            let (_, ready) = hosts[i].raft.propose(admitted.encoded())
            handle(i, ready)
        }
    }

    // MARK: Rules (the real cores)

    private func membership(_ i: Int) -> MembershipCore {
        MembershipCore(me: hosts[i].id, heartbeatTimeoutMillis: Int64(timeoutTicks), disconnectGraceMillis: Int64(disconnectGraceTicks))
    }

    /// Partition and failure detection, by `MembershipCore` with ticks for milliseconds. A link's
    /// connections are down while it is cut either way or the peer is dead (a paused peer keeps
    /// them open, as a stopped process does).
    private func detect(_ i: Int) {
        guard hosts[i].alive else { return }
        let me = hosts[i].id
        var peers: [HostID: MembershipCore.Peer] = [:]
        for m in hosts[i].state.members where m.id != me {
            let j = Int(m.id.rawValue)
            let connected = hosts[j].alive && !cut.contains([me.rawValue, m.id.rawValue]) && !cut.contains([m.id.rawValue, me.rawValue])
            peers[m.id] = MembershipCore.Peer(silenceMillis: hosts[i].lastHeard[m.id].map { Int64(now - $0) }, connected: connected)
        }
        for action in membership(i).tick(state: hosts[i].state, isCoordinator: hosts[i].raft.role == .leader, peers: peers) {
            switch action {
            case .stop(let reason):
                crash(i, why: "stopped: \(reason.prefix(40))")
                return
            case .propose(let command): propose(i, command)
            case .log: break
            }
        }
    }

    /// Feeds host `i`'s rejoin driver one input and carries its actions out.
    private func driveRejoin(_ i: Int, _ input: (inout RejoinDriver, ClusterState) -> [RejoinDriver.Action]) {
        guard hosts[i].alive else { return }
        let actions = input(&hosts[i].rejoin, hosts[i].state)
        for action in actions {
            switch action {
            case .propose(let command): propose(i, command)
            case .startBuffering(let p): hosts[i].streams[p]?.startBuffering()
            case .requestSnapshot(let p, let leader): sendData(from: i, to: Int(leader.rawValue), .rejoinRequest(p))
            case .tellLoaded(let p, let leader):
                sendData(from: i, to: Int(leader.rawValue), .rejoinLoaded(p, hosts[i].streams[p]?.lastSeq ?? 0))
            case .log: break
            }
        }
    }

    // MARK: Data path

    private func updateStreams(_ i: Int) {
        let state = hosts[i].state
        let rejoining = Set(state.members.filter { $0.state == .rejoining }.map(\.id))
        for p in hosts[i].streams.keys.sorted() {
            guard let ps = state.partition(p) else { continue }
            stream(i, p) { $0.membership(leader: ps.leader, live: ps.live, rejoining: rejoining, epoch: state.epoch.rawValue) }
        }
    }

    /// Feeds one input to host i's core for p and carries out its actions, as the shell does.
    private func stream(_ i: Int, _ p: PartitionID, _ input: (inout PartitionStreamCore) -> [PartitionStreamCore.Action]) {
        guard hosts[i].alive, var core = hosts[i].streams[p] else { return }
        let actions = input(&core)
        hosts[i].streams[p] = core
        for action in actions {
            guard hosts[i].alive else { return }
            switch action {
            case .send(let h, let entry): sendData(from: i, to: Int(h.rawValue), .entry(p, entry))
            case .execute(let entry, let report):
                let outcome = hosts[i].sites[p, default: FakeSite()].apply(entry)
                if trace { events.append("t\(now) host \(i) runs p\(p.rawValue)#\(entry.seq) \(entry.record) (\(report))") }
                switch report {
                case .leader: stream(i, p) { $0.localDone(seq: entry.seq, outcome) }
                case .ackTo(let h): sendData(from: i, to: Int(h.rawValue), .ack(p, entry.seq, outcome))
                case .none: break
                }
            case .reply(let call, let seq):
                if let c = calls.removeValue(forKey: call) { acknowledged.append((c.partition, seq, c.bytes)) }
            case .repairQuery(let h, let after, let epoch): sendData(from: i, to: Int(h.rawValue), .repairQuery(p, after, epoch))
            case .repairAnswer(let h, let last, let entries): sendData(from: i, to: Int(h.rawValue), .repairAnswer(p, last, entries))
            case .snapshot(let h, let startSeq): sendData(from: i, to: Int(h.rawValue), .snapshot(p, startSeq, hosts[i].sites[p] ?? FakeSite()))
            case .replicaCaughtUp(let h): if now % 2 == 0 { propose(i, .replicaReady(h, p, leader: hosts[i].id)) }
            case .resnapshot:
                hosts[i].sites[p] = FakeSite()
                hosts[i].loaded.remove(p)
                hosts[i].rejoin.refetch(p)
            case .mismatch(let text): violations.append("t\(now) determinism: \(text)")
            case .fatal(let text): crash(i, why: "stopped: \(text)")
            }
        }
    }

    private func sendData(from i: Int, to j: Int, _ payload: DataPayload) {
        let pair = [hosts[i].id.rawValue, hosts[j].id.rawValue]
        let last = channels[pair]?.last?.deliverAt ?? now
        channels[pair, default: []].append((max(last, now + pick(3)), payload))
    }

    private func deliverData() {
        for pair in channels.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let i = Int(pair[0]), j = Int(pair[1])
            if cut.contains(pair) || !hosts[j].alive {
                channels[pair] = []   // the connection broke: what was in flight is gone
                continue
            }
            while let first = channels[pair]?.first, first.deliverAt <= now, !hosts[j].paused {
                channels[pair]!.removeFirst()
                receiveData(j, from: i, first.payload)
            }
        }
    }

    private func receiveData(_ j: Int, from i: Int, _ payload: DataPayload) {
        let sender = hosts[i].id
        if let member = hosts[j].state.member(sender), member.state == .failed {
            // A host declared failed that still talks is told so, and stops (ClusterNode's poison).
            if member.incarnation == hosts[i].incarnation && hosts[i].alive { crash(i, why: "stopped: told it was declared failed") }
            return
        }
        switch payload {
        case .entry(let p, let entry): stream(j, p) { $0.received(entry, from: sender) }
        case .ack(let p, let seq, let outcome): stream(j, p) { $0.acked(from: sender, seq: seq, outcome) }
        case .repairQuery(let p, let after, let epoch): stream(j, p) { $0.repairQueried(by: sender, after: after, epoch: epoch) }
        case .repairAnswer(let p, let last, let entries): stream(j, p) { $0.repairAnswered(by: sender, lastSeq: last, entries: entries) }
        case .rejoinRequest(let p):
            guard hosts[j].state.member(sender)?.state == .rejoining else { return }
            stream(j, p) { $0.rejoinRequested(by: sender) }
        case .rejoinLoaded(let p, let last): stream(j, p) { $0.rejoinerLoaded(sender, lastSeq: last) }
        case .snapshot(let p, let startSeq, let site):
            guard !hosts[j].loaded.contains(p), hosts[j].streams[p]?.isBuffering == true,
                  hosts[j].streams[p]?.leader == sender else { return }
            hosts[j].sites[p] = site
            stream(j, p) { $0.snapshotLoaded(startSeq: startSeq) }
            hosts[j].loaded.insert(p)
            driveRejoin(j) { d, state in
                d.snapshotArrived(p)
                return d.loaded(p, state: state)
            }
        }
    }

    /// A client write through a host that believes it leads the partition.
    private func write() {
        let i = pick(hosts.count)
        guard hosts[i].alive, !hosts[i].paused, hosts[i].state.stoppedReason == nil else { return }
        let led = hosts[i].streams.keys.sorted().filter { hosts[i].streams[$0]!.isLeader && hosts[i].loaded.contains($0) }
        guard !led.isEmpty else { return }
        let p = led[pick(led.count)]
        let call = nextCall
        nextCall += 1
        let key = Int64(pick(16)), value = call
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: key >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
        calls[call] = (p, bytes)
        stream(i, p) { $0.submit(call: call, record: .call(bytes), transactionID: nil, timestampMicros: Int64(now)) }
    }

    // MARK: Invariants

    private func check() {
        var byEpoch: [UInt64: (Int, ClusterState)] = [:]
        let longest = hosts.max { $0.applied.count < $1.applied.count }!.applied
        for (i, h) in hosts.enumerated() {
            for v in h.state.violations() { violations.append("t\(now) host \(i): \(v)") }
            if let (j, other) = byEpoch[h.state.epoch.rawValue], other != h.state {
                violations.append("t\(now) same epoch, same state: hosts \(j) and \(i) differ at \(h.state.epoch)")
            }
            byEpoch[h.state.epoch.rawValue] = (i, h.state)
            if h.state.stoppedReason == nil {
                for p in h.state.partitions where p.live.isEmpty {
                    violations.append("t\(now) host \(i): partition \(p.id) has no live replica and the cluster has not stopped")
                }
            }
            if Array(longest.prefix(h.applied.count)) != h.applied {
                violations.append("t\(now) committed prefix: host \(i) applied a sequence that diverges from the longest")
            }
        }
        checkData()
    }

    private func checkData() {
        // The freshest metadata any host has applied so far: a paused or cut-off host still holds an
        // old state in which it is live, and a restarted one starts again from the bootstrap.
        for h in hosts where h.state.epoch > freshest.epoch { freshest = h.state }
        let fresh = freshest
        guard fresh.stoppedReason == nil else { return }
        func inGoodStanding(_ i: Int) -> Bool {
            let host = hosts[i]
            return host.alive && fresh.member(host.id)?.incarnation == host.incarnation && fresh.member(host.id)?.state != .failed
        }
        // Acknowledged writes are on every live replica (of this incarnation) of their partition.
        for w in acknowledged {
            for h in fresh.partition(w.partition)?.live ?? [] where inGoodStanding(Int(h.rawValue)) {
                let host = hosts[Int(h.rawValue)]
                if host.sites[w.partition]?.writes[w.seq] != w.bytes {
                    violations.append("t\(now) acknowledged write lost: partition \(w.partition.rawValue) sequence \(w.seq) "
                        + "is not on live replica host \(h.rawValue)")
                    return
                }
            }
        }
        // Live replicas at the same point of a stream hold the same state. A rejoining replica is
        // left out until it is live: it may follow a leader that has just been deposed (cut off
        // from the coordinator but not yet from it) and run an entry the new leader numbers
        // differently; the leader change makes it fetch the partition again.
        for partition in fresh.partitions {
            let p = partition.id
            var byPrefix: [Int64: (Int, UInt64)] = [:]
            for (i, host) in hosts.enumerated() where inGoodStanding(i) && host.loaded.contains(p) && partition.live.contains(host.id) {
                guard let core = host.streams[p], !core.isBuffering, let site = host.sites[p] else { continue }
                if let (j, hash) = byPrefix[core.lastSeq], hash != site.hash {
                    violations.append("t\(now) same prefix, same state: partition \(p.rawValue) at sequence \(core.lastSeq) "
                        + "differs between hosts \(j) and \(i)")
                }
                byPrefix[core.lastSeq] = (i, site.hash)
            }
        }
    }
}

@Suite("Cluster metadata simulation")
struct ClusterSimulationTests {
    static let seeds: [UInt64] = {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["CLUSTER_SEED"], let seed = UInt64(text) { return [seed] }
        if let text = environment["CLUSTER_SEEDS"], let count = UInt64(text), count > 0 { return Array(1...count) }
        return Array(1...40)
    }()

    @Test("seed sweep: crashes, rejoins, pauses, lossy and cut networks keep the metadata invariants",
          arguments: [(3, 1), (4, 1), (3, 2), (6, 2)])
    func sweep(hostCount: Int, kFactor: Int) throws {
        var failovers = 0, rejoins = 0, writes = 0
        for seed in Self.seeds {
            let sim = try ClusterSimulation(seed: seed, hostCount: hostCount, kFactor: kFactor)
            for _ in 0..<400 {
                sim.step()
                if !sim.violations.isEmpty { break }
            }
            #expect(sim.violations.isEmpty, """
                seed \(seed), \(hostCount) hosts K=\(kFactor): \(sim.violations.prefix(3))
                events: \(sim.events.suffix(sim.trace ? 100_000 : 12).joined(separator: "\n"))
                replay: CLUSTER_SEED=\(seed) swift test --filter ClusterSimulation
                """)
            let longest = sim.hosts.max { $0.applied.count < $1.applied.count }!.applied
            writes += sim.acknowledged.count
            failovers += longest.filter { if case .hostFailed = $0 { true } else { false } }.count
            rejoins += longest.filter { if case .rejoinEnd = $0 { true } else { false } }.count
        }
        // The sweep must actually exercise failures and rejoins, or it proves nothing (a replay of
        // one seed is exempt).
        guard Self.seeds.count >= 20 else { return }
        #expect(failovers > Self.seeds.count / 2, "only \(failovers) failures in \(Self.seeds.count) runs")
        #expect(rejoins > 0, "no rejoin completed in \(Self.seeds.count) runs")
        #expect(writes > Self.seeds.count * 50, "only \(writes) acknowledged writes in \(Self.seeds.count) runs")
    }

    @Test("3 hosts K=1: the leader's host fails, its partitions get new leaders among live replicas")
    func failoverScenario() throws {
        let sim = try ClusterSimulation(seed: 7, hostCount: 3, kFactor: 1)
        var state = sim.bootstrap
        let victim = state.partitions[0].leader
        state = state.applying(.hostFailed(victim, reason: "test"))
        #expect(state.violations().isEmpty)
        #expect(state.partitions.allSatisfy { $0.leader != victim && $0.live.contains($0.leader) })
        #expect(state.stoppedReason == nil)
        #expect(state.missingReplicas == state.slots(of: victim).count)
        // A second failure of a partition's last replica stops the cluster, with the partition named.
        let survivorOfShared = state.partitions.first { $0.live.count == 1 }!.live[0]
        let stopped = state.applying(.hostFailed(survivorOfShared, reason: "test"))
        #expect(stopped.stoppedReason?.contains("lost every replica") == true)
    }
}
