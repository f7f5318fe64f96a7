// Procedure parameters as they arrive (docs/PROTOCOL.md §3.3–3.5). A parameter
// keeps the wire type the caller chose, because that need not be the procedure's declared type and
// the server coerces like Java's ParameterConverter (§3.5): an INTEGER for a BIGINT column, a
// TINYINT array for a VARBINARY, NULL (type 1) for anything.
//
// Layout: int8 type code, then the bare value (Value+Wire.swift) — or nothing for NULL (1). Arrays:
// the marker -99, the element type, a count (int32 for TINYINT elements, i.e. a byte array, int16
// otherwise), then bare elements. VOLTTABLE (21) is a whole table (ResultTable+VoltTable.swift).
// Types the engine has no `Value` for are kept as tagged values so the server can reject them with a
// message: BOOLEAN (1/0; anything else, e.g. the Python writer's 127, is NULL), DATE (int32
// `year<<16|month<<8|day`, -2^31 NULL), GEOGRAPHY_POINT (two float64, 360/360 NULL) and GEOGRAPHY
// (length-prefixed opaque bytes).
//
// The Python client writes an empty list as marker + element type and no count (§3.4, §10). The
// decoder reports `emptyArrayQuirk` when the message ends where the count should be; when more
// parameters follow, the misaligned bytes surface as some other WireError. Either way the handle is
// known and the server answers UNEXPECTED_FAILURE, as Java does.
//
// Every count is checked against the bytes remaining (at the minimum size of one element) before
// an array is reserved, so a forged count cannot allocate.

import VoltModel

/// A DATE parameter: Python's packed `year<<16 | month<<8 | day`.
public struct WireDate: Sendable, Hashable, CustomStringConvertible {
    public var packed: Int32
    public init(packed: Int32) { self.packed = packed }
    public init(year: Int, month: Int, day: Int) {
        precondition((0...Int(Int16.max)).contains(year) && (1...12).contains(month) && (1...31).contains(day),
                     "date \(year)-\(month)-\(day) out of range")
        packed = Int32(year << 16 | month << 8 | day)
    }
    public var year: Int { Int(packed >> 16) }
    public var month: Int { Int((packed >> 8) & 0xff) }
    public var day: Int { Int(packed & 0xff) }
    public var description: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}

/// A GEOGRAPHY_POINT parameter.
public struct GeographyPoint: Sendable, Hashable {
    public var longitude: Double
    public var latitude: Double
    public init(longitude: Double, latitude: Double) { self.longitude = longitude; self.latitude = latitude }
}

/// One procedure parameter with the wire type it was sent as.
public enum WireParameter: Sendable, Hashable {
    /// NULL (type 1, `.null` value) or a scalar of a column type; a sentinel decodes as `.null`
    /// with the wire type kept.
    case value(Value, wireType: WireType)
    case boolean(Bool?)
    case date(WireDate?)
    case geographyPoint(GeographyPoint?)
    /// Opaque serialized polygon bytes.
    case geography([UInt8]?)
    /// A TINYINT array: Java's `byte[]`, what the Python client sends for `bytes` declared TINYINT.
    case byteArray([UInt8])
    /// An array of any other column type; elements may be `.null`.
    case array([Value], elementType: SQLType)
    /// A VOLTTABLE parameter (the bulk loader's rows).
    case table(ResultTable)

    /// NULL of wire type 1.
    public static let null = WireParameter.value(.null, wireType: .null)

    /// The type code written before this parameter (the array marker for arrays).
    public var wireType: WireType {
        switch self {
        case .value(_, let t): t
        case .boolean: .boolean
        case .date: .date
        case .geographyPoint: .geographyPoint
        case .geography: .geography
        case .byteArray, .array: .arrayMarker
        case .table: .voltTable
        }
    }

    // MARK: Conveniences for clients and tests

    public static func tinyint(_ v: Int64?) -> WireParameter { .value(v.map(Value.integer) ?? .null, wireType: .tinyint) }
    public static func smallint(_ v: Int64?) -> WireParameter { .value(v.map(Value.integer) ?? .null, wireType: .smallint) }
    public static func integer(_ v: Int64?) -> WireParameter { .value(v.map(Value.integer) ?? .null, wireType: .integer) }
    public static func bigint(_ v: Int64?) -> WireParameter { .value(v.map(Value.integer) ?? .null, wireType: .bigint) }
    public static func float(_ v: Double?) -> WireParameter { .value(v.map(Value.float) ?? .null, wireType: .float) }
    public static func string(_ v: String?) -> WireParameter { .value(v.map(Value.string) ?? .null, wireType: .string) }
    public static func varbinary(_ v: [UInt8]?) -> WireParameter { .value(v.map(Value.bytes) ?? .null, wireType: .varbinary) }
    public static func timestamp(micros v: Int64?) -> WireParameter { .value(v.map(Value.timestamp) ?? .null, wireType: .timestamp) }
    public static func decimal(_ v: VoltDecimal?) -> WireParameter { .value(v.map(Value.decimal) ?? .null, wireType: .decimal) }
}

// MARK: - Decoding

extension WireParameter {
    /// An int16 parameter count, then that many parameters; on failure the error names the
    /// parameter's index.
    public static func decodeSet(from r: inout WireReader) throws(WireError) -> [WireParameter] {
        let countAt = r.offset
        let count = Int(try r.readInt16("parameter count"))
        // Every parameter takes at least its type byte.
        guard count >= 0, count <= r.remaining else {
            throw WireError(.invalidLength(count), what: "parameter count", offset: countAt)
        }
        var parameters: [WireParameter] = []
        parameters.reserveCapacity(count)
        for i in 0..<count {
            do {
                parameters.append(try decode(from: &r))
            } catch {
                throw error.within("parameter \(i)")
            }
        }
        return parameters
    }

    /// One parameter: its type byte and value.
    public static func decode(from r: inout WireReader) throws(WireError) -> WireParameter {
        let typeAt = r.offset
        let code = try r.readInt8("type")
        let type = WireType(rawValue: code)
        if let sqlType = type.sqlType {
            do {
                return .value(try r.readValue(sqlType, "value"), wireType: type)
            } catch {
                throw error.within(type.name)
            }
        }
        switch type {
        case .null:
            return .null
        case .boolean:
            let b = try r.readInt8("BOOLEAN")
            return .boolean(b == 1 ? true : (b == 0 ? false : nil))
        case .date:
            let d = try r.readInt32("DATE")
            return .date(d == WireNull.date ? nil : WireDate(packed: d))
        case .geographyPoint:
            let lng = try r.readDouble("GEOGRAPHY_POINT longitude")
            let lat = try r.readDouble("GEOGRAPHY_POINT latitude")
            let isNull = lng == WireNull.geographyCoordinate && lat == WireNull.geographyCoordinate
            return .geographyPoint(isNull ? nil : GeographyPoint(longitude: lng, latitude: lat))
        case .geography:
            return .geography(try r.readBytes("GEOGRAPHY"))
        case .voltTable:
            return .table(try ResultTable.decodeVoltTable(from: &r))
        case .arrayMarker:
            return try decodeArray(from: &r)
        default:
            throw WireError(.unsupportedType(code), what: "type", offset: typeAt)
        }
    }

    private static func decodeArray(from r: inout WireReader) throws(WireError) -> WireParameter {
        let elementAt = r.offset
        let code = try r.readInt8("array element type")
        guard let elementType = SQLType(rawValue: code) else {
            throw WireError(.unsupportedType(code), what: "array element type", offset: elementAt)
        }
        let countAt = r.offset
        let countWidth = elementType == .tinyint ? 4 : 2
        guard r.remaining >= countWidth else {
            throw WireError(.emptyArrayQuirk(elementType: code), what: "array count", offset: countAt)
        }
        if elementType == .tinyint {
            let n = Int(try r.readInt32("TINYINT array count"))
            guard n >= 0 else { throw WireError(.invalidLength(n), what: "TINYINT array count", offset: countAt) }
            return .byteArray(try r.readRawBytes(n, "TINYINT array bytes"))
        }
        let n = Int(try r.readInt16("array count"))
        guard n >= 0, n * elementType.minimumWireBytes <= r.remaining else {
            throw WireError(.invalidLength(n), what: "array count", offset: countAt)
        }
        var elements: [Value] = []
        elements.reserveCapacity(n)
        for _ in 0..<n { elements.append(try r.readValue(elementType, "array element")) }
        return .array(elements, elementType: elementType)
    }
}

extension SQLType {
    /// The fewest bytes one bare value of this type occupies (a NULL string is its 4-byte length).
    var minimumWireBytes: Int {
        switch self {
        case .tinyint: 1
        case .smallint: 2
        case .integer, .varchar, .varbinary: 4
        case .bigint, .float, .timestamp: 8
        case .decimal: 16
        }
    }
}

// MARK: - Encoding

extension WireParameter {
    /// Appends the type byte and value. Throws when a value does not fit its wire type.
    public func encode(into w: inout WireWriter) throws(WireError) {
        switch self {
        case let .value(v, type):
            if type == .null {
                guard v.isNull else { throw WireError(.valueDoesNotFitType(value: "\(v)", type: type.rawValue), what: "parameter", offset: -1) }
                w.writeType(.null)
            } else if let sqlType = type.sqlType {
                w.writeType(type)
                try w.writeValue(v, as: sqlType, "parameter")
            } else {
                throw WireError(.valueDoesNotFitType(value: "\(v)", type: type.rawValue), what: "parameter", offset: -1)
            }
        case .boolean(let b):
            w.writeType(.boolean)
            w.writeInt8(b.map { $0 ? 1 : 0 } ?? WireNull.boolean)
        case .date(let d):
            w.writeType(.date)
            w.writeInt32(d?.packed ?? WireNull.date)
        case .geographyPoint(let p):
            w.writeType(.geographyPoint)
            w.writeDouble(p?.longitude ?? WireNull.geographyCoordinate)
            w.writeDouble(p?.latitude ?? WireNull.geographyCoordinate)
        case .geography(let g):
            w.writeType(.geography)
            w.writeBytes(g)
        case .byteArray(let b):
            precondition(b.count <= Int(Int32.max), "a \(b.count)-byte array cannot be counted")
            w.writeType(.arrayMarker)
            w.writeType(.tinyint)
            w.writeInt32(Int32(b.count))
            w.writeRaw(b)
        case let .array(elements, elementType):
            guard elementType != .tinyint, elements.count <= Int(Int16.max) else {
                throw WireError(.valueDoesNotFitType(value: "array of \(elements.count)", type: elementType.rawValue),
                                what: "array parameter (TINYINT arrays are .byteArray; others hold at most 32767 elements)", offset: -1)
            }
            w.writeType(.arrayMarker)
            w.writeType(WireType(elementType))
            w.writeInt16(Int16(elements.count))
            for e in elements { try w.writeValue(e, as: elementType, "array element") }
        case .table(let t):
            w.writeType(.voltTable)
            try t.encodeVoltTable(into: &w, status: 0)
        }
    }
}
