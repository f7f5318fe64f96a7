// The placement planner: VoltDB's arithmetic table with its error messages, the named checks over
// every valid small shape (with and without racks), rack spreading, determinism under shuffled
// input, joins of K+1 hosts, leader failover with and without lost partitions, and each check
// catching the broken layout it exists for.
import Testing
import Rebalancer
import VoltModel

private func hosts(_ ids: ClosedRange<Int32>, group: (Int32) -> String? = { _ in nil }) -> [HostSpec] {
    ids.map { HostSpec(id: HostID($0), placementGroup: group($0)) }
}

private func plan(_ hostCount: Int32, sph: Int, k: Int) throws -> ClusterLayout {
    try planInitialLayout(hosts: hosts(0...(hostCount - 1)), sitesPerHost: sph, kFactor: k)
}

/// One (hosts, sitesperhost, K) combination.
private struct Shape: Sendable {
    let hosts: Int32
    let sph: Int
    let k: Int
}

/// Every (hosts, sitesperhost, K) in the sweep whose arithmetic is valid.
private let validShapes: [Shape] = {
    var shapes: [Shape] = []
    for h in 1...12 {
        for s in 1...8 {
            for k in 0...2 where h >= k + 1 && (h * s) % (k + 1) == 0 {
                shapes.append(Shape(hosts: Int32(h), sph: s, k: k))
            }
        }
    }
    return shapes
}()

@Suite struct PlacementArithmeticTests {
    @Test(arguments: [
        (1, 8, 0, 8), (3, 8, 1, 12), (3, 8, 2, 8), (2, 2, 1, 2), (5, 4, 1, 10),
        (6, 3, 2, 6), (4, 1, 1, 2), (12, 8, 2, 32),
    ])
    func partitionCountMatchesVoltDB(hosts: Int, sph: Int, k: Int, expected: Int) throws {
        #expect(try partitionCount(hostCount: hosts, sitesPerHost: sph, kFactor: k) == expected)
        let layout = try plan(Int32(hosts), sph: sph, k: k)
        #expect(layout.partitions.count == expected)
    }

    @Test(arguments: [
        (0, 8, 0, PlacementError.noHosts),
        (3, 0, 1, .sitesPerHostOutOfRange(0)),
        (3, 65, 1, .sitesPerHostOutOfRange(65)),
        (3, 8, -1, .kFactorOutOfRange(-1)),
        (3, 8, 16, .kFactorOutOfRange(16)),
        (1, 8, 1, .notEnoughHosts(hostCount: 1, kFactor: 1)),
        (2, 4, 2, .notEnoughHosts(hostCount: 2, kFactor: 2)),
        (3, 1, 1, .sitesNotDivisible(hostCount: 3, sitesPerHost: 1, kFactor: 1)),
        (4, 2, 2, .sitesNotDivisible(hostCount: 4, sitesPerHost: 2, kFactor: 2)),
    ])
    func invalidShapesThrow(hosts: Int, sph: Int, k: Int, expected: PlacementError) {
        #expect(throws: expected) { try partitionCount(hostCount: hosts, sitesPerHost: sph, kFactor: k) }
        let specs = (0..<hosts).map { HostSpec(id: HostID(Int32($0))) }
        #expect(throws: expected) { try planInitialLayout(hosts: specs, sitesPerHost: sph, kFactor: k) }
    }

    @Test func messagesSayWhatIsWrongAndWhatToDo() {
        #expect(PlacementError.notEnoughHosts(hostCount: 1, kFactor: 1).description
            == "Not enough nodes to ensure K-Safety: 2 servers required for K-safety=1, 1 given. Start more hosts or lower kfactor.")
        #expect(PlacementError.sitesNotDivisible(hostCount: 3, sitesPerHost: 1, kFactor: 1).description
            == "Total number of sites is not divisible by the number of copies of the database: 3 hosts × 1 sitesperhost = 3 sites is not a multiple of k-factor+1 = 2. Change the host count or sitesperhost.")
        #expect(PlacementError.sitesPerHostOutOfRange(0).description
            == "The number of sites per host must be between 1 and 64, not 0. Fix <cluster sitesperhost> in deployment.xml.")
        #expect(PlacementError.joinHostCount(given: 1, kFactor: 1).description
            == "A join adds exactly K+1 = 2 hosts at a time (K-safety=1), not 1. Start 2 new hosts together.")
    }

    @Test func duplicateHostIDsAreRejected() {
        let specs = [HostSpec(id: HostID(1)), HostSpec(id: HostID(2)), HostSpec(id: HostID(1))]
        #expect(throws: PlacementError.duplicateHost(HostID(1))) {
            try planInitialLayout(hosts: specs, sitesPerHost: 2, kFactor: 1)
        }
    }
}

@Suite struct PlacementPropertyTests {
    @Test func everyValidShapePassesEveryCheck() throws {
        #expect(validShapes.count > 100)
        for shape in validShapes {
            let layout = try plan(shape.hosts, sph: shape.sph, k: shape.k)
            let violations = verify(layout: layout)
            #expect(violations.isEmpty, "hosts \(shape.hosts) sph \(shape.sph) K \(shape.k): \(violations)")
            #expect(layout.partitions.count == Int(shape.hosts) * shape.sph / (shape.k + 1))
            #expect(layout.hosts.allSatisfy { $0.siteCount == shape.sph })
        }
    }

    /// Racks assigned round-robin (host id mod groups), so groups are balanced whenever the host
    /// count is a multiple of the group count; the check binds there and is skipped otherwise.
    @Test(arguments: 1...4)
    func everyValidShapeSpreadsAcrossRacks(groups: Int32) throws {
        for shape in validShapes {
            let specs = hosts(0...(shape.hosts - 1)) { "rack\($0 % groups)" }
            let layout = try planInitialLayout(hosts: specs, sitesPerHost: shape.sph, kFactor: shape.k)
            let violations = verify(layout: layout)
            #expect(violations.isEmpty, "hosts \(shape.hosts) sph \(shape.sph) K \(shape.k) groups \(groups): \(violations)")
        }
    }

    @Test(arguments: [(30, 64, 2), (48, 16, 15), (64, 8, 3)])
    func largeShapesPassEveryCheck(hostCount: Int32, sph: Int, k: Int) throws {
        let specs = hosts(0...(hostCount - 1)) { "rack\($0 % 3)" }
        let layout = try planInitialLayout(hosts: specs, sitesPerHost: sph, kFactor: k)
        #expect(layout.partitions.count == Int(hostCount) * sph / (k + 1))
        #expect(verify(layout: layout).isEmpty)
    }

    @Test func leadersAreSpreadWithinCeilingOfPartitionsOverHosts() throws {
        // 3 hosts × 8 sites, K=1: 12 partitions, 4 leaders each.
        let layout = try plan(3, sph: 8, k: 1)
        #expect(layout.hostIDs.map { layout.partitionsLed(by: $0).count } == [4, 4, 4])
        // 5 hosts × 1 site, K=4: one partition, one leader.
        let single = try plan(5, sph: 1, k: 4)
        #expect(single.partitions.count == 1 && single.partitions[0].replicas.count == 5)
    }

    @Test func smallLayoutIsExactlyAsPlanned() throws {
        // 3 hosts × 2 sites, K=1: 3 partitions over the three pairs, one leader each.
        let layout = try plan(3, sph: 2, k: 1)
        #expect(layout.partitions.map(\.replicas) == [
            [HostID(0), HostID(1)], [HostID(0), HostID(2)], [HostID(1), HostID(2)],
        ])
        #expect(Set(layout.partitions.map(\.leader)).count == 3)
    }
}

@Suite struct PlacementGroupTests {
    /// Racks of uneven sizes cannot always be spread (VoltDB warns about them), but they must
    /// still give a sound layout: every check except rack spreading holds.
    @Test func unevenRacksStillGiveSoundLayouts() throws {
        var rng = SeededShuffle(seed: 0xACE)
        for shape in validShapes {
            for _ in 0..<3 {
                let racks = Int32.random(in: 1...4, using: &rng)
                let specs = hosts(0...(shape.hosts - 1)) { _ in "rack\(Int32.random(in: 0..<racks, using: &rng))" }
                let layout = try planInitialLayout(hosts: specs, sitesPerHost: shape.sph, kFactor: shape.k)
                var checks = Set(PlacementCheck.allCases)
                checks.remove(.groupSpreading)
                let violations = verify(layout: layout, checks: checks)
                #expect(violations.isEmpty, "hosts \(shape.hosts) sph \(shape.sph) K \(shape.k) \(specs): \(violations)")
            }
        }
    }

    @Test func joiningHostsInTwoRacksSpreadTheNewPartitions() throws {
        let old = try planInitialLayout(hosts: hosts(0...3) { "rack\($0 % 2)" }, sitesPerHost: 4, kFactor: 1)
        let joined = try planJoin(layout: old, newHosts: [HostSpec(id: HostID(9), placementGroup: "rack1"),
                                                          HostSpec(id: HostID(8), placementGroup: "rack0")],
                                  sitesPerHost: 4, kFactor: 1)
        #expect(verify(layout: joined).isEmpty)
        for p in joined.partitions.dropFirst(old.partitions.count) {
            #expect(p.replicas == [HostID(8), HostID(9)])
        }
    }

    @Test func twoRacksOfThreeWithKOneSpanBothRacks() throws {
        let specs = hosts(1...6) { $0 <= 3 ? "rackA" : "rackB" }
        for sph in 1...8 {
            let layout = try planInitialLayout(hosts: specs, sitesPerHost: sph, kFactor: 1)
            #expect(verify(layout: layout).isEmpty)
            for p in layout.partitions {
                let racks = Set(p.replicas.map { layout.host($0)!.placementGroup })
                #expect(racks == ["rackA", "rackB"], "sph \(sph): \(p)")
            }
        }
    }

    @Test func threeRacksWithKTwoPutOneReplicaInEachRack() throws {
        let specs = hosts(0...8) { "rack\($0 / 3)" }
        let layout = try planInitialLayout(hosts: specs, sitesPerHost: 4, kFactor: 2)
        for p in layout.partitions {
            #expect(Set(p.replicas.map { layout.host($0)!.placementGroup }).count == 3, "\(p)")
        }
    }

    @Test func defaultGroupIsVoltDBsZero() throws {
        let layout = try plan(2, sph: 1, k: 1)
        #expect(layout.hosts.allSatisfy { $0.placementGroup == "0" })
    }
}

@Suite struct PlacementDeterminismTests {
    @Test func shuffledInputGivesTheSameLayout() throws {
        var rng = SeededShuffle(seed: 0x5EED)
        for (count, sph, k) in [(6, 4, 1), (9, 3, 2), (7, 2, 0), (12, 8, 2)] {
            let specs = hosts(10...Int32(9 + count)) { "rack\($0 % 3)" }
            let expected = try planInitialLayout(hosts: specs, sitesPerHost: sph, kFactor: k)
            for _ in 0..<10 {
                let shuffled = specs.shuffled(using: &rng)
                #expect(try planInitialLayout(hosts: shuffled, sitesPerHost: sph, kFactor: k) == expected)
            }
        }
    }
}

/// A fixed-seed generator so the shuffles are the same on every run.
private struct SeededShuffle: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct PlacementJoinTests {
    @Test func joinOfKPlusOneHostsAddsSitesPerHostPartitionsOnTheNewHostsOnly() throws {
        let old = try plan(3, sph: 4, k: 1)  // 6 partitions
        let joined = try planJoin(layout: old, newHosts: hosts(3...4), sitesPerHost: 4, kFactor: 1)
        #expect(joined.partitions.count == 10)
        #expect(Array(joined.partitions.prefix(6)) == old.partitions)
        let added = joined.partitions.dropFirst(6)
        #expect(added.map(\.id) == (6...9).map { PartitionID(Int32($0)) })
        #expect(added.allSatisfy { Set($0.replicas) == [HostID(3), HostID(4)] })
        #expect(verify(layout: joined, checks: [.kSafety, .distinctHosts, .replicasOnKnownHosts, .leaderIsReplica,
                                                .sitesPerHost, .groupSpreading, .partitionIDsContiguous]).isEmpty)
        #expect(joined.partitionsLed(by: HostID(3)).count == 2 && joined.partitionsLed(by: HostID(4)).count == 2)
    }

    @Test func repeatedJoinsKeepEveryCheck() throws {
        var layout = try plan(3, sph: 6, k: 2)
        for step in Int32(0)..<4 {
            let first = 3 + step * 3
            layout = try planJoin(layout: layout, newHosts: hosts(first...(first + 2)), sitesPerHost: 6, kFactor: 2)
            #expect(verify(layout: layout).isEmpty, "after join \(step): \(verify(layout: layout))")
        }
        #expect(layout.partitions.count == 30 && layout.hosts.count == 15)
    }

    @Test func joinRejectsWrongHostCountMembersAndMismatchedConfiguration() throws {
        let old = try plan(2, sph: 2, k: 1)
        #expect(throws: PlacementError.joinHostCount(given: 3, kFactor: 1)) {
            try planJoin(layout: old, newHosts: hosts(2...4), sitesPerHost: 2, kFactor: 1)
        }
        #expect(throws: PlacementError.joiningHostAlreadyMember(HostID(1))) {
            try planJoin(layout: old, newHosts: hosts(1...2), sitesPerHost: 2, kFactor: 1)
        }
        #expect(throws: PlacementError.joinConfigurationMismatch(sitesPerHost: 3, kFactor: 1,
                                                                  clusterSitesPerHost: 2, clusterKFactor: 1)) {
            try planJoin(layout: old, newHosts: hosts(2...3), sitesPerHost: 3, kFactor: 1)
        }
    }
}

@Suite struct PlacementFailoverTests {
    @Test func leadersOnAFailedHostMoveToSurvivorsSpreadingTheLoad() throws {
        let layout = try plan(3, sph: 8, k: 1)  // 12 partitions, 4 leaders each
        let failed = HostID(0)
        let result = planLeaderFailover(layout: layout, failedHosts: [failed])
        #expect(result.isViable && result.lostPartitions.isEmpty)
        #expect(result.promotions.map(\.partition) == layout.partitionsLed(by: failed))
        #expect(result.promotions.allSatisfy { $0.from == failed && $0.to != failed })
        #expect(result.layout.hostIDs == [HostID(1), HostID(2)])
        #expect(result.layout.partitions.allSatisfy { !$0.replicas.contains(failed) && $0.leader != failed })
        // Each promotion went to the surviving replica leading the fewest partitions at that moment.
        var leads = Dictionary(uniqueKeysWithValues: result.layout.hostIDs.map { ($0, layout.partitionsLed(by: $0).count) })
        for promotion in result.promotions {
            let alive = result.layout.partition(promotion.partition)!.replicas
            #expect(leads[promotion.to]! == alive.map { leads[$0]! }.min()!, "\(promotion)")
            leads[promotion.to]! += 1
        }
        // The survivors still run all their sites; the partitions that lost a replica are K-unsafe.
        let unsafe = verify(layout: result.layout, checks: [.kSafety])
        #expect(unsafe.count == layout.partitions(on: failed).count)
        #expect(verify(layout: result.layout, checks: [.distinctHosts, .replicasOnKnownHosts, .leaderIsReplica,
                                                       .sitesPerHost]).isEmpty)
    }

    @Test func aFailedHostsLeadershipIsSharedBySurvivors() throws {
        // 3 hosts × 8 sites, K=1: 12 partitions, 4 leaders each. Whichever host fails, its four
        // partitions split two and two, so the survivors lead six each.
        let layout = try plan(3, sph: 8, k: 1)
        for failed in layout.hostIDs {
            let result = planLeaderFailover(layout: layout, failedHosts: [failed])
            #expect(result.layout.hostIDs.map { result.layout.partitionsLed(by: $0).count } == [6, 6], "lose \(failed)")
            #expect(verify(layout: result.layout, checks: [.leaderBalance]).isEmpty)
        }
    }

    @Test func promotionPrefersTheSurvivorLeadingLeast() throws {
        // 3 hosts × 2 sites, K=2: two partitions, each on all three hosts, led by hosts 0 and 1.
        let layout = try plan(3, sph: 2, k: 2)
        #expect(layout.partitions.map(\.leader) == [HostID(0), HostID(1)])
        let result = planLeaderFailover(layout: layout, failedHosts: [HostID(0)])
        #expect(result.promotions == [LeaderPromotion(partition: PartitionID(0), from: HostID(0), to: HostID(2))])
        #expect(result.layout.partitions.map(\.leader) == [HostID(2), HostID(1)])
        #expect(verify(layout: result.layout, checks: [.leaderBalance]).isEmpty)
    }

    @Test func partitionWithEveryReplicaFailedIsReportedLost() throws {
        let layout = try plan(4, sph: 2, k: 1)  // 4 partitions
        let victim = layout.partitions[0]
        let failed = Set(victim.replicas)
        let result = planLeaderFailover(layout: layout, failedHosts: failed)
        #expect(!result.isViable)
        let expectedLost = layout.partitions.filter { Set($0.replicas).isSubset(of: failed) }.map(\.id)
        #expect(result.lostPartitions == expectedLost && expectedLost.contains(victim.id))
        #expect(result.layout.partitions.map(\.id) == layout.partitions.map(\.id).filter { !expectedLost.contains($0) })
        #expect(result.layout.partitions.allSatisfy { !failed.contains($0.leader) })
    }

    @Test func noFailureChangesNothing() throws {
        let layout = try plan(5, sph: 4, k: 1)
        let result = planLeaderFailover(layout: layout, failedHosts: [HostID(99)])
        #expect(result.layout == layout && result.promotions.isEmpty && result.lostPartitions.isEmpty)
    }

    @Test func everySingleHostFailureIsSurvivableWithKOne() throws {
        for shape in validShapes where shape.k >= 1 {
            let layout = try plan(shape.hosts, sph: shape.sph, k: shape.k)
            for host in layout.hostIDs {
                let result = planLeaderFailover(layout: layout, failedHosts: [host])
                #expect(result.isViable, "hosts \(shape.hosts) sph \(shape.sph) K \(shape.k) lose \(host)")
                #expect(verify(layout: result.layout, checks: [.leaderIsReplica, .replicasOnKnownHosts]).isEmpty)
            }
        }
    }
}

@Suite struct PlacementCheckTests {
    private let hostsAB = [HostPlacement(id: HostID(0), placementGroup: "a", siteCount: 1),
                           HostPlacement(id: HostID(1), placementGroup: "b", siteCount: 1)]

    private func checks(_ partitions: [PartitionPlacement], hosts: [HostPlacement]? = nil) -> Set<PlacementCheck> {
        let layout = ClusterLayout(kFactor: 1, sitesPerHost: 1, hosts: hosts ?? hostsAB, partitions: partitions)
        return Set(verify(layout: layout).map(\.check))
    }

    @Test func soundLayoutPasses() {
        #expect(checks([PartitionPlacement(id: PartitionID(0), leader: HostID(0), replicas: [HostID(1), HostID(0)])]) == [])
    }

    @Test func eachCheckCatchesItsBreakage() {
        let p0 = PartitionID(0)
        #expect(checks([PartitionPlacement(id: p0, leader: HostID(0), replicas: [HostID(0)])]) == [.kSafety, .sitesPerHost])
        #expect(checks([PartitionPlacement(id: p0, leader: HostID(0), replicas: [HostID(0), HostID(0)])])
            .isSuperset(of: [.distinctHosts, .sitesPerHost]))
        #expect(checks([PartitionPlacement(id: p0, leader: HostID(0), replicas: [HostID(0), HostID(7)])])
            .isSuperset(of: [.replicasOnKnownHosts]))
        #expect(checks([PartitionPlacement(id: p0, leader: HostID(7), replicas: [HostID(0), HostID(1)])])
            == [.leaderIsReplica, .replicasOnKnownHosts])
        #expect(checks([PartitionPlacement(id: PartitionID(3), leader: HostID(0), replicas: [HostID(0), HostID(1)])])
            == [.partitionIDsContiguous])
        let sameRack = [HostPlacement(id: HostID(0), placementGroup: "a", siteCount: 1),
                        HostPlacement(id: HostID(1), placementGroup: "a", siteCount: 1),
                        HostPlacement(id: HostID(2), placementGroup: "b", siteCount: 1),
                        HostPlacement(id: HostID(3), placementGroup: "b", siteCount: 1)]
        #expect(checks([PartitionPlacement(id: p0, leader: HostID(0), replicas: [HostID(0), HostID(1)]),
                        PartitionPlacement(id: PartitionID(1), leader: HostID(2), replicas: [HostID(2), HostID(3)])],
                       hosts: sameRack) == [.groupSpreading])
        let twoSites = hostsAB.map { HostPlacement(id: $0.id, placementGroup: $0.placementGroup, siteCount: 2) }
        #expect(checks([PartitionPlacement(id: p0, leader: HostID(0), replicas: [HostID(0), HostID(1)]),
                        PartitionPlacement(id: PartitionID(1), leader: HostID(0), replicas: [HostID(0), HostID(1)])],
                       hosts: twoSites) == [.leaderBalance])
    }
}
