// The placement of partition replicas on hosts: the value the placement planner produces and the
// cluster metadata log will carry.
//
// A layout lists every host with its placement group and its site count (the sitesperhost the
// host was started with), and every partition with its replica hosts and its leader. Both lists
// are sorted by id and every replica list ascends by host id, so two layouts built from the same
// facts compare equal and render identically whatever order the facts arrived in.
//
// The initialiser normalises order but does not judge the layout: tests build broken layouts on
// purpose, and `verify(layout:checks:)` (PlacementChecks.swift) says what is wrong with one.
// A layout the planner returns passes every check.

/// A host offered to the planner: its id and the placement group (rack) it was started with.
/// `nil` is VoltDB's default group, `"0"`.
public struct HostSpec: Sendable, Hashable, CustomStringConvertible {
    public let id: HostID
    public let placementGroup: String?

    public init(id: HostID, placementGroup: String? = nil) {
        self.id = id
        self.placementGroup = placementGroup
    }

    /// The group this host counts in; VoltDB's `--placement-group` defaults to `"0"`.
    public var effectiveGroup: String { placementGroup ?? HostPlacement.defaultPlacementGroup }

    public var description: String { "\(id) (group \(effectiveGroup))" }
}

/// One host of a layout: its placement group and how many sites (partition replicas) it runs.
public struct HostPlacement: Sendable, Hashable, CustomStringConvertible {
    /// VoltDB's default `--placement-group`.
    public static let defaultPlacementGroup = "0"

    public let id: HostID
    public let placementGroup: String
    public let siteCount: Int

    public init(id: HostID, placementGroup: String = HostPlacement.defaultPlacementGroup, siteCount: Int) {
        self.id = id
        self.placementGroup = placementGroup
        self.siteCount = siteCount
    }

    public var description: String { "\(id) group \(placementGroup) sites \(siteCount)" }
}

/// One partition of a layout: the hosts holding its replicas (ascending) and which of them leads.
public struct PartitionPlacement: Sendable, Hashable, CustomStringConvertible {
    public let id: PartitionID
    public let leader: HostID
    /// Replica hosts in ascending id order; includes the leader.
    public let replicas: [HostID]

    public init(id: PartitionID, leader: HostID, replicas: [HostID]) {
        self.id = id
        self.leader = leader
        self.replicas = replicas.sorted()
    }

    public var description: String {
        "\(id): leader \(leader.rawValue), replicas \(replicas.map { String($0.rawValue) }.joined(separator: ","))"
    }
}

/// Where every partition replica lives and which replica leads, for a cluster of `hosts` with
/// `kFactor` and `sitesPerHost`.
public struct ClusterLayout: Sendable, Hashable, CustomStringConvertible {
    public let kFactor: Int
    public let sitesPerHost: Int
    /// Ascending by host id.
    public let hosts: [HostPlacement]
    /// Ascending by partition id.
    public let partitions: [PartitionPlacement]

    public init(kFactor: Int, sitesPerHost: Int, hosts: [HostPlacement], partitions: [PartitionPlacement]) {
        self.kFactor = kFactor
        self.sitesPerHost = sitesPerHost
        self.hosts = hosts.sorted { $0.id < $1.id }
        self.partitions = partitions.sorted { $0.id < $1.id }
    }

    /// The replicas every partition should have.
    public var replicationFactor: Int { kFactor + 1 }

    public var hostIDs: [HostID] { hosts.map(\.id) }

    public func host(_ id: HostID) -> HostPlacement? { hosts.first { $0.id == id } }

    public func partition(_ id: PartitionID) -> PartitionPlacement? { partitions.first { $0.id == id } }

    /// Partitions with a replica on `host`, ascending.
    public func partitions(on host: HostID) -> [PartitionID] {
        partitions.filter { $0.replicas.contains(host) }.map(\.id)
    }

    /// Partitions `host` leads, ascending.
    public func partitionsLed(by host: HostID) -> [PartitionID] {
        partitions.filter { $0.leader == host }.map(\.id)
    }

    /// The most partitions any host may lead in a balanced layout: ceil(partitions / hosts).
    public var leaderLimitPerHost: Int {
        hosts.isEmpty ? 0 : (partitions.count + hosts.count - 1) / hosts.count
    }

    /// The next free partition id: one past the highest, VoltDB's `max(existing) + 1`.
    public var nextPartitionID: PartitionID {
        PartitionID((partitions.last?.id.rawValue ?? -1) + 1)
    }

    public var description: String {
        (["K=\(kFactor) sitesperhost=\(sitesPerHost)"] + hosts.map(\.description) + partitions.map(\.description))
            .joined(separator: "\n")
    }
}
