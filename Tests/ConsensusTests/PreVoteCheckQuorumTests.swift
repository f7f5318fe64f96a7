// One input to one RaftNode at a time for the three additions to plain Raft: pre-vote (who grants
// one, that asking and granting move no term, the leader lease), check-quorum (a leader steps
// down on the election-timeout-th tick without hearing from a quorum, and not a tick earlier), and
// the exact-half quorum in elections and commits of two- and four-host clusters.
import Consensus
import Testing
import VoltModel

@Suite struct PreVoteCheckQuorumTests {
    static let h1 = HostID(1), h2 = HostID(2), h3 = HostID(3), h4 = HostID(4)
    static let config = RaftNodeTests.config
    static var electionTimeout: Int { config.electionTimeoutTicks }

    static func node(_ id: HostID, members: [HostID], restoring state: PersistentState = PersistentState(),
                     seed: UInt64 = 7) -> RaftNode {
        RaftNode(id: id, members: members, config: config, restoring: state, rng: SplitMix64(seed: seed))
    }

    static func preVoteAnswer(_ ready: Ready) -> RaftMessage? {
        guard ready.messages.count == 1 else { return nil }
        return ready.messages[0].message
    }

    static let heartbeat = RaftMessage.appendEntries(term: Term(1), prevLogIndex: .zero, prevLogTerm: .zero,
                                                     entries: [], leaderCommit: .zero)

    // MARK: - Pre-vote

    @Test func aPreVoteIsGrantedWithoutChangingTheTermTheVoteOrTheTimer() {
        func ticksUntilPreVote(_ n: inout RaftNode) -> Int {
            var ticks = 0
            while n.role != .preCandidate { _ = n.tick(); ticks += 1 }
            return ticks
        }
        var asked = RaftNodeTests.node(Self.h2)
        var twin = RaftNodeTests.node(Self.h2)
        for _ in 0..<5 {
            _ = asked.tick()
            _ = twin.tick()
        }
        let ready = asked.receive(.preVote(term: Term(1), lastLogIndex: .zero, lastLogTerm: .zero), from: Self.h1)
        #expect(ready.messages == [Envelope(to: Self.h1, message: .preVoteResponse(term: Term(1), granted: true))])
        #expect(ready.hardState == nil && ready.softState == nil)
        #expect(asked.currentTerm == .zero && asked.votedFor == nil)
        // The granting node times out exactly when an identical node that was never asked does.
        #expect(ticksUntilPreVote(&asked) == ticksUntilPreVote(&twin))
    }

    @Test func aFollowerThatHearsALeaderRefusesPreVotesUntilOneElectionTimeoutPasses() {
        var n = RaftNodeTests.node(Self.h2)
        _ = n.receive(Self.heartbeat, from: Self.h1)
        let ask = RaftMessage.preVote(term: Term(2), lastLogIndex: .zero, lastLogTerm: .zero)
        #expect(Self.preVoteAnswer(n.receive(ask, from: Self.h3)) == .preVoteResponse(term: Term(1), granted: false))
        for _ in 0..<(Self.electionTimeout - 1) { _ = n.tick() }
        #expect(Self.preVoteAnswer(n.receive(ask, from: Self.h3)) == .preVoteResponse(term: Term(1), granted: false),
                "still inside the lease")
        _ = n.tick()
        #expect(Self.preVoteAnswer(n.receive(ask, from: Self.h3)) == .preVoteResponse(term: Term(2), granted: true))
        #expect(n.currentTerm == Term(1), "granting a pre-vote moves no term")
    }

    @Test func aPreVoteIsRefusedForAStaleLogOrATermNotAboveOurs() {
        let log = [LogEntry(term: Term(2), index: LogIndex(1), payload: [1])]
        var n = RaftNodeTests.node(Self.h3, restoring: PersistentState(hardState: HardState(currentTerm: Term(2)), log: log))
        let stale = n.receive(.preVote(term: Term(3), lastLogIndex: LogIndex(5), lastLogTerm: Term(1)), from: Self.h1)
        #expect(Self.preVoteAnswer(stale) == .preVoteResponse(term: Term(2), granted: false))
        let notAbove = n.receive(.preVote(term: Term(2), lastLogIndex: LogIndex(1), lastLogTerm: Term(2)), from: Self.h1)
        #expect(Self.preVoteAnswer(notAbove) == .preVoteResponse(term: Term(2), granted: false))
        let good = n.receive(.preVote(term: Term(3), lastLogIndex: LogIndex(1), lastLogTerm: Term(2)), from: Self.h1)
        #expect(Self.preVoteAnswer(good) == .preVoteResponse(term: Term(3), granted: true))
        #expect(stale.hardState == nil && notAbove.hardState == nil && good.hardState == nil)
    }

    @Test func theLeaderRefusesPreVotesEvenFromALongerLog() {
        var leader = RaftNodeTests.electedLeader()
        let ready = leader.receive(.preVote(term: Term(2), lastLogIndex: LogIndex(9), lastLogTerm: Term(1)), from: Self.h3)
        #expect(Self.preVoteAnswer(ready) == .preVoteResponse(term: Term(1), granted: false))
        #expect(leader.role == .leader && leader.currentTerm == Term(1))
    }

    @Test func aRefusalWithAHigherTermMakesThePreCandidateFollowThatTerm() {
        var n = RaftNodeTests.node(Self.h1)
        _ = RaftNodeTests.tickUntilPreCampaign(&n)
        let ready = n.receive(.preVoteResponse(term: Term(4), granted: false), from: Self.h2)
        #expect(n.role == .follower)
        #expect(ready.hardState == HardState(currentTerm: Term(4), votedFor: nil))
        #expect(ready.softState == SoftState(role: .follower, term: Term(4), leader: nil))
    }

    @Test func onlyGrantsForTheRoundInProgressCount() {
        var n = RaftNodeTests.node(Self.h1)
        _ = RaftNodeTests.tickUntilPreCampaign(&n)
        // A grant about term 2 belongs to no round of this node (it asks about term 1).
        let other = n.receive(.preVoteResponse(term: Term(2), granted: true), from: Self.h2)
        #expect(n.role == .preCandidate && n.currentTerm == .zero)
        #expect(other.isEmpty)
        _ = n.receive(.preVoteResponse(term: Term(1), granted: true), from: Self.h2)
        #expect(n.role == .candidate && n.currentTerm == Term(1))
    }

    @Test func aPreCandidateFollowsALeaderOfItsTerm() {
        var n = RaftNodeTests.node(Self.h2, restoring: PersistentState(hardState: HardState(currentTerm: Term(3))))
        _ = RaftNodeTests.tickUntilPreCampaign(&n)
        let ready = n.receive(.appendEntries(term: Term(3), prevLogIndex: .zero, prevLogTerm: .zero, entries: [],
                                             leaderCommit: .zero), from: Self.h1)
        #expect(ready.softState == SoftState(role: .follower, term: Term(3), leader: Self.h1))
        #expect(ready.messages == [Envelope(to: Self.h1, message: .appendEntriesResponse(term: Term(3), success: true, matchIndex: .zero))])
    }

    @Test func aCandidateThatTimesOutAsksForPreVotesAgainInsteadOfRaisingItsTerm() {
        var n = RaftNodeTests.node(Self.h1)
        _ = RaftNodeTests.tickUntilCampaign(&n)
        #expect(n.currentTerm == Term(1))
        var ready = Ready()
        for _ in 0..<(2 * Self.electionTimeout) where n.role == .candidate { ready = n.tick() }
        #expect(n.role == .preCandidate && n.currentTerm == Term(1))
        #expect(ready.hardState == nil)
        #expect(ready.messages.map(\.message) == Array(repeating: .preVote(term: Term(2), lastLogIndex: .zero, lastLogTerm: .zero), count: 2))
    }

    // MARK: - Check-quorum

    @Test func aLeaderThatHearsFromNoQuorumForOneElectionTimeoutStepsDown() {
        var leader = RaftNodeTests.electedLeader()
        for tick in 1..<Self.electionTimeout {
            _ = leader.tick()
            #expect(leader.role == .leader, "stepped down after only \(tick) ticks")
        }
        let ready = leader.tick()
        #expect(leader.role == .follower)
        #expect(ready.softState == SoftState(role: .follower, term: Term(1), leader: nil))
        #expect(ready.hardState == nil, "stepping down keeps the term and the vote")
        #expect(ready.messages.isEmpty)
        #expect(leader.propose([1]).result == .notLeader(knownLeader: nil))
    }

    @Test func hearingFromOnePeerOfThreeKeepsTheLeaderForAnotherElectionTimeout() {
        var leader = RaftNodeTests.electedLeader()
        for _ in 0..<5 { _ = leader.tick() }
        _ = leader.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(1)), from: Self.h2)
        for _ in 1..<Self.electionTimeout { _ = leader.tick() }
        #expect(leader.role == .leader, "host 2 answered \(Self.electionTimeout - 1) ticks ago")
        _ = leader.tick()
        #expect(leader.role == .follower)
    }

    @Test func aLeaderThatIsItselfAQuorumNeverStepsDown() {
        var alone = RaftNode(id: Self.h1, members: [Self.h1], config: Self.config, rng: SplitMix64(seed: 1))
        var lowestOfTwo = Self.node(Self.h1, members: [Self.h1, Self.h2])
        for _ in 0..<(10 * Self.electionTimeout) {
            _ = alone.tick()
            _ = lowestOfTwo.tick()
        }
        #expect(alone.role == .leader && alone.currentTerm == Term(1))
        #expect(lowestOfTwo.role == .leader && lowestOfTwo.currentTerm == Term(1))
    }

    // MARK: - The exact-half quorum

    @Test func ofTwoHostsTheLowestElectsItselfAndCommitsAlone() {
        var n = Self.node(Self.h1, members: [Self.h1, Self.h2])
        var elected = Ready()
        for _ in 0..<(2 * Self.electionTimeout) where n.role != .leader { elected = n.tick() }
        #expect(n.role == .leader && n.currentTerm == Term(1))
        // No vote was asked of host 2: the first message it gets is the leader's no-op.
        let noop = LogEntry(term: Term(1), index: LogIndex(1), kind: .leaderNoop, payload: [])
        #expect(elected.messages == [Envelope(to: Self.h2, message: .appendEntries(
            term: Term(1), prevLogIndex: .zero, prevLogTerm: .zero, entries: [noop], leaderCommit: LogIndex(1)))])
        #expect(elected.committedEntries == [noop], "host 1 alone is a quorum: its no-op commits at once")
        let (result, ready) = n.propose([7])
        #expect(result == .accepted(index: LogIndex(2), term: Term(1)))
        #expect(ready.committedEntries.map(\.payload) == [[7]])
    }

    @Test func ofTwoHostsTheHighestNeedsTheLowestToLeadAndToCommit() {
        var n = Self.node(Self.h2, members: [Self.h1, Self.h2])
        let asked = RaftNodeTests.tickUntilPreCampaign(&n)
        #expect(asked.messages == [Envelope(to: Self.h1, message: .preVote(term: Term(1), lastLogIndex: .zero, lastLogTerm: .zero))])
        for _ in 0..<(10 * Self.electionTimeout) { _ = n.tick() }
        #expect(n.role == .preCandidate && n.currentTerm == .zero, "alone, host 2 never even raises its term")
        _ = n.receive(.preVoteResponse(term: Term(1), granted: true), from: Self.h1)
        _ = n.receive(.requestVoteResponse(term: Term(1), granted: true), from: Self.h1)
        #expect(n.role == .leader)
        _ = n.propose([7])
        #expect(n.commitIndex == .zero, "host 2 alone is not a quorum")
        let acked = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h1)
        #expect(acked.committedEntries.map(\.index) == [LogIndex(1), LogIndex(2)])
    }

    @Test func ofFourHostsTheHalfWithTheLowestElectsAndCommits() {
        let members = [Self.h1, Self.h2, Self.h3, Self.h4]
        var n = Self.node(Self.h1, members: members)
        _ = RaftNodeTests.tickUntilPreCampaign(&n)
        _ = n.receive(.preVoteResponse(term: Term(1), granted: true), from: Self.h2)
        #expect(n.role == .candidate, "hosts 1 and 2 are a pre-vote quorum of four")
        _ = n.receive(.requestVoteResponse(term: Term(1), granted: true), from: Self.h2)
        #expect(n.role == .leader, "hosts 1 and 2 are a vote quorum of four")
        _ = n.propose([7])
        let acked = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h2)
        #expect(acked.committedEntries.map(\.index) == [LogIndex(1), LogIndex(2)])
        // Hearing only from host 2 keeps the leader on: the two of them are a quorum.
        for _ in 0..<(Self.electionTimeout - 1) { _ = n.tick() }
        _ = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h2)
        for _ in 0..<(Self.electionTimeout - 1) { _ = n.tick() }
        #expect(n.role == .leader)
    }

    @Test func ofFourHostsTheHalfWithoutTheLowestNeitherElectsNorCommitsNorKeepsItsLead() {
        let members = [Self.h1, Self.h2, Self.h3, Self.h4]
        var n = Self.node(Self.h3, members: members)
        _ = RaftNodeTests.tickUntilPreCampaign(&n)
        _ = n.receive(.preVoteResponse(term: Term(1), granted: true), from: Self.h4)
        #expect(n.role == .preCandidate, "hosts 3 and 4 are half of four without the lowest")
        _ = n.receive(.preVoteResponse(term: Term(1), granted: true), from: Self.h1)
        #expect(n.role == .candidate)
        _ = n.receive(.requestVoteResponse(term: Term(1), granted: true), from: Self.h4)
        #expect(n.role == .candidate)
        _ = n.receive(.requestVoteResponse(term: Term(1), granted: true), from: Self.h1)
        #expect(n.role == .leader)
        _ = n.propose([7])
        let half = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h4)
        #expect(half.committedEntries.isEmpty && n.commitIndex == .zero)
        let three = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h2)
        #expect(three.committedEntries.map(\.index) == [LogIndex(1), LogIndex(2)])
        // Hearing only from host 4 (hosts 3 and 4: no quorum) does not keep the lead.
        for _ in 0..<(Self.electionTimeout - 1) {
            _ = n.tick()
            _ = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h4)
        }
        #expect(n.role == .leader)
        _ = n.tick()
        #expect(n.role == .follower)
    }
}
