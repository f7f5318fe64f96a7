// A deterministic simulation of the metadata side of an elastic join: the real Raft core with
// membership changes, the real `ClusterState` and the real `JoinCoordinator` (buffer, ids,
// learners, admission, promotion, rebalance driver) on every host that coordinates, over a
// seeded network that drops, delays and reorders messages and is cut into two sides, with the
// coordinator crashing and restarting. Joiners ask any host (which forwards to the coordinator it
// knows), start their Raft node when told their id, and report ready once they have applied their
// admission. Placement transactions are not simulated: the coordinator's request succeeds at once
// (their data path is covered by the engine's placement tests). After every step: each host's
// state is consistent (`violations`, which include a valid ring and K+1 replicas), epochs only
// grow on a host, and two hosts at the same epoch hold the same state. At the end the network
// heals and every host restarts; the join must complete everywhere, with every joiner a voter and
// the ring the fresh ring of all partitions. `JOIN_SEED=n` replays one seed, `JOIN_SEEDS=n` sweeps.

import Consensus
import Foundation
import Rebalancer
import Testing
@testable import Node

private final class JoinSimulation {
    struct Host {
        var id: HostID
        var raft: RaftNode?
        var disk = PersistentState()
        var state: ClusterState
        var appliedIndex: UInt64 = 0
        var alive = true
        var coordinator: JoinCoordinator?
        var readySent = false
    }

    enum Payload {
        case raft(RaftMessage)
        case propose(MetadataCommand)
        case ask(JoinCoordinator.Ask, port: Int)
        case reply(JoinCoordinator.Reply)
    }

    struct Message {
        var from: Int   // index in `hosts`, or -port for a joiner not yet admitted
        var to: Int
        var at: Int
        var payload: Payload
    }

    let seed: UInt64
    var rng: SplitMix64
    var now = 0
    var hosts: [Host] = []
    /// Joiners waiting for their id: port -> the index they will have once admitted.
    var joinerPorts: [Int] = []
    var admittedPorts: [Int: HostID] = [:]
    var network: [Message] = []
    var sides: [Int: Int]?
    var violations: [String] = []
    let bootstrap: ClusterState
    let bootstrapConfiguration: RaftConfiguration
    let config = RaftConfig(electionTimeoutTicks: 6, heartbeatIntervalTicks: 2, maxEntriesPerMessage: 32)
    let kFactor: Int

    init(seed: UInt64, hostCount: Int, kFactor: Int) throws {
        self.seed = seed
        self.kFactor = kFactor
        rng = SplitMix64(seed: seed)
        let members = (0..<hostCount).map { Self.member(Int32($0)) }
        let layout = try planInitialLayout(hosts: members.map { HostSpec(id: $0.id) }, sitesPerHost: 2, kFactor: kFactor)
        bootstrap = ClusterState(layout: layout, members: members)
        bootstrapConfiguration = RaftConfiguration(voters: members.map(\.id))
        for m in members {
            hosts.append(Host(id: m.id, raft: RaftNode(id: m.id, bootstrap: bootstrapConfiguration, config: config,
                                                       rng: SplitMix64(seed: seed &+ UInt64(m.id.rawValue))),
                              state: bootstrap))
        }
        joinerPorts = (0...kFactor).map { 4_000 + $0 }
    }

    static func member(_ id: Int32, port: Int? = nil) -> ClusterMember {
        let p = port ?? 3_021 + Int(id)
        return ClusterMember(id: HostID(id), internalEndpoint: "10.0.0.1:\(p)", address: "10.0.0.1", hostname: "h\(p)",
                             clientPort: 21_212, adminPort: 21_211, incarnation: UInt64(p), startedMillis: 0)
    }

    func chance(_ percent: Int) -> Bool { rng.below(100) < percent }

    func index(of id: HostID) -> Int? { hosts.firstIndex { $0.id == id } }

    func send(_ from: Int, _ to: Int, _ payload: Payload) {
        if chance(3) { return }
        network.append(Message(from: from, to: to, at: now + 1 + rng.below(3), payload: payload))
    }

    func connected(_ a: Int, _ b: Int) -> Bool {
        guard let sides, a >= 0, b >= 0 else { return true }
        return sides[a] == sides[b]
    }

    // MARK: Steps

    func step(faults: Bool) {
        now += 1
        if faults { perturb() }
        for i in hosts.indices where hosts[i].alive {
            guard let ready = hosts[i].raft?.tick() else { continue }
            handle(i, ready)
            coordinate(i) { $0.tick(nowMillis: Int64(self.now) * 100, state: $1, configuration: $2) }
            reportReady(i)
        }
        // Joiners ask a random live host every third tick until they know their id.
        if now % 3 == 0 {
            for port in joinerPorts where admittedPorts[port] == nil {
                let live = hosts.indices.filter { hosts[$0].alive && hosts[$0].raft != nil }
                guard !live.isEmpty else { continue }
                var m = Self.member(-1, port: port)
                m.state = .joining
                let ask = JoinCoordinator.Ask(request: JoinerRequest(endpoint: m.internalEndpoint, incarnation: m.incarnation,
                                                                     placementGroup: "0"), member: m)
                send(-port, live[rng.below(live.count)], .ask(ask, port: port))
            }
        }
        deliver()
        check()
    }

    private func perturb() {
        if chance(2), let victim = hosts.indices.filter({ hosts[$0].alive && hosts[$0].raft?.role == .leader }).first {
            hosts[victim].alive = false
            hosts[victim].raft = nil
            hosts[victim].coordinator = nil
        }
        if chance(6), let back = hosts.indices.filter({ !hosts[$0].alive }).first { restart(back) }
        if chance(2) {
            var s: [Int: Int] = [:]
            for i in hosts.indices { s[i] = rng.below(2) }
            sides = s
        }
        if chance(5) { sides = nil }
    }

    func restart(_ i: Int) {
        hosts[i].raft = RaftNode(id: hosts[i].id, bootstrap: bootstrapConfiguration, config: config, restoring: hosts[i].disk,
                                 rng: SplitMix64(seed: rng.next()))
        hosts[i].state = bootstrap
        hosts[i].appliedIndex = 0
        hosts[i].alive = true
        hosts[i].readySent = false
    }

    private func deliver() {
        var due = network.filter { $0.at <= now }
        network.removeAll { $0.at <= now }
        for k in stride(from: due.count - 1, to: 0, by: -1) { due.swapAt(k, rng.below(k + 1)) }
        for m in due {
            guard connected(m.from, m.to) else { continue }
            if m.to < 0 {   // to a joiner not yet admitted
                if case .reply(.admitted(let id)) = m.payload { admit(port: -m.to, as: id) }
                continue
            }
            guard hosts[m.to].alive, hosts[m.to].raft != nil else { continue }
            switch m.payload {
            case .raft(let message):
                let ready = hosts[m.to].raft!.receive(message, from: hosts[m.from].id)
                handle(m.to, ready)
            case .propose(let command): propose(m.to, command)
            case .ask(let ask, let port):
                if hosts[m.to].raft!.role == .leader {
                    coordinate(m.to) { c, state, _ in c.asked(ask, nowMillis: Int64(self.now) * 100, state: state) }
                } else if let leader = hosts[m.to].raft!.leader, let l = index(of: leader) {
                    send(-port, l, .ask(ask, port: port))
                }
            case .reply: break
            }
        }
    }

    /// A joiner told its id starts its Raft node as that host, with an empty log.
    private func admit(port: Int, as id: HostID) {
        guard admittedPorts[port] == nil else { return }
        admittedPorts[port] = id
        hosts.append(Host(id: id, raft: RaftNode(id: id, bootstrap: bootstrapConfiguration, config: config, rng: SplitMix64(seed: rng.next())),
                          state: bootstrap))
    }

    private func handle(_ i: Int, _ ready: Ready) {
        hosts[i].disk.persist(ready)
        for e in ready.messages {
            guard let j = index(of: e.to) else { continue }   // a learner that has not started yet
            send(i, j, .raft(e.message))
        }
        var changed = false
        for entry in ready.committedEntries where entry.index.rawValue > hosts[i].appliedIndex {
            hosts[i].appliedIndex = entry.index.rawValue
            guard entry.kind == .command, let command = try? MetadataCommand.decode(entry.payload) else { continue }
            let before = hosts[i].state
            let next = before.applying(command)
            if next.epoch < before.epoch { violations.append("t\(now) epochs only grow on host \(i)") }
            let problems = next.violations()
            if !problems.isEmpty { violations.append("t\(now) host \(i) after \(command): \(problems)") }
            hosts[i].state = next
            changed = changed || next != before
        }
        if changed || ready.softState != nil {
            coordinate(i) { $0.observe(nowMillis: Int64(self.now) * 100, state: $1, configuration: $2) }
        }
    }

    /// Runs the coordinator core on host `i` if it leads the metadata log (a fresh core for a new
    /// coordinator, as a host that takes over builds one) and carries out its actions.
    private func coordinate(_ i: Int, _ input: (inout JoinCoordinator, ClusterState, RaftConfiguration) -> [JoinCoordinator.Action]) {
        guard hosts[i].alive, let raft = hosts[i].raft, raft.role == .leader else {
            hosts[i].coordinator = nil
            return
        }
        if hosts[i].coordinator == nil { hosts[i].coordinator = JoinCoordinator(groupSize: kFactor + 1, expiryMillis: 3_000, pacing: .fullSpeed) }
        var queue = input(&hosts[i].coordinator!, hosts[i].state, raft.configuration)
        var budget = 64
        while !queue.isEmpty && budget > 0, hosts[i].raft?.role == .leader {
            budget -= 1
            let action = queue.removeFirst()
            switch action {
            case .reply(let endpoint, let reply):
                let port = Int(endpoint.split(separator: ":").last!)!
                send(i, -port, .reply(reply))
            case .proposeMembership(let voters, let learners):
                let (_, ready) = hosts[i].raft!.proposeMembership(voters: voters, learners: learners)
                handle(i, ready)
            case .propose(let command):
                let (_, ready) = hosts[i].raft!.propose(command.encoded())
                handle(i, ready)
            case .runPlacement:
                // The data path is not simulated: the placement commits at once.
                let state = hosts[i].state, configuration = hosts[i].raft!.configuration
                if var c = hosts[i].coordinator {
                    queue += c.placementSucceeded(PlacementOutcome(rows: 1, bytes: 100, alreadyDone: false),
                                                  nowMillis: Int64(now) * 100, state: state, configuration: configuration)
                    hosts[i].coordinator = c
                }
            case .wakeAt, .log: break
            }
        }
    }

    private func propose(_ i: Int, _ command: MetadataCommand) {
        guard let raft = hosts[i].raft else { return }
        if raft.role == .leader {
            let (_, ready) = hosts[i].raft!.propose(command.encoded())
            handle(i, ready)
        } else if let leader = raft.leader, let l = index(of: leader) {
            send(i, l, .propose(command))
        }
    }

    /// An admitted joiner that has applied its admission reports its sites ready (every few ticks
    /// until the metadata shows it).
    private func reportReady(_ i: Int) {
        let me = hosts[i].id
        guard let join = hosts[i].state.join, join.joiners.contains(me), !join.ready.contains(me), now % 4 == 0 else { return }
        propose(i, .joinerReady(me))
    }

    private func check() {
        var byEpoch: [UInt64: ClusterState] = [:]
        for h in hosts where h.alive {
            if let seen = byEpoch[h.state.epoch.rawValue], seen != h.state {
                violations.append("t\(now) same epoch, same state: epoch \(h.state.epoch.rawValue) differs on host \(h.id.rawValue)")
            }
            byEpoch[h.state.epoch.rawValue] = h.state
        }
    }

    /// Heals everything and runs until the join has completed on every host and the joiners vote.
    func finish(maxSteps: Int = 6_000) -> Bool {
        sides = nil
        for i in hosts.indices where !hosts[i].alive { restart(i) }
        for _ in 0..<maxSteps {
            step(faults: false)
            let all = hosts.filter(\.alive)
            let joinerIDs = Set(admittedPorts.values)
            let done = joinerIDs.count == kFactor + 1 && all.allSatisfy { h in
                h.state.join == nil && h.state.members.count == bootstrap.members.count + kFactor + 1
                    && Set(h.raft?.configuration.voters ?? []) == Set(h.state.members.map(\.id))
                    && h.raft?.configuration.isJoint == false
            }
            if done { return true }
        }
        return false
    }
}

@Suite struct JoinSimulationTests {
    static let seeds: [UInt64] = {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["JOIN_SEED"], let seed = UInt64(text) { return [seed] }
        if let text = environment["JOIN_SEEDS"], let count = UInt64(text), count > 0 { return Array(1...count) }
        return Array(1...20)
    }()

    @Test(arguments: [(1, 0), (2, 1), (3, 1), (3, 2), (4, 1)])
    func aJoinCompletesThroughCoordinatorCrashesPartitionsAndLoss(hostCount: Int, kFactor: Int) throws {
        for seed in Self.seeds {
            let sim = try JoinSimulation(seed: seed, hostCount: hostCount, kFactor: kFactor)
            for _ in 0..<300 { sim.step(faults: true) }
            let finished = sim.finish()
            let replay = "JOIN_SEED=\(seed) swift test --filter JoinSimulation"
            #expect(sim.violations.isEmpty, "seed \(seed), \(hostCount) hosts K=\(kFactor): \(sim.violations.prefix(3)); \(replay)")
            #expect(finished, "seed \(seed), \(hostCount) hosts K=\(kFactor): the join did not complete; \(replay)")
            for h in sim.hosts where h.alive {
                #expect(h.state.ring == HashRing(partitionCount: h.state.partitionCount), "seed \(seed): host \(h.id.rawValue)'s ring")
                #expect(h.state.partitions.allSatisfy { $0.replicas.count == kFactor + 1 })
            }
        }
    }
}
