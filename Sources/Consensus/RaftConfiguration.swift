// RaftConfiguration: who takes part in the metadata log, and which sets of hosts may decide.
//
// A configuration names three kinds of member:
// - voters: they vote in elections and their acknowledgements commit entries;
// - outgoing voters: only while a change is in progress (a joint configuration, Raft §6): the
//   voters of the configuration being left. Every decision then needs a quorum of the voters AND a
//   quorum of the outgoing voters, so it is valid under both the old and the new configuration;
// - learners: they receive the log like anyone else but never vote, never campaign and are never
//   counted (Raft thesis §4.2.1: a new server catches up before it can affect availability).
// A host is in at most one of voters and learners; an outgoing voter may be a voter too (it stays)
// or not (it is leaving). Each voting set is counted with `QuorumRule`, VoltDB's exact-half
// tie-break, on its own.
//
// Why joint and never one voter at a time. With plain majority, adding or removing one voter is
// safe because any majority of n and any majority of n ± 1 intersect. With the exact-half
// tie-break that is false: {0, 1} is a quorum of {0, 1, 2, 3} (an exact half holding the lowest
// id) and {2, 3, 4} is a quorum of {0, 1, 2, 3, 4} (a strict majority), and they are disjoint, so
// two coordinators could be elected in one term during the change. A joint quorum is a quorum of
// both sets, and every quorum of either set intersects it (QuorumRule's proof, applied per set),
// so a joint step is safe whatever the two sets are. `RaftNode` therefore changes voters only by
// entering a joint configuration and then leaving it.
//
// Encoding (the payload of a configuration log entry): three host lists, voters, outgoing,
// learners, each a u32 count and that many i32 ids, ascending and distinct. The codec refuses any
// other shape, so a decoded configuration always satisfies the invariants below.
//
// Invariants (preconditions): at least one voter; lists ascending without duplicates; learners
// disjoint from voters and outgoing voters.
import VoltModel

public struct RaftConfiguration: Hashable, Sendable, CustomStringConvertible {
    /// The voters, ascending.
    public let voters: [HostID]
    /// The voters of the configuration being left, ascending; empty unless joint.
    public let outgoing: [HostID]
    /// Non-voting members, ascending.
    public let learners: [HostID]

    /// A configuration; lists are sorted here, and must be free of duplicates and overlaps.
    public init(voters: [HostID], outgoing: [HostID] = [], learners: [HostID] = []) {
        let v = voters.sorted(), o = outgoing.sorted(), l = learners.sorted()
        precondition(!v.isEmpty, "a configuration needs at least one voter")
        precondition(Set(v).count == v.count && Set(o).count == o.count && Set(l).count == l.count,
                     "duplicate host in configuration voters \(v) outgoing \(o) learners \(l)")
        precondition(Set(l).isDisjoint(with: v) && Set(l).isDisjoint(with: o),
                     "learners \(l) overlap voters \(v) or outgoing \(o)")
        self.voters = v
        self.outgoing = o
        self.learners = l
    }

    /// Whether a change of voters is in progress: decisions need both voting sets.
    public var isJoint: Bool { !outgoing.isEmpty }

    /// Every host that votes in this configuration (voters and outgoing voters), ascending.
    public var votingMembers: [HostID] { Array(Set(voters).union(outgoing)).sorted() }

    /// Every host that receives the log, ascending.
    public var members: [HostID] { Array(Set(voters).union(outgoing).union(learners)).sorted() }

    public func isVoter(_ host: HostID) -> Bool { voters.contains(host) || outgoing.contains(host) }

    public func contains(_ host: HostID) -> Bool { isVoter(host) || learners.contains(host) }

    /// Whether `hosts` may decide: a quorum of the voters, and of the outgoing voters when joint.
    public func isQuorum(_ hosts: some Sequence<HostID>) -> Bool {
        let present = Array(hosts)
        return QuorumRule(members: voters).isQuorum(present)
            && (outgoing.isEmpty || QuorumRule(members: outgoing).isQuorum(present))
    }

    /// The highest index that a quorum holds, by `isQuorum`: the lower of the two sets' answers
    /// when joint.
    public func highestIndexHeldByQuorum(_ matchIndex: [HostID: LogIndex]) -> LogIndex {
        let incoming = QuorumRule(members: voters).highestIndexHeldByQuorum(matchIndex)
        guard !outgoing.isEmpty else { return incoming }
        return min(incoming, QuorumRule(members: outgoing).highestIndexHeldByQuorum(matchIndex))
    }

    /// The configuration that ends a joint one: the incoming voters alone, the same learners.
    public var leavingJoint: RaftConfiguration {
        RaftConfiguration(voters: voters, learners: learners)
    }

    public var description: String {
        func list(_ hosts: [HostID]) -> String { hosts.map { String($0.rawValue) }.joined(separator: ",") }
        var text = "voters {\(list(voters))}"
        if isJoint { text += " joint with {\(list(outgoing))}" }
        if !learners.isEmpty { text += " learners {\(list(learners))}" }
        return text
    }
}

/// Why a membership proposal was not put in the log.
public enum MembershipRefusal: Hashable, Sendable, CustomStringConvertible {
    /// Only the leader takes proposals.
    case notLeader(knownLeader: HostID?)
    /// A change is in progress (a configuration entry is not committed yet, the configuration is
    /// joint, or this leader has not yet committed an entry of its own term); retry later.
    case changeInProgress
    /// The requested configuration is not a valid one (no voters, a host both voter and learner).
    case invalid(String)
    /// The requested configuration is the current one.
    case unchanged

    public var description: String {
        switch self {
        case .notLeader(let leader): "not the leader (leader: \(leader.map { "host \($0.rawValue)" } ?? "unknown"))"
        case .changeInProgress: "a membership change is in progress"
        case .invalid(let why): "invalid membership: \(why)"
        case .unchanged: "the membership is already as requested"
        }
    }
}

// MARK: - Encoding

extension RaftConfiguration {
    /// The configuration as a configuration entry's payload (see the header).
    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        for list in [voters, outgoing, learners] {
            writer.count(list.count)
            for host in list { writer.u32(UInt32(bitPattern: host.rawValue)) }
        }
        return writer.bytes
    }

    /// Decodes exactly one configuration filling `bytes`; anything that would break an invariant is
    /// an error, never a trap.
    public init(decoding bytes: [UInt8]) throws(RaftCodecError) {
        var reader = ByteReader(bytes)
        var lists: [[HostID]] = []
        for name in ["voters", "outgoing", "learners"] {
            let count = Int(try reader.u32())
            try reader.need(count.multipliedReportingOverflow(by: 4).overflow ? Int.max : count * 4)
            var hosts: [HostID] = []
            hosts.reserveCapacity(count)
            for _ in 0..<count {
                let host = HostID(Int32(bitPattern: try reader.u32()))
                if let last = hosts.last, last >= host {
                    throw .invalidConfiguration("\(name) are not strictly ascending at host \(host.rawValue)")
                }
                hosts.append(host)
            }
            lists.append(hosts)
        }
        try reader.expectEnd()
        if lists[0].isEmpty { throw .invalidConfiguration("no voters") }
        if let both = Set(lists[2]).intersection(lists[0] + lists[1]).min() {
            throw .invalidConfiguration("host \(both.rawValue) is both a learner and a voter")
        }
        self.init(voters: lists[0], outgoing: lists[1], learners: lists[2])
    }
}
