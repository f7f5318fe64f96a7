import Consensus
import Rebalancer
import Testing
@testable import Node

/// The coordinator's side of a join (JoinCoordinator.swift), driven through a whole join with a
/// stand-in for the metadata log that applies what the core proposes at once, and joiners that
/// ask every second and report ready when admitted.
@Suite struct JoinCoordinatorTests {
    static func member(_ n: Int32, port: Int) -> ClusterMember {
        ClusterMember(id: HostID(n), internalEndpoint: "127.0.0.1:\(port)", address: "127.0.0.1", hostname: "h\(port)",
                      clientPort: port + 100, adminPort: port + 200, incarnation: UInt64(port), startedMillis: 0)
    }

    static func ask(port: Int) -> JoinCoordinator.Ask {
        var m = member(-1, port: port)
        m.state = .joining
        return JoinCoordinator.Ask(request: JoinerRequest(endpoint: m.internalEndpoint, incarnation: m.incarnation, placementGroup: "0"),
                                   member: m)
    }

    /// What the metadata log would do with the core's actions, at once.
    struct World {
        var state: ClusterState
        var configuration: RaftConfiguration
        var replies: [String: JoinCoordinator.Reply] = [:]
        var placements: [PlacementChange] = []
        var membershipChanges: [RaftConfiguration] = []

        mutating func apply(_ actions: [JoinCoordinator.Action], _ core: inout JoinCoordinator, now: Int64) {
            var queue = actions
            while !queue.isEmpty {
                let action = queue.removeFirst()
                switch action {
                case .reply(let endpoint, let reply): replies[endpoint] = reply
                case .proposeMembership(let voters, let learners):
                    // Joint then leave, committed at once (the Raft core's own job, tested there).
                    let target = RaftConfiguration(voters: voters, learners: learners)
                    if target != configuration {
                        configuration = target
                        membershipChanges.append(target)
                        queue += core.observe(nowMillis: now, state: state, configuration: configuration)
                    }
                case .propose(let command):
                    let next = state.applying(command)
                    if next != state {
                        #expect(next.violations().isEmpty, "\(next.violations())")
                        state = next
                        queue += core.observe(nowMillis: now, state: state, configuration: configuration)
                    }
                case .runPlacement(let change):
                    placements.append(change)
                    let outcome = PlacementOutcome(rows: 10, bytes: 1_000, alreadyDone: false)
                    queue += core.placementSucceeded(outcome, nowMillis: now, state: state, configuration: configuration)
                case .wakeAt, .log: break
                }
            }
        }
    }

    @Test func aWholeJoinOfTwoHostsIntoATwoHostClusterFromTheFirstAskToTheEnd() throws {
        let members = [Self.member(0, port: 3021), Self.member(1, port: 3022)]
        let layout = try planInitialLayout(hosts: members.map { HostSpec(id: $0.id) }, sitesPerHost: 2, kFactor: 1)
        var world = World(state: ClusterState(layout: layout, members: members),
                          configuration: RaftConfiguration(voters: [HostID(0), HostID(1)]))
        var core = JoinCoordinator(groupSize: 2, pacing: .fullSpeed)
        var now: Int64 = 0
        // The first joiner waits for one more.
        world.apply(core.asked(Self.ask(port: 3023), nowMillis: now, state: world.state), &core, now: now)
        #expect(world.replies["127.0.0.1:3023"] == .verdict(.waiting(have: 1, need: 2)))
        world.apply(core.tick(nowMillis: now, state: world.state, configuration: world.configuration), &core, now: now)
        #expect(world.membershipChanges.isEmpty)
        // The second arrives: learners, then the admission, in one go with this stand-in.
        now += 1_000
        world.apply(core.asked(Self.ask(port: 3024), nowMillis: now, state: world.state), &core, now: now)
        world.apply(core.tick(nowMillis: now, state: world.state, configuration: world.configuration), &core, now: now)
        #expect(world.membershipChanges.first == RaftConfiguration(voters: [HostID(0), HostID(1)], learners: [HostID(2), HostID(3)]))
        #expect(world.state.join?.joiners == [HostID(2), HostID(3)])
        // Each joiner's next ask learns its id.
        for (port, id) in [(3023, HostID(2)), (3024, HostID(3))] {
            world.apply(core.asked(Self.ask(port: port), nowMillis: now, state: world.state), &core, now: now)
            #expect(world.replies["127.0.0.1:\(port)"] == .admitted(id))
        }
        #expect(world.placements.isEmpty, "nothing moves before the joiners are ready")
        // The joiners start their sites and say so; they are promoted, then the rebalance runs.
        for id in [HostID(2), HostID(3)] {
            world.state = world.state.applying(.joinerReady(id))
            world.apply(core.observe(nowMillis: now, state: world.state, configuration: world.configuration), &core, now: now)
        }
        #expect(world.configuration.voters == [0, 1, 2, 3].map { HostID($0) } && world.configuration.learners.isEmpty)
        for _ in 0..<10_000 where world.state.join != nil {
            now += 10
            world.apply(core.tick(nowMillis: now, state: world.state, configuration: world.configuration), &core, now: now)
        }
        #expect(world.state.join == nil)
        #expect(world.state.ring == HashRing(partitionCount: 4))
        #expect(world.state.liveMembers == [0, 1, 2, 3].map { HostID($0) })
        #expect(world.placements.first == .addParticipants([PartitionID(2), PartitionID(3)], copyingFrom: PartitionID(0)))
        #expect(world.placements.count > ClusterState.joinPlan(oldPartitions: 2, newPartitions: 2).moves.count)
    }

    @Test func aJoinerThatStopsAskingBeforeItsAdmissionLetsTheGroupFormAgain() throws {
        let members = [Self.member(0, port: 3021)]
        let layout = try planInitialLayout(hosts: members.map { HostSpec(id: $0.id) }, sitesPerHost: 2, kFactor: 0)
        let state = ClusterState(layout: layout, members: members)
        var core = JoinCoordinator(groupSize: 1, expiryMillis: 3_000, pacing: .fullSpeed)
        _ = core.asked(Self.ask(port: 3022), nowMillis: 0, state: state)
        // The learner change is proposed but (in this test) never applied.
        let first = core.tick(nowMillis: 0, state: state, configuration: RaftConfiguration(voters: [HostID(0)]))
        #expect(first.contains(.proposeMembership(voters: [HostID(0)], learners: [HostID(1)])))
        // Silent for more than the expiry: it leaves, and nothing is admitted.
        let later = core.tick(nowMillis: 4_000, state: state, configuration: RaftConfiguration(voters: [HostID(0)]))
        #expect(later == [.log("Joining host at 127.0.0.1:3022 stopped asking; it left the join buffer")])
        #expect(core.group.isEmpty && core.buffer.waiting.isEmpty)
    }
}
