// The system procedures' table shapes (column names and types clients parse by name) and key
// contents, the bulk loaders, pause/resume, topology pushes and @Shutdown.
import Foundation
import Node
import Testing
import VoltModel
import VoltWire

private func shape(_ t: ResultTable?) -> [String] { t?.columns.map { "\($0.name):\($0.type.name)" } ?? [] }

extension ServerTests {
    @Test("@SystemInformation OVERVIEW and DEPLOYMENT")
    func systemInformation() throws {
        try withHost { host in
            let c = try host.client()
            let overview = try c.call("@SystemInformation", [.string("OVERVIEW")]).expectSuccess("OVERVIEW").tables.first
            #expect(shape(overview) == ["HOST_ID:INTEGER", "KEY:VARCHAR", "VALUE:VARCHAR"])
            var values: [String: String] = [:]
            for row in overview?.rows ?? [] {
                #expect(row[0] == .integer(0))
                if case .string(let k) = row[1], case .string(let v) = row[2] { values[k] = v }
            }
            #expect(values["IPADDRESS"] == "127.0.0.1")
            #expect(values["CLIENTPORT"] == String(host.clientPort!))
            #expect(values["ADMINPORT"] == String(host.adminPort!))
            #expect(values["CLUSTERSTATE"] == "RUNNING")
            #expect(values["SITESPERHOST"] == "3")
            #expect(values["KFACTOR"] == "0")
            for key in ["HOSTNAME", "VERSION", "BUILDSTRING", "UPTIME"] { #expect(values[key] != nil, "\(key) missing") }
            let deployment = try c.call("@SystemInformation", [.string("DEPLOYMENT")]).expectSuccess("DEPLOYMENT").tables.first
            #expect(shape(deployment) == ["PROPERTY:VARCHAR", "VALUE:VARCHAR"])
            #expect(deployment?.rows.contains([.string("sitesperhost"), .string("3")]) == true)
            #expect(try c.call("@SystemInformation", [.string("NOPE")]).status == .gracefulFailure)
        }
    }

    @Test("@Statistics TOPO carries the ring's config blob and an MP row")
    func topo() throws {
        try withHost { host in
            let c = try host.client()
            let r = try c.call("@Statistics", [.string("TOPO"), .integer(0)]).expectSuccess("TOPO")
            #expect(r.tables.count == 2)
            #expect(shape(r.tables.first) == ["Partition:INTEGER", "Sites:VARCHAR", "Leader:VARCHAR"])
            #expect(shape(r.tables.last) == ["HASHTYPE:VARCHAR", "HASHCONFIG:VARBINARY"])
            #expect(r.tables[0].values("Partition") == [0, 1, 2, 16383].map { Value.integer($0) })
            #expect(r.tables[0].strings("Leader").allSatisfy { $0.hasPrefix("0:") })
            #expect(r.tables[1].rows == [[.string("ELASTIC"), .bytes(host.engine!.ring.configBlob)]])
        }
    }

    @Test("@Statistics selectors have VoltDB's columns")
    func statisticsShapes() throws {
        try withHost(schema: serverSchema) { host in
            let c = try host.client()
            for i in 0..<20 { try c.call("KV.insert", [.string("s\(i)"), .varbinary([1])]).expectSuccess("insert") }
            let common = ["TIMESTAMP:BIGINT", "HOST_ID:INTEGER", "HOSTNAME:VARCHAR"]
            let count = try c.call("@Statistics", [.string("PARTITIONCOUNT"), .integer(0)]).expectSuccess("PARTITIONCOUNT").tables.first
            #expect(shape(count) == common + ["PARTITION_COUNT:INTEGER"])
            #expect(count?.values("PARTITION_COUNT") == [.integer(3)])
            let table = try c.call("@Statistics", [.string("table"), .integer(0)]).expectSuccess("TABLE").tables.first
            #expect(shape(table) == common + ["SITE_ID:INTEGER", "PARTITION_ID:BIGINT", "TABLE_NAME:VARCHAR", "TABLE_TYPE:VARCHAR",
                "TUPLE_COUNT:BIGINT", "TUPLE_ALLOCATED_MEMORY:BIGINT", "TUPLE_DATA_MEMORY:BIGINT", "STRING_DATA_MEMORY:BIGINT",
                "TUPLE_LIMIT:INTEGER", "PERCENT_FULL:INTEGER", "DR:VARCHAR", "EXPORT:VARCHAR"])
            let kvRows = (table?.rows ?? []).filter { $0[5] == .string("KV") }
            #expect(kvRows.count == 3)
            #expect(kvRows.reduce(Int64(0)) { if case .integer(let n) = $1[7] { $0 + n } else { $0 } } == 20)
            let memory = try c.call("@Statistics", [.string("MEMORY"), .integer(0)]).expectSuccess("MEMORY").tables.first
            #expect(memory?.columnNames == ["TIMESTAMP", "HOST_ID", "HOSTNAME", "RSS", "JAVAUSED", "JAVAUNUSED", "TUPLEDATA",
                "TUPLEALLOCATED", "INDEXMEMORY", "STRINGMEMORY", "TUPLECOUNT", "POOLEDMEMORY", "PHYSICALMEMORY", "JAVAMAXHEAP"])
            #expect(memory?.values("TUPLECOUNT") == [.integer(20)])
            let procedure = try c.call("@Statistics", [.string("PROCEDURE"), .integer(0)]).expectSuccess("PROCEDURE").tables.first
            #expect(procedure?.columnNames.prefix(8) == ["TIMESTAMP", "HOST_ID", "HOSTNAME", "SITE_ID", "PARTITION_ID", "PROCEDURE",
                "INVOCATIONS", "TIMED_INVOCATIONS"])
            #expect(procedure?.columnNames.contains("FAILURES") == true)
            let inserts = (procedure?.rows ?? []).filter { $0[5] == .string("KV.insert") }
            #expect(inserts.reduce(Int64(0)) { if case .integer(let n) = $1[6] { $0 + n } else { $0 } } == 20)
            let names = procedure?.strings("PROCEDURE") ?? []
            #expect(names == names.sorted())
            let latency = try c.call("@Statistics", [.string("LATENCY"), .integer(0)]).expectSuccess("LATENCY").tables.first
            #expect(shape(latency) == common + ["INTERVAL:INTEGER", "COUNT:INTEGER", "TPS:INTEGER", "P50:BIGINT", "P95:BIGINT",
                "P99:BIGINT", "P99.9:BIGINT", "P99.99:BIGINT", "P99.999:BIGINT", "MAX:BIGINT"])
            let live = try c.call("@Statistics", [.string("LIVECLIENTS"), .integer(0)]).expectSuccess("LIVECLIENTS")
            #expect(shape(live.tables.first) == common + ["CONNECTION_ID:BIGINT", "CLIENT_HOSTNAME:VARCHAR", "ADMIN:TINYINT",
                "OUTSTANDING_REQUEST_BYTES:BIGINT", "OUTSTANDING_RESPONSE_MESSAGES:BIGINT", "OUTSTANDING_TRANSACTIONS:BIGINT"])
            #expect(live.tables.first?.rows.count == 1)
            #expect(live.tables.count == 2)
            #expect(try c.call("@Statistics", [.string("GARBAGE"), .integer(0)]).status == .gracefulFailure)
        }
    }

    @Test("@Statistics REBALANCE has VoltDB's columns and no row while nothing rebalances")
    func rebalanceStatistics() throws {
        try withHost { host in
            let c = try host.client()
            let r = try c.call("@Statistics", [.string("REBALANCE"), .integer(0)]).expectSuccess("REBALANCE")
            #expect(r.tables.count == 1)
            #expect(shape(r.tables.first) == ["TIMESTAMP:BIGINT", "PERCENTAGE_MOVED:FLOAT", "MOVED_ROWS:BIGINT",
                "ROWS_PER_SECOND:FLOAT", "ESTIMATED_REMAINING:BIGINT", "MEGABYTES_PER_SECOND:FLOAT", "CALLS_PER_SECOND:FLOAT",
                "CALLS_LATENCY:FLOAT", "CALLS_TIME:FLOAT", "CALLS_TRANSFER_TIME:FLOAT"])
            #expect(r.tables.first?.rows == [])
            let bad = try c.call("@Statistics", [.string("NOPE"), .integer(0)])
            #expect(bad.status == .gracefulFailure)
            #expect(bad.statusString?.contains("PROCEDURE, REBALANCE, TABLE") == true)
        }
    }

    @Test("@SystemCatalog PROCEDURES, COLUMNS, PRIMARYKEYS, TABLES and INDEXINFO")
    func systemCatalog() throws {
        try withHost(schema: serverSchema) { host in
            let c = try host.client()
            let procs = try c.call("@SystemCatalog", [.string("PROCEDURES")]).expectSuccess("PROCEDURES").tables.first
            #expect(procs?.columnNames == ["PROCEDURE_CAT", "PROCEDURE_SCHEM", "PROCEDURE_NAME", "RESERVED1", "RESERVED2",
                "RESERVED3", "REMARKS", "PROCEDURE_TYPE", "SPECIFIC_NAME"])
            var remarks: [String: [String: Any]] = [:]
            for row in procs?.rows ?? [] {
                guard case .string(let name) = row[2], case .string(let json) = row[6] else { continue }
                remarks[name] = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            }
            #expect(remarks["KV.insert"]?["singlePartition"] as? Bool == true)
            #expect(remarks["KV.insert"]?["partitionParameter"] as? Int == 0)
            #expect(remarks["KV.insert"]?["partitionParameterType"] as? Int == 9)
            #expect(remarks["ITEMS.update"]?["partitionParameter"] as? Int == 3)
            #expect(remarks["ITEMS.insert"]?["partitionParameterType"] as? Int == 6)
            #expect(remarks["GET_V"]?["singlePartition"] as? Bool == true)
            #expect(remarks["GET_V"]?["readOnly"] as? Bool == true)
            #expect(remarks["COUNT_ITEMS"]?["singlePartition"] as? Bool == false)
            #expect(remarks["REGION.insert"]?["singlePartition"] as? Bool == false)
            let columns = try c.call("@SystemCatalog", [.string("COLUMNS")]).expectSuccess("COLUMNS").tables.first
            for name in ["TABLE_NAME", "COLUMN_NAME", "TYPE_NAME", "ORDINAL_POSITION", "REMARKS", "DATA_TYPE", "IS_NULLABLE"] {
                #expect(columns?.column(name) != nil, "COLUMNS lacks \(name)")
            }
            #expect(columns?.columns[columns!.column("ORDINAL_POSITION")!].type == .integer)
            let items = (columns?.rows ?? []).filter { $0[2] == .string("ITEMS") }
            #expect(items.map { $0[3] } == [.string("ID"), .string("NAME"), .string("QTY")])
            #expect(items.map { $0[5] } == [.string("BIGINT"), .string("VARCHAR"), .string("INTEGER")])
            #expect(items.map { $0[16] } == [.integer(1), .integer(2), .integer(3)])
            #expect(items.map { $0[11] } == [.string("PARTITION_COLUMN"), .null, .null])
            #expect((columns?.rows ?? []).filter { $0[2] == .string("REGION") }.allSatisfy { $0[11] == .null })
            let keys = try c.call("@SystemCatalog", [.string("PRIMARYKEYS")]).expectSuccess("PRIMARYKEYS").tables.first
            #expect(keys?.columnNames == ["TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME"])
            #expect(Set(keys?.strings("TABLE_NAME") ?? []) == ["ITEMS", "KV", "REGION"])
            let tables = try c.call("@SystemCatalog", [.string("TABLES")]).expectSuccess("TABLES").tables.first
            #expect(tables?.strings("TABLE_NAME") == ["ITEMS", "KV", "REGION"])
            #expect(tables?.values("REMARKS").last == .null)
            #expect(tables?.values("REMARKS").first == .string(#"{"partitionColumn":"ID"}"#))
            let index = try c.call("@SystemCatalog", [.string("INDEXINFO")]).expectSuccess("INDEXINFO").tables.first
            #expect(index?.strings("INDEX_NAME").contains("ITEMS_BY_NAME") == true)
            #expect(try c.call("@SystemCatalog", [.string("NOPE")]).status == .gracefulFailure)
        }
    }

    @Test("@GetPartitionKeys rows equal the ring's partition keys; a bad type is -2")
    func partitionKeys() throws {
        try withHost(sitesPerHost: 4) { host in
            let c = try host.client()
            let ring = host.engine!.ring
            for (name, type) in [("INTEGER", SQLType.integer), ("STRING", .varchar), ("VARBINARY", .varbinary)] {
                let t = try c.call("@GetPartitionKeys", [.string(name)]).expectSuccess(name).tables.first
                #expect(t?.columnNames == ["PARTITION_ID", "PARTITION_KEY"])
                #expect(t?.columns.last?.type == type)
                #expect(t?.rows == ring.partitionKeys(for: type).map { [.integer(Int64($0.partition.rawValue)), $0.key] })
            }
            let bad = try c.call("@GetPartitionKeys", [.string("FLOAT")])
            #expect(bad.status == .gracefulFailure)
            #expect(bad.statusString?.contains("INTEGER") == true)
        }
    }

    @Test("@LoadSinglepartitionTable and @LoadMultipartitionTable load a few hundred rows atomically")
    func bulkLoad() throws {
        try withHost(schema: serverSchema) { host in
            let c = try host.client()
            let ring = host.engine!.ring
            let columns: [ResultTable.Column] = [.init("ID", .bigint), .init("NAME", .varchar), .init("QTY", .integer)]
            // Group 600 rows by partition, one load call per partition, keyed by the first row's bytes.
            var groups: [PartitionID: [[Value]]] = [:]
            for i in 0..<600 {
                groups[ring.partition(forKey: .integer(Int64(i)), type: .bigint), default: []].append([.integer(Int64(i)), .string("n\(i)"), .integer(Int64(i % 7))])
            }
            for partition in groups.keys.sorted() {
                let rows = groups[partition]!
                guard case .integer(let first) = rows[0][0] else { continue }
                let key = withUnsafeBytes(of: first.littleEndian) { Array($0) }
                let r = try c.call("@LoadSinglepartitionTable", [.varbinary(key), .string("ITEMS"), .tinyint(0),
                                                                 .table(ResultTable(columns: columns, rows: rows))])
                r.expectSuccess("load \(partition)")
                #expect(r.tables.first?.scalar == .integer(Int64(rows.count)))
            }
            var total = try c.call("@AdHoc", [.string("SELECT COUNT(*) FROM ITEMS")]).expectSuccess("count")
            #expect(total.tables.first?.scalar == .integer(600))
            // One bad row (a NAME longer than VARCHAR(32)) fails the batch and loads nothing.
            let fresh = (1000..<1300).map { [Value.integer(Int64($0)), .string("x"), .integer(1)] }
            var mixed = fresh.filter { ring.partition(forKey: $0[0], type: .bigint) == PartitionID(0) }
            mixed.append([mixed[0][0], .string(String(repeating: "x", count: 40)), .integer(1)])
            guard case .integer(let k) = mixed[0][0] else { return }
            let failed = try c.call("@LoadSinglepartitionTable", [.varbinary(withUnsafeBytes(of: k.littleEndian) { Array($0) }),
                .string("ITEMS"), .tinyint(0), .table(ResultTable(columns: columns, rows: mixed))])
            #expect(failed.status == .gracefulFailure)
            total = try c.call("@AdHoc", [.string("SELECT COUNT(*) FROM ITEMS")]).expectSuccess("count")
            #expect(total.tables.first?.scalar == .integer(600))
            // Rows of several partitions under one key: mispartitioned, nothing loaded.
            let spread = try c.call("@LoadSinglepartitionTable", [.varbinary(withUnsafeBytes(of: Int64(1000).littleEndian) { Array($0) }),
                .string("ITEMS"), .tinyint(0), .table(ResultTable(columns: columns, rows: fresh))])
            #expect(spread.status != .success)
            total = try c.call("@AdHoc", [.string("SELECT COUNT(*) FROM ITEMS")]).expectSuccess("count")
            #expect(total.tables.first?.scalar == .integer(600))
            // Upsert through the same path.
            let upsert = try c.call("@LoadSinglepartitionTable", [.varbinary(withUnsafeBytes(of: Int64(0).littleEndian) { Array($0) }),
                .string("ITEMS"), .tinyint(1), .table(ResultTable(columns: columns, rows: [[.integer(0), .string("renamed"), .integer(5)]]))])
            upsert.expectSuccess("upsert")
            let renamed = try c.call("ITEMS.select", [.bigint(0)]).expectSuccess("select")
            #expect(renamed.tables.first?.rows.first?[1] == .string("renamed"))

            // Replicated table: multi-partition load; then one bad row loads nothing.
            let regionColumns: [ResultTable.Column] = [.init("CODE", .integer), .init("NAME", .varchar)]
            let regions = (0..<300).map { [Value.integer(Int64($0)), .string("r\($0)")] }
            let mp = try c.call("@LoadMultipartitionTable", [.string("REGION"), .tinyint(0), .table(ResultTable(columns: regionColumns, rows: regions))])
            mp.expectSuccess("MP load")
            #expect(mp.tables.first?.scalar == .integer(300))
            let bad = regions.map { [Value.integer(($0[0] == .integer(5) ? 4 : 1000)), $0[1]] }
            let badLoad = try c.call("@LoadMultipartitionTable", [.string("REGION"), .tinyint(0), .table(ResultTable(columns: regionColumns, rows: bad))])
            #expect(badLoad.status != .success)
            let regionCount = try c.call("@AdHoc", [.string("SELECT COUNT(*) FROM REGION")]).expectSuccess("count")
            #expect(regionCount.tables.first?.scalar == .integer(300))
            let wrong = try c.call("@LoadSinglepartitionTable", [.varbinary([0]), .string("REGION"), .tinyint(0),
                                                                 .table(ResultTable(columns: regionColumns, rows: regions))])
            #expect(wrong.status == .gracefulFailure)
        }
    }

    @Test("paused: the client port refuses work, the admin port and read-only system procedures work")
    func pauseAndResume() throws {
        try withHost(schema: serverSchema, paused: true) { host in
            let client = try host.client()
            let admin = try host.client(admin: true)
            let refused = try client.call("KV.insert", [.string("p"), .varbinary([1])])
            #expect(refused.status == .serverUnavailable)
            #expect(refused.statusString?.contains("paused") == true)
            #expect(try client.call("@AdHoc", [.string("SELECT COUNT(*) FROM KV")]).status == .serverUnavailable)
            try client.call("@Ping").expectSuccess("ping while paused")
            try client.call("@Statistics", [.string("TOPO"), .integer(0)]).expectSuccess("TOPO while paused")
            try client.call("@SystemCatalog", [.string("PROCEDURES")]).expectSuccess("catalog while paused")
            try admin.call("KV.insert", [.string("p"), .varbinary([1])]).expectSuccess("admin insert while paused")
            let overview = try admin.call("@SystemInformation", [.string("OVERVIEW")]).expectSuccess("overview")
            #expect(overview.tables.first?.rows.contains { $0[1] == .string("CLUSTERSTATE") && $0[2] == .string("PAUSED") } == true)
            try admin.call("@Resume").expectSuccess("@Resume")
            try client.call("KV.insert", [.string("q"), .varbinary([1])]).expectSuccess("insert after resume")
            try admin.call("@Pause").expectSuccess("@Pause")
            #expect(try client.call("GET_V", [.string("q")]).status == .serverUnavailable)
            #expect(host.isPaused)
        }
    }

    @Test("@Subscribe TOPOLOGY: a topology change is pushed to subscribers only; DDL pushes procedures")
    func subscribeAndPush() throws {
        try withHost { host in
            let subscriber = try host.client()
            let bystander = try host.client()
            let subscribed = try subscriber.call("@Subscribe", [.string("TOPOLOGY")])
            #expect(subscribed.status == .success)
            #expect(subscribed.tables.isEmpty)
            #expect(try bystander.call("@Subscribe", [.string("NEWS")]).status == .gracefulFailure)
            // Same topology: no push.
            #expect(!host.updateTopology(host.topology!))
            // A second replica on host 1 for partition 0 changes TOPO.
            var topology = host.topology!
            let extra = Topology.Replica(host: HostID(1), site: SiteID(0))
            topology.partitions[0] = Topology.Partition(id: topology.partitions[0].id,
                                                        replicas: topology.partitions[0].replicas + [extra],
                                                        leader: topology.partitions[0].leader)
            #expect(host.updateTopology(topology))
            let push = try subscriber.receive(timeoutMillis: 5_000)
            #expect(push.handle == ReservedHandle.asyncTopology)
            #expect(push.status == .success)
            #expect(push.tables.count == 2)
            #expect(push.tables[0].strings("Sites").first == "0:0, 1:0")
            // The bystander got nothing: its next answer is its own call's.
            let ping = try bystander.call("@Ping")
            #expect(ping.handle != ReservedHandle.asyncTopology)
            #expect(throws: ClientConnectionError.self) { _ = try bystander.receive(timeoutMillis: 200) }
            // DDL changes the procedure list: the subscriber gets it pushed.
            try bystander.call("@AdHoc", [.string("CREATE TABLE T1 (A INTEGER NOT NULL PRIMARY KEY); PARTITION TABLE T1 ON COLUMN A;")])
                .expectSuccess("DDL")
            let procedures = try subscriber.receive(timeoutMillis: 5_000)
            #expect(procedures.handle == ReservedHandle.asyncProcedures)
            #expect(procedures.tables.first?.strings("PROCEDURE_NAME").contains("T1.insert") == true)
        }
    }

    @Test("a burst of topology changes reaches a subscriber as few pushes, the last one carrying the final topology")
    func topologyPushesAreCoalesced() throws {
        try withHost { host in
            let subscriber = try host.client()
            try subscriber.call("@Subscribe", [.string("TOPOLOGY")]).expectSuccess("@Subscribe")
            // 20 changes in a row: partition 0 gains a replica on host 1, 2, … 20.
            let started = ContinuousClock.now
            var topology = host.topology!
            let first = topology.partitions[0]
            for h in 1...20 {
                let extra = Topology.Replica(host: HostID(Int32(h)), site: SiteID(0))
                topology.partitions[0] = Topology.Partition(id: first.id, replicas: first.replicas + [extra], leader: first.leader)
                #expect(host.updateTopology(topology))
            }
            var pushes: [ClientResponse] = []
            while let push = try? subscriber.receive(timeoutMillis: 1_000) { pushes.append(push) }
            let elapsed = ContinuousClock.now - started
            #expect(pushes.allSatisfy { $0.handle == ReservedHandle.asyncTopology })
            // The first change is pushed at once, the 19 others together one interval later; a
            // slow machine may split them once more.
            #expect((2...3).contains(pushes.count), "\(pushes.count) pushes for 20 changes")
            #expect(pushes.last?.tables[0].strings("Sites").first == "0:0, 20:0")
            #expect(elapsed >= .milliseconds(Host.topologyPushIntervalMillis))
        }
    }

    @Test("@Shutdown answers, then the host stops")
    func shutdown() throws {
        try withHost { host in
            let c = try host.client()
            try c.call("@Shutdown").expectSuccess("@Shutdown")
            #expect(host.waitForShutdown(timeoutMillis: 10_000))
            #expect(host.clientPort == nil || (try? host.client()) == nil)
        }
    }

    @Test("a port in use is a clear error naming it; a bad schema names file and statement")
    func startFailures() throws {
        try withHost { running in
            let dir = serverTempPath("second")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let root = try RootDirectory.initialize(dir: dir).root
            let second = Node.Host(root: root, options: HostOptions(bindAddress: "127.0.0.1", clientPort: running.clientPort!, adminPort: 0))
            #expect {
                try second.start()
            } throws: { error in
                "\(error)".contains("client port \(running.clientPort!)") && "\(error)".contains("in use")
            }
        }
        let dir = serverTempPath("badschema")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + ".sql"
        try "CREATE TABLE A (X INTEGER);\nCREATE TABLE B (Y NOSUCHTYPE);\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let root = try RootDirectory.initialize(dir: dir, schemaFiles: [file]).root
        let host = Node.Host(root: root, options: HostOptions(bindAddress: "127.0.0.1", clientPort: 0, adminPort: 0))
        #expect {
            try host.start()
        } throws: { error in
            "\(error)".contains("statement 2") && "\(error)".contains("NOSUCHTYPE")
        }
        host.stop()
    }
}
