// RaftInvariants: the cluster-wide safety properties of Raft (Figure 3 of the paper) as named
// checks over what an observer sees of every node. A simulator (or a debug shell that can see all
// hosts) feeds it each node's state after every step; it remembers history across steps, because
// several properties are about all time, not one instant.
//
// - Election Safety: at most one leader per term, ever.
// - Log Matching: if two logs hold an entry with the same index and term, the logs are identical
//   up to that index. Checked incrementally: the first time an (index, term) pair is seen, its
//   payload and its predecessor's term are recorded; every later sighting must agree. By
//   induction on the index that is equivalent to the pairwise property.
// - Leader Completeness: an entry committed in term t is in the log of every leader of a term
//   after t. Checked conservatively: an entry is tagged with the applying node's term when first
//   applied (at least the term it committed in), and every leader of a higher term must hold it.
// - State Machine Safety: no two nodes apply different entries at the same index, ever.
// - Monotonicity: a node's term never decreases, across restarts too (it is persistent); its
//   commit index never decreases within one incarnation and never exceeds its log end.
// - Check-quorum (a liveness bound, checked only when the observer gives a bound): a leader that
//   the network has cut off from a quorum for `isolatedLeaderBoundTicks` ticks or more no longer
//   leads. "Cut off for k ticks" means that the hosts it could exchange messages with at any
//   point in the last k ticks, with itself, are not a quorum. The observer says how long each
//   node has been cut off; it knows the network, this check does not.
import VoltModel

public struct InvariantViolation: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case electionSafety, logMatching, leaderCompleteness, stateMachineSafety, monotonicTerm, monotonicCommit,
             checkQuorum
    }
    public let kind: Kind
    public let detail: String
    public var description: String { "\(kind.rawValue): \(detail)" }
}

/// What an observer sees of one node at one instant.
public struct NodeObservation: Sendable {
    public var id: HostID
    public var role: Role
    public var term: Term
    public var commitIndex: LogIndex
    public var log: [LogEntry]
    /// Entries applied since the last observation (from `Ready.committedEntries`).
    public var newlyApplied: [LogEntry]
    /// True for the first observation after a (re)start: volatile state was reset.
    public var restarted: Bool
    /// The longest stretch of most recent ticks over which the hosts this node could exchange
    /// messages with, at any point in the stretch, do not form a quorum with it (0 while it can
    /// reach a quorum).
    public var ticksCutOffFromQuorum: Int

    public init(node: RaftNode, newlyApplied: [LogEntry], restarted: Bool, ticksCutOffFromQuorum: Int = 0) {
        id = node.id
        role = node.role
        term = node.currentTerm
        commitIndex = node.commitIndex
        log = node.log
        self.newlyApplied = newlyApplied
        self.restarted = restarted
        self.ticksCutOffFromQuorum = ticksCutOffFromQuorum
    }
}

public struct RaftInvariants: Sendable {
    private struct Sighting: Hashable, Sendable {
        let previousTerm: Term
        let kind: LogEntry.Kind
        let payload: [UInt8]
    }
    private var leaderOfTerm: [Term: HostID] = [:]
    private var sightings: [LogIndex: [Term: Sighting]] = [:]
    /// Every entry any node has applied, by position (index 1 first): nodes apply in index order
    /// from 1 in every incarnation, so the applied indices are always a contiguous prefix.
    public private(set) var appliedEntries: [LogEntry] = []
    /// For each applied entry, the applying node's term when first seen (at least its commit term).
    private var committedBy: [Term] = []
    /// (leader, term) → how many applied entries its log is already known to hold. A leader's log
    /// is append-only within its term, so a prefix once verified stays verified.
    private var leaderVerified: [LeaderTerm: Int] = [:]
    private struct LeaderTerm: Hashable, Sendable {
        let id: HostID
        let term: Term
    }
    private var lastTerm: [HostID: Term] = [:]
    private var lastCommit: [HostID: LogIndex] = [:]
    /// Highest log length seen per node, to check only entries new since the last look.
    private var checkedPrefix: [HostID: [LogEntry]] = [:]
    /// A leader cut off from a quorum this long must have stepped down; nil skips the check. An
    /// observer whose network may deliver later raises it (messages already sent still arrive).
    public var isolatedLeaderBoundTicks: Int?

    public init(isolatedLeaderBoundTicks: Int? = nil) {
        precondition(isolatedLeaderBoundTicks.map { $0 > 0 } ?? true,
                     "isolatedLeaderBoundTicks \(String(describing: isolatedLeaderBoundTicks)) must be positive")
        self.isolatedLeaderBoundTicks = isolatedLeaderBoundTicks
    }

    /// Checks every property against `nodes` (all live nodes, any order) and returns the
    /// violations, sorted by node then kind so that the report is deterministic.
    public mutating func check(_ nodes: [NodeObservation]) -> [InvariantViolation] {
        var violations: [InvariantViolation] = []
        for node in nodes.sorted(by: { $0.id < $1.id }) {
            checkMonotonic(node, &violations)
            checkElectionSafety(node, &violations)
            checkLogMatching(node, &violations)
            checkApplied(node, &violations)
        }
        for node in nodes.sorted(by: { $0.id < $1.id }) where node.role == .leader {
            checkLeaderCompleteness(node, &violations)
            checkIsolatedLeader(node, &violations)
        }
        return violations
    }

    private func checkIsolatedLeader(_ node: NodeObservation, _ violations: inout [InvariantViolation]) {
        guard let bound = isolatedLeaderBoundTicks, node.ticksCutOffFromQuorum >= bound else { return }
        violations.append(.init(kind: .checkQuorum,
                                detail: "\(node.id) still leads \(node.term) after \(node.ticksCutOffFromQuorum) ticks cut off from a quorum (bound \(bound))"))
    }

    private mutating func checkMonotonic(_ node: NodeObservation, _ violations: inout [InvariantViolation]) {
        if let previous = lastTerm[node.id], node.term < previous {
            violations.append(.init(kind: .monotonicTerm, detail: "\(node.id) went from \(previous) to \(node.term)"))
        }
        lastTerm[node.id] = node.term
        if !node.restarted, let previous = lastCommit[node.id], node.commitIndex < previous {
            violations.append(.init(kind: .monotonicCommit, detail: "\(node.id) commit went from \(previous) to \(node.commitIndex)"))
        }
        if node.commitIndex.rawValue > UInt64(node.log.count) {
            violations.append(.init(kind: .monotonicCommit,
                                    detail: "\(node.id) commit \(node.commitIndex) beyond log end \(node.log.count)"))
        }
        lastCommit[node.id] = node.commitIndex
    }

    private mutating func checkElectionSafety(_ node: NodeObservation, _ violations: inout [InvariantViolation]) {
        guard node.role == .leader else { return }
        if let other = leaderOfTerm[node.term], other != node.id {
            violations.append(.init(kind: .electionSafety, detail: "\(other) and \(node.id) both led \(node.term)"))
        } else {
            leaderOfTerm[node.term] = node.id
        }
    }

    private mutating func checkLogMatching(_ node: NodeObservation, _ violations: inout [InvariantViolation]) {
        // Skip the prefix that is unchanged since the last look at this node.
        let previous = checkedPrefix[node.id] ?? []
        var start = 0
        let common = min(previous.count, node.log.count)
        while start < common && previous[start] == node.log[start] { start += 1 }
        for position in start..<node.log.count {
            let entry = node.log[position]
            if entry.index.rawValue != UInt64(position + 1) {
                violations.append(.init(kind: .logMatching, detail: "\(node.id) holds \(entry) at position \(position)"))
                continue
            }
            let sighting = Sighting(previousTerm: position == 0 ? .zero : node.log[position - 1].term,
                                    kind: entry.kind, payload: entry.payload)
            if let known = sightings[entry.index]?[entry.term] {
                if known != sighting {
                    violations.append(.init(kind: .logMatching,
                                            detail: "\(node.id) holds \(entry) after term \(sighting.previousTerm.rawValue) but another log holds a different \(entry) after term \(known.previousTerm.rawValue)"))
                }
            } else {
                sightings[entry.index, default: [:]][entry.term] = sighting
            }
        }
        checkedPrefix[node.id] = node.log
    }

    private mutating func checkApplied(_ node: NodeObservation, _ violations: inout [InvariantViolation]) {
        for entry in node.newlyApplied {
            let position = Int(entry.index.rawValue) - 1
            if position < appliedEntries.count {
                if appliedEntries[position] != entry {
                    violations.append(.init(kind: .stateMachineSafety,
                                            detail: "\(node.id) applied \(entry) where \(appliedEntries[position]) was applied before"))
                }
            } else if position == appliedEntries.count {
                appliedEntries.append(entry)
                committedBy.append(node.term)
            } else {
                violations.append(.init(kind: .stateMachineSafety,
                                        detail: "\(node.id) applied \(entry) while only \(appliedEntries.count) entries were ever applied"))
            }
        }
    }

    private mutating func checkLeaderCompleteness(_ node: NodeObservation, _ violations: inout [InvariantViolation]) {
        let key = LeaderTerm(id: node.id, term: node.term)
        var position = leaderVerified[key] ?? 0
        while position < appliedEntries.count {
            let entry = appliedEntries[position]
            // Entries committed in this leader's term or later are not its predecessors' to hand it.
            if node.term > committedBy[position], position >= node.log.count || node.log[position] != entry {
                violations.append(.init(kind: .leaderCompleteness,
                                        detail: "leader \(node.id) of \(node.term) lacks committed \(entry) (committed by \(committedBy[position]))"))
                return
            }
            position += 1
        }
        leaderVerified[key] = position
    }
}
