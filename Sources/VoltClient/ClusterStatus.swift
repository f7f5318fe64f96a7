// `voltctl status`: the cluster's hosts, partitions and tables, built from system-procedure results
// and rendered as three tables (the shape of OpenMLDB's `showtablet` and `showtable`) or `--json`.
//
// Sources, each read by column name (ResultTable+Columns.swift):
// - @SystemInformation OVERVIEW (HOST_ID, KEY, VALUE), required: one host per HOST_ID with
//   HOSTNAME, IPADDRESS, CLIENTPORT, ADMINPORT, VERSION, UPTIME; the host's state is the first of
//   NODESTATE, HOSTSTATE, STATE present, else the cluster's CLUSTERSTATE.
// - @Statistics TOPO 0, table 0 (Partition, Sites "host:site, …", Leader "host:site"): one row per
//   data partition; the multi-partition initiator's row (16383) is not a data partition and is
//   left out.
// - @SystemCatalog TABLES (TABLE_NAME, TABLE_TYPE, REMARKS) and COLUMNS (TABLE_NAME, COLUMN_NAME,
//   REMARKS = PARTITION_COLUMN): which tables exist and which column partitions each; a table with
//   no partition column is REPLICATED.
// - @Statistics REBALANCE 0 (VoltModel's RebalanceRow columns): one row while token ranges move to
//   new partitions, none otherwise. Several rows (one per reporting host) show the least advanced,
//   which bounds when the rebalance ends. An older server that does not know the selector answers
//   with an error: that reads as no rebalance, without a warning.
// - @Statistics TABLE 0 (PARTITION_ID, TABLE_NAME, TUPLE_COUNT), one row per table per site.
//   Replicas of a partition report the same rows, so a partitioned table counts the largest
//   report of each partition, summed over partitions; every site holds a whole copy of a replicated
//   table, so it counts the largest single report. Summing every row would count each row K+1
//   times, and a replicated table once per site.
// Any optional source that the server did not answer leaves its part empty and adds a warning.
// Everything is sorted (hosts and partitions by id, tables by name) so output is stable.

import VoltCLI
import VoltModel

/// What `voltctl status` shows.
public struct ClusterStatus: Sendable, Equatable {
    public struct Host: Sendable, Equatable {
        public var id: Int
        public var hostname: String?
        public var address: String?
        public var clientPort: Int?
        public var adminPort: Int?
        public var state: String?
        public var uptime: String?
        public var version: String?

        public init(id: Int, hostname: String?, address: String?, clientPort: Int?, adminPort: Int?, state: String?,
                    uptime: String?, version: String?) {
            self.id = id
            self.hostname = hostname
            self.address = address
            self.clientPort = clientPort
            self.adminPort = adminPort
            self.state = state
            self.uptime = uptime
            self.version = version
        }
    }

    public struct Partition: Sendable, Equatable {
        public var id: Int
        /// Host of the leader replica.
        public var leaderHost: Int?
        /// Hosts of every live replica, leader included, ascending.
        public var replicaHosts: [Int]
        /// Replicas the partition is short of (`@Statistics KSAFETY`); nil when unknown.
        public var missingReplicas: Int?
        /// Rows the partition holds (all its tables), from the leader's report; nil when unknown.
        public var rows: Int64?
        /// Memory of the partition's tables in KB, from the leader's report; nil when unknown.
        public var memoryKB: Int64?

        public init(id: Int, leaderHost: Int?, replicaHosts: [Int], missingReplicas: Int? = nil, rows: Int64? = nil,
                    memoryKB: Int64? = nil) {
            self.id = id
            self.leaderHost = leaderHost
            self.replicaHosts = replicaHosts
            self.missingReplicas = missingReplicas
            self.rows = rows
            self.memoryKB = memoryKB
        }
    }

    public struct Table: Sendable, Equatable {
        public var name: String
        /// TABLE, VIEW, EXPORT… as the catalog says; nil without the catalog.
        public var type: String?
        /// The partitioning column; nil for a replicated table (or when the catalog is unknown).
        public var partitionColumn: String?
        public var isReplicated: Bool
        /// Rows, counted once (see the file header); nil without statistics.
        public var rows: Int64?
        /// Partitions that reported the table.
        public var partitions: Int?

        public init(name: String, type: String?, partitionColumn: String?, isReplicated: Bool, rows: Int64?, partitions: Int?) {
            self.name = name
            self.type = type
            self.partitionColumn = partitionColumn
            self.isReplicated = isReplicated
            self.rows = rows
            self.partitions = partitions
        }
    }

    public var clusterState: String?
    public var version: String?
    public var hosts: [Host]
    public var partitions: [Partition]
    public var tables: [Table]
    /// The rebalance in progress (`@Statistics REBALANCE`); nil when none runs.
    public var rebalance: RebalanceRow? = nil
    /// Hosts started with --add that wait to join (`@Statistics JOINERS`), in arrival order.
    public var waitingJoiners: [WaitingJoiner] = []
    public var warnings: [String]

    /// A host in the join buffer.
    public struct WaitingJoiner: Sendable, Equatable {
        public var endpoint: String
        public var placementGroup: String?
        public var waitingMillis: Int64?
        public var status: String?

        public init(endpoint: String, placementGroup: String?, waitingMillis: Int64?, status: String?) {
            self.endpoint = endpoint
            self.placementGroup = placementGroup
            self.waitingMillis = waitingMillis
            self.status = status
        }
    }

    /// The multi-partition initiator's partition id in TOPO.
    public static let multiPartitionInitiator = 16383

    /// Builds the status from the system-procedure results; nil inputs are calls that failed.
    public static func build(overview: ResultTable, topology: ResultTable?, tableStatistics: ResultTable?,
                             catalogTables: ResultTable?, catalogColumns: ResultTable?, kSafety: ResultTable? = nil,
                             rebalance: ResultTable? = nil, joiners: ResultTable? = nil, warnings: [String] = []) -> ClusterStatus {
        // Hosts.
        var properties: [Int: [String: String]] = [:]
        for row in overview.rows {
            guard let id = overview.integer(row, "HOST_ID"), let key = overview.text(row, "KEY") else { continue }
            properties[Int(id), default: [:]][key.uppercased()] = overview.text(row, "VALUE")
        }
        let clusterState = properties.keys.sorted().lazy.compactMap { properties[$0]?["CLUSTERSTATE"] }.first
        let version = properties.keys.sorted().lazy.compactMap { properties[$0]?["VERSION"] }.first
        let hosts = properties.keys.sorted().map { id -> Host in
            let p = properties[id]!
            return Host(id: id, hostname: p["HOSTNAME"], address: p["IPADDRESS"],
                        clientPort: p["CLIENTPORT"].flatMap { Int($0) }, adminPort: p["ADMINPORT"].flatMap { Int($0) },
                        state: p["NODESTATE"] ?? p["HOSTSTATE"] ?? p["STATE"] ?? p["CLUSTERSTATE"],
                        uptime: p["UPTIME"], version: p["VERSION"])
        }

        // Partitions.
        var partitions: [Partition] = []
        if let topology {
            for row in topology.rows {
                guard let id = topology.integer(row, "Partition"), id != Int64(multiPartitionInitiator) else { continue }
                let replicas = (topology.text(row, "Sites") ?? "").split(separator: ",").compactMap { hostPart($0) }
                partitions.append(Partition(id: Int(id), leaderHost: topology.text(row, "Leader").flatMap { hostPart($0[...]) },
                                            replicaHosts: Array(Set(replicas)).sorted()))
            }
            partitions.sort { $0.id < $1.id }
        }
        // Per partition: missing replicas, and the leader's rows and memory (the showtable view).
        if let kSafety {
            for row in kSafety.rows {
                guard let id = kSafety.integer(row, "PARTITION_ID"), let missing = kSafety.integer(row, "MISSING_REPLICA"),
                      let i = partitions.firstIndex(where: { $0.id == Int(id) }) else { continue }
                partitions[i].missingReplicas = Int(missing)
            }
        }
        if let tableStatistics {
            var perReplica: [Int: [Int: (rows: Int64, kb: Int64)]] = [:]
            for row in tableStatistics.rows {
                guard let p = tableStatistics.integer(row, "PARTITION_ID"), let h = tableStatistics.integer(row, "HOST_ID") else { continue }
                var figures = perReplica[Int(p), default: [:]][Int(h)] ?? (0, 0)
                figures.rows += tableStatistics.integer(row, "TUPLE_COUNT") ?? 0
                figures.kb += tableStatistics.integer(row, "TUPLE_ALLOCATED_MEMORY") ?? 0
                perReplica[Int(p), default: [:]][Int(h)] = figures
            }
            for i in partitions.indices {
                guard let replicas = perReplica[partitions[i].id] else { continue }
                let figures = partitions[i].leaderHost.flatMap { replicas[$0] } ?? replicas[replicas.keys.min()!]!
                partitions[i].rows = figures.rows
                partitions[i].memoryKB = figures.kb
            }
        }

        // Tables: which exist, and how each is partitioned.
        var partitionColumns: [String: String] = [:]
        var types: [String: String] = [:]
        var names = Set<String>()
        if let catalogTables {
            for row in catalogTables.rows {
                guard let name = catalogTables.text(row, "TABLE_NAME") else { continue }
                names.insert(name)
                types[name] = catalogTables.text(row, "TABLE_TYPE")
                if let column = catalogTables.text(row, "REMARKS").flatMap(partitionColumn(inRemarks:)) { partitionColumns[name] = column }
            }
        }
        if let catalogColumns {
            for row in catalogColumns.rows where catalogColumns.text(row, "REMARKS")?.uppercased() == "PARTITION_COLUMN" {
                guard let name = catalogColumns.text(row, "TABLE_NAME"), let column = catalogColumns.text(row, "COLUMN_NAME") else { continue }
                partitionColumns[name] = column
            }
        }
        let catalogKnown = catalogTables != nil || catalogColumns != nil

        // Row counts: per table, per partition, the largest report.
        var counts: [String: [Int64: Int64]] = [:]
        if let tableStatistics {
            for row in tableStatistics.rows {
                guard let name = tableStatistics.text(row, "TABLE_NAME") else { continue }
                names.insert(name)
                let partition = tableStatistics.integer(row, "PARTITION_ID") ?? -1
                let tuples = tableStatistics.integer(row, "TUPLE_COUNT") ?? 0
                counts[name, default: [:]][partition] = max(counts[name]?[partition] ?? 0, tuples)
            }
        }
        let tables = names.sorted().map { name -> Table in
            let column = partitionColumns[name]
            let replicated = catalogKnown && column == nil
            let perPartition = counts[name]
            let rows: Int64? = tableStatistics == nil ? nil
                : replicated ? (perPartition?.values.max() ?? 0) : (perPartition?.values.reduce(0, +) ?? 0)
            let reported = perPartition.map { $0.keys.filter { $0 >= 0 && $0 != Int64(multiPartitionInitiator) }.count }
            return Table(name: name, type: types[name], partitionColumn: column, isReplicated: replicated, rows: rows,
                         partitions: reported ?? (partitions.isEmpty ? nil : partitions.count))
        }
        let waiting = joiners.map { t in
            t.rows.compactMap { row -> WaitingJoiner? in
                guard let endpoint = t.text(row, "ENDPOINT") else { return nil }
                return WaitingJoiner(endpoint: endpoint, placementGroup: t.text(row, "PLACEMENT_GROUP"),
                                     waitingMillis: t.integer(row, "WAITING_MILLIS"), status: t.text(row, "STATUS"))
            }
        } ?? []
        return ClusterStatus(clusterState: clusterState, version: version, hosts: hosts, partitions: partitions,
                             tables: tables, rebalance: rebalance.flatMap(leastAdvancedRebalance(in:)),
                             waitingJoiners: waiting, warnings: warnings)
    }

    /// The REBALANCE row that has moved the least; nil without a row that says how much it moved.
    /// A missing figure reads as 0, a negative estimate (VoltDB's -1) as unknown.
    static func leastAdvancedRebalance(in table: ResultTable) -> RebalanceRow? {
        typealias C = RebalanceRow.Column
        let rows = table.rows.compactMap { row -> RebalanceRow? in
            guard let percentage = table.double(row, C.percentageMoved.rawValue) else { return nil }
            func figure(_ column: C) -> Double { table.double(row, column.rawValue) ?? 0 }
            return RebalanceRow(
                timestampMillis: table.integer(row, C.timestamp.rawValue) ?? 0, percentageMoved: percentage,
                movedRows: table.integer(row, C.movedRows.rawValue) ?? 0, rowsPerSecond: figure(.rowsPerSecond),
                estimatedRemainingMillis: table.integer(row, C.estimatedRemaining.rawValue).flatMap { $0 >= 0 ? $0 : nil },
                megabytesPerSecond: figure(.megabytesPerSecond), callsPerSecond: figure(.callsPerSecond),
                callsLatencyMillis: figure(.callsLatency), callsTimeMillis: figure(.callsTime),
                callsTransferTimeMillis: figure(.callsTransferTime))
        }
        return rows.min { $0.percentageMoved < $1.percentageMoved }
    }

    /// What the cluster is doing while it rebalances. A REBALANCE row does not say which way the
    /// cluster changes; only an elastic join rebalances today, so it is expanding.
    public static let rebalanceOperation = "Expanding"

    /// Columns of the rebalance progress bar line.
    static let rebalanceBarWidth = 72

    /// The host id in `"<hostId>:<siteId>"`.
    static func hostPart(_ replica: Substring) -> Int? {
        let trimmed = replica.trimmingCharacters()
        return Int(trimmed.split(separator: ":").first ?? "")
    }

    /// `partitionColumn` from VoltDB's TABLES remarks JSON, e.g. `{"partitionColumn":"KEY"}`.
    static func partitionColumn(inRemarks remarks: String) -> String? {
        guard let keyRange = remarks.firstRange(of: "\"partitionColumn\"") else { return nil }
        var rest = remarks[keyRange.upperBound...].drop { $0 == " " || $0 == ":" }
        guard rest.first == "\"" else { return nil }
        rest = rest.dropFirst()
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        let column = String(rest[..<end])
        return column.isEmpty ? nil : column
    }

    /// Hosts the cluster reports as missing (failed, not yet rejoined) or rejoining count as not live.
    public var missingHosts: Int { hosts.filter { Self.isMissing($0.state) }.count }
    public var liveHosts: Int { hosts.count - missingHosts }

    static func isMissing(_ state: String?) -> Bool {
        guard let state else { return false }
        return state.hasPrefix("MISSING") || state.hasPrefix("REJOINING")
    }

    // MARK: Rendering

    /// Three tables for people, with a summary line and any warnings.
    public var text: String {
        var summary = "Cluster"
        if let clusterState { summary += " \(clusterState)" }
        summary += ": \(liveHosts) live host\(liveHosts == 1 ? "" : "s"), \(missingHosts) missing, \(partitions.count) partition\(partitions.count == 1 ? "" : "s"), \(tables.count) table\(tables.count == 1 ? "" : "s")"
        if let version { summary += ", version \(version)" }
        if let rebalance { summary += "\n" + Self.rebalanceLines(rebalance) }
        let fixed = TableRenderer(format: .fixed)
        let hostTable = TextTable(
            columns: [.init("HOST", alignment: .right), .init("HOSTNAME", alignment: .left), .init("ADDRESS", alignment: .left),
                      .init("CLIENT PORT", alignment: .right), .init("ADMIN PORT", alignment: .right),
                      .init("STATE", alignment: .left), .init("UPTIME", alignment: .left)],
            rows: hosts.map { h in
                [String(h.id), h.hostname ?? "-", h.address ?? "-", h.clientPort.map(String.init) ?? "-",
                 h.adminPort.map(String.init) ?? "-", h.state ?? "-", h.uptime ?? "-"]
            })
        let partitionTable = TextTable(
            columns: [.init("PARTITION", alignment: .right), .init("LEADER", alignment: .right), .init("REPLICAS", alignment: .left),
                      .init("MISSING", alignment: .right), .init("ROWS", alignment: .right), .init("MEMORY KB", alignment: .right)],
            rows: partitions.map { p in
                [String(p.id), p.leaderHost.map(String.init) ?? "-", p.replicaHosts.map(String.init).joined(separator: ", "),
                 p.missingReplicas.map(String.init) ?? "-", p.rows.map { String($0) } ?? "-", p.memoryKB.map { String($0) } ?? "-"]
            })
        let tableTable = TextTable(
            columns: [.init("TABLE", alignment: .left), .init("PARTITIONED ON", alignment: .left),
                      .init("ROWS", alignment: .right), .init("PARTITIONS", alignment: .right)],
            rows: tables.map { t in
                [t.name, t.partitionColumn ?? (t.isReplicated ? "REPLICATED" : "?"), t.rows.map { String($0) } ?? "-",
                 t.partitions.map(String.init) ?? "-"]
            })
        var blocks = [summary, fixed.render(hostTable)]
        if !waitingJoiners.isEmpty {
            let joinerTable = TextTable(
                columns: [.init("WAITING TO JOIN", alignment: .left), .init("PLACEMENT GROUP", alignment: .left),
                          .init("FOR", alignment: .right), .init("STATUS", alignment: .left)],
                rows: waitingJoiners.map { j in
                    [j.endpoint, j.placementGroup ?? "-", j.waitingMillis.map { TextFormat.clock(seconds: Double($0 / 1000)) } ?? "-",
                     j.status ?? "-"]
                })
            blocks.append(fixed.render(joinerTable))
        }
        blocks += [fixed.render(partitionTable), fixed.render(tableTable)]
        if !warnings.isEmpty { blocks.append(warnings.map { "warning: \($0)" }.joined(separator: "\n")) }
        return blocks.joined(separator: "\n\n")
    }

    /// `Cluster Expanding, progress: 42.17% completed`, then a bar with the transfer rates and the
    /// time left (`--:--` while unknown).
    static func rebalanceLines(_ r: RebalanceRow) -> String {
        let hundredths = TextFormat.progressHundredths(r.percentageMoved)
        let eta = r.estimatedRemainingMillis.map { TextFormat.clock(seconds: (Double($0) / 1000).rounded(.up)) } ?? "--:--"
        // A rate that is not a number (a server's fault) reads as 0 rather than stopping voltctl.
        let rowsPerSecond = Int(exactly: r.rowsPerSecond.rounded()) ?? 0
        let rates = "\(TextFormat.fixed(r.megabytesPerSecond, decimals: 2)) MB/s  "
            + "\(TextFormat.compactCount(rowsPerSecond)) rows/s  ETA \(eta)"
        return "Cluster \(rebalanceOperation), progress: \(TextFormat.progressPercent(r.percentageMoved))% completed\n"
            + ProgressLine.barred(rates, width: rebalanceBarWidth) { hundredths * $0 / 10000 }
    }

    /// The `--json` document; keys in this order, always.
    public var json: JSONValue {
        func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func optional(_ n: Int?) -> JSONValue { n.map(JSONValue.int) ?? .null }
        return [
            "cluster": [
                "state": optional(clusterState),
                "version": optional(version),
                "hosts": .int(hosts.count),
                "liveHosts": .int(liveHosts),
                "missingHosts": .int(missingHosts),
                "partitions": .int(partitions.count),
                "tables": .int(tables.count),
            ],
            "rebalance": rebalance.map { r in
                [
                    "operation": .string(Self.rebalanceOperation.lowercased()), "timestamp": .int(Int(r.timestampMillis)),
                    "percentageMoved": .double(r.percentageMoved), "movedRows": .int(Int(r.movedRows)),
                    "rowsPerSecond": .double(r.rowsPerSecond),
                    "estimatedRemainingMillis": r.estimatedRemainingMillis.map { .int(Int($0)) } ?? .null,
                    "megabytesPerSecond": .double(r.megabytesPerSecond), "callsPerSecond": .double(r.callsPerSecond),
                    "callsLatencyMillis": .double(r.callsLatencyMillis), "callsTimeMillis": .double(r.callsTimeMillis),
                    "callsTransferTimeMillis": .double(r.callsTransferTimeMillis),
                ]
            } ?? .null,
            "waitingToJoin": .array(waitingJoiners.map { j in
                [
                    "endpoint": .string(j.endpoint), "placementGroup": optional(j.placementGroup),
                    "waitingMillis": j.waitingMillis.map { .int(Int($0)) } ?? .null, "status": optional(j.status),
                ]
            }),
            "hosts": .array(hosts.map { h in
                [
                    "id": .int(h.id), "hostname": optional(h.hostname), "address": optional(h.address),
                    "clientPort": optional(h.clientPort), "adminPort": optional(h.adminPort),
                    "state": optional(h.state), "uptime": optional(h.uptime),
                ]
            }),
            "partitions": .array(partitions.map { p in
                ["id": .int(p.id), "leaderHost": optional(p.leaderHost), "replicaHosts": .array(p.replicaHosts.map(JSONValue.int)),
                 "missingReplicas": optional(p.missingReplicas), "rows": p.rows.map { .int(Int($0)) } ?? .null,
                 "memoryKB": p.memoryKB.map { .int(Int($0)) } ?? .null]
            }),
            "tables": .array(tables.map { t in
                [
                    "name": .string(t.name), "type": optional(t.type), "partitionColumn": optional(t.partitionColumn),
                    "replicated": .bool(t.isReplicated), "rows": t.rows.map { .int(Int($0)) } ?? .null,
                    "partitions": optional(t.partitions),
                ]
            }),
            "warnings": .array(warnings.map(JSONValue.string)),
        ]
    }
}
