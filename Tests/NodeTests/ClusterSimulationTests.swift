// A deterministic simulation of the cluster's metadata: the real Raft core (`RaftNode`) and the
// real metadata state machine (`ClusterState.applying`), with the same failure-detector,
// partition-detection and rejoin rules as `ClusterNode`, over a seeded fake network and clock.
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
//   lost or reordered).
// A failure prints its seed; `CLUSTER_SEED=n swift test --filter ClusterSimulation` replays one
// seed and `CLUSTER_SEEDS=n` sweeps seeds 1...n.
//
// Not simulated here: the data path (partition streams, acknowledgements, multi-partition
// exchange), which runs in threads and sockets and is covered by the multi-process tests.

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
    var rejoinBegunAt: Int?
    var stopped: String?
}

private final class ClusterSimulation {
    let seed: UInt64
    var rng: SplitMix64
    var now = 0
    var hosts: [SimHost] = []
    var network: [SimMessage] = []
    var cut: Set<[Int32]> = []   // directed (from, to) pairs that drop everything
    let bootstrap: ClusterState
    let timeoutTicks = 8
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
                                 disk: PersistentState(), state: bootstrap, incarnation: 1))
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
        for i in hosts.indices where hosts[i].alive && !hosts[i].paused {
            detect(i)
            rejoin(i)
        }
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
        h.rejoinBegunAt = nil
        h.stopped = nil
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
            if case .hostFailed(let h, _) = command, h == hosts[i].id, next.member(h)?.incarnation == hosts[i].incarnation {
                crash(i, why: "stopped: declared failed")
            }
        }
    }

    private func propose(_ i: Int, _ command: MetadataCommand) {
        let (result, ready) = hosts[i].raft.propose(command.encoded())
        handle(i, ready)
        if case .notLeader(let leader?) = result, leader != hosts[i].id {
            send(from: i, to: Int(leader.rawValue), .propose(command))
        }
    }

    // MARK: Rules (as in ClusterNode)

    private func detect(_ i: Int) {
        guard hosts[i].alive else { return }
        let members = hosts[i].state.memberIDs
        var reachable: Set<HostID> = [hosts[i].id]
        for m in members where m != hosts[i].id && now - (hosts[i].lastHeard[m] ?? now) <= timeoutTicks { reachable.insert(m) }
        if !QuorumRule(members: members).isQuorum(reachable) {
            crash(i, why: "stopped: partition detection")
            return
        }
        guard hosts[i].raft.role == .leader else { return }
        for m in hosts[i].state.members where m.id != hosts[i].id && m.state != .failed {
            if now - (hosts[i].lastHeard[m.id] ?? now) > timeoutTicks {
                propose(i, .hostFailed(m.id, reason: "silent"))
            }
        }
    }

    private func rejoin(_ i: Int) {
        let h = hosts[i]
        guard h.incarnation > 1, let member = h.state.member(h.id) else { return }
        if member.incarnation != h.incarnation {
            guard now % 3 == 0 else { return }
            guard member.state == .failed else {
                // Restarted before anyone noticed: its old life ends first (as the coordinator does).
                propose(i, .hostFailed(h.id, reason: "restarted"))
                return
            }
            var m = member
            m.incarnation = h.incarnation
            m.state = .rejoining
            propose(i, .rejoinBegin(m))
            return
        }
        guard member.state == .rejoining else { return }
        if hosts[i].rejoinBegunAt == nil { hosts[i].rejoinBegunAt = now }
        guard now - hosts[i].rejoinBegunAt! >= 3, now % 2 == 0 else { return }   // "streaming"
        let slots = h.state.slots(of: h.id)
        if let p = slots.first(where: { !(h.state.partition($0)?.live.contains(h.id) ?? false) }) {
            propose(i, .replicaReady(h.id, p))
        } else {
            propose(i, .rejoinEnd(h.id))
        }
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
        var failovers = 0, rejoins = 0
        for seed in Self.seeds {
            let sim = try ClusterSimulation(seed: seed, hostCount: hostCount, kFactor: kFactor)
            for _ in 0..<400 {
                sim.step()
                if !sim.violations.isEmpty { break }
            }
            #expect(sim.violations.isEmpty, """
                seed \(seed), \(hostCount) hosts K=\(kFactor): \(sim.violations.prefix(3))
                events: \(sim.events.suffix(12))
                replay: CLUSTER_SEED=\(seed) swift test --filter ClusterSimulation
                """)
            let longest = sim.hosts.max { $0.applied.count < $1.applied.count }!.applied
            failovers += longest.filter { if case .hostFailed = $0 { true } else { false } }.count
            rejoins += longest.filter { if case .rejoinEnd = $0 { true } else { false } }.count
        }
        // The sweep must actually exercise failures and rejoins, or it proves nothing.
        #expect(failovers > Self.seeds.count / 2, "only \(failovers) failures in \(Self.seeds.count) runs")
        #expect(rejoins > 0, "no rejoin completed in \(Self.seeds.count) runs")
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
