// The K-safe placement planner: which hosts hold the replicas of which partitions, and which
// replica leads. Pure: values in, a layout (or a typed error) out.
//
// Arithmetic (VoltDB's). partitions P = hosts × sitesperhost / (K+1). Valid when there is at least
// one host, 1 ≤ sitesperhost ≤ 64, 0 ≤ K ≤ 15, hosts ≥ K+1 and hosts × sitesperhost is a multiple
// of K+1; the checks run in that order, so an operator sees the first thing to fix.
//
// Replicas. Hosts are sorted by id first, so the input order never matters. Partitions are filled
// in id order; each takes K+1 distinct hosts that still have a free site. With r partitions left
// (this one included), a host with exactly r free sites must take this partition, or it would end
// with an empty site; such hosts are chosen first. There are never more than K+1 of them, because
// the free sites always total r × (K+1) and no host has more than r. Any other choice of hosts
// with free sites keeps that true, so the planner never gets stuck and every host ends with
// exactly sitesperhost replicas. The rest of the K+1 are picked by, in order:
//   1. fewest replicas of this partition already in the host's placement group (spread racks);
//   2. most free sites left in the host's group (so racks drain evenly and stay spreadable);
//   3. most free sites left on the host;
//   4. fewest partitions already shared with the hosts chosen so far (each host replicates to
//      several peers rather than one buddy);
//   5. lowest host id.
// Rule 2 is the same "largest first" argument one level up: with at least K+1 groups, none of
// which holds more sites than P, every partition lands in K+1 distinct groups.
//
// Leaders. Each partition's leader is one of its replicas, and no host leads more than
// ceil(P / hosts). That bound can always be met: any s partitions have s × (K+1) replicas on
// hosts with sitesperhost sites each, so they touch at least s × (K+1) / sitesperhost ≥
// s / ceil(P / hosts) hosts (Hall's condition). The planner assigns leaders in partition order to
// the least-loaded replica; among equally loaded ones, to the one whose led partitions would share
// the fewest with any single other replica, so that when a host fails its leadership falls to
// several survivors rather than one buddy; then to the lowest id. When every replica is full it
// moves an earlier leader along an augmenting path (Kuhn's matching with capacities), which the
// condition above guarantees exists.
//
// Join (VoltDB's, docs/PROTOCOL.md §12.4). Exactly K+1 new hosts with the cluster's sitesperhost
// and K bring sitesperhost new partitions, numbered from one past the highest existing id, placed
// only on the new hosts by the same rules; existing partitions, replicas and leaders are left as
// they are.
//
// Departures from VoltDB. Placement groups are opaque flat names: VoltDB's dotted hierarchy and
// its tree distance ("nearest different group first") are not modelled, so two groups either are
// or are not the same. VoltDB's `AbstractTopology` hands out whole blocks of partitions to one set
// of buddies; here each partition chooses its hosts on its own, which gives the same guarantees and
// spreads peers wider. VoltDB only warns about unbalanced groups; so do we, implicitly: the planner
// still places them, and the group-spreading check only binds when groups are balanced.

/// Checks VoltDB's partition arithmetic and returns the partition count
/// hosts × sitesperhost / (K+1).
public func partitionCount(hostCount: Int, sitesPerHost: Int, kFactor: Int) throws(PlacementError) -> Int {
    guard hostCount > 0 else { throw .noHosts }
    guard PlacementError.sitesPerHostRange.contains(sitesPerHost) else { throw .sitesPerHostOutOfRange(sitesPerHost) }
    guard PlacementError.kFactorRange.contains(kFactor) else { throw .kFactorOutOfRange(kFactor) }
    guard hostCount >= kFactor + 1 else { throw .notEnoughHosts(hostCount: hostCount, kFactor: kFactor) }
    guard (hostCount * sitesPerHost) % (kFactor + 1) == 0 else {
        throw .sitesNotDivisible(hostCount: hostCount, sitesPerHost: sitesPerHost, kFactor: kFactor)
    }
    return hostCount * sitesPerHost / (kFactor + 1)
}

/// Places a new cluster: hosts × sitesperhost / (K+1) partitions numbered from 0, each with K+1
/// replicas on distinct hosts spread across placement groups, every host holding exactly
/// `sitesPerHost` replicas, leaders balanced. The same hosts in any order give the same layout.
public func planInitialLayout(hosts: [HostSpec], sitesPerHost: Int, kFactor: Int) throws(PlacementError) -> ClusterLayout {
    let sorted = try sortedUniqueHosts(hosts)
    let count = try partitionCount(hostCount: sorted.count, sitesPerHost: sitesPerHost, kFactor: kFactor)
    let partitions = placePartitions(on: sorted, sitesPerHost: sitesPerHost, kFactor: kFactor,
                                     partitionCount: count, firstID: PartitionID(0))
    return ClusterLayout(kFactor: kFactor, sitesPerHost: sitesPerHost,
                         hosts: sorted.map { HostPlacement(id: $0.id, placementGroup: $0.effectiveGroup, siteCount: sitesPerHost) },
                         partitions: partitions)
}

/// Adds exactly K+1 hosts to `layout`: `sitesPerHost` new partitions, numbered after the existing
/// ones, with replicas only on the new hosts. Existing partitions are unchanged.
public func planJoin(layout: ClusterLayout, newHosts: [HostSpec], sitesPerHost: Int,
                     kFactor: Int) throws(PlacementError) -> ClusterLayout {
    guard sitesPerHost == layout.sitesPerHost, kFactor == layout.kFactor else {
        throw .joinConfigurationMismatch(sitesPerHost: sitesPerHost, kFactor: kFactor,
                                         clusterSitesPerHost: layout.sitesPerHost, clusterKFactor: layout.kFactor)
    }
    let sorted = try sortedUniqueHosts(newHosts)
    guard sorted.count == kFactor + 1 else { throw .joinHostCount(given: sorted.count, kFactor: kFactor) }
    let members = Set(layout.hostIDs)
    if let clash = sorted.first(where: { members.contains($0.id) }) { throw .joiningHostAlreadyMember(clash.id) }
    let count = try partitionCount(hostCount: sorted.count, sitesPerHost: sitesPerHost, kFactor: kFactor)
    let added = placePartitions(on: sorted, sitesPerHost: sitesPerHost, kFactor: kFactor,
                                partitionCount: count, firstID: layout.nextPartitionID)
    let addedHosts = sorted.map { HostPlacement(id: $0.id, placementGroup: $0.effectiveGroup, siteCount: sitesPerHost) }
    return ClusterLayout(kFactor: kFactor, sitesPerHost: sitesPerHost,
                         hosts: layout.hosts + addedHosts, partitions: layout.partitions + added)
}

private func sortedUniqueHosts(_ hosts: [HostSpec]) throws(PlacementError) -> [HostSpec] {
    let sorted = hosts.sorted { $0.id < $1.id }
    for (a, b) in zip(sorted, sorted.dropFirst()) where a.id == b.id { throw .duplicateHost(a.id) }
    return sorted
}

/// Places `partitionCount` partitions on `hosts` (sorted, valid arithmetic); see the file header.
private func placePartitions(on hosts: [HostSpec], sitesPerHost: Int, kFactor: Int,
                             partitionCount: Int, firstID: PartitionID) -> [PartitionPlacement] {
    let replicas = placeReplicas(on: hosts, sitesPerHost: sitesPerHost, kFactor: kFactor, partitionCount: partitionCount)
    var leaders = LeaderAssignment(replicas: replicas, hostCount: hosts.count,
                                   limit: (partitionCount + hosts.count - 1) / hosts.count)
    for p in replicas.indices {
        let placed = leaders.place(p)
        precondition(placed, "no leader fits partition \(p) of \(replicas) within \(leaders.limit) per host")
    }
    return replicas.indices.map { p in
        PartitionPlacement(id: PartitionID(firstID.rawValue + Int32(p)),
                           leader: hosts[leaders.leaderOf[p]].id,
                           replicas: replicas[p].map { hosts[$0].id })
    }
}

/// Replica host indices per partition (each ascending); see the file header for the rules.
private func placeReplicas(on hosts: [HostSpec], sitesPerHost: Int, kFactor: Int, partitionCount: Int) -> [[Int]] {
    let groupNames = Array(Set(hosts.map(\.effectiveGroup))).sorted()
    let groupOf = hosts.map { groupNames.firstIndex(of: $0.effectiveGroup)! }
    var free = Array(repeating: sitesPerHost, count: hosts.count)
    var groupFree = Array(repeating: 0, count: groupNames.count)
    for h in hosts.indices { groupFree[groupOf[h]] += sitesPerHost }
    var shared = Array(repeating: Array(repeating: 0, count: hosts.count), count: hosts.count)
    var result: [[Int]] = []
    result.reserveCapacity(partitionCount)

    for p in 0..<partitionCount {
        let remaining = partitionCount - p
        var chosen = hosts.indices.filter { free[$0] == remaining }
        precondition(chosen.count <= kFactor + 1,
                     "\(chosen.count) hosts must take partition \(p) of \(partitionCount), more than K+1 = \(kFactor + 1); free \(free)")
        while chosen.count < kFactor + 1 {
            var best: Int?
            var bestKey: (Int, Int, Int, Int, Int)?
            for h in hosts.indices where free[h] > 0 && !chosen.contains(h) {
                let inGroup = chosen.filter { groupOf[$0] == groupOf[h] }.count
                let peers = chosen.reduce(0) { $0 + shared[h][$1] }
                // Smaller is better in every position.
                let key = (inGroup, -groupFree[groupOf[h]], -free[h], peers, h)
                if bestKey.map({ key < $0 }) ?? true { best = h; bestKey = key }
            }
            guard let best else { preconditionFailure("no host with a free site for partition \(p); free \(free)") }
            chosen.append(best)
        }
        chosen.sort()
        for h in chosen {
            free[h] -= 1
            groupFree[groupOf[h]] -= 1
            for other in chosen where other != h { shared[h][other] += 1 }
        }
        result.append(chosen)
    }
    return result
}

/// Leader choice as a capacitated bipartite matching (partitions to their replica hosts, at most
/// `limit` per host), grown one partition at a time with augmenting paths.
private struct LeaderAssignment {
    let replicas: [[Int]]
    let limit: Int
    private(set) var leaderOf: [Int]
    private var load: [Int]
    private var visited: Set<Int> = []

    init(replicas: [[Int]], hostCount: Int, limit: Int) {
        self.replicas = replicas
        self.limit = limit
        self.leaderOf = Array(repeating: -1, count: replicas.count)
        self.load = Array(repeating: 0, count: hostCount)
    }

    /// Gives partition `p` a leader, moving earlier leaders if needed. False only if no matching
    /// exists, which the file header shows cannot happen for a planner layout.
    mutating func place(_ p: Int) -> Bool {
        visited = []
        return augment(p)
    }

    private mutating func augment(_ p: Int) -> Bool {
        let candidates = replicas[p].sorted {
            (load[$0], backupPile(leader: $0, of: p), $0) < (load[$1], backupPile(leader: $1, of: p), $1)
        }
        for h in candidates where load[h] < limit && !visited.contains(h) {
            visited.insert(h)
            leaderOf[p] = h
            load[h] += 1
            return true
        }
        for h in candidates where !visited.contains(h) {
            visited.insert(h)
            for q in leaderOf.indices where leaderOf[q] == h {
                if augment(q) {
                    // q moved off h (augment counted it on its new host), p takes its place.
                    leaderOf[p] = h
                    return true
                }
            }
        }
        return false
    }

    /// If `leader` led `p`, the most partitions it would lead that share one other replica of `p`.
    /// Keeping this low means that when `leader` fails, its partitions fall to several survivors
    /// instead of all to one buddy.
    private func backupPile(leader: Int, of p: Int) -> Int {
        var most = 0
        for other in replicas[p] where other != leader {
            var count = 1
            for q in leaderOf.indices where leaderOf[q] == leader && replicas[q].contains(other) { count += 1 }
            most = max(most, count)
        }
        return most
    }
}
