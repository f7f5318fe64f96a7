// Value types of the metadata log's consensus core: terms, log positions, entries, the durable
// state, the messages hosts exchange and the `Ready` batch every input returns.
//
// Term vs Epoch: we define our own `Term` rather than reusing `VoltModel.Epoch`. A Raft term moves
// on every election attempt, including failed ones, while `Epoch` is the version of the cluster
// metadata, which must move only when a metadata change commits. Tying the two together would make
// a partitioned follower's failed campaigns look like metadata changes. The metadata layer above
// this core will derive its `Epoch` from the index of the committed entry that produced it.
import VoltModel

/// A Raft term: the logical clock of leadership. Starts at 0; the first election is term 1.
public struct Term: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: Term, b: Term) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "term \(rawValue)" }
    public static let zero = Term(0)
    public var next: Term { Term(rawValue + 1) }
}

/// A position in the replicated log. The first entry is index 1; index 0 is the empty prefix.
public struct LogIndex: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: LogIndex, b: LogIndex) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "index \(rawValue)" }
    public static let zero = LogIndex(0)
    public var next: LogIndex { LogIndex(rawValue + 1) }
    public var previous: LogIndex {
        precondition(rawValue > 0, "index 0 has no predecessor")
        return LogIndex(rawValue - 1)
    }
}

/// One entry of the replicated log.
public struct LogEntry: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// A proposal from the layer above; `payload` is opaque to consensus.
        case command
        /// The empty entry a new leader appends so that it can commit entries of earlier terms
        /// (Raft §5.4.2). The state machine skips it.
        case leaderNoop
        /// A membership change: `payload` is the encoded `RaftConfiguration` in force from this
        /// entry on (RaftConfiguration.swift). Consensus acts on it; the state machine may read it.
        case configuration
    }
    public let term: Term
    public let index: LogIndex
    public let kind: Kind
    public let payload: [UInt8]
    public init(term: Term, index: LogIndex, kind: Kind = .command, payload: [UInt8]) {
        self.term = term
        self.index = index
        self.kind = kind
        self.payload = payload
    }
    public var description: String {
        let suffix = switch kind {
        case .command: ""
        case .leaderNoop: " noop"
        case .configuration: " config"
        }
        return "(\(index.rawValue)@\(term.rawValue)\(suffix))"
    }
}

/// The part of a node's state that must reach stable storage before any message it caused is sent.
public struct HardState: Hashable, Sendable {
    public var currentTerm: Term
    public var votedFor: HostID?
    public init(currentTerm: Term = .zero, votedFor: HostID? = nil) {
        self.currentTerm = currentTerm
        self.votedFor = votedFor
    }
}

/// Everything a node needs to restart: its hard state and its whole log.
public struct PersistentState: Hashable, Sendable {
    public var hardState: HardState
    public var log: [LogEntry]
    public init(hardState: HardState = HardState(), log: [LogEntry] = []) {
        self.hardState = hardState
        self.log = log
    }

    /// Writes a `Ready`'s durable part the way a disk would: the hard state replaces the old one;
    /// `entriesToPersist` overwrites the log from its first index on (dropping any later entries).
    public mutating func persist(_ ready: Ready) {
        if let hard = ready.hardState { hardState = hard }
        guard let first = ready.entriesToPersist.first else { return }
        let keep = Int(first.index.rawValue) - 1
        precondition(keep <= log.count, "persisting \(first) would leave a gap after \(log.count) entries")
        log.removeSubrange(keep...)
        log.append(contentsOf: ready.entriesToPersist)
    }
}

public enum Role: Hashable, Sendable, CustomStringConvertible {
    /// `preCandidate` is a follower whose election timer ran out and that is asking, without
    /// raising its term, whether a quorum would vote for it (pre-vote, Raft thesis §9.6).
    case follower, preCandidate, candidate, leader
    public var description: String {
        switch self {
        case .follower: "follower"
        case .preCandidate: "pre-candidate"
        case .candidate: "candidate"
        case .leader: "leader"
        }
    }
}

/// What the shell may want to log or expose: the role, the term and the known leader.
public struct SoftState: Hashable, Sendable {
    public var role: Role
    public var term: Term
    public var leader: HostID?
    public init(role: Role, term: Term, leader: HostID?) {
        self.role = role
        self.term = term
        self.leader = leader
    }
}

public enum RaftMessage: Hashable, Sendable {
    /// Pre-vote (thesis §9.6): would you vote for me in `term` (the sender's term + 1)? Asking
    /// changes no one's term or vote.
    case preVote(term: Term, lastLogIndex: LogIndex, lastLogTerm: Term)
    /// A grant echoes the `term` asked about; a refusal carries the responder's own term, so that a
    /// pre-candidate that fell behind learns the current one.
    case preVoteResponse(term: Term, granted: Bool)
    case requestVote(term: Term, lastLogIndex: LogIndex, lastLogTerm: Term)
    case requestVoteResponse(term: Term, granted: Bool)
    /// `entries` follow `prevLogIndex`; an empty list is a heartbeat.
    case appendEntries(term: Term, prevLogIndex: LogIndex, prevLogTerm: Term, entries: [LogEntry],
                       leaderCommit: LogIndex)
    /// On success `matchIndex` is the last index known to match the leader's log. On failure it is
    /// a hint: the follower's log cannot match beyond it, so the leader retries from there.
    case appendEntriesResponse(term: Term, success: Bool, matchIndex: LogIndex)

    /// A pre-vote request and a granted pre-vote response carry the term of an election that may
    /// never happen: receiving one must not move the receiver's term.
    var isAboutAFutureTerm: Bool {
        switch self {
        case .preVote: true
        case .preVoteResponse(_, let granted): granted
        default: false
        }
    }

    public var term: Term {
        switch self {
        case .preVote(let term, _, _), .preVoteResponse(let term, _),
             .requestVote(let term, _, _), .requestVoteResponse(let term, _),
             .appendEntries(let term, _, _, _, _), .appendEntriesResponse(let term, _, _):
            term
        }
    }
}

/// A message and the host it is for.
public struct Envelope: Hashable, Sendable {
    public let to: HostID
    public let message: RaftMessage
    public init(to: HostID, message: RaftMessage) {
        self.to = to
        self.message = message
    }
}

/// The output of one input. The shell must handle it in this order (etcd/raft's Ready contract):
/// 1. persist `hardState` and `entriesToPersist` (see `PersistentState.persist`) durably;
/// 2. send `messages` (any order; the network may reorder them anyway);
/// 3. apply `committedEntries` to the state machine, in order.
/// The node assumes all three are done before its next input.
public struct Ready: Hashable, Sendable {
    public var hardState: HardState?
    /// Overwrite the log from `entriesToPersist[0].index` on with these entries.
    public var entriesToPersist: [LogEntry] = []
    public var messages: [Envelope] = []
    public var committedEntries: [LogEntry] = []
    /// Set when the role, term or known leader changed during this input.
    public var softState: SoftState?
    public init() {}
    public var isEmpty: Bool {
        hardState == nil && entriesToPersist.isEmpty && messages.isEmpty && committedEntries.isEmpty
            && softState == nil
    }
}

public enum ProposeResult: Hashable, Sendable {
    /// The payload is in the leader's log at `index` in `term`. It is committed once it appears in
    /// `committedEntries` with that term; a later leader may overwrite it, in which case it is not.
    case accepted(index: LogIndex, term: Term)
    /// Only the leader takes proposals. `knownLeader` is whom this node last heard from, if any.
    case notLeader(knownLeader: HostID?)
}

public enum MembershipResult: Hashable, Sendable {
    /// The configuration entry is in the leader's log at `index` in `term`; it is in force on the
    /// leader from now on and committed once it appears in `committedEntries`. A change of voters
    /// is complete when the entry that leaves the joint configuration commits.
    case accepted(index: LogIndex, term: Term)
    case refused(MembershipRefusal)
}
