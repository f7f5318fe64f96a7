// Scenarios on the simulated cluster, written the way one would tell them. Each checks the named
// invariants after every step (through SimulatedCluster) and then the outcome of its story.
import Consensus
import Testing
import VoltModel

@Suite struct ClusterScenarioTests {
    static func payload(_ n: Int) -> [UInt8] { Array("op\(n)".utf8) }

    /// Every live host applied the same command payloads in the same order, and every payload in
    /// `expected` is among them in that order.
    static func expectAllApplied(_ cluster: SimulatedCluster, _ expected: [[UInt8]],
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        let reference = cluster.appliedPayloads(cluster.members[0])
        for id in cluster.members {
            #expect(cluster.appliedPayloads(id) == reference, "\(id) applied a different sequence; \(cluster.replay)",
                    sourceLocation: sourceLocation)
        }
        #expect(reference.filter { expected.contains($0) } == expected, "\(cluster.replay)", sourceLocation: sourceLocation)
    }

    @Test func threeNodesElectOneLeaderAndReplicateEveryProposal() {
        var cluster = SimulatedCluster(nodeCount: 3, seed: 1)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        var proposed: [[UInt8]] = []
        for n in 1...20 {
            guard case .accepted = cluster.propose(Self.payload(n)) else { Issue.record("no leader to propose to"); return }
            proposed.append(Self.payload(n))
            cluster.run(steps: 1)
        }
        cluster.settle()
        Self.expectAllApplied(cluster, proposed)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func fiveNodesLeaderIsolatedNewLeaderElectedOldLeaderRejoinsAndStepsDown() {
        var cluster = SimulatedCluster(nodeCount: 5, seed: 2)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        var committed: [[UInt8]] = []
        for n in 1...5 {
            _ = cluster.propose(Self.payload(n))
            committed.append(Self.payload(n))
        }
        cluster.settle()
        let oldLeader = cluster.leader!
        let oldTerm = cluster.node(oldLeader).currentTerm

        // Cut the leader off. It still thinks it leads, and takes proposals that can never commit.
        cluster.isolate(oldLeader)
        for n in 100..<103 {
            let result = cluster.propose(Self.payload(n), to: oldLeader)
            #expect(result != .notLeader(knownLeader: nil))
        }
        // The four others elect a new leader of a later term and commit without it.
        cluster.eventually(within: 500, "a new leader") { c in
            c.liveHosts.contains { $0 != oldLeader && c.node($0).role == .leader }
        }
        let newLeader = cluster.members.first { $0 != oldLeader && cluster.node($0).role == .leader }!
        #expect(cluster.node(newLeader).currentTerm > oldTerm)
        for n in 6...10 {
            let expected = ProposeResult.accepted(index: cluster.node(newLeader).lastLogIndex.next,
                                                  term: cluster.node(newLeader).currentTerm)
            let result = cluster.propose(Self.payload(n), to: newLeader)
            #expect(result == expected)
            committed.append(Self.payload(n))
            cluster.run(steps: 1)
        }
        #expect(cluster.node(oldLeader).role == .leader, "the isolated leader cannot know yet")

        // Heal: the old leader hears the later term, steps down, and its uncommitted tail is replaced.
        cluster.heal()
        cluster.eventually(within: 200, "the old leader stepping down") { $0.node(oldLeader).role == .follower }
        cluster.settle()
        Self.expectAllApplied(cluster, committed)
        for n in 100..<103 {
            #expect(!cluster.appliedPayloads(oldLeader).contains(Self.payload(n)), "an uncommitted proposal survived")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func threeNodesMinorityCrashesMajorityKeepsCommittingAndTheRestartedHostCatchesUp() {
        var cluster = SimulatedCluster(nodeCount: 3, seed: 3)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        let follower = cluster.members.first { $0 != cluster.leader! }!
        cluster.crash(follower)
        var committed: [[UInt8]] = []
        for n in 1...10 {
            cluster.eventually(within: 200, "a leader") { $0.leader != nil }
            guard case .accepted = cluster.propose(Self.payload(n)) else { continue }
            committed.append(Self.payload(n))
            cluster.run(steps: 2)
        }
        let leader = cluster.leader!
        cluster.eventually(within: 200, "two of three hosts committing") {
            $0.node(leader).commitIndex == $0.node(leader).lastLogIndex
        }
        cluster.settle()
        Self.expectAllApplied(cluster, committed)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func fiveNodesMajorityCrashedNothingCommitsUntilTheyReturn() {
        var cluster = SimulatedCluster(nodeCount: 5, seed: 4)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        cluster.settle()
        let leader = cluster.leader!
        let others = cluster.members.filter { $0 != leader }
        for id in others.prefix(3) { cluster.crash(id) }
        let commitBefore = cluster.node(leader).commitIndex
        guard case .accepted(let index, _) = cluster.propose(Self.payload(1), to: leader) else {
            Issue.record("the leader should still accept"); return
        }
        cluster.run(steps: 100)
        #expect(cluster.node(leader).commitIndex == commitBefore, "two of five hosts must not commit")
        cluster.settle()
        #expect(cluster.node(cluster.leader!).commitIndex >= index)
        Self.expectAllApplied(cluster, [Self.payload(1)])
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func fiveNodesWholeClusterRestartsFromDiskAndKeepsItsLog() {
        var cluster = SimulatedCluster(nodeCount: 5, seed: 5)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        var committed: [[UInt8]] = []
        for n in 1...8 {
            _ = cluster.propose(Self.payload(n))
            committed.append(Self.payload(n))
        }
        cluster.settle()
        let termBefore = cluster.node(cluster.leader!).currentTerm
        for id in cluster.members { cluster.crash(id) }
        cluster.settle()
        #expect(cluster.node(cluster.leader!).currentTerm > termBefore)
        Self.expectAllApplied(cluster, committed)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func fiveNodesLossyReorderingNetworkStillAgrees() {
        var faults = SimulatedCluster.Faults.none
        faults.dropPercent = 20
        faults.duplicatePercent = 10
        faults.maxDelayTicks = 5
        var cluster = SimulatedCluster(nodeCount: 5, seed: 6, faults: faults)
        var proposed = 0
        for _ in 0..<400 {
            cluster.step()
            if cluster.leader != nil, proposed < 30, case .accepted = cluster.propose(Self.payload(proposed)) { proposed += 1 }
        }
        cluster.settle()
        let applied = cluster.appliedPayloads(cluster.members[0])
        for id in cluster.members { #expect(cluster.appliedPayloads(id) == applied) }
        #expect(!applied.isEmpty)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }
}
