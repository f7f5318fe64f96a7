// One input to one RaftNode at a time, asserting the exact Ready it returns: pre-votes, elections,
// votes, replication, conflict truncation, stepping down, proposals to followers, restart from
// disk. Pre-vote, check-quorum and the exact-half quorum rule have their own file
// (PreVoteCheckQuorumTests.swift).
import Consensus
import Testing
import VoltModel

@Suite struct RaftNodeTests {
    static let h1 = HostID(1), h2 = HostID(2), h3 = HostID(3)
    static let members = [h1, h2, h3]
    static let config = RaftConfig(electionTimeoutTicks: 10, heartbeatIntervalTicks: 2)

    static func node(_ id: HostID, restoring state: PersistentState = PersistentState(), seed: UInt64 = 7) -> RaftNode {
        RaftNode(id: id, members: members, config: config, restoring: state, rng: SplitMix64(seed: seed))
    }

    /// Ticks until the node's election timer runs out and it asks for pre-votes; returns that Ready.
    static func tickUntilPreCampaign(_ node: inout RaftNode) -> Ready {
        for _ in 0..<(2 * config.electionTimeoutTicks) {
            let ready = node.tick()
            if node.role == .preCandidate { return ready }
            #expect(ready.isEmpty)
        }
        Issue.record("no pre-vote within twice the election timeout")
        return Ready()
    }

    /// Ticks until the node asks for pre-votes, then grants it one from host 2 (with itself a
    /// quorum of three), which starts the real election; returns that Ready.
    static func tickUntilCampaign(_ node: inout RaftNode) -> Ready {
        _ = tickUntilPreCampaign(&node)
        let ready = node.receive(.preVoteResponse(term: node.currentTerm.next, granted: true), from: h2)
        #expect(node.role == .candidate)
        return ready
    }

    /// A leader of term 1 for host 1, with its no-op at index 1.
    static func electedLeader() -> RaftNode {
        var n = node(h1)
        _ = tickUntilCampaign(&n)
        _ = n.receive(.requestVoteResponse(term: Term(1), granted: true), from: h2)
        return n
    }

    @Test func followerTimesOutAndAsksEveryPeerForAPreVoteWithoutRaisingItsTerm() {
        var n = Self.node(Self.h1)
        let ready = Self.tickUntilPreCampaign(&n)
        #expect(ready.hardState == nil)
        #expect(ready.softState == SoftState(role: .preCandidate, term: .zero, leader: nil))
        #expect(ready.messages == [
            Envelope(to: Self.h2, message: .preVote(term: Term(1), lastLogIndex: .zero, lastLogTerm: .zero)),
            Envelope(to: Self.h3, message: .preVote(term: Term(1), lastLogIndex: .zero, lastLogTerm: .zero)),
        ])
    }

    @Test func aQuorumOfPreVotesStartsTheElectionAndAsksEveryPeerForItsVote() {
        var n = Self.node(Self.h1)
        let ready = Self.tickUntilCampaign(&n)
        #expect(ready.hardState == HardState(currentTerm: Term(1), votedFor: Self.h1))
        #expect(ready.softState == SoftState(role: .candidate, term: Term(1), leader: nil))
        #expect(ready.messages == [
            Envelope(to: Self.h2, message: .requestVote(term: Term(1), lastLogIndex: .zero, lastLogTerm: .zero)),
            Envelope(to: Self.h3, message: .requestVote(term: Term(1), lastLogIndex: .zero, lastLogTerm: .zero)),
        ])
    }

    @Test func aMajorityOfVotesMakesALeaderThatAppendsANoop() {
        var n = Self.node(Self.h1)
        _ = Self.tickUntilCampaign(&n)
        let ready = n.receive(.requestVoteResponse(term: Term(1), granted: true), from: Self.h2)
        let noop = LogEntry(term: Term(1), index: LogIndex(1), kind: .leaderNoop, payload: [])
        #expect(n.role == .leader)
        #expect(ready.softState == SoftState(role: .leader, term: Term(1), leader: Self.h1))
        #expect(ready.entriesToPersist == [noop])
        #expect(ready.messages == [Self.h2, Self.h3].map {
            Envelope(to: $0, message: .appendEntries(term: Term(1), prevLogIndex: .zero, prevLogTerm: .zero,
                                                     entries: [noop], leaderCommit: .zero))
        })
        #expect(ready.committedEntries.isEmpty)
    }

    @Test func aVoteIsGrantedOncePerTermAndNeverToAStaleLog() {
        var n = Self.node(Self.h3, restoring: PersistentState(log: [LogEntry(term: Term(2), index: LogIndex(1), payload: [1])]))
        // Host 1's log ends in an older term: refused, though the term is adopted.
        let stale = n.receive(.requestVote(term: Term(3), lastLogIndex: LogIndex(5), lastLogTerm: Term(1)), from: Self.h1)
        #expect(stale.messages == [Envelope(to: Self.h1, message: .requestVoteResponse(term: Term(3), granted: false))])
        #expect(stale.hardState == HardState(currentTerm: Term(3), votedFor: nil))
        // Host 2's log is as long, in the same term: granted, and persisted before the answer.
        let fresh = n.receive(.requestVote(term: Term(3), lastLogIndex: LogIndex(1), lastLogTerm: Term(2)), from: Self.h2)
        #expect(fresh.hardState == HardState(currentTerm: Term(3), votedFor: Self.h2))
        #expect(fresh.messages == [Envelope(to: Self.h2, message: .requestVoteResponse(term: Term(3), granted: true))])
        // Host 1 again, now with a log that would qualify: the vote of term 3 is spent.
        let again = n.receive(.requestVote(term: Term(3), lastLogIndex: LogIndex(9), lastLogTerm: Term(2)), from: Self.h1)
        #expect(again.messages == [Envelope(to: Self.h1, message: .requestVoteResponse(term: Term(3), granted: false))])
    }

    @Test func aRestartedNodeRemembersItsVote() {
        var n = Self.node(Self.h3)
        let ready = n.receive(.requestVote(term: Term(4), lastLogIndex: .zero, lastLogTerm: .zero), from: Self.h1)
        var disk = PersistentState()
        disk.persist(ready)
        var restarted = Self.node(Self.h3, restoring: disk, seed: 99)
        #expect(restarted.currentTerm == Term(4) && restarted.votedFor == Self.h1)
        let other = restarted.receive(.requestVote(term: Term(4), lastLogIndex: .zero, lastLogTerm: .zero), from: Self.h2)
        #expect(other.messages == [Envelope(to: Self.h2, message: .requestVoteResponse(term: Term(4), granted: false))])
    }

    @Test func aFollowerAnswersAProposalWithTheLeaderItKnows() {
        var n = Self.node(Self.h2)
        #expect(n.propose([1]).result == .notLeader(knownLeader: nil))
        _ = n.receive(.appendEntries(term: Term(1), prevLogIndex: .zero, prevLogTerm: .zero, entries: [],
                                     leaderCommit: .zero), from: Self.h1)
        let (result, ready) = n.propose([1])
        #expect(result == .notLeader(knownLeader: Self.h1))
        #expect(ready.isEmpty)
    }

    @Test func aFollowerDropsAConflictingSuffixAndCommitsOnlyWhatItVerified() {
        let old = [1, 1, 2].enumerated().map { LogEntry(term: Term(UInt64($1)), index: LogIndex(UInt64($0 + 1)), payload: [UInt8($0)]) }
        var n = Self.node(Self.h2, restoring: PersistentState(hardState: HardState(currentTerm: Term(2)), log: old))
        let replacement = [LogEntry(term: Term(3), index: LogIndex(3), payload: [9]),
                           LogEntry(term: Term(3), index: LogIndex(4), payload: [10])]
        let ready = n.receive(.appendEntries(term: Term(3), prevLogIndex: LogIndex(2), prevLogTerm: Term(1),
                                             entries: replacement, leaderCommit: LogIndex(9)), from: Self.h1)
        #expect(n.log == Array(old[0..<2]) + replacement)
        #expect(ready.entriesToPersist == replacement)
        #expect(n.commitIndex == LogIndex(4))
        #expect(ready.committedEntries == n.log)
        #expect(ready.messages == [Envelope(to: Self.h1, message: .appendEntriesResponse(term: Term(3), success: true, matchIndex: LogIndex(4)))])
    }

    @Test func aFollowerRejectsAGapWithAHintToItsLogEnd() {
        var n = Self.node(Self.h2)
        let ready = n.receive(.appendEntries(term: Term(1), prevLogIndex: LogIndex(5), prevLogTerm: Term(1), entries: [],
                                             leaderCommit: .zero), from: Self.h1)
        #expect(ready.messages == [Envelope(to: Self.h1, message: .appendEntriesResponse(term: Term(1), success: false, matchIndex: .zero))])
    }

    @Test func theLeaderCommitsOnAMajorityAndHandsOutEntriesOnce() {
        var n = Self.electedLeader()
        let (result, _) = n.propose([42])
        #expect(result == .accepted(index: LogIndex(2), term: Term(1)))
        let ready = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h3)
        #expect(n.commitIndex == LogIndex(2))
        #expect(ready.committedEntries.map(\.index) == [LogIndex(1), LogIndex(2)])
        let duplicate = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h3)
        #expect(duplicate.committedEntries.isEmpty)
    }

    @Test func aLeaderStepsDownOnAHigherTerm() {
        var n = Self.electedLeader()
        let ready = n.receive(.appendEntriesResponse(term: Term(5), success: false, matchIndex: .zero), from: Self.h2)
        #expect(n.role == .follower)
        #expect(ready.hardState == HardState(currentTerm: Term(5), votedFor: nil))
        #expect(ready.softState == SoftState(role: .follower, term: Term(5), leader: nil))
        #expect(n.propose([1]).result == .notLeader(knownLeader: nil))
    }

    @Test func theLeaderHeartbeatsEveryInterval() {
        var n = Self.electedLeader()
        #expect(n.tick().messages.isEmpty)
        let beat = n.tick()
        #expect(beat.messages.map(\.to) == [Self.h2, Self.h3])
    }

    @Test func aSingleMemberClusterElectsItselfAndCommitsAlone() {
        var n = RaftNode(id: Self.h1, members: [Self.h1], config: Self.config, rng: SplitMix64(seed: 1))
        for _ in 0..<20 where n.role != .leader { _ = n.tick() }
        #expect(n.role == .leader)
        let (result, ready) = n.propose([5])
        #expect(result == .accepted(index: LogIndex(2), term: Term(1)))
        #expect(ready.committedEntries.last?.payload == [5])
    }

    @Test func aNewLeaderCommitsAnEarlierTermsEntryOnlyThroughOneOfItsOwn() {
        // Raft's Figure 8: host 1 restarts holding index 2 of term 2, which no majority may hold.
        let old = [LogEntry(term: Term(1), index: LogIndex(1), payload: [1]),
                   LogEntry(term: Term(2), index: LogIndex(2), payload: [2])]
        var n = Self.node(Self.h1, restoring: PersistentState(hardState: HardState(currentTerm: Term(2)), log: old))
        _ = Self.tickUntilCampaign(&n)
        _ = n.receive(.requestVoteResponse(term: Term(3), granted: true), from: Self.h2)
        #expect(n.role == .leader && n.lastLogIndex == LogIndex(3))
        // A majority now holds index 2, but it is of term 2: counting replicas must not commit it.
        let early = n.receive(.appendEntriesResponse(term: Term(3), success: true, matchIndex: LogIndex(2)), from: Self.h2)
        #expect(n.commitIndex == .zero)
        #expect(early.committedEntries.isEmpty)
        // Once the leader's own no-op is on a majority, everything before it commits with it.
        let later = n.receive(.appendEntriesResponse(term: Term(3), success: true, matchIndex: LogIndex(3)), from: Self.h2)
        #expect(later.committedEntries.map(\.index) == [LogIndex(1), LogIndex(2), LogIndex(3)])
    }

    @Test func aStaleRejectionNeverMovesNextIndexBelowWhatIsKnownToMatch() {
        var n = Self.electedLeader()
        _ = n.propose([1])
        _ = n.receive(.appendEntriesResponse(term: Term(1), success: true, matchIndex: LogIndex(2)), from: Self.h2)
        // An old rejection (hint: nothing matches) arrives late, after the success.
        let late = n.receive(.appendEntriesResponse(term: Term(1), success: false, matchIndex: .zero), from: Self.h2)
        #expect(n.matchIndex[Self.h2] == LogIndex(2))
        #expect(n.nextIndex[Self.h2] == LogIndex(3))
        #expect(late.messages.isEmpty)
    }
}
