// QuorumRule: which sets of members may decide, for every decision the metadata log counts (votes,
// pre-votes, commit advancement, a leader's check-quorum).
//
// The rule is VoltDB's exact-half tie-break over a fixed member set of n hosts: a set S of members
// is a quorum iff
//     2|S| > n                                  (a strict majority), or
//     2|S| == n and S contains min(members)     (exactly half, holding the lowest member id).
// With n odd the second case never applies and this is plain majority. With n even it lets one
// side of an even split keep going, where plain majority would stop the whole cluster; VoltDB
// makes the same choice when a network partition cuts its hosts in half (the side holding the
// lowest host id survives). Two hosts: the lower one alone is a quorum, the higher one is not.
//
// Safety: any two quorums A and B intersect, which is all Raft needs (one vote per term then
// gives one leader per term, and a committed entry is on some member of every later quorum).
// Proof. If A and B were disjoint, |A| + |B| <= n. Each quorum has 2|S| >= n, so
// 2|A| + 2|B| <= 2n forces 2|A| == n and 2|B| == n: neither is a strict majority, so both
// qualify by the second clause and both contain min(members). That host is in A ∩ B, so they
// were not disjoint after all. (The rule is also monotone: a superset of a quorum is a quorum.
// A superset T of S has 2|T| >= 2|S| >= n, and 2|T| == n only if T == S.)
//
// The cost is availability, not safety: if the lowest host is down, a surviving exact half
// without it cannot decide, exactly as under plain majority.
import VoltModel

public struct QuorumRule: Hashable, Sendable {
    /// Every voting member, in ascending order, without duplicates.
    public let members: [HostID]

    public init(members: [HostID]) {
        let sorted = Array(Set(members)).sorted()
        precondition(!sorted.isEmpty, "a quorum rule needs at least one member")
        self.members = sorted
    }

    /// The member whose presence decides an exact half: the lowest member id.
    public var tieBreaker: HostID { members[0] }

    /// Whether `hosts` (non-members are ignored, duplicates counted once) is a quorum.
    public func isQuorum(_ hosts: some Sequence<HostID>) -> Bool {
        let present = Set(hosts).filter { members.contains($0) }
        let twice = 2 * present.count
        return twice > members.count || (twice == members.count && present.contains(tieBreaker))
    }

    /// The highest index that a quorum of members holds, given each member's highest matching
    /// index (a member missing from `matchIndex` holds nothing). This is the index a leader may
    /// commit, provided its entry there is of the leader's own term (Raft §5.4.2).
    public func highestIndexHeldByQuorum(_ matchIndex: [HostID: LogIndex]) -> LogIndex {
        // The set holding index i only grows as i falls, and the rule is monotone, so the first
        // candidate from the top whose holders form a quorum is the answer.
        let candidates = Set(members.map { matchIndex[$0] ?? .zero }).sorted(by: >)
        for index in candidates where isQuorum(members.filter { (matchIndex[$0] ?? .zero) >= index }) {
            return index
        }
        return .zero
    }
}
