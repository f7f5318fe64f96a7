import Rebalancer
import Testing
@testable import Node

/// The elastic join as the metadata log records it (ClusterState+Join.swift): one command per
/// step, each checked against the state, the ring derived from the recorded progress, and the
/// invariants after every command.
@Suite struct ClusterJoinStateTests {
    static func member(_ id: Int32, group: String = "0") -> ClusterMember {
        ClusterMember(id: HostID(id), internalEndpoint: "127.0.0.1:\(3021 + Int(id))", address: "127.0.0.1", hostname: "h\(id)",
                      clientPort: 21212 + Int(id), adminPort: 21312 + Int(id), placementGroup: group, incarnation: UInt64(id + 1),
                      startedMillis: 1_000)
    }

    static func cluster(hosts: Int, kFactor: Int, sitesPerHost: Int = 2) throws -> ClusterState {
        let members = (0..<hosts).map { member(Int32($0)) }
        let layout = try planInitialLayout(hosts: members.map { HostSpec(id: $0.id) }, sitesPerHost: sitesPerHost, kFactor: kFactor)
        return ClusterState(layout: layout, members: members)
    }

    /// Applies `command`, expecting a change, no broken invariant, and a state that round-trips.
    static func apply(_ state: inout ClusterState, _ command: MetadataCommand,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let next = state.applying(command)
        #expect(next.epoch.rawValue == state.epoch.rawValue + 1, "\(command) changed nothing", sourceLocation: sourceLocation)
        #expect(next.violations().isEmpty, "\(next.violations())", sourceLocation: sourceLocation)
        #expect(try ClusterState.decode(next.encoded()) == next, sourceLocation: sourceLocation)
        #expect(try MetadataCommand.decode(command.encoded()) == command, sourceLocation: sourceLocation)
        state = next
    }

    static func unchanged(_ state: ClusterState, _ command: MetadataCommand, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(state.applying(command) == state, "\(command) should not apply", sourceLocation: sourceLocation)
    }

    static func admitted(hosts: Int, kFactor: Int) throws -> ClusterState {
        var state = try cluster(hosts: hosts, kFactor: kFactor)
        let joiners = (0...kFactor).map { member(Int32(hosts + $0)) }
        try apply(&state, .joinAdmitted(try state.admission(of: joiners, startedMillis: 5_000)))
        return state
    }

    @Test func twoHostsGrowToFourThroughEveryStep() throws {
        var state = try Self.admitted(hosts: 2, kFactor: 1)
        let joiners = [HostID(2), HostID(3)]
        // Admitted: new partitions on the joiners only, not on the ring, not participating.
        #expect(state.partitionCount == 4 && state.partitions.map(\.id) == [0, 1, 2, 3].map { PartitionID($0) })
        #expect(state.partitions.suffix(2).allSatisfy { $0.replicas == joiners })
        #expect(state.members.filter { $0.state == .joining }.map(\.id) == joiners)
        #expect(state.ring == HashRing(partitionCount: 2) && state.participants == [0, 1].map { PartitionID($0) })
        #expect(state.liveMembers == [HostID(0), HostID(1)])
        let moves = state.joinMoves
        #expect(!moves.isEmpty && verifyMovePlan(moves, from: HashRing(partitionCount: 2), to: HashRing(partitionCount: 4),
                                                  isExpansion: true).isEmpty)
        // Nothing moves before the joiners take part, and they take part only once all are ready.
        Self.unchanged(state, .rangeMoved(move: 0, upTo: moves[0].range.endExclusive))
        Self.unchanged(state, .joinParticipating)
        try Self.apply(&state, .joinerReady(HostID(2)))
        Self.unchanged(state, .joinerReady(HostID(2)))
        Self.unchanged(state, .joinParticipating)
        try Self.apply(&state, .joinerReady(HostID(3)))
        try Self.apply(&state, .joinParticipating)
        #expect(state.liveMembers == [0, 1, 2, 3].map { HostID($0) })
        #expect(state.participants == [0, 1, 2, 3].map { PartitionID($0) })
        // Each move in two steps where it spans more than one ring entry; the ring follows.
        let old = HashRing(partitionCount: 2)
        for (i, move) in moves.enumerated() {
            let entries = old.entries(in: move.range)
            if entries.count > 1 {
                let middle = Int64(old.tokens[entries.lowerBound + entries.count / 2].rawValue)
                try Self.apply(&state, .rangeMoved(move: i, upTo: middle))
                Self.unchanged(state, .rangeMoved(move: i, upTo: middle))                   // not forward
                Self.unchanged(state, .rangeMoved(move: i, upTo: middle + 1))               // not on a boundary
                #expect(state.ring.partition(for: Token(Int32(middle - 1))) == move.destination)
                #expect(state.ring.partition(for: Token(Int32(middle))) == move.source)
                Self.unchanged(state, .joinCompleted)
            }
            Self.unchanged(state, .rangeMoved(move: i, upTo: move.range.endExclusive + 1))   // past its end
            try Self.apply(&state, .rangeMoved(move: i, upTo: move.range.endExclusive))
        }
        #expect(state.ring == HashRing(partitionCount: 4))
        try Self.apply(&state, .joinCompleted)
        #expect(state.join == nil && state.ring == HashRing(partitionCount: 4))
        // The next join starts from the grown cluster.
        #expect(state.joinBlocker == nil && state.nextHostID == HostID(4))
    }

    @Test func oneHostWithKZeroGrowsOneHostAtATime() throws {
        var state = try Self.admitted(hosts: 1, kFactor: 0)
        #expect(state.partitions.map(\.replicas) == [[HostID(0)], [HostID(0)], [HostID(1)], [HostID(1)]])
        try Self.apply(&state, .joinerReady(HostID(1)))
        try Self.apply(&state, .joinParticipating)
        for (i, move) in state.joinMoves.enumerated() { try Self.apply(&state, .rangeMoved(move: i, upTo: move.range.endExclusive)) }
        try Self.apply(&state, .joinCompleted)
        let joiner = [Self.member(2)]
        try Self.apply(&state, .joinAdmitted(try state.admission(of: joiner, startedMillis: 9_000)))
        #expect(state.partitionCount == 6 && state.join?.newPartitions == [PartitionID(4), PartitionID(5)])
    }

    @Test func aJoinIsAdmittedOnlyIntoACompleteQuietClusterAndOnlyWithKPlusOneHosts() throws {
        var state = try Self.cluster(hosts: 3, kFactor: 1)
        let one = [Self.member(3)]
        #expect(throws: PlacementError.self) { _ = try state.admission(of: one, startedMillis: 0) }
        let two = [Self.member(3), Self.member(4)]
        let admission = try state.admission(of: two, startedMillis: 0)
        // A host is missing: it must be replaced first.
        let degraded = state.applying(.hostFailed(HostID(1), reason: "gone"))
        #expect(degraded.joinBlocker == "host 1 is missing; an added host takes its place first")
        Self.unchanged(degraded, .joinAdmitted(admission))
        // Admitted once; a second admission (a coordinator that took over proposing it again) is a no-op.
        try Self.apply(&state, .joinAdmitted(admission))
        #expect(state.joinBlocker == "a join is already in progress")
        Self.unchanged(state, .joinAdmitted(admission))
        // A rejoin waits while the join runs.
        var back = Self.member(0)
        back.incarnation = 77
        let failed = state.applying(.hostFailed(HostID(0), reason: "gone"))
        Self.unchanged(failed, .rejoinBegin(back))
    }

    @Test func aJoinerThatFailsLeavesItsPartitionsToTheOtherJoinersAndTheJoinGoesOn() throws {
        var state = try Self.admitted(hosts: 2, kFactor: 1)
        try Self.apply(&state, .joinerReady(HostID(2)))
        try Self.apply(&state, .hostFailed(HostID(3), reason: "killed"))
        #expect(state.partitions.suffix(2).allSatisfy { $0.leader == HostID(2) && $0.live == [HostID(2)] })
        try Self.apply(&state, .joinParticipating)   // every joiner that has not failed is ready
        #expect(state.member(HostID(3))?.state == .failed && state.missingReplicas == 2)
        for (i, move) in state.joinMoves.enumerated() { try Self.apply(&state, .rangeMoved(move: i, upTo: move.range.endExclusive)) }
        try Self.apply(&state, .joinCompleted)
    }

    @Test func everyJoinCommandAndStateRoundTripsThroughTheCodec() throws {
        var state = try Self.admitted(hosts: 2, kFactor: 1)
        let commands: [MetadataCommand] = [.joinerReady(HostID(2)), .joinerReady(HostID(3)), .joinParticipating,
                                           .rangeMoved(move: 0, upTo: state.joinMoves[0].range.endExclusive)]
        for command in commands {
            try Self.apply(&state, command)
        }
        #expect(try MetadataCommand.decode(MetadataCommand.joinCompleted.encoded()) == .joinCompleted)
        // A state with a join and one without differ only by the trailing join section.
        let plain = try Self.cluster(hosts: 2, kFactor: 1)
        #expect(try ClusterState.decode(plain.encoded()).join == nil)
        var bytes = plain.encoded()
        bytes.append(2)
        #expect(throws: (any Error).self) { _ = try ClusterState.decode(bytes) }
    }
}
