// The shell of the elastic join on one host (JoinCoordinator.swift states the sequence).
//
// As metadata coordinator, a host runs one `JoinCoordinator`: joiners' asks arrive on the internal
// port (`joinAsked`, answered on the asker's connection), the mesh timer and every applied entry
// drive it (`driveJoin`), and it is rebuilt from the applied state whenever this host becomes
// coordinator again (a new term): everything it decides is checked against that state. All of
// its work runs on the proposals queue, which is serial and outside the metadata log's locks.
//
// Placement changes (the copy of the replicated tables, each range-move step) run as internal
// multi-partition calls (`PlacementChange.invocation`) through the multi-partition coordinator,
// one at a time. A result that comes back to a coordinator core other than the one that asked
// (leadership changed meanwhile) is dropped, and the step the current core asked for runs next:
// steps are idempotent, so a repeated one reports `alreadyDone`.
//
// As a joiner, a host proposes `joinerReady` (about once a second until it is applied) once its
// sites hold the schema.

import Consensus
import Dispatch
import Rebalancer
import Synchronization
import VoltModel

struct JoinRole {
    /// The coordinator's core, while this host coordinates.
    var core: JoinCoordinator?
    /// The metadata term `core` was built in, and a count of the cores built (to match results).
    var term: UInt64 = 0
    var generation = 0
    /// The generation whose placement change is running, if one is.
    var placementOf: Int?
    /// A placement change the current core asked for while another one ran.
    var deferredPlacement: PlacementChange?
    /// The pending wake-up of the pacing timer (wall ms), so that one is scheduled at a time.
    var wakeAt: Int64?
    /// Joiner: its sites hold the schema; when it last proposed `joinerReady`.
    var sitesReady = false
    var lastReadyProposal: Int64 = 0
}

extension ClusterNode {
    static func nowMillis() -> Int64 { Engine.wallClockMicros() / 1000 }

    // MARK: Coordinator

    /// Any host, on a loop thread: a fresh host asked for a place and the cluster is complete.
    /// Answers what to tell it; the coordinator's other actions run on the proposals queue.
    func joinAsked(_ request: HostRequest, unreachable: [HostID]) -> PeerMessage {
        let state = self.state
        guard let metadata, metadata.isCoordinator else {
            let coordinator = metadata?.coordinator.flatMap { state.member($0)?.internalEndpoint } ?? ""
            return .joinWaiting(status: "asking the metadata coordinator", coordinator: coordinator, current: state.encoded())
        }
        let ask = JoinCoordinator.Ask(request: JoinerRequest(endpoint: request.member.internalEndpoint,
                                                             incarnation: request.member.incarnation,
                                                             placementGroup: request.member.placementGroup,
                                                             unreachable: unreachable),
                                      member: request.member)
        let (generation, actions) = joinRole.withLock { role -> (Int, [JoinCoordinator.Action]) in
            var core = currentCore(&role, metadata)
            let actions = core.asked(ask, nowMillis: Self.nowMillis(), state: state)
            role.core = core
            return (role.generation, actions)
        }
        var answer = PeerMessage.refused("the coordinator had no answer")
        var rest: [JoinCoordinator.Action] = []
        for action in actions {
            switch action {
            case .reply(_, .verdict(let verdict)):
                answer = .joinWaiting(status: verdict.description, coordinator: mesh.endpoint, current: state.encoded())
            case .reply(_, .admitted(let id)):
                log("Joining host at \(request.member.internalEndpoint) is admitted as host \(id.rawValue)")
                answer = .joinWelcome(id, bootstrap: bootstrap.encoded(), current: state.encoded())
            default:
                rest.append(action)
            }
        }
        if !rest.isEmpty { proposals.async { [self, rest] in perform(rest, generation: generation) } }
        return answer
    }

    /// The core of this term, built afresh when this host (again) became coordinator.
    private func currentCore(_ role: inout JoinRole, _ metadata: MetadataLog) -> JoinCoordinator {
        let term = metadata.term
        if let core = role.core, role.term == term { return core }
        role.term = term
        role.generation += 1
        role.wakeAt = nil
        return JoinCoordinator(groupSize: state.kFactor + 1, pacing: pacing)
    }

    /// Feeds the coordinator's core (a tick, an applied state) and carries out what it decides.
    /// On the proposals queue.
    func driveJoin(_ input: @escaping @Sendable (inout JoinCoordinator, Int64, ClusterState, RaftConfiguration) -> [JoinCoordinator.Action]) {
        proposals.async { [self] in
            guard !fatal.load(ordering: .relaxed), let metadata else { return }
            guard metadata.isCoordinator else {
                joinRole.withLock { $0.core = nil }
                return
            }
            let state = self.state
            let configuration = metadata.configuration
            let (generation, actions) = joinRole.withLock { role -> (Int, [JoinCoordinator.Action]) in
                var core = currentCore(&role, metadata)
                let actions = input(&core, Self.nowMillis(), state, configuration)
                role.core = core
                return (role.generation, actions)
            }
            perform(actions, generation: generation)
        }
    }

    /// On the proposals queue.
    private func perform(_ actions: [JoinCoordinator.Action], generation: Int) {
        guard let metadata else { return }
        for action in actions {
            switch action {
            case .reply:
                break   // answered on the asker's connection by `joinAsked`
            case .proposeMembership(let voters, let learners):
                let result = metadata.proposeMembership(voters: voters, learners: learners)
                if case .refused(let why) = result, why != .changeInProgress, why != .unchanged {
                    log("Join: the metadata log refused the membership voters \(voters.map(\.rawValue)), "
                        + "learners \(learners.map(\.rawValue)): \(why)")
                }
            case .propose(let command):
                metadata.propose(command)
            case .runPlacement(let change):
                runPlacement(change, generation: generation)
            case .wakeAt(let millis):
                scheduleJoinWake(at: millis)
            case .log(let line):
                log("Join: \(line)")
            }
        }
    }

    private func runPlacement(_ change: PlacementChange, generation: Int) {
        let start = joinRole.withLock { role -> Bool in
            guard role.generation == generation else { return false }
            guard role.placementOf == nil else {
                role.deferredPlacement = change
                return false
            }
            role.placementOf = generation
            return true
        }
        guard start else { return }
        submit(change.invocation, target: .multi) { [self] result in
            proposals.async { [self] in placementFinished(result, generation: generation) }
        }
    }

    /// On the proposals queue: a placement change came back.
    private func placementFinished(_ result: InvocationResult, generation: Int) {
        let (current, deferred) = joinRole.withLock { role -> (Bool, (PlacementChange, Int)?) in
            role.placementOf = nil
            let deferred = role.deferredPlacement.map { ($0, role.generation) }
            role.deferredPlacement = nil
            return (role.generation == generation && role.core != nil, deferred)
        }
        if current {
            driveJoin { core, now, state, configuration in
                if let outcome = PlacementOutcome(result) {
                    return core.placementSucceeded(outcome, nowMillis: now, state: state, configuration: configuration)
                }
                return core.placementFailed(result.statusString ?? result.status.description, nowMillis: now, state: state)
            }
        }
        if let (change, generation) = deferred { runPlacement(change, generation: generation) }
    }

    private func scheduleJoinWake(at millis: Int64) {
        let schedule = joinRole.withLock { role -> Bool in
            if let pending = role.wakeAt, pending <= millis { return false }
            role.wakeAt = millis
            return true
        }
        guard schedule else { return }
        let delay = max(0, millis - Self.nowMillis())
        proposals.asyncAfter(deadline: .now() + .milliseconds(Int(delay))) { [self] in
            joinRole.withLock { if $0.wakeAt == millis { $0.wakeAt = nil } }
            driveJoin { core, now, state, configuration in core.tick(nowMillis: now, state: state, configuration: configuration) }
        }
    }

    /// Every heartbeat tick (mesh timer thread).
    func joinTick(_ state: ClusterState) {
        if metadata?.isCoordinator == true {
            driveJoin { core, now, state, configuration in core.tick(nowMillis: now, state: state, configuration: configuration) }
        } else if joinRole.withLock({ $0.core != nil }) {
            joinRole.withLock { $0.core = nil }
        }
        // Joiner: report its sites ready until the log says so.
        guard let join = state.join, join.joiners.contains(me), !join.ready.contains(me),
              state.member(me)?.incarnation == incarnation, engine.catalog.version >= state.catalogVersion else { return }
        let now = Host.monotonicMillis()
        let due = joinRole.withLock { role -> Bool in
            guard role.sitesReady, now - role.lastReadyProposal >= 1_000 else { return false }
            role.lastReadyProposal = now
            return true
        }
        if due { propose(.joinerReady(me)) }
    }

    /// Joiner: its sites hold the schema; it may report ready.
    func joinerSitesReady() {
        joinRole.withLock { $0.sitesReady = true }
    }

    /// The hosts waiting in the join buffer and what each is told, while this host coordinates
    /// (for `@Statistics JOINERS`).
    func waitingJoiners(nowMillis: Int64) -> [(joiner: WaitingJoiner, verdict: JoinVerdict)] {
        let blocker = state.joinBlocker
        return joinRole.withLock { $0.core?.buffer.verdicts(blocker: blocker) ?? [] }
    }

    /// The rebalance's figures while this host coordinates a join (for `@Statistics REBALANCE`).
    var joinStatistics: RebalanceStatistics? { joinRole.withLock { $0.core?.statistics } }
}
