// A deterministic simulator for RaftNode: N nodes, a fake network and fake disks, all driven by one
// seeded SplitMix64. One `step()` is one logical tick: maybe inject a fault, tick every live node,
// then deliver every message that is due, in a shuffled order. After every step the named
// invariants (`RaftInvariants`) are checked over all live nodes; a failure names the seed.
//
// The network delays each message 1...maxDelayTicks ticks (so messages reorder), drops and
// duplicates with the given percentages, and drops messages across a partition at delivery time.
// A crash loses the node's volatile state and its applied state machine; its disk (hard state and
// log, written from every `Ready` before its messages are sent) survives, and a restart rebuilds
// the node from it. Nothing here reads a clock or iterates a Dictionary or Set unsorted.
//
// Each disk is kept twice: as a `PersistentState` that `persist(ready)` updates, and as the byte
// file a shell would append (`RaftDiskRecord` frames). A crash may tear the record being
// appended (half the time a strict prefix of one more record is left at the end of the file). A
// restart rebuilds the node from the file with `PersistentState.load(fromFileBytes:)`, which must
// cut exactly the torn bytes and give back exactly the in-memory disk ("diskReplay" otherwise).
//
// Check-quorum is checked too. At every check the simulator records, for each live host, the last
// step at which each other host was live and connected to it. A host's cut-off time is the
// longest stretch of most recent steps over which the hosts it could reach, at any point in the
// stretch, are not a quorum (not merely "not all at once": a leader that hears host 3 and then,
// after the partition moves, host 4, has heard from a quorum over its window, as its own rule
// says). A leader must not still lead once that stretch reaches `electionTimeoutTicks +
// maxDelayTicks` steps: its own rule is one election timeout after it last heard from a quorum,
// and messages that a host sent in its last step before crashing still arrive up to
// `maxDelayTicks` steps later (a partition, by contrast, stops delivery at once). Time here is
// the last step whose ticks have run: the proposals injected at the start of a step are checked
// before that step's ticks, and see every node as the previous step left it.
import Consensus
import Testing
import VoltModel

struct SimulatedCluster {
    struct Faults {
        var dropPercent = 0
        var duplicatePercent = 0
        var maxDelayTicks = 1
        /// Per step: chance of crashing a live node, restarting a crashed one, cutting the network
        /// into two random sides, healing it, and proposing a payload to every self-styled leader.
        var crashPercent = 0
        var restartPercent = 0
        var partitionPercent = 0
        var healPercent = 0
        var proposePercent = 0

        static let none = Faults()
        static let chaos = Faults(dropPercent: 10, duplicatePercent: 5, maxDelayTicks: 4, crashPercent: 2,
                                  restartPercent: 5, partitionPercent: 2, healPercent: 4, proposePercent: 25)
    }

    struct InFlight {
        let deliverAt: Int
        let sequence: Int
        let from: HostID
        let to: HostID
        let message: RaftMessage
    }

    let seed: UInt64
    /// Every host the simulation has created, ascending: the bootstrap voters, then added hosts.
    private(set) var members: [HostID]
    /// The configuration before any configuration entry: the first `nodeCount` hosts as voters.
    let bootstrap: RaftConfiguration
    let config: RaftConfig
    var faults: Faults {
        didSet { raiseIsolatedLeaderBound() }
    }
    private(set) var now = 0
    /// The last step whose ticks have run (`now`, except between a step's faults and its ticks).
    private var ticked = 0
    private var rng: SplitMix64
    private(set) var nodes: [HostID: RaftNode] = [:]
    private(set) var disks: [HostID: PersistentState] = [:]
    /// The same disks as the byte files a shell would append to.
    private(set) var files: [HostID: [UInt8]] = [:]
    /// How many bytes of each crashed host's file were durable before a torn append.
    private var durableBytes: [HostID: Int] = [:]
    /// host → other host → the last step at which the other was live and connected to it.
    private var lastReachable: [HostID: [HostID: Int]] = [:]
    /// Each live host's cut-off time at the last check (see the header).
    private var ticksCutOff: [HostID: Int] = [:]
    /// What each live node's state machine has applied in this incarnation, in order.
    private(set) var applied: [HostID: [LogEntry]] = [:]
    private var appliedSinceCheck: [HostID: [LogEntry]] = [:]
    private var restartedSinceCheck: Set<HostID> = []
    private var inFlight: [InFlight] = []
    private var nextSequence = 0
    /// Host → side of the partition; nil when the network is whole.
    private var sides: [HostID: Int]?
    private var invariants = RaftInvariants()
    private(set) var violations: [String] = []
    /// Every proposal a leader accepted: payload, index, term.
    private(set) var accepted: [(payload: [UInt8], index: LogIndex, term: Term)] = []
    private var proposalCounter = 0
    /// How many crashes and partitions the run injected, so sweeps can show they did something.
    private(set) var crashCount = 0
    private(set) var partitionCount = 0
    /// How often a crash tore an append, and how often a leader found itself cut off from a
    /// quorum (counted once per cut), so sweeps can show that recovery and check-quorum ran.
    private(set) var tornAppendCount = 0
    private(set) var leaderCutOffCount = 0
    /// Steps a leader spent able to reach exactly half of the hosts (itself counted), which only
    /// the exact-half tie-break lets it keep; it shows that even splits were exercised.
    private(set) var exactHalfLeaderSteps = 0
    /// Each live node's configuration as last seen by `handle`.
    private var knownConfiguration: [HostID: RaftConfiguration] = [:]
    /// Membership proposals a leader accepted.
    private(set) var membershipProposals = 0
    /// How many applied configuration entries `check` has validated so far.
    private var configurationsChecked = 0

    init(nodeCount: Int, seed: UInt64, faults: Faults = .none, config: RaftConfig = RaftConfig()) {
        self.seed = seed
        self.members = (1...nodeCount).map { HostID(Int32($0)) }
        self.bootstrap = RaftConfiguration(voters: members)
        self.config = config
        self.faults = faults
        self.rng = SplitMix64(seed: seed)
        raiseIsolatedLeaderBound()
        for id in members {
            disks[id] = PersistentState()
            files[id] = []
            start(id)
        }
    }

    // MARK: - Reading

    var liveHosts: [HostID] { members.filter { nodes[$0] != nil } }
    var crashedHosts: [HostID] { members.filter { nodes[$0] == nil } }

    /// The live leader of the highest term, if any.
    var leader: HostID? {
        liveHosts.filter { nodes[$0]!.role == .leader }.max { nodes[$0]!.currentTerm < nodes[$1]!.currentTerm }
    }

    func node(_ id: HostID) -> RaftNode { nodes[id]! }

    /// Committed payloads applied by `id` in this incarnation (no-ops left out), in order.
    func appliedPayloads(_ id: HostID) -> [[UInt8]] {
        (applied[id] ?? []).filter { $0.kind == .command }.map(\.payload)
    }

    /// Hosts whose byte file, replayed, is not exactly their in-memory disk (should be none).
    func diskFileMismatches() -> [HostID] {
        members.filter { PersistentState.load(fromFileBytes: files[$0]!).state != disks[$0]! }
    }

    /// Whether some host ever applied the entry of `term` at `index`, in any incarnation.
    func committedEver(index: LogIndex, term: Term) -> Bool {
        let position = Int(index.rawValue) - 1
        return position < invariants.appliedEntries.count && invariants.appliedEntries[position].term == term
    }

    // MARK: - Driving

    mutating func step() {
        now += 1
        injectFaults()
        for id in liveHosts {
            let ready = nodes[id]!.tick()
            handle(ready, from: id)
        }
        ticked = now
        deliverDue()
        check()
    }

    mutating func run(steps: Int) {
        for _ in 0..<steps { step() }
    }

    /// Steps until `condition` holds (checked before each step); false if `maxSteps` ran out.
    @discardableResult
    mutating func run(upTo maxSteps: Int, until condition: (SimulatedCluster) -> Bool) -> Bool {
        for _ in 0..<maxSteps {
            if condition(self) { return true }
            step()
        }
        return condition(self)
    }

    /// Steps until `condition` holds, recording a test issue (with the seed) if it never does.
    mutating func eventually(within maxSteps: Int, _ what: String = "condition",
                             sourceLocation: SourceLocation = #_sourceLocation,
                             _ condition: (SimulatedCluster) -> Bool) {
        if !run(upTo: maxSteps, until: condition) {
            Issue.record("\(what) did not hold within \(maxSteps) steps; \(replay)", sourceLocation: sourceLocation)
        }
    }

    /// Proposes to the current leader; nil when there is none.
    mutating func propose(_ payload: [UInt8]) -> ProposeResult? {
        guard let id = leader else { return nil }
        return propose(payload, to: id)
    }

    mutating func propose(_ payload: [UInt8], to id: HostID) -> ProposeResult {
        let (result, ready) = nodes[id]!.propose(payload)
        if case .accepted(let index, let term) = result { accepted.append((payload, index, term)) }
        handle(ready, from: id)
        check()
        return result
    }

    /// Creates a new host, not in any configuration yet: it starts from the bootstrap
    /// configuration with an empty log, as a host added to a running cluster does, and waits to be
    /// sent the log. Returns its id.
    @discardableResult
    mutating func addHost() -> HostID {
        let id = HostID(Int32(members.count + 1))
        members.append(id)
        disks[id] = PersistentState()
        files[id] = []
        start(id)
        return id
    }

    /// Proposes a membership to the current leader; nil when there is none.
    mutating func proposeMembership(voters: [HostID], learners: [HostID]) -> MembershipResult? {
        guard let id = leader else { return nil }
        return proposeMembership(voters: voters, learners: learners, to: id)
    }

    mutating func proposeMembership(voters: [HostID], learners: [HostID], to id: HostID) -> MembershipResult {
        let (result, ready) = nodes[id]!.proposeMembership(voters: voters, learners: learners)
        if case .accepted = result { membershipProposals += 1 }
        handle(ready, from: id)
        check()
        return result
    }

    /// The configuration every applied configuration entry has led to, in log order (the
    /// bootstrap first): what the cluster has committed.
    var committedConfigurations: [RaftConfiguration] {
        [bootstrap] + invariants.appliedEntries.filter { $0.kind == .configuration }.map {
            try! RaftConfiguration(decoding: $0.payload)
        }
    }

    mutating func crash(_ id: HostID) {
        precondition(nodes[id] != nil, "\(id) is already down")
        // Half the time the crash tears the next append: a vote for itself in the next term that
        // never finished, so that honouring it on restart would show in the replayed state.
        durableBytes[id] = files[id]!.count
        if rng.chance(percent: 50) {
            let torn = RaftDiskRecord.encodeFramed(.hardState(HardState(currentTerm: nodes[id]!.currentTerm.next, votedFor: id)))
            files[id]!.append(contentsOf: torn.prefix(1 + rng.below(torn.count - 1)))
            tornAppendCount += 1
        }
        nodes[id] = nil
        ticksCutOff[id] = nil
        crashCount += 1
        applied[id] = nil
        appliedSinceCheck[id] = nil
    }

    mutating func restart(_ id: HostID) {
        precondition(nodes[id] == nil, "\(id) is already up")
        start(id)
    }

    /// Cuts `id` off from every other host.
    mutating func isolate(_ id: HostID) {
        var sides: [HostID: Int] = [:]
        for member in members { sides[member] = member == id ? 1 : 0 }
        self.sides = sides
    }

    mutating func partition(_ groups: [[HostID]]) {
        var sides: [HostID: Int] = [:]
        for (side, group) in groups.enumerated() { for id in group { sides[id] = side } }
        self.sides = sides
    }

    mutating func heal() { sides = nil }

    /// Heals the network, stops faults, restarts every crashed host and runs until every node has
    /// applied everything the leader has (or `maxSteps` runs out).
    @discardableResult
    mutating func runToQuiescence(maxSteps: Int = 2000) -> Bool {
        faults = .none
        heal()
        for id in crashedHosts { restart(id) }
        return run(upTo: maxSteps) { cluster in
            guard let leader = cluster.leader else { return false }
            let target = cluster.node(leader).lastLogIndex
            // Hosts outside the leader's configuration (not added yet, or removed) are not sent
            // the log, so only members must catch up.
            return cluster.node(leader).commitIndex == target && !cluster.node(leader).configuration.isJoint
                && cluster.node(leader).configuration.members.allSatisfy {
                    cluster.node($0).lastApplied == target && cluster.node($0).leader == leader
                }
        }
    }

    /// `runToQuiescence`, recording a test issue (with the seed) if the cluster does not settle.
    mutating func settle(sourceLocation: SourceLocation = #_sourceLocation) {
        if !runToQuiescence() {
            Issue.record("the cluster did not settle; \(replay)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Inside

    private mutating func start(_ id: HostID) {
        let (restored, validBytes) = PersistentState.load(fromFileBytes: files[id]!)
        let durable = durableBytes[id] ?? files[id]!.count
        if restored != disks[id]! || validBytes != durable {
            violations.append("seed \(seed) step \(now): diskReplay: \(id) replayed \(validBytes) of \(files[id]!.count) bytes (\(durable) durable) into \(restored.log.count) entries and \(restored.hardState), disk has \(disks[id]!.log.count) entries and \(disks[id]!.hardState)")
        }
        files[id]!.removeSubrange(validBytes...)
        durableBytes[id] = nil
        nodes[id] = RaftNode(id: id, bootstrap: bootstrap, config: config, restoring: restored,
                             rng: SplitMix64(seed: rng.next()))
        applied[id] = []
        appliedSinceCheck[id] = []
        restartedSinceCheck.insert(id)
    }

    private mutating func handle(_ ready: Ready, from id: HostID) {
        // A node that adopts a configuration counts its new members as just heard from (a leader
        // gives them one election timeout to answer), so the observer's record of whom it could
        // reach starts them at this step too.
        let configuration = nodes[id]!.configuration
        if configuration != knownConfiguration[id] {
            let old = Set(knownConfiguration[id]?.members ?? [])
            for peer in configuration.members where peer != id && !old.contains(peer) { lastReachable[id, default: [:]][peer] = now }
            knownConfiguration[id] = configuration
        }
        disks[id]!.persist(ready)
        for record in RaftDiskRecord.records(from: ready) {
            files[id]!.append(contentsOf: RaftDiskRecord.encodeFramed(record))
        }
        for envelope in ready.messages {
            if faults.dropPercent > 0 && rng.chance(percent: faults.dropPercent) { continue }
            let copies = faults.duplicatePercent > 0 && rng.chance(percent: faults.duplicatePercent) ? 2 : 1
            for _ in 0..<copies {
                let delay = 1 + (faults.maxDelayTicks > 1 ? rng.below(faults.maxDelayTicks) : 0)
                inFlight.append(InFlight(deliverAt: now + delay, sequence: nextSequence, from: id,
                                         to: envelope.to, message: envelope.message))
                nextSequence += 1
            }
        }
        applied[id]!.append(contentsOf: ready.committedEntries)
        appliedSinceCheck[id]!.append(contentsOf: ready.committedEntries)
    }

    private mutating func deliverDue() {
        var due = inFlight.filter { $0.deliverAt <= now }
        inFlight.removeAll { $0.deliverAt <= now }
        // Fisher-Yates with the simulator's generator: messages due together arrive in any order.
        if due.count > 1 {
            for i in stride(from: due.count - 1, to: 0, by: -1) { due.swapAt(i, rng.below(i + 1)) }
        }
        for message in due {
            guard nodes[message.to] != nil, connected(message.from, message.to) else { continue }
            // A message sent across a cut can still arrive if the network heals before it is due,
            // even from a host that has crashed since: the receiver has heard from its sender.
            lastReachable[message.to, default: [:]][message.from] = now
            let ready = nodes[message.to]!.receive(message.message, from: message.from)
            handle(ready, from: message.to)
        }
    }

    private func connected(_ a: HostID, _ b: HostID) -> Bool {
        guard let sides else { return true }
        return sides[a] == sides[b]
    }

    private mutating func injectFaults() {
        if faults.crashPercent > 0, rng.chance(percent: faults.crashPercent) {
            let live = liveHosts
            if !live.isEmpty { crash(live[rng.below(live.count)]) }
        }
        if faults.restartPercent > 0, rng.chance(percent: faults.restartPercent) {
            let down = crashedHosts
            if !down.isEmpty { restart(down[rng.below(down.count)]) }
        }
        if faults.partitionPercent > 0, rng.chance(percent: faults.partitionPercent) {
            var sides: [HostID: Int] = [:]
            for id in members { sides[id] = rng.below(2) }
            self.sides = sides
            partitionCount += 1
        }
        if faults.healPercent > 0, rng.chance(percent: faults.healPercent) { heal() }
        if faults.proposePercent > 0, rng.chance(percent: faults.proposePercent) {
            for id in liveHosts where nodes[id]!.role == .leader {
                proposalCounter += 1
                _ = propose(Array("p\(proposalCounter)".utf8), to: id)
            }
        }
    }

    /// The live hosts `id` can exchange messages with, itself included.
    func reachable(from id: HostID) -> [HostID] {
        liveHosts.filter { $0 == id || connected(id, $0) }
    }

    /// Records whom `id` can reach now and returns its cut-off time: `ticked - m`, where m is the
    /// latest step such that the hosts it reached at some step from m on, with itself, are a
    /// quorum (0 while it reaches a quorum now; `ticked` if it never did).
    private mutating func updateTicksCutOff(_ id: HostID) -> Int {
        let now = ticked
        for peer in reachable(from: id) where peer != id { lastReachable[id, default: [:]][peer] = now }
        let rule = nodes[id]!.configuration
        let seen = lastReachable[id] ?? [:]
        // Candidates from the latest down; `now` first, so that a host that is a quorum alone
        // (or reaches one now) is never cut off.
        for step in Set(seen.values + [now]).sorted(by: >) {
            if rule.isQuorum([id] + members.filter { (seen[$0] ?? -1) >= step }) { return now - step }
        }
        return now
    }

    private mutating func raiseIsolatedLeaderBound() {
        let bound = config.electionTimeoutTicks + faults.maxDelayTicks
        invariants.isolatedLeaderBoundTicks = max(invariants.isolatedLeaderBoundTicks ?? 0, bound)
    }

    private mutating func check() {
        var observations: [NodeObservation] = []
        for id in liveHosts {
            let cutOff = updateTicksCutOff(id)
            if cutOff > 0 && (ticksCutOff[id] ?? 0) == 0 && nodes[id]!.role == .leader { leaderCutOffCount += 1 }
            ticksCutOff[id] = cutOff
            let voters = nodes[id]!.configuration.voters
            if nodes[id]!.role == .leader && !nodes[id]!.configuration.isJoint
                && 2 * reachable(from: id).filter(voters.contains).count == voters.count { exactHalfLeaderSteps += 1 }
            observations.append(NodeObservation(node: nodes[id]!, newlyApplied: appliedSinceCheck[id] ?? [],
                                                 restarted: restartedSinceCheck.contains(id),
                                                 ticksCutOffFromQuorum: cutOff))
            appliedSinceCheck[id] = []
        }
        restartedSinceCheck = []
        for violation in invariants.check(observations) {
            violations.append("seed \(seed) step \(now): \(violation)")
        }
        checkConfigurationChanges()
    }

    /// Every committed change of voters goes through a joint configuration: from a plain
    /// configuration the next one either keeps the voters (learners only) or is joint with the old
    /// voters outgoing; a joint one is followed by exactly its leaving configuration.
    private mutating func checkConfigurationChanges() {
        let configurations = committedConfigurations
        while configurationsChecked + 1 < configurations.count {
            let from = configurations[configurationsChecked], to = configurations[configurationsChecked + 1]
            let legal = from.isJoint
                ? to == from.leavingJoint
                : (to.isJoint ? to.outgoing == from.voters && to.voters != from.voters : to.voters == from.voters)
            if !legal { violations.append("seed \(seed) step \(now): jointConsensus: \(from) was followed by \(to)") }
            configurationsChecked += 1
        }
    }

    /// How to replay this run, for failure messages.
    var replay: String {
        "seed \(seed) (replay: RAFT_SEED=\(seed) swift test --scratch-path .build-raft --skip-build --filter ConsensusTests)"
    }
}
