// The cluster as clients see it: which hosts exist (with the addresses and ports clients dial),
// which partitions exist, where each partition's replicas live and which replica leads it.
//
// It is a value, shaped for many hosts although this milestone runs one: the later membership
// log will produce new values (a join adds hosts and partitions, a failure moves leaders), and the
// server only ever reads the current one. Everything derived from it that reaches a client is in
// a fixed order (hosts by id, partitions by id, replicas sorted), so two equal topologies always
// serialize to the same `@Statistics TOPO` bytes, which is how a change is detected for the
// topology push (docs/PROTOCOL.md §6.2).
//
// Site ids inside "hostId:siteId" strings are opaque to clients (§5.4); we use the partition's
// site index on its host, and for the multi-partition initiator (partition 16383) one past the
// host's last site.

import VoltModel

/// Hosts, partitions, replicas and leaders.
public struct Topology: Sendable, Equatable {
    /// One host as clients reach it.
    public struct Host: Sendable, Equatable {
        public var id: HostID
        /// The address clients dial (OVERVIEW `IPADDRESS`); never a wildcard address.
        public var address: String
        public var hostname: String
        public var clientPort: Int
        public var adminPort: Int

        public init(id: HostID, address: String, hostname: String, clientPort: Int, adminPort: Int) {
            self.id = id
            self.address = address
            self.hostname = hostname
            self.clientPort = clientPort
            self.adminPort = adminPort
        }
    }

    /// One copy of a partition: the host and the site (execution thread) that holds it.
    public struct Replica: Sendable, Hashable, Comparable {
        public var host: HostID
        public var site: SiteID

        public init(host: HostID, site: SiteID) {
            self.host = host
            self.site = site
        }

        public static func < (a: Replica, b: Replica) -> Bool { (a.host, a.site) < (b.host, b.site) }

        /// VoltDB's `"<hostId>:<siteId>"`.
        public var text: String { "\(host.rawValue):\(site.rawValue)" }
    }

    public struct Partition: Sendable, Equatable {
        public var id: PartitionID
        public var replicas: [Replica]
        public var leader: Replica

        public init(id: PartitionID, replicas: [Replica], leader: Replica) {
            precondition(replicas.contains(leader), "the leader \(leader.text) of \(id) is not one of its replicas")
            self.id = id
            self.replicas = replicas.sorted()
            self.leader = leader
        }
    }

    public var hosts: [Host]
    public var partitions: [Partition]
    /// Where multi-partition work is coordinated (TOPO row 16383).
    public var multiPartitionLeader: Replica

    public init(hosts: [Host], partitions: [Partition], multiPartitionLeader: Replica) {
        self.hosts = hosts.sorted { $0.id < $1.id }
        self.partitions = partitions.sorted { $0.id < $1.id }
        self.multiPartitionLeader = multiPartitionLeader
    }

    /// One host holding every partition (K = 0): site i holds partition i.
    public static func singleHost(_ host: Host, partitions: [PartitionID]) -> Topology {
        let parts = partitions.enumerated().map { index, id in
            let replica = Replica(host: host.id, site: SiteID(Int32(index)))
            return Partition(id: id, replicas: [replica], leader: replica)
        }
        return Topology(hosts: [host], partitions: parts,
                        multiPartitionLeader: Replica(host: host.id, site: SiteID(Int32(partitions.count))))
    }

    public func host(_ id: HostID) -> Host? { hosts.first { $0.id == id } }

    /// The host whose replica orders `partition`'s transactions; 16383 is the multi-partition
    /// initiator. Nil for a partition that does not exist.
    public func leader(of partition: PartitionID) -> HostID? {
        if partition == .multiPartitionInitiator { return multiPartitionLeader.host }
        return partitions.first { $0.id == partition }?.leader.host
    }

    /// `@Statistics TOPO 0`: the partition table (with the MP row) and the hash table (§5.4).
    public func topoTables(ringBlob: [UInt8]) -> [ResultTable] {
        var rows: [[Value]] = partitions.map { p in
            [.integer(Int64(p.id.rawValue)), .string(p.replicas.map(\.text).sorted().joined(separator: ", ")), .string(p.leader.text)]
        }
        let mp = multiPartitionLeader.text
        rows.append([.integer(Int64(PartitionID.multiPartitionInitiator.rawValue)), .string(mp), .string(mp)])
        let partitionTable = ResultTable(columns: [.init("Partition", .integer), .init("Sites", .varchar), .init("Leader", .varchar)],
                                         rows: rows)
        let hashTable = ResultTable(columns: [.init("HASHTYPE", .varchar), .init("HASHCONFIG", .varbinary)],
                                    rows: [[.string("ELASTIC"), .bytes(ringBlob)]])
        return [partitionTable, hashTable]
    }
}
