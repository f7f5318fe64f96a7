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

    @Test func fiveNodesIsolatedLeaderStepsDownByItselfAndRejoinsWithoutDeposingItsSuccessor() {
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

        // Cut the leader off. For now it still leads, and takes proposals that can never commit.
        cluster.isolate(oldLeader)
        for n in 100..<103 {
            let result = cluster.propose(Self.payload(n), to: oldLeader)
            #expect(result != .notLeader(knownLeader: nil))
        }
        // Within one election timeout it notices that no quorum answers and steps down (check-quorum).
        cluster.run(steps: cluster.config.electionTimeoutTicks)
        #expect(cluster.node(oldLeader).role != .leader, "an isolated leader kept its role")
        // The four others elect a new leader of a later term and commit without it.
        cluster.eventually(within: 500, "a new leader") { c in
            c.liveHosts.contains { $0 != oldLeader && c.node($0).role == .leader }
        }
        let newLeader = cluster.members.first { $0 != oldLeader && cluster.node($0).role == .leader }!
        let newTerm = cluster.node(newLeader).currentTerm
        #expect(newTerm > oldTerm)
        for n in 6...10 {
            let expected = ProposeResult.accepted(index: cluster.node(newLeader).lastLogIndex.next, term: newTerm)
            let result = cluster.propose(Self.payload(n), to: newLeader)
            #expect(result == expected)
            committed.append(Self.payload(n))
            cluster.run(steps: 1)
        }
        // Alone, the old leader's pre-votes went unanswered, so its term never moved.
        cluster.run(steps: 100)
        #expect(cluster.node(oldLeader).currentTerm == oldTerm)

        // Heal: it hears the later term and follows; the new leader keeps its term and its role.
        cluster.heal()
        cluster.settle()
        #expect(cluster.leader == newLeader && cluster.node(newLeader).currentTerm == newTerm)
        Self.expectAllApplied(cluster, committed)
        for n in 100..<103 {
            #expect(!cluster.appliedPayloads(oldLeader).contains(Self.payload(n)), "an uncommitted proposal survived")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func threeNodesAFollowerCutOffForThirtyTimeoutsRejoinsWithoutDeposingTheLeader() {
        var cluster = SimulatedCluster(nodeCount: 3, seed: 7)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        cluster.settle()
        let leader = cluster.leader!
        let term = cluster.node(leader).currentTerm
        let follower = cluster.members.first { $0 != leader }!
        cluster.isolate(follower)
        var committed: [[UInt8]] = []
        for n in 1...10 {
            #expect(cluster.propose(Self.payload(n), to: leader) != .notLeader(knownLeader: nil))
            committed.append(Self.payload(n))
            cluster.run(steps: 2)
        }
        cluster.run(steps: 30 * cluster.config.electionTimeoutTicks)
        // Without pre-vote its term would have climbed with every timeout, and its first answer
        // after the heal would have deposed the leader.
        #expect(cluster.node(follower).currentTerm == term)
        #expect(cluster.node(leader).role == .leader, "two of three hosts are a quorum: the leader stays")
        cluster.heal()
        cluster.settle()
        #expect(cluster.leader == leader && cluster.node(leader).currentTerm == term)
        Self.expectAllApplied(cluster, committed)
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

    @Test func fiveNodesMajorityCrashedTheLeaderStepsDownAndNothingCommitsUntilTheyReturn() {
        var cluster = SimulatedCluster(nodeCount: 5, seed: 4)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        cluster.settle()
        let leader = cluster.leader!
        let others = cluster.members.filter { $0 != leader }
        for id in others.prefix(3) { cluster.crash(id) }
        let commitBefore = cluster.node(leader).commitIndex
        guard case .accepted = cluster.propose(Self.payload(1), to: leader) else {
            Issue.record("the leader cannot know yet, and should still accept"); return
        }
        for _ in 0..<100 {
            cluster.step()
            for id in cluster.liveHosts where cluster.node(id).commitIndex > commitBefore {
                Issue.record("\(id) committed with two of five hosts up; \(cluster.replay)")
                return
            }
        }
        #expect(cluster.leader == nil, "cut off from a quorum, the leader should have stepped down")
        // Once they return, the cluster elects a leader and commits again; whether the proposal
        // made while the majority was down survives depends on who wins, but all hosts agree.
        cluster.settle()
        guard case .accepted = cluster.propose(Self.payload(2)) else { Issue.record("no leader after the return"); return }
        cluster.settle()
        Self.expectAllApplied(cluster, [Self.payload(2)])
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func fourHostsSplitTwoAndTwoOnlyTheHalfHoldingHostOneElectsAndCommits() {
        var cluster = SimulatedCluster(nodeCount: 4, seed: 8)
        let lowest = HostID(1)
        // Let hosts 2-4 elect the leader (three of four are a quorum), so that the split below
        // cuts that leader off; host 1 then returns and follows it.
        cluster.crash(lowest)
        cluster.eventually(within: 300, "a leader among hosts 2-4") { $0.leader != nil }
        cluster.settle()
        let oldLeader = cluster.leader!
        #expect(oldLeader != lowest)
        var committed: [[UInt8]] = []
        for n in 1...3 {
            _ = cluster.propose(Self.payload(n))
            committed.append(Self.payload(n))
        }
        cluster.settle()

        let partner = cluster.members.first { $0 != lowest && $0 != oldLeader }!
        let losing = [oldLeader, partner].sorted()
        let winning = cluster.members.filter { !losing.contains($0) }
        let commitAtSplit = cluster.node(oldLeader).commitIndex
        cluster.partition([winning, losing])
        for n in 100..<103 { _ = cluster.propose(Self.payload(n), to: oldLeader) }
        cluster.eventually(within: 300, "a leader on the side holding host 1") { c in
            winning.contains { c.node($0).role == .leader }
        }
        let newLeader = winning.first { cluster.node($0).role == .leader }!
        for n in 4...10 {
            #expect(cluster.propose(Self.payload(n), to: newLeader) != .notLeader(knownLeader: nil))
            committed.append(Self.payload(n))
            cluster.run(steps: 2)
        }
        for _ in 0..<200 {
            cluster.step()
            for id in losing where cluster.node(id).commitIndex > commitAtSplit {
                Issue.record("\(id) committed on the half without host 1; \(cluster.replay)")
                return
            }
        }
        for id in losing { #expect(cluster.node(id).role != .leader) }
        #expect(cluster.node(newLeader).role == .leader)
        #expect(cluster.node(newLeader).commitIndex == cluster.node(newLeader).lastLogIndex,
                "hosts 1 and its partner are a quorum of four")

        cluster.heal()
        cluster.settle()
        Self.expectAllApplied(cluster, committed)
        for n in 100..<103 {
            #expect(!cluster.appliedPayloads(lowest).contains(Self.payload(n)), "a proposal of the losing half committed")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func twoHostsTheLowestAloneKeepsCommittingTheHighestAloneNeverLeads() {
        var cluster = SimulatedCluster(nodeCount: 2, seed: 9)
        let (h1, h2) = (HostID(1), HostID(2))
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        cluster.settle()
        cluster.partition([[h1], [h2]])
        let h2Commit = cluster.node(h2).commitIndex
        var committed: [[UInt8]] = []
        for n in 1...5 {
            cluster.eventually(within: 200, "host 1 leading alone") { $0.node(h1).role == .leader }
            #expect(cluster.propose(Self.payload(n), to: h1) != .notLeader(knownLeader: nil))
            committed.append(Self.payload(n))
            cluster.run(steps: 2)
        }
        cluster.run(steps: 100)
        #expect(cluster.node(h1).role == .leader && cluster.node(h1).commitIndex == cluster.node(h1).lastLogIndex)
        #expect(cluster.node(h2).role != .leader && cluster.node(h2).commitIndex == h2Commit)
        cluster.heal()
        cluster.settle()
        Self.expectAllApplied(cluster, committed)

        // Host 1 down: host 2 alone can neither elect itself nor even raise its term.
        let term = cluster.node(h2).currentTerm
        cluster.crash(h1)
        cluster.run(steps: 300)
        #expect(cluster.node(h2).role != .leader && cluster.node(h2).currentTerm == term)
        cluster.settle()
        Self.expectAllApplied(cluster, committed)
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
