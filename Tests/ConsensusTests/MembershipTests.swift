// Membership changes of the metadata log: learners, joint consensus and its automatic leave, the
// refusals, configurations that follow the log (truncation, restart), and the codec of
// configuration entries. One input to one RaftNode at a time with exact results first; then
// scenarios on the simulated cluster, including changes interrupted by a crash or a partition,
// and a seed sweep that grows and shrinks chaotic clusters.
import Consensus
import Foundation
import Testing
import VoltModel

@Suite struct MembershipTests {
    static func h(_ n: Int32) -> HostID { HostID(n) }
    static let config = RaftConfig(electionTimeoutTicks: 10, heartbeatIntervalTicks: 2)

    /// Host 1 as the leader of term 1 of a cluster whose voters are `voters`, with its no-op at
    /// index 1 committed (every other voter acknowledged it).
    static func leader(of voters: [HostID]) -> RaftNode {
        var n = RaftNode(id: h(1), members: voters, config: config, rng: SplitMix64(seed: 7))
        for _ in 0..<(2 * config.electionTimeoutTicks) where n.role != .preCandidate { _ = n.tick() }
        for peer in n.votingPeers where n.role == .preCandidate {
            _ = n.receive(.preVoteResponse(term: Term(1), granted: true), from: peer)
        }
        for peer in n.votingPeers where n.role == .candidate {
            _ = n.receive(.requestVoteResponse(term: Term(1), granted: true), from: peer)
        }
        for peer in n.peers { _ = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(1)), from: peer) }
        #expect(n.role == .leader && n.commitIndex == LogIndex(1))
        return n
    }

    static func configurationEntries(_ ready: Ready) -> [RaftConfiguration] {
        ready.entriesToPersist.filter { $0.kind == .configuration }.map { try! RaftConfiguration(decoding: $0.payload) }
    }

    static func ack(_ n: inout RaftNode, _ index: UInt64, from hosts: [HostID]) -> Ready {
        var merged = Ready()
        for host in hosts {
            let ready = n.receive(.appendEntriesResponse(term: n.currentTerm, success: true, matchIndex: LogIndex(index)), from: host)
            merged.entriesToPersist += ready.entriesToPersist
            merged.committedEntries += ready.committedEntries
            merged.messages += ready.messages
        }
        return merged
    }

    // MARK: - Why joint

    @Test func underTheExactHalfRuleOneVoterAtATimeCouldElectTwoLeadersButAJointQuorumCannot() {
        let four = RaftConfiguration(voters: (0...3).map(Self.h))
        let five = RaftConfiguration(voters: (0...4).map(Self.h))
        let a = [Self.h(0), Self.h(1)], b = [Self.h(2), Self.h(3), Self.h(4)]
        // The issue's example: each is a quorum of its own configuration, and they share no host.
        #expect(four.isQuorum(a) && five.isQuorum(b) && Set(a).isDisjoint(with: b))
        // Joint, each side alone decides nothing; only a set that is a quorum of both does.
        let joint = RaftConfiguration(voters: five.voters, outgoing: four.voters)
        #expect(!joint.isQuorum(a) && !joint.isQuorum(b))
        #expect(joint.isQuorum([Self.h(0), Self.h(1), Self.h(2)]))
        #expect(!joint.isQuorum([Self.h(1), Self.h(2), Self.h(4)]))   // 3 of 5, but only half of {0..3} without host 0
    }

    @Test(arguments: 1...5) func everyJointQuorumMeetsEveryQuorumOfEitherSet(size: Int) {
        // Over hosts {0..size}: a dozen old and new voter sets of every shape; host sets as bit
        // masks so that every pair of quorums can be compared.
        let universe = (0...Int32(size)).map(HostID.init)
        let masks = 1..<(1 << universe.count)
        func hosts(_ mask: Int) -> [HostID] { universe.indices.filter { mask & (1 << $0) != 0 }.map { universe[$0] } }
        var pairs = 0
        for old in masks.prefix(12) {
            for new in masks.suffix(12) where old != new {
                let joint = RaftConfiguration(voters: hosts(new), outgoing: hosts(old))
                let oldRule = QuorumRule(members: hosts(old)), newRule = QuorumRule(members: hosts(new))
                let all = [0] + Array(masks)
                let jointQuorums = all.filter { joint.isQuorum(hosts($0)) }
                let anyQuorums = all.filter { oldRule.isQuorum(hosts($0)) || newRule.isQuorum(hosts($0)) }
                for q in jointQuorums {
                    for r in anyQuorums + jointQuorums where q & r == 0 {
                        Issue.record("joint \(joint): \(hosts(q)) and \(hosts(r)) are disjoint")
                    }
                    pairs += anyQuorums.count
                }
            }
        }
        #expect(pairs > 0)
    }

    // MARK: - The leader

    @Test func addingLearnersIsOneEntryThatTheLeaderSendsToThemAtOnce() {
        var n = Self.leader(of: [Self.h(1), Self.h(2), Self.h(3)])
        let (result, ready) = n.proposeMembership(voters: [Self.h(1), Self.h(2), Self.h(3)], learners: [Self.h(5), Self.h(4)])
        #expect(result == .accepted(index: LogIndex(2), term: Term(1)))
        let expected = RaftConfiguration(voters: [Self.h(1), Self.h(2), Self.h(3)], learners: [Self.h(4), Self.h(5)])
        #expect(Self.configurationEntries(ready) == [expected])
        #expect(n.configuration == expected && n.configurationIndex == LogIndex(2))
        #expect(ready.messages.map(\.to) == [Self.h(2), Self.h(3), Self.h(4), Self.h(5)])
        // Learners are not counted: the entry commits with voters 1 and 2, whatever 4 and 5 say.
        #expect(Self.ack(&n, 2, from: [Self.h(4), Self.h(5)]).committedEntries.isEmpty)
        #expect(Self.ack(&n, 2, from: [Self.h(2)]).committedEntries.map(\.index) == [LogIndex(2)])
    }

    @Test func promotingNeedsBothVotingSetsAndTheLeaderLeavesTheJointConfigurationByItself() {
        let old = [Self.h(1), Self.h(2), Self.h(3)]
        var n = Self.leader(of: old)
        _ = n.proposeMembership(voters: old, learners: [Self.h(4), Self.h(5)])
        _ = Self.ack(&n, 2, from: [Self.h(2)])
        let (result, ready) = n.proposeMembership(voters: old + [Self.h(4), Self.h(5)], learners: [])
        #expect(result == .accepted(index: LogIndex(3), term: Term(1)))
        let joint = RaftConfiguration(voters: old + [Self.h(4), Self.h(5)], outgoing: old)
        #expect(Self.configurationEntries(ready) == [joint])
        #expect(n.configuration == joint)
        // 1, 4 and 5 are a majority of the new voters but only one of three old ones: no commit.
        #expect(Self.ack(&n, 3, from: [Self.h(4), Self.h(5)]).committedEntries.isEmpty)
        // Host 2 makes it a quorum of both; the joint entry commits and the leave entry follows.
        let committed = Self.ack(&n, 3, from: [Self.h(2)])
        #expect(committed.committedEntries.map(\.index) == [LogIndex(3)])
        #expect(Self.configurationEntries(committed) == [RaftConfiguration(voters: old + [Self.h(4), Self.h(5)])])
        #expect(n.configuration == joint.leavingJoint && n.configurationIndex == LogIndex(4))
        // Out of joint: the new voters alone commit (1, 4, 5 of five).
        #expect(Self.ack(&n, 4, from: [Self.h(4), Self.h(5)]).committedEntries.map(\.index) == [LogIndex(4)])
    }

    @Test func proposalsAreRefusedWhileAChangeIsUnderWayAndWhenInvalid() {
        let voters = [Self.h(1), Self.h(2), Self.h(3)]
        var follower = RaftNode(id: Self.h(2), members: voters, config: Self.config, rng: SplitMix64(seed: 1))
        #expect(follower.proposeMembership(voters: voters, learners: [Self.h(4)]).result == .refused(.notLeader(knownLeader: nil)))

        var n = Self.leader(of: voters)
        #expect(n.proposeMembership(voters: voters, learners: []).result == .refused(.unchanged))
        #expect(n.proposeMembership(voters: [], learners: [Self.h(4)]).result == .refused(.invalid("no voters")))
        #expect(n.proposeMembership(voters: voters, learners: [Self.h(3)]).result
                == .refused(.invalid("host 3 is both a voter and a learner")))
        #expect(n.proposeMembership(voters: voters + [Self.h(1)], learners: []).result == .refused(.invalid("a host is listed twice")))
        #expect(n.proposeMembership(voters: voters, learners: [Self.h(4)]).result == .accepted(index: LogIndex(2), term: Term(1)))
        // Not committed yet: a second change waits.
        #expect(n.proposeMembership(voters: voters + [Self.h(4)], learners: []).result == .refused(.changeInProgress))
        _ = Self.ack(&n, 2, from: [Self.h(2)])
        #expect(n.proposeMembership(voters: voters + [Self.h(4)], learners: []).result == .accepted(index: LogIndex(3), term: Term(1)))
        // Joint (and uncommitted): refused until the leave entry commits.
        #expect(n.proposeMembership(voters: voters, learners: []).result == .refused(.changeInProgress))
        _ = Self.ack(&n, 3, from: [Self.h(2), Self.h(4)])
        #expect(n.configuration.isJoint == false && n.configurationIndex == LogIndex(4))
        #expect(n.proposeMembership(voters: voters, learners: []).result == .refused(.changeInProgress))
        _ = Self.ack(&n, 4, from: [Self.h(2), Self.h(4)])
        #expect(n.commitIndex == LogIndex(4))
        #expect(n.proposeMembership(voters: voters, learners: []).result == .accepted(index: LogIndex(5), term: Term(1)))
    }

    @Test func aNewLeaderProposesNoChangeBeforeItCommitsAnEntryOfItsOwnTerm() {
        let voters = [Self.h(1), Self.h(2), Self.h(3)]
        var n = RaftNode(id: Self.h(1), members: voters, config: Self.config, rng: SplitMix64(seed: 7))
        for _ in 0..<(2 * Self.config.electionTimeoutTicks) where n.role != .preCandidate { _ = n.tick() }
        _ = n.receive(.preVoteResponse(term: Term(1), granted: true), from: Self.h(2))
        _ = n.receive(.requestVoteResponse(term: Term(1), granted: true), from: Self.h(2))
        #expect(n.role == .leader && n.commitIndex == .zero)
        #expect(n.proposeMembership(voters: voters, learners: [Self.h(4)]).result == .refused(.changeInProgress))
    }

    @Test func aLeaderRemovedFromTheVotersStepsDownOnceTheNewConfigurationCommits() {
        let voters = [Self.h(1), Self.h(2), Self.h(3)]
        var n = Self.leader(of: voters)
        #expect(n.proposeMembership(voters: [Self.h(2), Self.h(3)], learners: []).result == .accepted(index: LogIndex(2), term: Term(1)))
        _ = Self.ack(&n, 2, from: [Self.h(2), Self.h(3)])
        #expect(n.role == .leader && n.configuration == RaftConfiguration(voters: [Self.h(2), Self.h(3)]))
        // While the leave entry is uncommitted the removed leader still leads (and is not counted).
        let ready = Self.ack(&n, 3, from: [Self.h(2)])
        #expect(ready.committedEntries.map(\.index) == [LogIndex(3)])   // {2} is an exact half holding the lowest
        #expect(n.role == .follower && n.leader == nil)
        // It told the others the commit before stepping down.
        #expect(ready.messages.contains { envelope in
            if case .appendEntries(_, _, _, _, let commit) = envelope.message { return commit == LogIndex(3) }
            return false
        })
    }

    // MARK: - Followers and learners

    @Test func aHostOutsideItsConfigurationNeverCampaignsAndFollowsTheLeaderThatSendsItTheLog() {
        let voters = [Self.h(1), Self.h(2), Self.h(3)]
        var newcomer = RaftNode(id: Self.h(4), members: voters, config: Self.config, rng: SplitMix64(seed: 3))
        for _ in 0..<(10 * Self.config.electionTimeoutTicks) {
            #expect(newcomer.tick().isEmpty)
        }
        #expect(newcomer.role == .follower)
        let learners = RaftConfiguration(voters: voters, learners: [Self.h(4)])
        let entries = [
            LogEntry(term: Term(1), index: LogIndex(1), kind: .leaderNoop, payload: []),
            LogEntry(term: Term(1), index: LogIndex(2), kind: .configuration, payload: learners.encoded()),
        ]
        let ready = newcomer.receive(.appendEntries(term: Term(1), prevLogIndex: .zero, prevLogTerm: .zero, entries: entries,
                                                    leaderCommit: LogIndex(2)), from: Self.h(1))
        #expect(newcomer.leader == Self.h(1) && newcomer.configuration == learners && newcomer.commitIndex == LogIndex(2))
        #expect(ready.messages == [Envelope(to: Self.h(1), message: .appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)))])
        for _ in 0..<(10 * Self.config.electionTimeoutTicks) { _ = newcomer.tick() }
        #expect(newcomer.role == .follower)   // a learner waits for the leader, however long
    }

    @Test func aTruncatedConfigurationEntryGivesBackTheConfigurationBeforeIt() {
        let voters = [Self.h(1), Self.h(2), Self.h(3)]
        var n = RaftNode(id: Self.h(3), members: voters, config: Self.config, rng: SplitMix64(seed: 3))
        let joint = RaftConfiguration(voters: voters + [Self.h(4)], outgoing: voters)
        _ = n.receive(.appendEntries(term: Term(1), prevLogIndex: .zero, prevLogTerm: .zero, entries: [
            LogEntry(term: Term(1), index: LogIndex(1), kind: .leaderNoop, payload: []),
            LogEntry(term: Term(1), index: LogIndex(2), kind: .configuration, payload: joint.encoded()),
        ], leaderCommit: LogIndex(1)), from: Self.h(1))
        #expect(n.configuration == joint)
        // A leader of term 2 that never had the joint entry overwrites it.
        _ = n.receive(.appendEntries(term: Term(2), prevLogIndex: LogIndex(1), prevLogTerm: Term(1), entries: [
            LogEntry(term: Term(2), index: LogIndex(2), kind: .leaderNoop, payload: []),
        ], leaderCommit: LogIndex(1)), from: Self.h(2))
        #expect(n.configuration == RaftConfiguration(voters: voters) && n.configurationIndex == .zero)
    }

    @Test func aRestartedNodeTakesItsConfigurationFromItsLog() {
        let voters = [Self.h(1), Self.h(2)]
        let grown = RaftConfiguration(voters: voters + [Self.h(3), Self.h(4)])
        let log = [
            LogEntry(term: Term(1), index: LogIndex(1), kind: .leaderNoop, payload: []),
            LogEntry(term: Term(1), index: LogIndex(2), kind: .configuration,
                     payload: RaftConfiguration(voters: grown.voters, outgoing: voters).encoded()),
            LogEntry(term: Term(1), index: LogIndex(3), kind: .configuration, payload: grown.encoded()),
            LogEntry(term: Term(1), index: LogIndex(4), kind: .command, payload: [9]),
        ]
        let n = RaftNode(id: Self.h(4), members: voters, config: Self.config,
                         restoring: PersistentState(hardState: HardState(currentTerm: Term(1)), log: log), rng: SplitMix64(seed: 3))
        #expect(n.configuration == grown && n.configurationIndex == LogIndex(3))
        #expect(n.votingPeers == [Self.h(1), Self.h(2), Self.h(3)])
    }

    // MARK: - Codec

    @Test func configurationEntriesRoundTripAndMalformedOnesAreRefused() throws {
        let c = RaftConfiguration(voters: [Self.h(5), Self.h(1)], outgoing: [Self.h(1), Self.h(2)], learners: [Self.h(-3), Self.h(9)])
        #expect(try RaftConfiguration(decoding: c.encoded()) == c)
        let entry = LogEntry(term: Term(3), index: LogIndex(7), kind: .configuration, payload: c.encoded())
        let message = RaftMessage.appendEntries(term: Term(3), prevLogIndex: LogIndex(6), prevLogTerm: Term(2), entries: [entry],
                                                leaderCommit: LogIndex(5))
        #expect(try RaftMessage(decoding: message.encoded()) == message)

        func refused(_ voters: [Int32], _ outgoing: [Int32], _ learners: [Int32]) -> Bool {
            var w: [UInt8] = []
            for list in [voters, outgoing, learners] {
                w += withUnsafeBytes(of: UInt32(list.count).bigEndian, Array.init)
                for id in list { w += withUnsafeBytes(of: id.bigEndian, Array.init) }
            }
            do { _ = try RaftConfiguration(decoding: w); return false } catch { return true }
        }
        #expect(refused([], [1], []))             // no voters
        #expect(refused([2, 1], [], []))          // not ascending
        #expect(refused([1, 1], [], []))          // repeated
        #expect(refused([1], [], [1]))            // a learner that votes
        #expect(refused([1], [2], [2]))           // a learner that is an outgoing voter
        #expect(!refused([1], [2], [3]))
        // The same checks apply inside a message: a bad payload makes the whole entry undecodable.
        var bad = message.encoded()
        bad.replaceSubrange((bad.count - 4)..., with: [0xFF, 0xFF, 0xFF, 0xFB])   // learners -3, -5: out of order
        #expect(throws: RaftCodecError.self) { _ = try RaftMessage(decoding: bad) }
    }

    @Test func randomBytesNeverCrashTheConfigurationDecoder() {
        var rng = SplitMix64(seed: 11)
        let valid = RaftConfiguration(voters: [Self.h(1), Self.h(2)], outgoing: [Self.h(1)], learners: [Self.h(3)]).encoded()
        for _ in 0..<5_000 {
            var bytes = valid
            for _ in 0..<(1 + rng.below(3)) { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            if rng.chance(percent: 30) { bytes = Array(bytes.prefix(rng.below(bytes.count + 1))) }
            if let decoded = try? RaftConfiguration(decoding: bytes) { #expect(decoded.encoded() == bytes) }
        }
    }
}

// MARK: - Simulated clusters

@Suite struct MembershipScenarioTests {
    static func ids(_ ns: Int32...) -> [HostID] { ns.map(HostID.init) }

    /// Proposes until a leader accepts (it may need to commit an entry of its term first).
    static func change(_ cluster: inout SimulatedCluster, voters: [HostID], learners: [HostID],
                       sourceLocation: SourceLocation = #_sourceLocation) {
        var accepted = false
        for _ in 0..<400 where !accepted {
            if case .accepted? = cluster.proposeMembership(voters: voters, learners: learners) { accepted = true } else { cluster.step() }
        }
        #expect(accepted, "membership \(voters) + learners \(learners) never accepted; \(cluster.replay)", sourceLocation: sourceLocation)
    }

    static func expectConverged(_ cluster: inout SimulatedCluster, voters: [HostID], sourceLocation: SourceLocation = #_sourceLocation) {
        let settled = cluster.runToQuiescence()
        #expect(settled, "did not settle; \(cluster.replay)", sourceLocation: sourceLocation)
        #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(5)); \(cluster.replay)", sourceLocation: sourceLocation)
        let leader = cluster.leader.map { cluster.node($0) }
        #expect(leader?.configuration == RaftConfiguration(voters: voters), "\(String(describing: leader?.configuration)); \(cluster.replay)",
                sourceLocation: sourceLocation)
        #expect(cluster.committedConfigurations.last == RaftConfiguration(voters: voters), sourceLocation: sourceLocation)
    }

    @Test func threeHostsGrowToFiveThroughLearnersAndAJointConfiguration() {
        var cluster = SimulatedCluster(nodeCount: 3, seed: 1)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        let four = cluster.addHost(), five = cluster.addHost()
        Self.change(&cluster, voters: Self.ids(1, 2, 3), learners: [four, five])
        cluster.eventually(within: 200, "learners caught up") { c in
            [four, five].allSatisfy { c.node($0).configuration.learners == [four, five] && c.node($0).commitIndex == c.node(c.leader!).commitIndex }
        }
        Self.change(&cluster, voters: Self.ids(1, 2, 3, 4, 5), learners: [])
        for n in 0..<10 { _ = cluster.propose(Array("after\(n)".utf8)) }
        Self.expectConverged(&cluster, voters: Self.ids(1, 2, 3, 4, 5))
        // The new hosts vote now: with the old three gone, they and one old host still commit.
        cluster.crash(HostID(1))
        cluster.crash(HostID(2))
        cluster.eventually(within: 400, "a leader among 3, 4, 5") { c in c.leader.map { [3, 4, 5].contains($0.rawValue) } ?? false }
        #expect(cluster.propose(Array("quorum of 3, 4, 5".utf8)).map { if case .accepted = $0 { true } else { false } } == true)
        Self.expectConverged(&cluster, voters: Self.ids(1, 2, 3, 4, 5))
        #expect(cluster.appliedPayloads(HostID(5)).contains(Array("quorum of 3, 4, 5".utf8)))
    }

    @Test func oneHostGrowsToTwoAndEachHalfIsDecidedByTheLowestHost() {
        var cluster = SimulatedCluster(nodeCount: 1, seed: 2)
        cluster.eventually(within: 100, "a leader") { $0.leader == HostID(1) }
        let two = cluster.addHost()
        Self.change(&cluster, voters: Self.ids(1), learners: [two])
        Self.change(&cluster, voters: Self.ids(1, 2), learners: [])
        Self.expectConverged(&cluster, voters: Self.ids(1, 2))
        // Exactly half with the lowest id: host 1 alone still commits; host 2 alone never leads.
        cluster.isolate(HostID(2))
        #expect(cluster.propose(Array("1 alone".utf8)).map { if case .accepted = $0 { true } else { false } } == true)
        cluster.run(steps: 60)
        #expect(cluster.leader == HostID(1) && cluster.node(HostID(2)).role != .leader)
        Self.expectConverged(&cluster, voters: Self.ids(1, 2))
    }

    @Test func aLeaderCrashWithTheJointEntryUncommittedEndsInOneConfigurationOrTheOther() {
        for seed in UInt64(1)...20 {
            var cluster = SimulatedCluster(nodeCount: 3, seed: seed)
            cluster.eventually(within: 200, "a leader") { $0.leader != nil }
            let four = cluster.addHost(), five = cluster.addHost()
            Self.change(&cluster, voters: Self.ids(1, 2, 3), learners: [four, five])
            cluster.eventually(within: 200, "learners committed") { $0.committedConfigurations.count == 2 }
            let oldLeader = cluster.leader!
            Self.change(&cluster, voters: Self.ids(1, 2, 3, 4, 5), learners: [])
            // Crash the leader at once (the joint entry may have reached some hosts, or none).
            cluster.crash(oldLeader)
            cluster.run(steps: 100)
            #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(3)); \(cluster.replay)")
            // Whatever survived, the cluster settles out of joint: either the change finished or it
            // was lost and the old voters (with the learners) remain.
            let settled = cluster.runToQuiescence()
            #expect(settled, "did not settle; \(cluster.replay)")
            let final = cluster.committedConfigurations.last!
            #expect(!final.isJoint && (final.voters == Self.ids(1, 2, 3, 4, 5) || final.voters == Self.ids(1, 2, 3)),
                    "\(final); \(cluster.replay)")
            #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(3)); \(cluster.replay)")
        }
    }

    @Test func aPartitionDuringTheJointConfigurationStopsTheSideWithoutAQuorumOfBoth() {
        var cluster = SimulatedCluster(nodeCount: 3, seed: 5)
        cluster.eventually(within: 200, "host 1 leads") { $0.leader != nil }
        let four = cluster.addHost(), five = cluster.addHost()
        Self.change(&cluster, voters: Self.ids(1, 2, 3), learners: [four, five])
        cluster.eventually(within: 200, "learners committed") { $0.committedConfigurations.count == 2 }
        // Cut the old voters 2 | 1 3 apart before the joint entry goes out: 2, 4, 5 are a majority
        // of the new voters but not of the old, so that side must never commit anything.
        let leader = cluster.leader!
        let alone = Self.ids(1, 2, 3).first { $0 != leader }!
        let others = Self.ids(1, 2, 3).filter { $0 != alone }
        Self.change(&cluster, voters: Self.ids(1, 2, 3, 4, 5), learners: [])
        cluster.partition([[alone, four, five], others])
        let committedBefore = cluster.committedConfigurations.count
        cluster.run(steps: 200)
        #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(3)); \(cluster.replay)")
        // The side with two old voters keeps the joint change alive but needs the new voters to
        // commit it: nothing new commits anywhere during the partition.
        #expect(cluster.committedConfigurations.count == committedBefore, "\(cluster.committedConfigurations); \(cluster.replay)")
        Self.expectConverged(&cluster, voters: Self.ids(1, 2, 3, 4, 5))
    }

    @Test func twoHostsGrowToFourAcrossAnEvenSplit() {
        var cluster = SimulatedCluster(nodeCount: 2, seed: 9)
        cluster.eventually(within: 200, "a leader") { $0.leader != nil }
        let three = cluster.addHost(), four = cluster.addHost()
        Self.change(&cluster, voters: Self.ids(1, 2), learners: [three, four])
        Self.change(&cluster, voters: Self.ids(1, 2, 3, 4), learners: [])
        Self.expectConverged(&cluster, voters: Self.ids(1, 2, 3, 4))
        // 2-2 split: {1, 2} holds the lowest id and decides; {3, 4} never leads.
        cluster.partition([Self.ids(1, 2), Self.ids(3, 4)])
        cluster.run(steps: 150)
        #expect(cluster.leader.map { $0.rawValue <= 2 } == true)
        #expect(Self.ids(3, 4).allSatisfy { cluster.node($0).role != .leader })
        Self.expectConverged(&cluster, voters: Self.ids(1, 2, 3, 4))
    }
}

/// Chaotic runs that also change the membership at random: hosts are added, made learners,
/// promoted through joint configurations and sometimes removed again, while the network drops,
/// duplicates, delays and splits and hosts crash and restart. Invariants (election safety, log
/// matching, leader completeness, state machine safety, check-quorum, and every change of voters
/// joint) are checked after every step; the quiet end must converge. RAFT_MEMBERSHIP_SEED=n
/// replays one seed.
@Suite struct MembershipSweepTests {
    static let seeds: [UInt64] = {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["RAFT_MEMBERSHIP_SEED"], let seed = UInt64(text) { return [seed] }
        if let text = environment["RAFT_MEMBERSHIP_SEEDS"], let count = UInt64(text), count > 0 { return Array(1...count) }
        return Array(1...60)
    }()

    @Test(arguments: [1, 2, 3]) func sweep(startingHosts: Int) {
        var changes = 0, jointCommits = 0
        for seed in Self.seeds {
            var cluster = SimulatedCluster(nodeCount: startingHosts, seed: seed &* 7919 &+ UInt64(startingHosts), faults: .chaos)
            var rng = SplitMix64(seed: seed)
            for step in 0..<400 {
                cluster.step()
                guard step % 20 == 10, let leader = cluster.leader else { continue }
                if cluster.members.count < 5 && rng.chance(percent: 50) { cluster.addHost() }
                // A random membership over the hosts that exist: at least one voter, the rest
                // learners or out.
                let hosts = cluster.members
                var voters = hosts.filter { _ in rng.chance(percent: 60) }
                if voters.isEmpty { voters = [hosts[rng.below(hosts.count)]] }
                let learners = hosts.filter { !voters.contains($0) && rng.chance(percent: 50) }
                if case .accepted = cluster.proposeMembership(voters: voters, learners: learners, to: leader) { changes += 1 }
            }
            let converged = cluster.runToQuiescence(maxSteps: 4000)
            #expect(converged, "did not converge; \(cluster.replay)")
            #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(5)); \(cluster.replay)")
            jointCommits += cluster.committedConfigurations.filter(\.isJoint).count
        }
        // The sweep must have exercised changes, not only refused them.
        #expect(changes > Self.seeds.count / 2 || Self.seeds.count < 10)
        #expect(jointCommits > 0 || Self.seeds.count < 10)
    }
}
