// Invocations from wire-vectors.json (produced by the Python client's `_serialize_invocation`):
// decoding yields the listed handles, names and parameters, and our encoder reproduces the exact
// bytes. Plus the v0/v1/v2 header details and the empty-array quirk.
import Foundation
import Testing
import VoltModel
import VoltWire

/// The parameter the vectors file lists as `[type name, value]`.
func expectedParameter(_ pair: [Any]) throws -> WireParameter {
    let name = try #require(pair.first as? String)
    let value = pair.count > 1 ? pair[1] : NSNull()
    func int() throws -> Int64 { try #require((value as? NSNumber)?.int64Value, "\(name) value") }
    func values(_ f: (Any) throws -> Value) throws -> [Value] { try #require(value as? [Any]).map(f) }
    switch name {
    case "NULL": return .null
    case "TINYINT": return .tinyint(try int())
    case "SMALLINT": return .smallint(try int())
    case "INTEGER": return .integer(try int())
    case "BIGINT": return .bigint(try int())
    case "FLOAT": return .float(try #require((value as? NSNumber)?.doubleValue))
    case "STRING": return .string(try #require(value as? String))
    case "DECIMAL": return .decimal(try #require(VoltDecimal(string: try #require(value as? String))))
    case "VARBINARY": return .varbinary([UInt8](hex: try #require(value as? String)))
    case "BIGINT(NULL)": return .bigint(nil)
    case "STRING(NULL)": return .string(nil)
    case "DECIMAL(NULL)": return .decimal(nil)
    case "BOOLEAN": return .boolean(try #require(value as? Bool))
    case "DATE":
        let parts = try #require(value as? String).split(separator: "-").map { Int($0)! }
        return .date(WireDate(year: parts[0], month: parts[1], day: parts[2]))
    case "GEOGRAPHY_POINT":
        let c = try #require(value as? [NSNumber])
        return .geographyPoint(GeographyPoint(longitude: c[0].doubleValue, latitude: c[1].doubleValue))
    case "INTEGER[]":
        return .array(try values { .integer(($0 as! NSNumber).int64Value) }, elementType: .integer)
    case "BIGINT[]":
        return .array(try values { .integer(($0 as! NSNumber).int64Value) }, elementType: .bigint)
    case "FLOAT[]":
        return .array(try values { .float(($0 as! NSNumber).doubleValue) }, elementType: .float)
    case "STRING[]":
        return .array(try values { ($0 as? String).map(Value.string) ?? .null }, elementType: .varchar)
    case "TINYINT[] from bytes":
        return .byteArray([UInt8](hex: try #require(value as? String)))
    default:
        Issue.record("unknown parameter type \(name) in the vectors")
        return .null
    }
}

@Suite("Wire invocation vectors")
struct InvocationVectorTests {
    /// Every invocation but the deliberately broken one.
    static let names = ["KV.upsert", "@Ping", "@Subscribe", "@Statistics", "all_types", "arrays", "v2_partition_destination"]

    @Test("decoding yields the listed handle, procedure and parameters", arguments: names)
    func decodes(name: String) throws {
        let vector = try #require(try WireVectors.invocations()[name])
        let (_, body) = try WireVectors.frame(vector)
        let invocation = try Invocation.decode(body)
        let handle = try #require((vector["handle"] as? NSNumber)?.int64Value)
        #expect(invocation.handle == handle)
        let expectedName = name == "all_types" ? "AllTypes" : name == "arrays" ? "Arrays" : name == "v2_partition_destination" ? "Directed" : name
        #expect(invocation.procedure == expectedName)
        let expected = try #require(vector["params"] as? [[Any]]).map(expectedParameter)
        #expect(invocation.parameters == expected)
        if let destination = vector["partition_destination"] as? NSNumber {
            #expect(invocation.header.version == 2)
            #expect(invocation.header.partitionDestination == PartitionID(destination.int32Value))
            #expect(invocation.header.allPartition)
        } else {
            #expect(invocation.header.version == 0)
            #expect(invocation.header.partitionDestination == nil)
        }
    }

    @Test("encoding the listed parameters reproduces the client's bytes", arguments: names)
    func encodes(name: String) throws {
        let vector = try #require(try WireVectors.invocations()[name])
        let (frame, body) = try WireVectors.frame(vector)
        let decoded = try Invocation.decode(body)
        let parameters = try #require(vector["params"] as? [[Any]]).map(expectedParameter)
        let invocation = Invocation(header: decoded.header, parameters: parameters)
        #expect(try invocation.encodeFrame().hex == frame.hex)
    }

    @Test("the legacy VoltProcedure path decodes identically")
    func legacyVoltProcedure() throws {
        let vector = try #require(try WireVectors.invocations()["KV.upsert"])
        let (_, body) = try WireVectors.frame(vector, "legacy_voltprocedure_hex")
        let invocation = try Invocation.decode(body)
        #expect(invocation.parameters == [.string("key1"), .varbinary([1, 2, 0xff])])
    }

    @Test("specific values of all_types: sentinels, UTF-8, DECIMAL scale, DATE fields")
    func allTypesDetails() throws {
        let (_, body) = try WireVectors.frame(try #require(try WireVectors.invocations()["all_types"]))
        let p = try Invocation.decode(body).parameters
        #expect(p.count == 15)
        #expect(p[6] == .value(.string("héllo"), wireType: .string))
        #expect(p[7] == .value(.decimal(VoltDecimal(unscaled: -12_345_000_000_000)), wireType: .decimal))
        #expect(p[9] == .value(.null, wireType: .bigint))
        #expect(p[10] == .value(.null, wireType: .string))
        #expect(p[11] == .value(.null, wireType: .decimal))
        guard case .date(let d?) = p[13] else { Issue.record("DATE expected, got \(p[13])"); return }
        #expect((d.year, d.month, d.day) == (2024, 2, 29))
        #expect(d.description == "2024-02-29")
    }

    @Test("the empty-array quirk is a specific error, after which the handle is still known")
    func emptyArrayQuirk() throws {
        let vector = try #require(try WireVectors.invocations()["empty_array_quirk"])
        let (_, body) = try WireVectors.frame(vector)
        let error = #expect(throws: WireError.self) { try Invocation.decode(body) }
        #expect(error?.kind == .emptyArrayQuirk(elementType: 5))
        #expect(error?.what.hasPrefix("parameter 0") == true)
        var r = WireReader(body)
        let header = try InvocationHeader.decode(from: &r)
        #expect(header.handle == 11)
        #expect(header.procedure == "EmptyArr")
        // The one-call form the server uses carries the header with the error.
        let failure = #expect(throws: InvocationDecodeFailure.self) { try Invocation.decodeForReply(body[...]) }
        #expect(failure?.header?.handle == 11)
        #expect(failure?.error.kind == .emptyArrayQuirk(elementType: 5))
        let headless = #expect(throws: InvocationDecodeFailure.self) { try Invocation.decodeForReply(body[..<5]) }
        #expect(headless?.header == nil)
        let good = try WireVectors.frame(try #require(try WireVectors.invocations()["arrays"])).body
        #expect(try Invocation.decodeForReply(good[...]) == (try Invocation.decode(good)))
    }

    @Test("a decoding error names the parameter index and wire type")
    func errorContext() throws {
        let body: [UInt8] = [0, 0, 0, 0, 1, 0x50, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 5, 0, 0, 0, 1, 9, 0, 0, 0, 9, 0x41]
        let error = try #require(#expect(throws: WireError.self) { try Invocation.decode(body) })
        #expect(error.what == "parameter 1 STRING value")
        #expect(error.offset == 22)
        #expect(error.kind == .truncated(needed: 9, available: 1))
    }

    @Test("an empty list in the middle misaligns the parameters into an error, never a crash")
    func emptyArrayInTheMiddle() throws {
        // What the Python client writes for f([], 5): 9D 05, then INTEGER 5.
        var w = WireWriter()
        let frame = w.beginFrame()
        InvocationHeader(procedure: "P", handle: 77).encode(into: &w)
        w.writeInt16(2)
        w.writeRaw([0x9d, 0x05, 0x05, 0, 0, 0, 5])
        w.endFrame(frame)
        #expect(throws: WireError.self) { try Invocation.decode(Array(w.bytes.dropFirst(4))) }
    }

    @Test("unknown v2 extensions are skipped by their length code; known ones surface")
    func extensions() throws {
        var w = WireWriter()
        w.writeInt8(2)
        w.writeString("Proc")
        w.writeInt64(-2)
        w.writeInt8(6)
        w.writeRaw([42, 0])                        // unknown, no payload
        w.writeRaw([43, 4, 1, 2, 3, 4, 5, 6, 7, 8]) // unknown, 8 bytes
        w.writeRaw([1, 3, 0, 0, 0x03, 0xe8])       // BATCH_TIMEOUT 1000
        w.writeRaw([5, 1, 7])                      // REQUEST_PRIORITY 7
        w.writeRaw([6, 3, 0, 0, 0x13, 0x88])       // REQUEST_TIMEOUT 5000
        w.writeRaw([4, 0])                         // BATCH_CALL
        w.writeInt16(1)
        w.writeRaw([5, 0, 0, 0, 9])
        let invocation = try Invocation.decode(w.bytes)
        #expect(invocation.handle == -2)
        #expect(invocation.header.batchTimeoutMillis == 1000)
        #expect(invocation.header.requestPriority == 7)
        #expect(invocation.header.requestTimeoutMillis == 5000)
        #expect(invocation.header.batchCall)
        #expect(!invocation.header.allPartition)
        #expect(invocation.parameters == [.integer(9)])
        // Our encoder writes the known ones back in type order and decodes to the same header.
        let again = try Invocation.decode(Array(try invocation.encodeFrame().dropFirst(4)))
        #expect(again == invocation)
    }

    @Test("a known extension with the wrong payload size is rejected")
    func badExtensionSize() throws {
        let body: [UInt8] = [2, 0, 0, 0, 1, 0x50, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3, 1, 0, 0]
        let error = #expect(throws: WireError.self) { try Invocation.decode(body) }
        #expect(error?.kind == .lengthMismatch(declared: 1, actual: 4))
    }

    @Test("version 1 carries a batch timeout and round-trips")
    func versionOne() throws {
        let invocation = Invocation(header: InvocationHeader(version: 1, procedure: "X", handle: 5, batchTimeoutMillis: 250),
                                    parameters: [.string("a")])
        let frame = try invocation.encodeFrame()
        #expect(Array(frame[4...6]) == [1, 1, 0])
        #expect(try Invocation.decode(Array(frame.dropFirst(4))) == invocation)
    }

    @Test("unknown versions, trailing bytes and unknown type codes are errors")
    func malformed() throws {
        let v3: [UInt8] = [3, 0, 0, 0, 0]
        #expect((#expect(throws: WireError.self) { try Invocation.decode(v3) })?.kind == .unsupportedVersion(3))
        var good = try Invocation(procedure: "P", handle: 1, parameters: [.integer(1)]).encodeFrame()
        good.removeFirst(4)
        #expect((#expect(throws: WireError.self) { try Invocation.decode(good + [0]) })?.kind == .trailingBytes(1))
        var money = good
        money[money.count - 5] = 20
        #expect((#expect(throws: WireError.self) { try Invocation.decode(money) })?.kind == .unsupportedType(20))
    }

    @Test("every scalar and array kind round-trips through encode and decode, NULLs included")
    func roundTrip() throws {
        let table = ResultTable(columns: [.init("ID", .bigint), .init("NAME", .varchar)],
                                rows: [[.integer(1), .string("a")], [.null, .null]])
        let parameters: [WireParameter] = [
            .null, .tinyint(-127), .tinyint(nil), .smallint(32767), .smallint(nil), .integer(-2_147_483_647), .integer(nil),
            .bigint(.max), .bigint(nil), .float(-0.0), .float(nil), .string(""), .string(nil), .varbinary([]), .varbinary(nil),
            .timestamp(micros: 1_700_000_000_000_000), .timestamp(micros: nil), .decimal(VoltDecimal(string: "99999999999999999999999999.999999999999")),
            .decimal(nil), .boolean(false), .boolean(nil), .date(nil), .geographyPoint(nil), .geography([1, 2, 3]), .geography(nil),
            .byteArray([]), .byteArray([0x80, 0, 0x7f]),
            .array([], elementType: .integer), .array([.integer(1), .null], elementType: .smallint),
            .array([.timestamp(5), .null], elementType: .timestamp), .array([.decimal(VoltDecimal(3)), .null], elementType: .decimal),
            .array([.bytes([9]), .null, .bytes([])], elementType: .varbinary),
            .table(table),
        ]
        let invocation = Invocation(header: InvocationHeader(version: 2, procedure: "RoundTrip", handle: .min, partitionDestination: PartitionID(16383)),
                                    parameters: parameters)
        let decoded = try Invocation.decode(Array(try invocation.encodeFrame().dropFirst(4)))
        #expect(decoded == invocation)
    }

    @Test("values that do not fit their wire type are encoding errors, and the writer is rolled back")
    func encodingErrors() throws {
        var w = WireWriter()
        w.writeRaw([1, 2, 3])
        let bad = Invocation(procedure: "P", handle: 1, parameters: [.integer(1), .tinyint(200)])
        let error = #expect(throws: WireError.self) { try bad.encode(into: &w) }
        #expect(error?.what.hasPrefix("parameter 1") == true)
        #expect(w.bytes == [1, 2, 3])
        for p: WireParameter in [.value(.string("x"), wireType: .integer), .value(.integer(1), wireType: .null),
                                 .value(.integer(1), wireType: .boolean), .smallint(-32768), .integer(Int64(Int32.max) + 1),
                                 .array([.integer(1)], elementType: .tinyint), .array([.string("x")], elementType: .bigint)] {
            #expect(throws: WireError.self) { try Invocation(procedure: "P", handle: 1, parameters: [p]).encodeFrame() }
        }
    }
}
