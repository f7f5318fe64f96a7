// The metadata coordinator's side of an elastic join, as a pure core: it takes joiners' requests
// into the join buffer, admits a full group, brings the joiners into the metadata log (learners
// first, voters once their sites are up) and drives the rebalance to its end. The shell
// (ClusterNode) feeds it requests, time, the applied state and the metadata log's configuration,
// and the outcomes of the placement transactions it asked for; it carries out the actions. A new
// coordinator builds a fresh core and carries on from the applied state: every step it takes is
// idempotent or checked against that state.
//
// The sequence for one group of K+1 joiners:
//   1. buffer: `JoinBuffer` until K+1 that reach every member wait, and the cluster can grow;
//   2. ids: the next free host ids, in arrival order; the metadata log's configuration gains them
//      as learners (they receive the log but do not count);
//   3. admission: once the learners are in the configuration, `joinAdmitted` places the new
//      partitions on them (`ClusterState.admission(of:)`, `planJoin`); each joiner's next request is
//      answered with its id and it starts (sites, schema, streams) and proposes `joinerReady`;
//   4. promotion: once every joiner that has not failed is ready, the configuration makes them
//      voters (a joint change the Raft core leaves by itself);
//   5. rebalance: `RebalanceDriver`, from the applied join: the copy of the replicated tables,
//      `joinParticipating`, the range moves with their progress, `joinCompleted`.
// One group at a time; the buffer holds later joiners meanwhile.

import Consensus
import Rebalancer
import VoltModel

struct JoinCoordinator: Sendable {
    /// What a joiner sends (about once a second while it waits): its request as the buffer sees
    /// it, and the member record it would join with (its id is given at admission).
    struct Ask: Sendable, Equatable {
        var request: JoinerRequest
        var member: ClusterMember
    }

    enum Reply: Sendable, Equatable {
        case verdict(JoinVerdict)
        /// Admitted as this host; the joiner now follows the metadata log as that host.
        case admitted(HostID)
    }

    enum Action: Sendable, Equatable {
        case reply(endpoint: String, Reply)
        /// Propose this membership (voters, learners) to the metadata log's Raft core.
        case proposeMembership(voters: [HostID], learners: [HostID])
        case propose(MetadataCommand)
        /// Run this placement transaction, then call `placementSucceeded` or `placementFailed`.
        case runPlacement(PlacementChange)
        case wakeAt(millis: Int64)
        case log(String)
    }

    let pacing: RebalancePacing
    private(set) var buffer: JoinBuffer
    /// The group being brought in: its members with their ids, by endpoint.
    private(set) var group: [String: ClusterMember] = [:]
    private(set) var driver: RebalanceDriver?
    /// The member records of the joiners in the buffer, by endpoint.
    private var pendingMembers: [String: ClusterMember] = [:]
    /// The placement in flight was the driver's copy (true) or a move step (false).
    private var placementIsCopy = false

    init(groupSize: Int, expiryMillis: Int64 = 3_000, pacing: RebalancePacing) {
        buffer = JoinBuffer(groupSize: groupSize, expiryMillis: expiryMillis)
        self.pacing = pacing
    }

    /// A joiner asked. The reply goes back on its connection.
    mutating func asked(_ ask: Ask, nowMillis: Int64, state: ClusterState) -> [Action] {
        let endpoint = ask.request.endpoint
        if let admitted = state.members.first(where: { $0.internalEndpoint == endpoint && $0.incarnation == ask.member.incarnation }) {
            remove(endpoints: [endpoint])
            return [.reply(endpoint: endpoint, .admitted(admitted.id))]
        }
        let verdict = buffer.heard(ask.request, nowMillis: nowMillis, blocker: state.joinBlocker)
        pendingMembers[endpoint] = ask.member   // the record to admit it with
        return [.reply(endpoint: endpoint, .verdict(verdict))]
    }

    /// A beat of the coordinator's timer, with the applied state and the log's configuration.
    mutating func tick(nowMillis: Int64, state: ClusterState, configuration: RaftConfiguration) -> [Action] {
        var actions: [Action] = []
        for gone in buffer.tick(nowMillis: nowMillis) {
            pendingMembers[gone.request.endpoint] = nil
            actions.append(.log("Joining host at \(gone.request.endpoint) stopped asking; it left the join buffer"))
            if group[gone.request.endpoint] != nil && state.join == nil {
                // A joiner of the group died before its admission committed: start the group over.
                group = [:]
                buffer.release()
            }
        }
        return actions + advance(nowMillis: nowMillis, state: state, configuration: configuration)
    }

    /// The applied state or the configuration changed.
    mutating func observe(nowMillis: Int64, state: ClusterState, configuration: RaftConfiguration) -> [Action] {
        advance(nowMillis: nowMillis, state: state, configuration: configuration)
    }

    mutating func placementSucceeded(_ outcome: PlacementOutcome, nowMillis: Int64, state: ClusterState,
                                     configuration: RaftConfiguration) -> [Action] {
        guard var d = driver else { return [] }
        let decided = placementIsCopy ? d.copied(nowMillis: nowMillis) : d.stepSucceeded(rows: outcome.rows, bytes: outcome.bytes, nowMillis: nowMillis)
        driver = d
        return translate(decided, state: state) + advance(nowMillis: nowMillis, state: state, configuration: configuration)
    }

    mutating func placementFailed(_ reason: String, nowMillis: Int64, state: ClusterState) -> [Action] {
        guard var d = driver else { return [] }
        let decided = d.stepFailed(reason, nowMillis: nowMillis)
        driver = d
        return translate(decided, state: state)
    }

    /// The rebalance's figures (for `@Statistics REBALANCE` and the host log).
    var statistics: RebalanceStatistics? { driver?.statistics }

    // MARK: Deciding

    /// Admitted joiners leave the buffer, with the member records kept for them.
    private mutating func remove(endpoints: [String]) {
        buffer.remove(endpoints: endpoints)
        for endpoint in endpoints { pendingMembers[endpoint] = nil }
    }

    private mutating func advance(nowMillis: Int64, state: ClusterState, configuration: RaftConfiguration) -> [Action] {
        if let join = state.join {
            group = [:]
            remove(endpoints: state.members.filter { join.joiners.contains($0.id) }.map(\.internalEndpoint))
            return promoteOrDrive(join, nowMillis: nowMillis, state: state, configuration: configuration)
        }
        driver = nil
        if group.isEmpty {
            guard let requests = buffer.nextGroup(blocker: state.joinBlocker) else { return [] }
            var next = state.nextHostID
            for request in requests {
                guard var member = pendingMembers[request.endpoint] else { continue }
                member.id = next
                next = HostID(next.rawValue + 1)
                group[request.endpoint] = member
            }
            let ids = group.values.map(\.id).sorted()
            return [.log("Admitting hosts \(ids.map { String($0.rawValue) }.joined(separator: ", ")) to the cluster"),
                    .proposeMembership(voters: configuration.voters, learners: (configuration.learners + ids).sorted())]
        }
        // Once the group's learners are in the configuration, admit them in the metadata; until
        // then ask again (a proposal refused while another change was under way is not kept).
        let members = group.values.sorted { $0.id < $1.id }
        let ids = members.map(\.id)
        guard ids.allSatisfy({ configuration.learners.contains($0) || configuration.isVoter($0) }) else {
            return [.proposeMembership(voters: configuration.voters, learners: Array(Set(configuration.learners + ids)).sorted())]
        }
        do {
            return [.propose(.joinAdmitted(try state.admission(of: members, startedMillis: nowMillis)))]
        } catch {
            group = [:]
            buffer.release()
            return [.log("Cannot admit hosts \(members.map { String($0.id.rawValue) }): \(error)")]
        }
    }

    private mutating func promoteOrDrive(_ join: JoinState, nowMillis: Int64, state: ClusterState,
                                         configuration: RaftConfiguration) -> [Action] {
        let standing = join.joiners.filter { state.member($0)?.state != .failed }
        let ready = standing.allSatisfy { join.ready.contains($0) }
        if ready && !standing.allSatisfy(configuration.voters.contains) {
            guard !configuration.isJoint else { return [] }
            let voters = (configuration.voters + standing.filter { !configuration.voters.contains($0) }).sorted()
            return [.proposeMembership(voters: voters, learners: configuration.learners.filter { !voters.contains($0) })]
        }
        let promoted = ready && !configuration.isJoint
        let old = ClusterState.freshRing(state.partitionCount - join.newPartitions.count)
        let source = state.participants.first { !join.newPartitions.contains($0) } ?? PartitionID(0)
        let view = JoinView(participating: join.phase == .moving, joinersReady: promoted, newPartitions: join.newPartitions,
                            copySource: source, oldRing: old, moves: state.joinMoves, progress: join.progress)
        var d = driver ?? RebalanceDriver(view: view, pacing: pacing, nowMillis: nowMillis)
        let decided = d.observe(view, nowMillis: nowMillis)
        driver = d
        return translate(decided, state: state)
    }

    private mutating func translate(_ decided: [RebalanceDriver.Action], state: ClusterState) -> [Action] {
        decided.map { action in
            switch action {
            case .copyReplicatedTables(let partitions, let source):
                placementIsCopy = true
                return .runPlacement(.addParticipants(partitions, copyingFrom: source))
            case .recordParticipating: return .propose(.joinParticipating)
            case .moveStep(_, let move):
                placementIsCopy = false
                return .runPlacement(.move(move))
            case .recordProgress(let move, let upTo): return .propose(.rangeMoved(move: move, upTo: upTo))
            case .recordCompleted: return .propose(.joinCompleted)
            case .wakeAt(let millis): return .wakeAt(millis: millis)
            case .log(let line): return .log(line)
            }
        }
    }
}
