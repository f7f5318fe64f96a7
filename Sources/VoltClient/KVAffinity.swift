// Client affinity for `voltctl bench kv --servers`: which host each key is sent to, and how that
// changes while the cluster does.
//
// - KVTopology: what the bench needs of the cluster, read from `@SystemInformation OVERVIEW` (each
//   host's client address: IPADDRESS and CLIENTPORT, failed hosts left out) and `@Statistics TOPO 0` (each
//   partition's leader host, and the ring: the HASHCONFIG blob of the second table).
// - KeyAffinity: for each host, the numbers of the keys whose partition it leads. A key whose
//   partition has no leader in the topology is in no host's list.
// - KeyRouter: the current affinity, shared by every sender thread. The topology follower swaps in
//   a new one; a sender reads it once per batch, so every batch is drawn wholly from one map and a
//   call already sent keeps the host it was sent to. Each swap bumps a generation, which is how a
//   sender notices it.
//
// A key's token is computed once per run (`tokens(keys:)`); a new ring costs one lookup per key.

import Synchronization
import VoltModel
import VoltWire

/// The cluster as the bench routes by: ring, partition leaders, host addresses.
public struct KVTopology: Sendable, Equatable {
    public var ring: HashRing
    /// Each partition's leader host; partitions without a leader are left out.
    public var leaders: [PartitionID: HostID]
    /// Where each live host takes client connections.
    public var addresses: [HostID: ServerAddress]
    /// Data partitions listed by TOPO (the multi-partition initiator's row left out).
    public var partitionCount: Int

    public init(ring: HashRing, leaders: [PartitionID: HostID], addresses: [HostID: ServerAddress],
                partitionCount: Int? = nil) {
        self.ring = ring
        self.leaders = leaders
        self.addresses = addresses
        self.partitionCount = partitionCount ?? ring.partitionCount
    }

    /// From an OVERVIEW table and the two TOPO tables; nil without an elastic ring blob that parses.
    public init?(overview: ResultTable, topo: [ResultTable]) {
        guard topo.count >= 2, let ringRow = topo[1].rows.first,
              topo[1].text(ringRow, "HASHTYPE").map({ $0.uppercased() == "ELASTIC" }) ?? true,
              let column = topo[1].columnIndex("HASHCONFIG") ?? (ringRow.isEmpty ? nil : ringRow.count - 1),
              column < ringRow.count, case .bytes(let blob) = ringRow[column],
              let ring = try? HashRing(configBlob: blob) else { return nil }
        let status = ClusterStatus.build(overview: overview, topology: topo[0], tableStatistics: nil,
                                         catalogTables: nil, catalogColumns: nil)
        var leaders: [PartitionID: HostID] = [:]
        for partition in status.partitions {
            if let leader = partition.leaderHost { leaders[PartitionID(Int32(partition.id))] = HostID(Int32(leader)) }
        }
        var addresses: [HostID: ServerAddress] = [:]
        // A cluster's OVERVIEW also lists its failed hosts, as MISSING (a rejoining one is listed
        // as REJOINING and takes connections).
        for host in status.hosts where host.state?.uppercased() != "MISSING" {
            guard let address = host.address, let port = host.clientPort else { continue }
            addresses[HostID(Int32(host.id))] = ServerAddress(host: address, port: port)
        }
        self.init(ring: ring, leaders: leaders, addresses: addresses, partitionCount: status.partitions.count)
    }

    /// Reads OVERVIEW and TOPO over `connection`. Nil when either call is refused or the answer is
    /// unusable (a server without an elastic ring); throws only when the connection itself fails.
    public static func read(_ connection: VoltClientConnection, timeoutMillis: Int? = nil)
        throws(ClientConnectionError) -> KVTopology?
    {
        let overview = try connection.call("@SystemInformation", [.string("OVERVIEW")], timeoutMillis: timeoutMillis)
        guard overview.status == .success, let hosts = overview.tables.first else { return nil }
        let topo = try connection.call("@Statistics", [.string("TOPO"), .integer(0)], timeoutMillis: timeoutMillis)
        guard topo.status == .success else { return nil }
        return KVTopology(overview: hosts, topo: topo.tables)
    }

    /// Live hosts, ascending.
    public var hosts: [HostID] { addresses.keys.sorted() }

    /// `3 partitions; host 1 leads 0, 2; host 2 leads 1`, for progress lines.
    public var summary: String {
        var led: [HostID: [Int32]] = [:]
        for (partition, host) in leaders { led[host, default: []].append(partition.rawValue) }
        let parts = led.keys.sorted().map { host in
            "host \(host.rawValue) leads " + led[host]!.sorted().map(String.init).joined(separator: ", ")
        }
        return (["\(partitionCount) partition\(partitionCount == 1 ? "" : "s")"] + parts).joined(separator: "; ")
    }
}

/// For each host, the keys (by number) whose partition it leads.
public struct KeyAffinity: Sendable, Equatable {
    public let keysByHost: [HostID: [Int]]

    public init(keysByHost: [HostID: [Int]]) { self.keysByHost = keysByHost }

    /// Routes key `k` (token `tokens[k]`) to the leader of its partition in `topology`.
    public init(_ topology: KVTopology, tokens: [Token]) {
        var keys: [HostID: [Int]] = [:]
        for (k, token) in tokens.enumerated() {
            guard let leader = topology.leaders[topology.ring.partition(for: token)] else { continue }
            keys[leader, default: []].append(k)
        }
        keysByHost = keys
    }

    /// The ring tokens of the benchmark's keys, `KVWireBenchmark.key(0)`… as VARCHAR partition keys.
    public static func tokens(keys: Int) -> [Token] {
        (0..<keys).map { MurmurHash3.token(string: KVWireBenchmark.key($0)) }
    }

    public func keys(of host: HostID) -> [Int] { keysByHost[host] ?? [] }

    /// Hosts that lead at least one key's partition.
    public var leadingHosts: Int { keysByHost.values.filter { !$0.isEmpty }.count }
}

/// The current key affinity, swapped atomically for the sender threads (see the file header).
public final class KeyRouter: Sendable {
    /// One map, as a sender sees it between two swaps.
    public final class Routing: Sendable {
        public let generation: Int
        public let affinity: KeyAffinity
        /// A connection's share of the target rate: the target over the connections of the hosts
        /// that lead something (each has `connectionsPerHost`); nil without a target.
        public let ratePerConnection: Double?

        init(generation: Int, affinity: KeyAffinity, ratePerConnection: Double?) {
            self.generation = generation
            self.affinity = affinity
            self.ratePerConnection = ratePerConnection
        }
    }

    private let current: Mutex<Routing>
    private let totalRate: Double?
    private let connectionsPerHost: Int

    /// `totalRate`: target calls per second over every connection, nil for as fast as possible.
    public init(_ affinity: KeyAffinity, totalRate: Double?, connectionsPerHost: Int) {
        precondition(connectionsPerHost > 0, "\(connectionsPerHost) connections per host")
        self.totalRate = totalRate
        self.connectionsPerHost = connectionsPerHost
        current = Mutex(Routing(generation: 0, affinity: affinity,
                                ratePerConnection: Self.share(totalRate, affinity, connectionsPerHost)))
    }

    /// The map in force.
    public var routing: Routing { current.withLock { $0 } }

    /// Puts `affinity` in force for every batch drawn from now on.
    public func swap(_ affinity: KeyAffinity) {
        let rate = Self.share(totalRate, affinity, connectionsPerHost)
        current.withLock { $0 = Routing(generation: $0.generation + 1, affinity: affinity, ratePerConnection: rate) }
    }

    private static func share(_ total: Double?, _ affinity: KeyAffinity, _ perHost: Int) -> Double? {
        total.map { $0 / Double(max(1, affinity.leadingHosts * perHost)) }
    }
}
