// Leader failover: which surviving replica leads each partition after hosts fail. Pure: the
// failure detector and the metadata log decide *that* hosts failed; this decides what follows.
//
// Rules. Failed hosts leave the layout and every replica set. A partition whose leader survived
// keeps it. A partition whose leader failed is led by its surviving replica that leads the fewest
// partitions at that moment (lowest host id on ties); partitions are handled in id order, and the
// counts include promotions already made, so new leadership spreads over the survivors rather
// than piling onto the lowest id. A partition with no surviving replica is lost: it leaves the
// layout and is reported, as a value, in `lostPartitions`; the shell decides what to do (VoltDB
// stops the cluster, since some data is gone).
//
// The surviving layout keeps each host's site count, so the `sitesPerHost` check still holds; the
// `kSafety` check reports every partition left with fewer than K+1 replicas, which is exactly
// VoltDB's "K-safety compromised" list. Leaders already on survivors are not moved to even the
// load out: that is leader migration's job (VoltDB's `MigratePartitionLeader`), not failover's.

/// One partition whose leader moved because its old leader failed.
public struct LeaderPromotion: Sendable, Hashable, CustomStringConvertible {
    public let partition: PartitionID
    public let from: HostID
    public let to: HostID

    public init(partition: PartitionID, from: HostID, to: HostID) {
        self.partition = partition
        self.from = from
        self.to = to
    }

    public var description: String { "\(partition): leader \(from.rawValue) -> \(to.rawValue)" }
}

/// The outcome of a failure: the surviving layout, the leader moves, and the partitions lost.
public struct FailoverPlan: Sendable, Hashable {
    /// Surviving hosts and partitions; failed hosts are gone from every replica set.
    public let layout: ClusterLayout
    /// Ascending by partition.
    public let promotions: [LeaderPromotion]
    /// Partitions with every replica on a failed host, ascending.
    public let lostPartitions: [PartitionID]

    public init(layout: ClusterLayout, promotions: [LeaderPromotion], lostPartitions: [PartitionID]) {
        self.layout = layout
        self.promotions = promotions
        self.lostPartitions = lostPartitions
    }

    /// True when no partition was lost, so the cluster can keep running (perhaps K-unsafe).
    public var isViable: Bool { lostPartitions.isEmpty }
}

/// Moves leaders off `failedHosts` onto surviving replicas and reports partitions with none.
/// Failed hosts that are not in the layout are ignored.
public func planLeaderFailover(layout: ClusterLayout, failedHosts: Set<HostID>) -> FailoverPlan {
    var leads: [HostID: Int] = [:]
    for partition in layout.partitions where !failedHosts.contains(partition.leader) {
        leads[partition.leader, default: 0] += 1
    }
    var survivors: [PartitionPlacement] = []
    var promotions: [LeaderPromotion] = []
    var lost: [PartitionID] = []
    for partition in layout.partitions {
        let alive = partition.replicas.filter { !failedHosts.contains($0) }
        guard !alive.isEmpty else {
            lost.append(partition.id)
            continue
        }
        var leader = partition.leader
        if failedHosts.contains(leader) {
            // `alive` ascends, so min(by:) keeps the lowest id among equally loaded replicas.
            let next = alive.min { leads[$0, default: 0] < leads[$1, default: 0] }!
            leads[next, default: 0] += 1
            promotions.append(LeaderPromotion(partition: partition.id, from: leader, to: next))
            leader = next
        }
        survivors.append(PartitionPlacement(id: partition.id, leader: leader, replicas: alive))
    }
    let surviving = ClusterLayout(kFactor: layout.kFactor, sitesPerHost: layout.sitesPerHost,
                                  hosts: layout.hosts.filter { !failedHosts.contains($0.id) },
                                  partitions: survivors)
    return FailoverPlan(layout: surviving, promotions: promotions, lostPartitions: lost)
}
