// The type code byte of the wire (docs/PROTOCOL.md §1.3): it precedes every
// parameter and names every result-table column. A struct over the raw byte rather than a closed
// enum, because a decoder must be able to carry and report codes it does not understand, and
// because `SQLType`'s raw values are the same codes (a column type converts both ways).

import VoltModel

/// A VoltDB wire type code.
public struct WireType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }

    public static let null = WireType(rawValue: 1)
    public static let tinyint = WireType(rawValue: 3)
    public static let smallint = WireType(rawValue: 4)
    public static let integer = WireType(rawValue: 5)
    public static let bigint = WireType(rawValue: 6)
    public static let float = WireType(rawValue: 8)
    public static let string = WireType(rawValue: 9)
    public static let timestamp = WireType(rawValue: 11)
    /// Python-only (§11): int32 `year<<16 | month<<8 | day`.
    public static let date = WireType(rawValue: 12)
    /// Defined by VoltDB but never carried by the Python client; rejected by the decoders.
    public static let money = WireType(rawValue: 20)
    /// A whole serialized table as a parameter (the bulk loader's rows).
    public static let voltTable = WireType(rawValue: 21)
    public static let decimal = WireType(rawValue: 22)
    public static let boolean = WireType(rawValue: 23)
    public static let varbinary = WireType(rawValue: 25)
    public static let geographyPoint = WireType(rawValue: 26)
    public static let geography = WireType(rawValue: 27)
    /// Not a type: the marker byte -99 (0x9D) that starts an array parameter (§3.4).
    public static let arrayMarker = WireType(rawValue: -99)

    public init(_ sqlType: SQLType) { rawValue = sqlType.rawValue }

    /// The column type with this code, if result tables and the engine can hold it.
    public var sqlType: SQLType? { SQLType(rawValue: rawValue) }

    public var name: String {
        switch rawValue {
        case 1: "NULL"
        case 3: "TINYINT"
        case 4: "SMALLINT"
        case 5: "INTEGER"
        case 6: "BIGINT"
        case 8: "FLOAT"
        case 9: "STRING"
        case 11: "TIMESTAMP"
        case 12: "DATE"
        case 20: "MONEY"
        case 21: "VOLTTABLE"
        case 22: "DECIMAL"
        case 23: "BOOLEAN"
        case 25: "VARBINARY"
        case 26: "GEOGRAPHY_POINT"
        case 27: "GEOGRAPHY"
        case -99: "ARRAY"
        default: "TYPE(\(rawValue))"
        }
    }

    public var description: String { name }
}

/// Java's `VoltType` NULL sentinels, as they appear on the wire.
public enum WireNull {
    public static let tinyint = Int8.min
    public static let smallint = Int16.min
    public static let integer = Int32.min
    public static let bigint = Int64.min
    public static let timestamp = Int64.min
    public static let date = Int32.min
    /// -1.7E308, bytes `ff ee 42 d1 30 77 3b 76`. A decoded FLOAT at or below it is NULL, as in
    /// VoltDB's execution engine (`NValue::isNull` tests `<=`).
    public static let float: Double = -1.7E308
    public static let decimal = Int128.min
    /// The length that marks a NULL string, varbinary or geography.
    public static let length: Int32 = -1
    /// What the Python writer sends for a BOOLEAN None; the reader maps anything but 0/1 to NULL.
    public static let boolean: Int8 = 127
    /// Both coordinates of a NULL GEOGRAPHY_POINT.
    public static let geographyCoordinate: Double = 360.0
}
