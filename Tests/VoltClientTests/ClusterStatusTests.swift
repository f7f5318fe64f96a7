import Testing
import VoltCLI
import VoltClient
import VoltModel

@Suite struct ClusterStatusBuilding {
    static let status = ClusterStatus.build(
        overview: Canned.overview, topology: Canned.topology, tableStatistics: Canned.tableStatistics,
        catalogTables: Canned.catalogTables, catalogColumns: Canned.catalogColumns)

    @Test func hostsComeFromTheOverviewSortedById() {
        #expect(Self.status.hosts.map(\.id) == [0, 1])
        #expect(Self.status.hosts[1] == ClusterStatus.Host(
            id: 1, hostname: "node-b", address: "10.0.0.2", clientPort: 21212, adminPort: 21211, state: "RUNNING",
            uptime: "0 days 00:01:01.000", version: nil))
        #expect(Self.status.clusterState == "RUNNING")
    }

    @Test func partitionsCarryTheLeadersRowsAndTheMissingReplicas() {
        let kSafety = ResultTable(columns: [.init("PARTITION_ID", .integer), .init("MISSING_REPLICA", .integer)],
                                  rows: [[.integer(0), .integer(1)], [.integer(1), .integer(0)]])
        let status = ClusterStatus.build(
            overview: Canned.overview, topology: Canned.topology, tableStatistics: Canned.tableStatistics,
            catalogTables: Canned.catalogTables, catalogColumns: Canned.catalogColumns, kSafety: kSafety)
        // Leader of 0 is host 0: STORE 40 + REGIONS 5; leader of 1 is host 1: STORE 60 + REGIONS 5.
        #expect(status.partitions.map(\.rows) == [45, 65])
        #expect(status.partitions.map(\.missingReplicas) == [1, 0])
    }

    @Test func missingAndRejoiningHostsAreNotLive() {
        var status = Self.status
        status.hosts[1].state = "MISSING"
        #expect((status.liveHosts, status.missingHosts) == (1, 1))
        #expect(status.text.hasPrefix("Cluster RUNNING: 1 live host, 1 missing,"))
        status.hosts[1].state = "REJOINING (1 of 2 partitions)"
        #expect((status.liveHosts, status.missingHosts) == (1, 1))
        status.hosts[1].state = "RUNNING"
        #expect((status.liveHosts, status.missingHosts) == (2, 0))
    }

    @Test func partitionsLeaveOutTheMultiPartitionInitiator() {
        #expect(Self.status.partitions == [
            .init(id: 0, leaderHost: 0, replicaHosts: [0, 1], rows: 45, memoryKB: 0),
            .init(id: 1, leaderHost: 1, replicaHosts: [0, 1], rows: 65, memoryKB: 0),
        ])
    }

    @Test func rowsAreCountedOncePerPartitionAndOnceForAReplicatedTable() {
        #expect(Self.status.tables == [
            .init(name: "EMPTY_ONE", type: "TABLE", partitionColumn: "ID", isReplicated: false, rows: 0, partitions: 2),
            .init(name: "REGIONS", type: "TABLE", partitionColumn: nil, isReplicated: true, rows: 5, partitions: 2),
            .init(name: "STORE", type: "TABLE", partitionColumn: "KEY", isReplicated: false, rows: 100, partitions: 2),
        ])
    }

    @Test func missingSourcesLeaveTheirPartsEmpty() {
        let status = ClusterStatus.build(overview: Canned.overview, topology: nil, tableStatistics: nil,
                                         catalogTables: nil, catalogColumns: nil, warnings: ["@Statistics TOPO failed"])
        #expect(status.partitions.isEmpty && status.tables.isEmpty)
        #expect(status.text.hasSuffix("warning: @Statistics TOPO failed"))
    }

    @Test func textShowsThreeTables() {
        #expect(Self.status.text == """
            Cluster RUNNING: 2 live hosts, 0 missing, 2 partitions, 3 tables

            HOST  HOSTNAME  ADDRESS   CLIENT PORT  ADMIN PORT  STATE    UPTIME
            ----  --------  --------  -----------  ----------  -------  -------------------
               0  node-a    10.0.0.1        21212       21211  RUNNING  0 days 00:01:02.003
               1  node-b    10.0.0.2        21212       21211  RUNNING  0 days 00:01:01.000

            PARTITION  LEADER  REPLICAS  MISSING  ROWS  MEMORY KB
            ---------  ------  --------  -------  ----  ---------
                    0       0  0, 1            -    45          0
                    1       1  0, 1            -    65          0

            TABLE      PARTITIONED ON  ROWS  PARTITIONS
            ---------  --------------  ----  ----------
            EMPTY_ONE  ID                 0           2
            REGIONS    REPLICATED         5           2
            STORE      KEY              100           2
            """)
    }

    @Test func jsonKeysKeepTheirOrder() {
        let json = JSONWriter(style: .compact).render(Self.status.json)
        #expect(json.hasPrefix(#"{"cluster":{"state":"RUNNING","version":null,"hosts":2,"liveHosts":2,"missingHosts":0,"partitions":2,"tables":3},"rebalance":null,"waitingToJoin":[],"hosts":[{"id":0,"hostname":"node-a","address":"10.0.0.1","clientPort":21212,"adminPort":21211,"state":"RUNNING","uptime":"0 days 00:01:02.003"}"#))
        #expect(json.contains(#"{"name":"STORE","type":"TABLE","partitionColumn":"KEY","replicated":false,"rows":100,"partitions":2}"#))
        #expect(json.hasSuffix(#""warnings":[]}"#))
    }
}

@Suite struct ClusterStatusRebalance {
    static func status(rebalance: ResultTable?) -> ClusterStatus {
        ClusterStatus.build(overview: Canned.overview, topology: Canned.topology, tableStatistics: Canned.tableStatistics,
                            catalogTables: Canned.catalogTables, catalogColumns: Canned.catalogColumns,
                            rebalance: rebalance)
    }

    @Test func aRebalanceRowAddsTheProgressLineAndABar() {
        let status = Self.status(rebalance: Canned.rebalance)
        #expect(status.rebalance == RebalanceRow(
            timestampMillis: 1_700_000_000_000, percentageMoved: 42.17, movedRows: 1_234_567, rowsPerSecond: 9_876.5,
            estimatedRemainingMillis: 172_000, megabytesPerSecond: 1.5, callsPerSecond: 2.5, callsLatencyMillis: 12.25,
            callsTimeMillis: 10.5, callsTransferTimeMillis: 8))
        // The two lines go under the first; the rest is the status without a rebalance.
        let plain = ClusterStatusBuilding.status.text
        let first = plain.prefix { $0 != "\n" }
        #expect(first == "Cluster RUNNING: 2 live hosts, 0 missing, 2 partitions, 3 tables")
        #expect(status.text == first + """

            Cluster Expanding, progress: 42.17% completed
            [###############----------------------] 1.50 MB/s  9.9K rows/s  ETA 2:52
            """ + plain.dropFirst(first.count))
        #expect(status.text.split(separator: "\n")[2].count == 72)
    }

    @Test func jsonCarriesTheFiguresUnderOneKey() {
        let json = JSONWriter(style: .compact).render(Self.status(rebalance: Canned.rebalance).json)
        #expect(json.contains(#""tables":3},"rebalance":{"operation":"expanding","timestamp":1700000000000,"percentageMoved":42.17,"movedRows":1234567,"rowsPerSecond":9876.5,"estimatedRemainingMillis":172000,"megabytesPerSecond":1.5,"callsPerSecond":2.5,"callsLatencyMillis":12.25,"callsTimeMillis":10.5,"callsTransferTimeMillis":8.0},"waitingToJoin":[],"hosts":["#))
    }

    @Test func noRowOrNoAnswerChangesNothing() {
        let empty = Self.status(rebalance: RebalanceRow.table([]))
        #expect(empty.rebalance == nil)
        #expect(empty == ClusterStatusBuilding.status)
        // An older server's error reaches `build` as nil.
        #expect(Self.status(rebalance: nil) == ClusterStatusBuilding.status)
        #expect(JSONWriter(style: .compact).render(empty.json).contains(#""tables":3},"rebalance":null,"waitingToJoin":[],"hosts":["#))
    }

    @Test func theLeastAdvancedRowShowsAndAnUnknownEstimateReadsAsDashes() {
        var table = Canned.rebalance
        // A second reporter, further behind, with VoltDB's -1 for an unknown estimate, a rate that
        // is no number (it reads as 0) and figures left out; a row without PERCENTAGE_MOVED is
        // passed over.
        table.rows.append([.integer(1), .float(3.5), .integer(10), .float(.infinity), .integer(-1), .null, .null, .null, .null,
                           .null])
        table.rows.append([.integer(2), .null, .integer(0), .float(0), .integer(0), .float(0), .float(0), .float(0),
                           .float(0), .float(0)])
        let status = Self.status(rebalance: table)
        #expect(status.rebalance == RebalanceRow(
            timestampMillis: 1, percentageMoved: 3.5, movedRows: 10, rowsPerSecond: .infinity, estimatedRemainingMillis: nil,
            megabytesPerSecond: 0, callsPerSecond: 0, callsLatencyMillis: 0, callsTimeMillis: 0, callsTransferTimeMillis: 0))
        let lines = status.text.split(separator: "\n").map(String.init)
        #expect(lines[1] == "Cluster Expanding, progress: 3.50% completed")
        #expect(lines[2] == "[#--------------------------------------] 0.00 MB/s  0 rows/s  ETA --:--")
        #expect(JSONWriter(style: .compact).render(status.json).contains(#""estimatedRemainingMillis":null,"#))
    }

    @Test func progressReadsOneHundredOnlyWhenDone() {
        var table = Canned.rebalance
        table.rows[0][1] = .float(99.999)
        #expect(Self.status(rebalance: table).text.contains("progress: 99.99% completed\n[#####"))
        #expect(Self.status(rebalance: table).text.contains("-] 1.50 MB/s"))
        table.rows[0][1] = .float(100)
        table.rows[0][4] = .integer(0)
        #expect(Self.status(rebalance: table).text.contains(
            "progress: 100.00% completed\n[#####################################] 1.50 MB/s  9.9K rows/s  ETA 0:00\n"))
    }
}

@Suite struct ServerAddressParsing {
    @Test func entries() {
        #expect(ServerAddress(parsing: "h1", defaultPort: 21212) == ServerAddress(host: "h1", port: 21212))
        #expect(ServerAddress(parsing: "h1:3000", defaultPort: 21212) == ServerAddress(host: "h1", port: 3000))
        #expect(ServerAddress(parsing: "[::1]:5", defaultPort: 1) == ServerAddress(host: "::1", port: 5))
        #expect(ServerAddress(parsing: "::1", defaultPort: 7) == ServerAddress(host: "::1", port: 7))
        #expect(ServerAddress(parsing: "h1:0", defaultPort: 1) == nil)
        #expect(ServerAddress(parsing: "h1:x", defaultPort: 1) == nil)
        #expect(ServerAddress(parsing: ":5", defaultPort: 1) == nil)
        #expect(ServerAddress(host: "::1", port: 5).description == "[::1]:5")
    }
}

@Suite struct ClusterStatusWaitingJoiners {
    static let joiners = ResultTable(
        columns: [.init("TIMESTAMP", .bigint), .init("HOST_ID", .integer), .init("HOSTNAME", .varchar), .init("ENDPOINT", .varchar),
                  .init("PLACEMENT_GROUP", .varchar), .init("WAITING_MILLIS", .bigint), .init("STATUS", .varchar)],
        rows: [[.integer(1), .integer(0), .string("node-a"), .string("10.0.0.3:3021"), .string("rack2"), .integer(65_400),
                .string("waiting for 1 more host to join (K+1 = 2)")]])

    @Test func waitingHostsAreListedAfterTheHostsAndInTheJSON() {
        let status = ClusterStatus.build(overview: Canned.overview, topology: Canned.topology, tableStatistics: Canned.tableStatistics,
                                         catalogTables: Canned.catalogTables, catalogColumns: Canned.catalogColumns,
                                         joiners: Self.joiners)
        #expect(status.waitingJoiners == [.init(endpoint: "10.0.0.3:3021", placementGroup: "rack2", waitingMillis: 65_400,
                                                status: "waiting for 1 more host to join (K+1 = 2)")])
        #expect(status.text.contains("""
            WAITING TO JOIN  PLACEMENT GROUP   FOR  STATUS
            ---------------  ---------------  ----  -----------------------------------------
            10.0.0.3:3021    rack2            1:05  waiting for 1 more host to join (K+1 = 2)
            """))
        #expect(JSONWriter(style: .compact).render(status.json).contains(
            #""waitingToJoin":[{"endpoint":"10.0.0.3:3021","placementGroup":"rack2","waitingMillis":65400,"status":"waiting for 1 more host to join (K+1 = 2)"}],"hosts":["#))
        // No row, or an older server's error: nothing listed.
        let none = ClusterStatus.build(overview: Canned.overview, topology: Canned.topology, tableStatistics: Canned.tableStatistics,
                                       catalogTables: Canned.catalogTables, catalogColumns: Canned.catalogColumns, joiners: nil)
        #expect(none == ClusterStatusBuilding.status)
    }
}
