// RaftNode: the pure consensus core of the cluster metadata log (Raft, Ongaro & Ousterhout 2014).
//
// Shape. A single-owner value with three inputs, `tick()`, `receive(_:from:)` and `propose(_:)`.
// Each returns a `Ready` batch (hard state and entries to persist, messages to send, committed
// entries to apply, soft-state changes) that the shell carries out in that order. The node never
// reads a clock, a socket or a random source: time is `tick()` (logical ticks), and the election
// timeout is drawn from the `SplitMix64` passed in at creation. Dictionaries are never iterated
// into output; peers are walked in `HostID` order.
//
// States.
// - follower: answers RequestVote and AppendEntries; after `electionTimeoutTicks + r` ticks without
//   hearing from a leader or granting a vote (r uniform in 0..<electionTimeoutTicks, redrawn at
//   every reset) it becomes a pre-candidate.
// - pre-candidate (pre-vote, Raft thesis §9.6): keeps its term and vote, and asks every peer
//   whether it would vote for it in the next term. A quorum of grants, itself counted, makes it a
//   candidate; an AppendEntries of its term or a higher one makes it a follower; a timeout starts
//   a new round. A peer grants a pre-vote only if the term asked about is above its own, the
//   asker's log is at least as up to date as its own, and it is not in a leader's lease: it is not
//   the leader itself and has not heard from a leader within the last `electionTimeoutTicks`.
//   Granting changes nothing on the granting side (no term, no vote, no timer). A refusal carries
//   the refuser's term, and a pre-candidate that sees a higher one follows that term.
// - candidate: increments its term, votes for itself, asks every peer; a quorum of votes makes it
//   leader; an AppendEntries of its term or any higher term makes it a follower; a timeout goes
//   back to pre-vote.
// - leader: appends a no-op entry of its term (so that earlier-term entries can commit, §5.4.2),
//   replicates with AppendEntries every `heartbeatIntervalTicks` and on every proposal, tracks
//   nextIndex/matchIndex per peer, and advances commitIndex to the highest index a quorum holds
//   whose entry is of its own term. Check-quorum: it remembers the tick at which it last received
//   any message from each peer, and on every tick, if the peers heard from within the last
//   `electionTimeoutTicks` ticks, with itself, are not a quorum, it steps down to follower in the
//   same term with no known leader. A new leader counts every peer as just heard from (their
//   votes just arrived), so it always gets one full timeout. An isolated leader therefore steps
//   down on the `electionTimeoutTicks`-th tick after it last heard from a quorum.
// Any message carrying a higher term makes the node a follower of that term first, except a
// pre-vote request and a granted pre-vote response, whose term is only a question about the future.
//
// Quorums. Every count (votes, pre-votes, commit advancement, check-quorum) goes through the
// configuration's `isQuorum`: per voting set, `QuorumRule`, a strict majority, or exactly half of
// the members if that half holds the lowest member id (VoltDB's tie-break; the proof that any two
// quorums still intersect is in QuorumRule.swift), and both voting sets while joint.
//
// Invariants (preconditions here; cluster-wide ones are checked by `RaftInvariants`):
// - currentTerm never decreases; votedFor is set at most once per term.
// - commitIndex never decreases and never exceeds the last log index; a committed entry is never
//   truncated (truncating at or below commitIndex is a broken invariant, not a recoverable case).
// - a leader never overwrites or deletes entries of its own log (Leader Append-Only).
// - lastApplied <= commitIndex; entries are handed out for applying exactly once per incarnation.
//
// Where this departs from, or stops short of, Raft:
// - Membership changes by joint consensus only (§6, RaftConfiguration.swift says why a single
//   voter at a time is unsafe under VoltDB's tie-break), with learners (thesis §4.2.1), in the
//   shape of etcd's ConfChangeV2 with automatic leave. A configuration takes effect on a node as
//   soon as its entry is in that node's log, committed or not (thesis §4.1): the node always uses
//   the latest configuration entry in its log, or the bootstrap configuration when there is none,
//   and falls back to an earlier one if a conflicting leader truncates the entry. That keeps a
//   restarted node right without persisting its commit index. The leader accepts a membership
//   proposal only when no change is under way: the latest configuration entry is committed, the
//   configuration is not joint, and the leader has committed an entry of its own term (the
//   thesis's fix for a change proposed by a leader that has not yet caught up on its
//   predecessor's). A change of voters becomes a joint configuration entry (new voters, outgoing
//   = old voters); once that entry commits, the leader appends the entry that leaves it (new
//   voters alone). A change of learners only is a single entry (learners never count). A leader
//   that is not a voter of its latest, committed configuration steps down.
// - Only voters are asked for votes; everyone in the configuration receives the log. A node
//   campaigns if it votes in its latest configuration, or voted in the one before and the latest
//   is not known to be committed: a leader that removed itself and stepped down (cut off) before
//   that commit may hold the only up-to-date log, so it must be able to lead again, not counting
//   itself, until the configuration without it commits (found by the simulator: without this the
//   remaining voter waited forever for its vote). A node accepts messages from any host,
//   including hosts its (possibly stale) configuration does not know yet: a new host learns the
//   configuration from the log it is sent.
// - Check-quorum also runs when a leader adopts a configuration: a leader whose new voters have
//   not been heard from steps down at once. A new leader counts as just heard from only the peers
//   that voted for it (the others may matter to a later configuration); a host that is new to the
//   configuration gets one election timeout to answer.
// - Quorums follow VoltDB's exact-half tie-break rather than plain majority, so an even split
//   leaves the side with the lowest member id able to elect and commit (see `QuorumRule`).
// - Pre-vote and check-quorum are always on (etcd makes them options): together they keep a host
//   that was cut off, and comes back, from deposing a healthy leader, and keep a cut-off leader
//   from holding its role (and accepting proposals that cannot commit) indefinitely. The leader
//   lease is applied to pre-votes only, not to RequestVote as thesis §4.2.3 also suggests: a
//   RequestVote is only ever sent after a quorum of the candidate's configuration granted
//   pre-votes, i.e. after they stopped hearing from any leader, and a host removed from the
//   configuration that never learned it finds its pre-votes refused by hosts that still hear the
//   leader. Safety does not depend on either mechanism.
// - No log compaction or snapshots (InstallSnapshot); the whole log stays in memory.
// - Rejected AppendEntries carry a hint (the follower's last possibly-matching index) so that the
//   leader backs off in one round trip instead of one index at a time.
// - commitIndex is volatile: a restarted node starts at 0 and re-applies its log as the leader
//   tells it what is committed, so its state machine is rebuilt from the log.
import VoltModel

public struct RaftConfig: Hashable, Sendable {
    /// The base election timeout; the actual one is uniform in [base, 2·base).
    public var electionTimeoutTicks: Int
    public var heartbeatIntervalTicks: Int
    /// The most entries one AppendEntries carries.
    public var maxEntriesPerMessage: Int

    public init(electionTimeoutTicks: Int = 10, heartbeatIntervalTicks: Int = 2, maxEntriesPerMessage: Int = 64) {
        precondition(heartbeatIntervalTicks > 0 && electionTimeoutTicks > heartbeatIntervalTicks,
                     "heartbeat interval \(heartbeatIntervalTicks) must be positive and below the election timeout \(electionTimeoutTicks)")
        precondition(maxEntriesPerMessage > 0, "maxEntriesPerMessage \(maxEntriesPerMessage) must be positive")
        self.electionTimeoutTicks = electionTimeoutTicks
        self.heartbeatIntervalTicks = heartbeatIntervalTicks
        self.maxEntriesPerMessage = maxEntriesPerMessage
    }
}

public struct RaftNode: Sendable {
    public let id: HostID
    /// The configuration before any configuration entry (the hosts that formed the cluster).
    public let bootstrap: RaftConfiguration
    /// The latest configuration in the log (committed or not), or `bootstrap` if there is none.
    public private(set) var configuration: RaftConfiguration
    /// The index of the entry that set `configuration`; zero for the bootstrap configuration.
    public private(set) var configurationIndex: LogIndex = .zero
    /// The configuration before `configuration` (the bootstrap one when there is none).
    private var previousConfiguration: RaftConfiguration
    public let config: RaftConfig

    // Persistent state (reported through `Ready.hardState` / `entriesToPersist`).
    public private(set) var currentTerm: Term
    public private(set) var votedFor: HostID?
    /// `log[i]` holds index i+1.
    public private(set) var log: [LogEntry]

    // Volatile state.
    public private(set) var role: Role = .follower
    public private(set) var leader: HostID?
    public private(set) var commitIndex: LogIndex = .zero
    public private(set) var lastApplied: LogIndex = .zero
    /// Leader only: the next index to send each peer, and the highest index known to match.
    public private(set) var nextIndex: [HostID: LogIndex] = [:]
    public private(set) var matchIndex: [HostID: LogIndex] = [:]
    /// Pre-votes while a pre-candidate, votes while a candidate, this node included.
    private var votesGranted: Set<HostID> = []

    private var rng: SplitMix64
    /// Ticks this incarnation has seen; the clock of check-quorum.
    private var ticksElapsed = 0
    /// When (in `ticksElapsed`) each peer last sent this node anything. Reset on becoming leader.
    private var lastHeardTick: [HostID: Int] = [:]
    private var electionElapsedTicks = 0
    private var randomizedElectionTimeoutTicks = 0
    private var heartbeatElapsedTicks = 0

    private var pending = Ready()
    private var lastReportedHardState: HardState
    private var lastReportedSoftState: SoftState

    /// A node of a cluster whose voters are `members`, starting from `restoring` (empty for a
    /// brand-new node). `rng` draws election timeouts.
    public init(id: HostID, members: [HostID], config: RaftConfig = RaftConfig(),
                restoring state: PersistentState = PersistentState(), rng: SplitMix64) {
        self.init(id: id, bootstrap: RaftConfiguration(voters: Array(Set(members))), config: config, restoring: state, rng: rng)
    }

    /// A node whose configuration before any configuration entry is `bootstrap`. A host that is
    /// not in it (a host added later) starts with the bootstrap of the cluster it is added to and
    /// an empty log, and learns its membership from the log the leader sends it.
    public init(id: HostID, bootstrap: RaftConfiguration, config: RaftConfig = RaftConfig(),
                restoring state: PersistentState = PersistentState(), rng: SplitMix64) {
        for (offset, entry) in state.log.enumerated() {
            precondition(entry.index.rawValue == UInt64(offset + 1), "restored log has \(entry) at position \(offset)")
        }
        self.id = id
        self.bootstrap = bootstrap
        self.configuration = bootstrap
        self.previousConfiguration = bootstrap
        self.config = config
        self.currentTerm = state.hardState.currentTerm
        self.votedFor = state.hardState.votedFor
        self.log = state.log
        self.rng = rng
        self.lastReportedHardState = state.hardState
        self.lastReportedSoftState = SoftState(role: .follower, term: state.hardState.currentTerm, leader: nil)
        recomputeConfiguration()
        resetElectionTimer()
    }

    // MARK: - Reading

    /// Every other host that receives the log, ascending.
    public var peers: [HostID] { configuration.members.filter { $0 != id } }
    /// Every other host that votes, ascending: whom a (pre-)candidate asks.
    public var votingPeers: [HostID] { configuration.votingMembers.filter { $0 != id } }
    public var lastLogIndex: LogIndex { LogIndex(UInt64(log.count)) }
    public var lastLogTerm: Term { log.last?.term ?? .zero }
    public var hardState: HardState { HardState(currentTerm: currentTerm, votedFor: votedFor) }
    public var softState: SoftState { SoftState(role: role, term: currentTerm, leader: leader) }
    public var persistentState: PersistentState { PersistentState(hardState: hardState, log: log) }

    /// The term of the entry at `index` (term 0 for index 0), or nil past the end of the log.
    public func term(at index: LogIndex) -> Term? {
        if index == .zero { return .zero }
        guard index.rawValue <= UInt64(log.count) else { return nil }
        return log[Int(index.rawValue) - 1].term
    }

    // MARK: - Inputs

    /// One logical tick of time.
    public mutating func tick() -> Ready {
        ticksElapsed += 1
        switch role {
        case .follower, .preCandidate, .candidate:
            electionElapsedTicks += 1
            if electionElapsedTicks >= randomizedElectionTimeoutTicks {
                // A learner (or a host not in the configuration yet) waits to be sent the log.
                if mayCampaign { preCampaign() } else { resetElectionTimer() }
            }
        case .leader:
            if !hasQuorumContact {
                // Check-quorum: cut off from a quorum, this leader could not commit anyway, and
                // with pre-vote the others will elect a new one only once they stop hearing it.
                becomeFollower(term: currentTerm, leader: nil)
            } else {
                heartbeatElapsedTicks += 1
                if heartbeatElapsedTicks >= config.heartbeatIntervalTicks {
                    heartbeatElapsedTicks = 0
                    broadcastAppend()
                }
            }
        }
        return drain()
    }

    /// A message from `from`, which need not be in this node's configuration (see the header).
    public mutating func receive(_ message: RaftMessage, from: HostID) -> Ready {
        guard from != id else { return drain() }
        lastHeardTick[from] = ticksElapsed
        if message.term > currentTerm && !message.isAboutAFutureTerm {
            // A higher term always wins; an AppendEntries names the new leader.
            var newLeader: HostID?
            if case .appendEntries = message { newLeader = from }
            becomeFollower(term: message.term, leader: newLeader)
        }
        switch message {
        case .preVote(let term, let lastIndex, let lastTerm):
            handlePreVote(term: term, candidate: from, lastLogIndex: lastIndex, lastLogTerm: lastTerm)
        case .preVoteResponse(let term, let granted):
            handlePreVoteResponse(term: term, from: from, granted: granted)
        case .requestVote(let term, let lastIndex, let lastTerm):
            handleRequestVote(term: term, candidate: from, lastLogIndex: lastIndex, lastLogTerm: lastTerm)
        case .requestVoteResponse(let term, let granted):
            handleVoteResponse(term: term, from: from, granted: granted)
        case .appendEntries(let term, let prevIndex, let prevTerm, let entries, let leaderCommit):
            handleAppendEntries(term: term, leader: from, prevLogIndex: prevIndex, prevLogTerm: prevTerm,
                                entries: entries, leaderCommit: leaderCommit)
        case .appendEntriesResponse(let term, let success, let match):
            handleAppendResponse(term: term, from: from, success: success, matchIndex: match)
        }
        return drain()
    }

    /// Proposes `payload` for the log. Only the leader accepts; others answer `.notLeader`.
    public mutating func propose(_ payload: [UInt8]) -> (result: ProposeResult, ready: Ready) {
        guard role == .leader else { return (.notLeader(knownLeader: leader), drain()) }
        let entry = appendAsLeader(kind: .command, payload: payload)
        broadcastAppend()
        return (.accepted(index: entry.index, term: entry.term), drain())
    }

    // MARK: - Elections

    /// Whether this node, as leader, heard from a quorum (itself counted) within the last
    /// `electionTimeoutTicks` ticks. Check-quorum steps a leader down when this turns false.
    private var hasQuorumContact: Bool {
        let recent = peers.filter { peer in
            guard let heard = lastHeardTick[peer] else { return false }
            return ticksElapsed - heard < config.electionTimeoutTicks
        }
        return configuration.isQuorum(recent + [id])
    }

    /// Whether this node believes a live leader exists: it is the leader, or it heard from one
    /// within the last `electionTimeoutTicks`. Such a node refuses pre-votes.
    private var inLeaderLease: Bool {
        role == .leader || (leader != nil && electionElapsedTicks < config.electionTimeoutTicks)
    }

    private func isUpToDate(lastLogIndex candidateIndex: LogIndex, lastLogTerm candidateTerm: Term) -> Bool {
        candidateTerm > lastLogTerm || (candidateTerm == lastLogTerm && candidateIndex >= lastLogIndex)
    }

    private mutating func preCampaign() {
        role = .preCandidate
        leader = nil
        votesGranted = [id]
        resetElectionTimer()
        if configuration.isQuorum(votesGranted) {
            campaign()
            return
        }
        for peer in votingPeers {
            send(.preVote(term: currentTerm.next, lastLogIndex: lastLogIndex, lastLogTerm: lastLogTerm), to: peer)
        }
    }

    private mutating func handlePreVote(term: Term, candidate: HostID, lastLogIndex candidateIndex: LogIndex,
                                        lastLogTerm candidateTerm: Term) {
        let granted = term > currentTerm && !inLeaderLease
            && isUpToDate(lastLogIndex: candidateIndex, lastLogTerm: candidateTerm)
        send(.preVoteResponse(term: granted ? term : currentTerm, granted: granted), to: candidate)
    }

    private mutating func handlePreVoteResponse(term: Term, from: HostID, granted: Bool) {
        // A refusal with a higher term was adopted in receive(_:from:); only grants for the
        // round in progress count.
        guard role == .preCandidate, granted, term == currentTerm.next else { return }
        votesGranted.insert(from)
        if configuration.isQuorum(votesGranted) { campaign() }
    }

    private mutating func campaign() {
        precondition(role == .preCandidate, "\(id) campaigned from \(role) without a pre-vote")
        role = .candidate
        currentTerm = currentTerm.next
        votedFor = id
        leader = nil
        votesGranted = [id]
        resetElectionTimer()
        if configuration.isQuorum(votesGranted) {
            becomeLeader()
            return
        }
        for peer in votingPeers {
            send(.requestVote(term: currentTerm, lastLogIndex: lastLogIndex, lastLogTerm: lastLogTerm), to: peer)
        }
    }

    private mutating func handleRequestVote(term: Term, candidate: HostID, lastLogIndex candidateIndex: LogIndex,
                                            lastLogTerm candidateTerm: Term) {
        // Higher terms were adopted in receive(_:from:), so term <= currentTerm here.
        let granted = term == currentTerm && (votedFor == nil || votedFor == candidate)
            && isUpToDate(lastLogIndex: candidateIndex, lastLogTerm: candidateTerm)
        if granted {
            votedFor = candidate
            resetElectionTimer()
        }
        send(.requestVoteResponse(term: currentTerm, granted: granted), to: candidate)
    }

    private mutating func handleVoteResponse(term: Term, from: HostID, granted: Bool) {
        guard role == .candidate, term == currentTerm, granted else { return }
        votesGranted.insert(from)
        if configuration.isQuorum(votesGranted) { becomeLeader() }
    }

    private mutating func becomeFollower(term: Term, leader newLeader: HostID?) {
        precondition(term >= currentTerm, "\(id) asked to follow \(term) while in \(currentTerm)")
        if term > currentTerm {
            currentTerm = term
            votedFor = nil
        }
        role = .follower
        leader = newLeader
        votesGranted = []
        nextIndex = [:]
        matchIndex = [:]
        resetElectionTimer()
    }

    private mutating func becomeLeader() {
        precondition(role == .candidate, "\(id) became leader from \(role)")
        role = .leader
        leader = id
        heartbeatElapsedTicks = 0
        nextIndex = [:]
        matchIndex = [:]
        for peer in peers {
            nextIndex[peer] = lastLogIndex.next
            matchIndex[peer] = .zero
            // Check-quorum's grace: the votes that elected this leader just arrived. Peers that did
            // not vote keep when they were really last heard from (they may matter to a later
            // configuration).
            if votesGranted.contains(peer) { lastHeardTick[peer] = ticksElapsed }
        }
        _ = appendAsLeader(kind: .leaderNoop, payload: [])
        broadcastAppend()
    }

    private mutating func resetElectionTimer() {
        electionElapsedTicks = 0
        randomizedElectionTimeoutTicks = config.electionTimeoutTicks + rng.below(config.electionTimeoutTicks)
    }

    // MARK: - Replication, leader side

    private mutating func appendAsLeader(kind: LogEntry.Kind, payload: [UInt8]) -> LogEntry {
        let entry = LogEntry(term: currentTerm, index: lastLogIndex.next, kind: kind, payload: payload)
        log.append(entry)
        recordPersist([entry])
        if kind == .configuration { adoptConfiguration(of: entry) }
        advanceCommitIndex()  // a single-member cluster commits at once
        return entry
    }

    private mutating func broadcastAppend() {
        guard role == .leader else { return }
        for peer in peers { sendAppend(to: peer) }
    }

    private mutating func sendAppend(to peer: HostID) {
        guard let next = nextIndex[peer] else { preconditionFailure("leader \(id) has no nextIndex for \(peer)") }
        let prev = next.previous
        guard let prevTerm = term(at: prev) else {
            preconditionFailure("leader \(id): nextIndex \(next) for \(peer) is past its log end \(lastLogIndex)")
        }
        let from = Int(next.rawValue) - 1
        let upTo = min(log.count, from + config.maxEntriesPerMessage)
        let entries = from < upTo ? Array(log[from..<upTo]) : []
        send(.appendEntries(term: currentTerm, prevLogIndex: prev, prevLogTerm: prevTerm, entries: entries,
                            leaderCommit: commitIndex), to: peer)
    }

    private mutating func handleAppendResponse(term: Term, from: HostID, success: Bool, matchIndex match: LogIndex) {
        // Responses of older terms are stale: the peer answered a leader that no longer exists.
        guard role == .leader, term == currentTerm, let next = nextIndex[from], let known = matchIndex[from] else { return }
        if success {
            precondition(match <= lastLogIndex, "\(from) claims to match \(match) beyond leader \(id)'s \(lastLogIndex)")
            if match > known { matchIndex[from] = match }
            if match.next > next { nextIndex[from] = match.next }
            if advanceCommitIndex() {
                // Tell the followers now rather than at the next heartbeat, so every host applies
                // a committed entry within about one round trip of the leader (clients reading the
                // metadata from different hosts see it change at nearly the same time).
                broadcastAppend()
            } else if nextIndex[from]! <= lastLogIndex {
                sendAppend(to: from)
            }
        } else {
            // Back off to just past the hint, but never below what is known to match and never
            // forward (a reordered old rejection must not skip entries). The hint is compared
            // before adding one so that a corrupt hint of UInt64.max cannot overflow.
            let floor = matchIndex[from]!.next
            let candidate = match < next.previous ? match.next : next.previous
            let backed = max(floor, candidate)
            guard backed < next else { return }
            nextIndex[from] = backed
            sendAppend(to: from)
        }
    }

    /// Returns whether the commit index moved.
    @discardableResult
    private mutating func advanceCommitIndex() -> Bool {
        guard role == .leader else { return false }
        var matches = matchIndex
        matches[id] = lastLogIndex   // counted only where this leader is a voter
        let quorumMatch = configuration.highestIndexHeldByQuorum(matches)
        // Only entries of the current term commit by counting replicas (§5.4.2).
        guard quorumMatch > commitIndex, term(at: quorumMatch) == currentTerm else { return false }
        setCommitIndex(quorumMatch)
        if configurationIndex <= commitIndex {
            if configuration.isJoint {
                // The joint entry committed under both voting sets: leave it for the new voters.
                _ = appendAsLeader(kind: .configuration, payload: configuration.leavingJoint.encoded())
            } else if !configuration.isVoter(id) {
                // Removed, and the configuration without it committed: tell the others the commit
                // index, then let them elect a leader among themselves (Raft §6).
                broadcastAppend()
                becomeFollower(term: currentTerm, leader: nil)
            }
        }
        return true
    }

    // MARK: - Membership

    /// Proposes the membership `voters` and `learners` (the whole new membership, not a delta).
    /// A change of voters goes through a joint configuration that the leader leaves by itself once
    /// it commits; a change of learners alone is one entry. See the header for when it is refused.
    public mutating func proposeMembership(voters: [HostID], learners: [HostID]) -> (result: MembershipResult, ready: Ready) {
        guard role == .leader else { return (.refused(.notLeader(knownLeader: leader)), drain()) }
        guard configurationIndex <= commitIndex, !configuration.isJoint, term(at: commitIndex) == currentTerm else {
            return (.refused(.changeInProgress), drain())
        }
        let newVoters = Set(voters), newLearners = Set(learners)
        if newVoters.isEmpty { return (.refused(.invalid("no voters")), drain()) }
        if newVoters.count != voters.count || newLearners.count != learners.count {
            return (.refused(.invalid("a host is listed twice")), drain())
        }
        if let both = newVoters.intersection(newLearners).min() {
            return (.refused(.invalid("host \(both.rawValue) is both a voter and a learner")), drain())
        }
        if let demoted = newLearners.intersection(configuration.voters).subtracting(newVoters).min() {
            // A joint configuration cannot hold a host as an outgoing voter and a learner at once;
            // remove it first, then add it back as a learner.
            return (.refused(.invalid("host \(demoted.rawValue) votes now and cannot become a learner in the same change")), drain())
        }
        let target: RaftConfiguration
        if newVoters == Set(configuration.voters) {
            if newLearners == Set(configuration.learners) { return (.refused(.unchanged), drain()) }
            target = RaftConfiguration(voters: voters, learners: learners)
        } else {
            target = RaftConfiguration(voters: voters, outgoing: configuration.voters, learners: learners)
        }
        let entry = appendAsLeader(kind: .configuration, payload: target.encoded())
        broadcastAppend()
        return (.accepted(index: entry.index, term: entry.term), drain())
    }

    /// Whether this node may start an election: it votes in its latest configuration, or it voted
    /// in the one before and the latest is not known to be committed. The second case keeps a
    /// leader that removed itself live: if it stepped down before the configuration without it
    /// committed, it may hold the only up-to-date log, and the remaining voters need it to lead
    /// (not counting itself, Raft §6) until that configuration commits.
    private var mayCampaign: Bool {
        configuration.isVoter(id) || (configurationIndex > commitIndex && previousConfiguration.isVoter(id))
    }

    private static func decodeConfiguration(_ entry: LogEntry) -> RaftConfiguration {
        guard let decoded = try? RaftConfiguration(decoding: entry.payload) else {
            preconditionFailure("configuration entry \(entry) does not decode")
        }
        return decoded
    }

    /// Makes the configuration in `entry` (just appended) the one in force.
    private mutating func adoptConfiguration(of entry: LogEntry) {
        configuration = Self.decodeConfiguration(entry)
        configurationIndex = entry.index
        previousConfiguration = log[..<(Int(entry.index.rawValue) - 1)].last { $0.kind == .configuration }
            .map(Self.decodeConfiguration) ?? bootstrap
        syncPeersWithConfiguration()
        if role == .leader && !hasQuorumContact {
            // The new voters have not been heard from (they are down or cut off): this leader
            // could not commit, so check-quorum applies at once rather than at the next tick.
            becomeFollower(term: currentTerm, leader: nil)
        }
    }

    /// The latest configuration entry in the log, or the bootstrap one: after a restart and after
    /// a conflicting leader truncated the log.
    private mutating func recomputeConfiguration() {
        if let entry = log.last(where: { $0.kind == .configuration }) {
            adoptConfiguration(of: entry)
        } else {
            configuration = bootstrap
            configurationIndex = .zero
            previousConfiguration = bootstrap
            syncPeersWithConfiguration()
        }
    }

    /// A leader tracks exactly the hosts of its configuration: new ones start just past its log
    /// (the first AppendEntries finds where they stand), removed ones are dropped.
    private mutating func syncPeersWithConfiguration() {
        guard role == .leader else { return }
        let current = Set(peers)
        for peer in nextIndex.keys where !current.contains(peer) {
            nextIndex[peer] = nil
            matchIndex[peer] = nil
        }
        for peer in peers where nextIndex[peer] == nil {
            nextIndex[peer] = lastLogIndex.next
            matchIndex[peer] = .zero
            lastHeardTick[peer] = ticksElapsed
        }
    }

    // MARK: - Replication, follower side

    private mutating func handleAppendEntries(term: Term, leader from: HostID, prevLogIndex: LogIndex, prevLogTerm: Term,
                                              entries: [LogEntry], leaderCommit: LogIndex) {
        if term < currentTerm {
            send(.appendEntriesResponse(term: currentTerm, success: false, matchIndex: .zero), to: from)
            return
        }
        // term == currentTerm: `from` is this term's leader.
        precondition(role != .leader, "two leaders in \(currentTerm): \(id) and \(from)")
        if role != .follower || leader != from {
            becomeFollower(term: term, leader: from)
        } else {
            resetElectionTimer()
        }
        guard let localPrevTerm = self.term(at: prevLogIndex), localPrevTerm == prevLogTerm else {
            // Our log cannot match at prevLogIndex: hint the last index that still might. (Index 0
            // always matches a well-formed message; a malformed one with a term at 0 gets hint 0.)
            let hint: LogIndex = prevLogIndex == .zero ? .zero : min(lastLogIndex, prevLogIndex.previous)
            send(.appendEntriesResponse(term: currentTerm, success: false, matchIndex: hint), to: from)
            return
        }
        var truncated = false
        for (offset, entry) in entries.enumerated() {
            precondition(entry.index.rawValue == prevLogIndex.rawValue + UInt64(offset) + 1,
                         "AppendEntries from \(from) has \(entry) at offset \(offset) after \(prevLogIndex)")
            if let existing = self.term(at: entry.index) {
                if existing == entry.term { continue }
                // Conflict: drop this entry and all that follow it (§5.3), then take the rest.
                precondition(entry.index > commitIndex,
                             "\(id) would truncate committed \(entry.index) (commit \(commitIndex)) for \(from)")
                log.removeSubrange((Int(entry.index.rawValue) - 1)...)
                truncated = true
            }
            let rest = Array(entries[offset...])
            log.append(contentsOf: rest)
            recordPersist(rest)
            if truncated && entry.index <= configurationIndex {
                recomputeConfiguration()
            } else if let newest = rest.last(where: { $0.kind == .configuration }) {
                adoptConfiguration(of: newest)
            }
            break
        }
        let lastNew = LogIndex(prevLogIndex.rawValue + UInt64(entries.count))
        let newCommit = min(leaderCommit, lastNew)
        if newCommit > commitIndex { setCommitIndex(newCommit) }
        send(.appendEntriesResponse(term: currentTerm, success: true, matchIndex: lastNew), to: from)
    }

    // MARK: - Output

    private mutating func setCommitIndex(_ index: LogIndex) {
        precondition(index >= commitIndex && index <= lastLogIndex,
                     "\(id) commit index \(commitIndex) -> \(index) with log end \(lastLogIndex)")
        commitIndex = index
    }

    private mutating func send(_ message: RaftMessage, to peer: HostID) {
        pending.messages.append(Envelope(to: peer, message: message))
    }

    /// Adds entries to the pending persist list, with the same overwrite-from-first-index rule the
    /// shell applies, so that several appends in one input collapse into one list.
    private mutating func recordPersist(_ entries: [LogEntry]) {
        guard let first = entries.first else { return }
        pending.entriesToPersist.removeAll { $0.index >= first.index }
        if let last = pending.entriesToPersist.last {
            precondition(last.index.next == first.index, "persist list would have a gap: \(last) then \(first)")
        }
        pending.entriesToPersist.append(contentsOf: entries)
    }

    private mutating func drain() -> Ready {
        let hard = hardState
        if hard != lastReportedHardState {
            precondition(hard.currentTerm >= lastReportedHardState.currentTerm,
                         "\(id) term went back from \(lastReportedHardState.currentTerm) to \(hard.currentTerm)")
            pending.hardState = hard
            lastReportedHardState = hard
        }
        let soft = softState
        if soft != lastReportedSoftState {
            pending.softState = soft
            lastReportedSoftState = soft
        }
        if commitIndex > lastApplied {
            pending.committedEntries = Array(log[Int(lastApplied.rawValue)..<Int(commitIndex.rawValue)])
            lastApplied = commitIndex
        }
        let ready = pending
        pending = Ready()
        return ready
    }
}
