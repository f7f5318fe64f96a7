// VoltDB's exact-half tie-break as a quorum rule: the table for small clusters, the safety
// property (any two quorums intersect) and monotonicity checked over every subset, and the index
// a leader may commit.
import Consensus
import Testing
import VoltModel

@Suite struct QuorumRuleTests {
    static func hosts(_ ids: Int32...) -> [HostID] { ids.map(HostID.init) }

    @Test func oddClustersNeedAStrictMajority() {
        let rule = QuorumRule(members: Self.hosts(1, 2, 3))
        #expect(!rule.isQuorum(Self.hosts(1)))
        #expect(rule.isQuorum(Self.hosts(1, 2)))
        #expect(rule.isQuorum(Self.hosts(2, 3)))
        let five = QuorumRule(members: Self.hosts(5, 4, 3, 2, 1))
        #expect(five.members == Self.hosts(1, 2, 3, 4, 5))
        #expect(!five.isQuorum(Self.hosts(1, 2)))
        #expect(five.isQuorum(Self.hosts(3, 4, 5)))
    }

    @Test func anExactHalfIsAQuorumOnlyWithTheLowestMember() {
        let four = QuorumRule(members: Self.hosts(3, 9, 4, 7))
        #expect(four.tieBreaker == HostID(3))
        #expect(four.isQuorum(Self.hosts(3, 9)))
        #expect(four.isQuorum(Self.hosts(7, 3)))
        #expect(!four.isQuorum(Self.hosts(4, 7)))
        #expect(!four.isQuorum(Self.hosts(4, 9)))
        #expect(four.isQuorum(Self.hosts(4, 7, 9)))
        #expect(!four.isQuorum(Self.hosts(3)))
        let two = QuorumRule(members: Self.hosts(1, 2))
        #expect(two.isQuorum(Self.hosts(1)), "the lowest of two hosts is a quorum alone")
        #expect(!two.isQuorum(Self.hosts(2)))
        #expect(QuorumRule(members: Self.hosts(8)).isQuorum(Self.hosts(8)))
    }

    @Test func nonMembersAndDuplicatesDoNotCount() {
        let four = QuorumRule(members: Self.hosts(1, 2, 3, 4))
        #expect(!four.isQuorum(Self.hosts(3, 3, 4, 4)))
        #expect(!four.isQuorum(Self.hosts(2, 3, 5, 6, 7)))
        #expect(!four.isQuorum([]))
    }

    /// The safety argument in QuorumRule.swift, checked by brute force: for every member count up
    /// to 8, any two quorums share a member, and a superset of a quorum is a quorum.
    @Test(arguments: 1...8) func everyTwoQuorumsIntersectAndSupersetsStayQuorums(memberCount: Int) {
        let members = (1...memberCount).map { HostID(Int32($0 * 10)) }
        let rule = QuorumRule(members: members)
        let subsets = (0..<(1 << memberCount)).map { mask in
            Set(members.indices.filter { mask & (1 << $0) != 0 }.map { members[$0] })
        }
        let quorums = subsets.filter { rule.isQuorum($0) }
        for a in quorums {
            for b in quorums { #expect(!a.isDisjoint(with: b), "\(a.sorted()) and \(b.sorted()) are disjoint quorums") }
        }
        for s in subsets where rule.isQuorum(s) {
            for extra in members { #expect(rule.isQuorum(s.union([extra]))) }
        }
        // Even member counts gain exactly the halves that hold the lowest member.
        let halves = subsets.filter { 2 * $0.count == memberCount }
        #expect(halves.filter { rule.isQuorum($0) }.allSatisfy { $0.contains(members[0]) })
        #expect(halves.filter { rule.isQuorum($0) }.count == halves.filter { $0.contains(members[0]) }.count)
    }

    @Test func theCommittableIndexIsTheHighestAQuorumHolds() {
        let i = { (n: UInt64) in LogIndex(n) }
        let four = QuorumRule(members: Self.hosts(1, 2, 3, 4))
        // Hosts 1 and 2 (an exact half with the lowest) hold 7; 3 and 4 hold less.
        #expect(four.highestIndexHeldByQuorum([HostID(1): i(9), HostID(2): i(7), HostID(3): i(2), HostID(4): i(1)]) == i(7))
        // Hosts 3 and 4 hold 9, but without host 1 that half is not a quorum: only 2 is held by 3 hosts.
        #expect(four.highestIndexHeldByQuorum([HostID(1): i(2), HostID(2): i(1), HostID(3): i(9), HostID(4): i(9)]) == i(2))
        let three = QuorumRule(members: Self.hosts(1, 2, 3))
        #expect(three.highestIndexHeldByQuorum([HostID(1): i(5), HostID(2): i(5), HostID(3): i(5)]) == i(5))
        #expect(three.highestIndexHeldByQuorum([HostID(1): i(5)]) == .zero, "a missing member holds nothing")
        #expect(QuorumRule(members: Self.hosts(1, 2)).highestIndexHeldByQuorum([HostID(1): i(4), HostID(2): i(0)]) == i(4))
    }
}
