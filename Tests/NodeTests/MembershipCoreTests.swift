import Rebalancer
import Testing
@testable import Node

/// The membership core (MembershipCore.swift): one input, the exact actions.
@Suite struct MembershipCoreTests {
    static func member(_ id: Int32, incarnation: UInt64 = 1) -> ClusterMember {
        ClusterMember(id: HostID(id), internalEndpoint: "127.0.0.1:\(3021 + Int(id))", address: "127.0.0.1", hostname: "h\(id)",
                      clientPort: 21212, adminPort: 21211, incarnation: incarnation, startedMillis: 0)
    }

    static func state(hosts: Int, kFactor: Int = 1) throws -> ClusterState {
        let members = (0..<hosts).map { member(Int32($0)) }
        let layout = try planInitialLayout(hosts: members.map { HostSpec(id: $0.id) }, sitesPerHost: 2, kFactor: kFactor)
        return ClusterState(layout: layout, members: members)
    }

    static let core0 = MembershipCore(me: HostID(0), heartbeatTimeoutMillis: 1_000, disconnectGraceMillis: 200)

    static func peers(_ silence: [Int32: Int64?], connected: Bool = true) -> [HostID: MembershipCore.Peer] {
        Dictionary(uniqueKeysWithValues: silence.map { (HostID($0.key), MembershipCore.Peer(silenceMillis: $0.value, connected: connected)) })
    }

    @Test func aHostThatHearsNoQuorumWithinTheTimeoutStopsAndOneThatDoesNotKeepsGoing() throws {
        let three = try Self.state(hosts: 3)
        #expect(Self.core0.tick(state: three, isCoordinator: false, peers: Self.peers([1: 500, 2: 5_000])) == [])
        let stop = Self.core0.tick(state: three, isCoordinator: false, peers: Self.peers([1: 1_001, 2: nil]))
        #expect(stop == [.stop("partition detection: this host reaches only hosts 0 of 3 for more than the heartbeat timeout "
            + "(1000 ms), which is not a majority; stopping so that the majority side can continue without a split brain")])
    }

    @Test func anExactHalfGoesOnOnlyWithTheLowestHostId() throws {
        let four = try Self.state(hosts: 4)
        #expect(Self.core0.tick(state: four, isCoordinator: false, peers: Self.peers([1: 10, 2: nil, 3: nil])) == [])
        let core2 = MembershipCore(me: HostID(2), heartbeatTimeoutMillis: 1_000)
        #expect(core2.tick(state: four, isCoordinator: false, peers: Self.peers([3: 10, 0: nil, 1: nil])).count == 1)
    }

    @Test func theCoordinatorProposesSilentAndDisconnectedHostsFailedAndNoOneElseDoes() throws {
        var state = try Self.state(hosts: 4)
        let peers: [HostID: MembershipCore.Peer] = [
            HostID(1): .init(silenceMillis: 1_500, connected: true),
            HostID(2): .init(silenceMillis: 300, connected: false),
            HostID(3): .init(silenceMillis: 100, connected: false),
        ]
        #expect(Self.core0.tick(state: state, isCoordinator: true, peers: peers) == [
            .propose(.hostFailed(HostID(1), reason: "no heartbeat for 1500 ms")),
            .propose(.hostFailed(HostID(2), reason: "its connections closed")),
        ])
        #expect(Self.core0.tick(state: state, isCoordinator: false, peers: peers) == [])
        // A host already declared failed is not proposed again.
        state = state.applying(.hostFailed(HostID(1), reason: "x"))
        #expect(Self.core0.tick(state: state, isCoordinator: true, peers: peers) == [.propose(.hostFailed(HostID(2), reason: "its connections closed"))])
    }

    @Test func anAdmittedJoinerNotYetHeardFromHasItsStartTimeThenFailsLikeAnyHost() throws {
        let two = try Self.state(hosts: 2)
        let joined = two.applying(.joinAdmitted(try two.admission(of: [Self.member(2), Self.member(3)], startedMillis: 0)))
        let core = MembershipCore(me: HostID(0), heartbeatTimeoutMillis: 1_000, disconnectGraceMillis: 200, joinerStartMillis: 5_000)
        func peers(_ joiners: MembershipCore.Peer) -> [HostID: MembershipCore.Peer] {
            [HostID(1): .init(silenceMillis: 10, connected: true), HostID(2): joiners, HostID(3): joiners]
        }
        // Admitted 4 s ago, never connected: still starting (neither silence nor closed connections count).
        #expect(core.tick(state: joined, isCoordinator: true, peers: peers(.init(silenceMillis: 4_000, connected: false, heard: false))) == [])
        #expect(core.tick(state: joined, isCoordinator: true, peers: peers(.init(silenceMillis: 5_001, connected: false, heard: false))) == [
            .propose(.hostFailed(HostID(2), reason: "it did not connect within 5001 ms of its admission")),
            .propose(.hostFailed(HostID(3), reason: "it did not connect within 5001 ms of its admission")),
        ])
        // Once heard from, the usual rules.
        #expect(core.tick(state: joined, isCoordinator: true, peers: peers(.init(silenceMillis: 300, connected: false, heard: true))).count == 2)
        // Joiners do not count for partition detection: host 0 with host 1 is a quorum of the two voters.
        #expect(core.tick(state: joined, isCoordinator: false, peers: peers(.init(silenceMillis: nil, connected: false, heard: false))) == [])
    }

    @Test func rejoinsAreAdmittedOneAtATimeOnlyForFailedHostsWithANewIncarnationAndNotDuringAJoin() throws {
        let state = try Self.state(hosts: 3, kFactor: 2)   // two hosts can be down at once
        var back = Self.member(1, incarnation: 2)
        back.state = .rejoining
        // Still live with an older incarnation: it restarted unnoticed; its old life fails first.
        #expect(Self.core0.received(.rejoinBegin(back), state: state) == [.propose(.hostFailed(HostID(1), reason: "it restarted"))])
        let failed = state.applying(.hostFailed(HostID(1), reason: "gone"))
        #expect(Self.core0.received(.rejoinBegin(back), state: failed) == [.propose(.rejoinBegin(back))])
        var same = back
        same.incarnation = 1
        #expect(Self.core0.received(.rejoinBegin(same), state: failed) == [])
        // Another host is rejoining: this one waits.
        var other = Self.member(2, incarnation: 5)
        other.state = .rejoining
        let rejoining = failed.applying(.hostFailed(HostID(2), reason: "gone")).applying(.rejoinBegin(other))
        #expect(Self.core0.received(.rejoinBegin(back), state: rejoining)
                == [.log("Host 1 asks to rejoin; it waits until host 2 has finished rejoining")])
        // Anything else goes through as it is.
        #expect(Self.core0.received(.schema(version: 3, ddl: "x"), state: state) == [.propose(.schema(version: 3, ddl: "x"))])
    }

    @Test func joiningHostsDoNotCountForPartitionDetectionAndRejoinsWaitForTheJoin() throws {
        var state = try Self.state(hosts: 2)
        let joiners = [Self.member(2), Self.member(3)]
        state = state.applying(.joinAdmitted(try state.admission(of: joiners, startedMillis: 0)))
        // Host 0 hears host 1 only: a quorum of the two voting members, whatever the joiners do.
        #expect(Self.core0.tick(state: state, isCoordinator: false, peers: Self.peers([1: 10, 2: nil, 3: nil])) == [])
        var back = Self.member(1, incarnation: 9)
        back.state = .rejoining
        let failed = state.applying(.hostFailed(HostID(1), reason: "gone"))
        #expect(Self.core0.received(.rejoinBegin(back), state: failed)
                == [.log("Host 1 asks to rejoin; it waits until the elastic join in progress completes")])
    }

    @Test func aReplicaFoundReadyByALeaderThatNoLongerLeadsIsNotCountedLive() throws {
        var state = try Self.state(hosts: 3, kFactor: 2)
        var back = Self.member(1, incarnation: 2)
        back.state = .rejoining
        state = state.applying(.hostFailed(HostID(1), reason: "gone")).applying(.rejoinBegin(back))
        let p = state.slots(of: HostID(1))[0]
        let oldLeader = state.partition(p)!.leader
        // The leader that found host 1 caught up fails before its readiness is applied.
        let moved = state.applying(.hostFailed(oldLeader, reason: "killed"))
        #expect(moved.partition(p)!.leader != oldLeader)
        #expect(moved.applying(.replicaReady(HostID(1), p, leader: oldLeader)) == moved)
        #expect(moved.applying(.replicaReady(HostID(1), p, leader: moved.partition(p)!.leader)).partition(p)!.live.contains(HostID(1)))
    }
}
