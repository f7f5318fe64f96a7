// Responses from Tests/Fixtures/wire-vectors.json (built per docs/PROTOCOL.md §4 by the generator
// and parsed by the Python client's own VoltResponse/_parse_* functions): encoding the tables the
// client saw gives the exact bytes, and decoding the bytes gives those tables back. For the
// system-procedure vectors, whose `client_parsed` is the client's digest rather than the table,
// the tables are built from the column lists of §5.3–5.5 and cross-checked against that digest.
import Foundation
import Testing
import VoltModel
import VoltWire

/// A table as `client_parsed` lists it: `columns` [[name, type code]], `rows` of JSON values.
func tableFromClientParsed(_ object: [String: Any]) throws -> ResultTable {
    let columnPairs = try #require(object["columns"] as? [[Any]])
    let columns = try columnPairs.map { pair -> ResultTable.Column in
        let code = try #require((pair[1] as? NSNumber)?.int8Value)
        return ResultTable.Column(try #require(pair[0] as? String), try #require(SQLType(rawValue: code), "type \(code)"))
    }
    let rows = try #require(object["rows"] as? [[Any]]).map { row in
        try zip(row, columns).map { cell, column -> Value in
            if cell is NSNull { return .null }
            switch column.type {
            case .tinyint, .smallint, .integer, .bigint: return .integer(try #require((cell as? NSNumber)?.int64Value))
            case .float: return .float(try #require((cell as? NSNumber)?.doubleValue))
            case .varchar: return .string(try #require(cell as? String))
            case .varbinary: return .bytes([UInt8](hex: try #require(cell as? String)))
            case .decimal:
                let text = try #require(cell as? String)
                return .decimal(try #require(VoltDecimal(string: text)))
            case .timestamp:
                // The client shows a local datetime; the generator notes the raw int64 after "raw int64".
                let text = try #require(cell as? String)
                let raw = try #require(text.components(separatedBy: "raw int64 ").last.flatMap { Int64($0) })
                return .timestamp(raw)
            }
        }
    }
    return ResultTable(columns: columns, rows: rows)
}

func responseFromClientParsed(_ parsed: [String: Any]) throws -> ClientResponse {
    func int(_ key: String) -> Int64? { (parsed[key] as? NSNumber)?.int64Value }
    let tables = try #require(parsed["tables"] as? [[String: Any]]).map(tableFromClientParsed)
    return ClientResponse(
        handle: try #require(int("clientHandle")),
        statusCode: Int8(try #require(int("status"))),
        statusString: parsed["statusString"] as? String,
        // The client shows the default app status -128 as None.
        appStatus: int("appStatus").map { Int8($0) } ?? ClientResponse.defaultAppStatus,
        appStatusString: parsed["appStatusString"] as? String,
        clusterRoundTripMillis: Int32(try #require(int("roundtripTime"))),
        tables: tables)
}

@Suite("Wire response vectors")
struct ResponseVectorTests {
    static let parsedNames = ["two_column_table", "unknown_procedure_error", "graceful_failure", "adhoc_dml_result", "mixed_types_with_nulls"]

    @Test("encoding what the client parsed gives the exact bytes; decoding gives it back", arguments: parsedNames)
    func clientParsed(name: String) throws {
        let vector = try #require(try WireVectors.responses()[name])
        let (frame, body) = try WireVectors.frame(vector)
        let response = try responseFromClientParsed(try #require(vector["client_parsed"] as? [String: Any]))
        #expect(try response.encodeFrame().hex == frame.hex)
        #expect(try ClientResponse.decode(body) == response)
    }

    @Test("status strings and statuses surface as the client saw them")
    func statuses() throws {
        let responses = try WireVectors.responses()
        let unknown = try ClientResponse.decode(try WireVectors.frame(try #require(responses["unknown_procedure_error"])).body)
        #expect(unknown.status == .unexpectedFailure)
        #expect(unknown.statusString == "Procedure FOO was not found")
        #expect(unknown.handle == 42)
        let mixed = try ClientResponse.decode(try WireVectors.frame(try #require(responses["mixed_types_with_nulls"])).body)
        #expect(mixed.appStatus == 5)
        #expect(mixed.appStatusString == "app says hi")
        let nullRow = mixed.tables[0].rows[1]
        #expect(nullRow.allSatisfy { $0.isNull })
        #expect(mixed.tables[0].rows[0][4] == .decimal(VoltDecimal(string: "12.345")!))
    }

    static func topoTables(sites: [String], leaders: [String], config: [UInt8]) -> [ResultTable] {
        let topology = ResultTable(
            columns: [.init("Partition", .integer), .init("Sites", .varchar), .init("Leader", .varchar)],
            rows: zip([Int64(0), 1, 16383], zip(sites, leaders)).map { [.integer($0), .string($1.0), .string($1.1)] })
        let hash = ResultTable(columns: [.init("HASHTYPE", .varchar), .init("HASHCONFIG", .varbinary)],
                               rows: [[.string("ELASTIC"), .bytes(config)]])
        return [topology, hash]
    }

    @Test("@Statistics TOPO 0: topology then hash config (§5.4)")
    func statisticsTopo() throws {
        let vector = try #require(try WireVectors.responses()["statistics_topo"])
        let parsed = try #require(vector["client_parsed"] as? [String: Any])
        let config = [UInt8](hex: try #require(parsed["config_hex"] as? String))
        let tables = Self.topoTables(sites: ["0:0, 1:0", "0:1, 1:1", "0:2"], leaders: ["0:0", "1:1", "0:2"], config: config)
        // Cross-check against the client's digest: leader host = text before ':'.
        let partitions = try #require(parsed["partitions"] as? [String: [String: Any]])
        for row in tables[0].rows {
            guard case .integer(let pid) = row[0], case .string(let leader) = row[2] else { continue }
            let digest = try #require(partitions[String(pid)])
            #expect((digest["leader_host_id"] as? NSNumber)?.stringValue == leader.split(separator: ":").first.map(String.init))
        }
        // Handle 3 is what the generator used (visible in the frame).
        let response = ClientResponse(handle: 3, status: .success, tables: tables)
        let (frame, body) = try WireVectors.frame(vector)
        #expect(try response.encodeFrame().hex == frame.hex)
        #expect(try ClientResponse.decode(body) == response)
    }

    @Test("topology push on ASYNC_TOPO_HANDLE (§6.2)")
    func topologyPush() throws {
        let vector = try #require(try WireVectors.responses()["topology_push"])
        let topo = try #require(try WireVectors.responses()["statistics_topo"]?["client_parsed"] as? [String: Any])
        let config = [UInt8](hex: try #require(topo["config_hex"] as? String))
        #expect((vector["client_parsed_handle"] as? NSNumber)?.int64Value == ReservedHandle.asyncTopology)
        #expect(ReservedHandle.isServerPush(ReservedHandle.asyncTopology))
        #expect(!ReservedHandle.isServerPush(ReservedHandle.ping))
        #expect(!ReservedHandle.isServerPush(1))
        let response = ClientResponse(handle: ReservedHandle.asyncTopology, status: .success,
                                      tables: Self.topoTables(sites: ["0:0", "0:1", "0:2"], leaders: ["0:0", "0:1", "0:2"], config: config))
        let (frame, body) = try WireVectors.frame(vector)
        #expect(try response.encodeFrame().hex == frame.hex)
        #expect(try ClientResponse.decode(body) == response)
    }

    @Test("@SystemInformation OVERVIEW (§5.3)")
    func overview() throws {
        let vector = try #require(try WireVectors.responses()["system_information_overview"])
        let parsed = try #require(vector["client_parsed"] as? [String: [String: Any]])
        var rows: [[Value]] = []
        for host in parsed.keys.sorted() {
            let info = try #require(parsed[host])
            let id = Value.integer(try #require(Int64(host)))
            rows.append([id, .string("IPADDRESS"), .string(try #require(info["ip"] as? String))])
            rows.append([id, .string("HOSTNAME"), .string(try #require(info["hostname"] as? String))])
            rows.append([id, .string("CLIENTPORT"), .string(try #require((info["client_port"] as? NSNumber)?.stringValue))])
        }
        let table = ResultTable(columns: [.init("HOST_ID", .integer), .init("KEY", .varchar), .init("VALUE", .varchar)], rows: rows)
        let response = ClientResponse(handle: 4, status: .success, tables: [table])
        let (frame, body) = try WireVectors.frame(vector)
        #expect(try response.encodeFrame().hex == frame.hex)
        #expect(try ClientResponse.decode(body) == response)
    }

    @Test("@SystemCatalog PROCEDURES (§5.5)")
    func procedures() throws {
        let vector = try #require(try WireVectors.responses()["system_catalog_procedures"])
        let parsed = try #require(vector["client_parsed"] as? [String: [String: Any]])
        func remarks(_ name: String) throws -> String {
            let p = try #require(parsed[name])
            let readOnly = try #require(p["read_only"] as? Bool)
            let single = try #require(p["single_partition"] as? Bool)
            var json = "{\"readOnly\":\(readOnly),\"singlePartition\":\(single)"
            if single {
                json += ",\"partitionParameter\":\(try #require(p["partition_param"] as? NSNumber))"
                json += ",\"partitionParameterType\":\(try #require(p["partition_param_type"] as? NSNumber))"
            }
            return json + ",\"compound\":\(try #require(p["compound"] as? Bool))}"
        }
        let columns: [ResultTable.Column] = ["PROCEDURE_CAT", "PROCEDURE_SCHEM", "PROCEDURE_NAME", "RESERVED1", "RESERVED2", "RESERVED3", "REMARKS"]
            .map { ResultTable.Column($0, .varchar) } + [.init("PROCEDURE_TYPE", .smallint), .init("SPECIFIC_NAME", .varchar)]
        // Row order as the generator wrote them (the client keys them by name).
        let rows = try ["KV.upsert", "KV.select", "CountAll"].map { name -> [Value] in
            [.null, .null, .string(name), .null, .null, .null, .string(try remarks(name)), .integer(0), .string(name)]
        }
        let response = ClientResponse(handle: 6, status: .success, tables: [ResultTable(columns: columns, rows: rows)])
        let (frame, body) = try WireVectors.frame(vector)
        #expect(try response.encodeFrame().hex == frame.hex)
        #expect(try ClientResponse.decode(body) == response)
    }

    @Test("fields-present: only bits 5 and 7 are ever written; bit 6 is skipped on read, bit 4 rejected")
    func fieldsPresent() throws {
        let both = ClientResponse(handle: 1, status: .userAbort, statusString: "s", appStatus: 2, appStatusString: "a")
        #expect(try both.encodeFrame()[13] == 0xa0)
        #expect(try ClientResponse(handle: 1, status: .success).encodeFrame()[13] == 0)
        // A Java-style serialized exception (bit 6): int32 length then that many bytes, before the tables.
        var w = WireWriter()
        w.writeInt8(0); w.writeInt64(9); w.writeUInt8(0x40); w.writeInt8(-3); w.writeInt8(-128); w.writeInt32(0)
        w.writeInt32(3); w.writeRaw([4, 0, 0]); w.writeInt16(0)
        #expect(try ClientResponse.decode(w.bytes) == ClientResponse(handle: 9, status: .unexpectedFailure))
        var hashes = w.bytes
        hashes[9] = 0x10
        #expect((#expect(throws: WireError.self) { try ClientResponse.decode(hashes) })?.kind == .invalidField(0x10))
    }

    @Test("a table whose values do not fit the columns is an error and leaves the writer untouched")
    func mismatchedTable() throws {
        var w = WireWriter()
        w.writeRaw([9, 9])
        for table in [ResultTable(columns: [.init("A", .integer)], rows: [[.string("x")]]),
                      ResultTable(columns: [.init("A", .integer)], rows: [[.integer(1), .integer(2)]]),
                      ResultTable(columns: [.init("A", .tinyint)], rows: [[.integer(-128)]])] {
            let response = ClientResponse(handle: 1, status: .success, tables: [ResultTable.modifiedTuples(1), table])
            let error = #expect(throws: WireError.self) { try response.encode(into: &w) }
            #expect(error?.what.hasPrefix("response table 1") == true)
            #expect(w.bytes == [9, 9])
        }
    }

    @Test("every column type round-trips with extremes and NULLs; FLOAT NULL is ff ee 42 d1 30 77 3b 76")
    func tableRoundTrip() throws {
        let columns = SQLType.allCases.map { ResultTable.Column("C\($0.rawValue)", $0) }
        let extremes: [Value] = [.integer(127), .integer(-32767), .integer(2_147_483_647), .integer(.max), .float(.greatestFiniteMagnitude),
                                 .string("ünïcödé ✓"), .timestamp(.max), .decimal(VoltDecimal(unscaled: -VoltDecimal.maxUnscaled)), .bytes([0, 255])]
        let table = ResultTable(columns: columns, rows: [extremes, Array(repeating: .null, count: columns.count)])
        var w = WireWriter()
        try table.encodeVoltTable(into: &w)
        var r = WireReader(w.bytes)
        #expect(try ResultTable.decodeVoltTable(from: &r) == table)
        #expect(r.isAtEnd)
        var f = WireWriter()
        try f.writeValue(.null, as: .float, "float")
        #expect(f.bytes.hex == "ffee42d130773b76")
        var below = WireReader([0xff, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        #expect(try below.readValue(.float, "float") == .null)
    }

    @Test("a table with an unreadable column type or inconsistent lengths is rejected")
    func malformedTables() throws {
        var w = WireWriter()
        try ResultTable(columns: [.init("A", .integer)], rows: [[.integer(5)]]).encodeVoltTable(into: &w)
        let good = w.bytes
        var boolean = good
        boolean[11] = 23
        var r1 = WireReader(boolean)
        #expect((#expect(throws: WireError.self) { try ResultTable.decodeVoltTable(from: &r1) })?.kind == .unsupportedType(23))
        var rowLength = good
        rowLength[rowLength.count - 5] = 5
        var r2 = WireReader(rowLength)
        #expect(throws: WireError.self) { try ResultTable.decodeVoltTable(from: &r2) }
        var total = good + [0]
        total[3] += 1
        var r3 = WireReader(total)
        #expect((#expect(throws: WireError.self) { try ResultTable.decodeVoltTable(from: &r3) })?.kind == .lengthMismatch(declared: Int(total[3]), actual: Int(total[3]) - 1))
    }
}
