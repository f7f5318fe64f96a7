// Bare value encodings (docs/PROTOCOL.md §1.2–1.4): how one `Value` of a column
// type is written in a table cell, an array element, or after a scalar parameter's type byte.
// SQL NULL is the type's sentinel on the wire and `.null` above it:
//
//   TINYINT -128, SMALLINT -32768, INTEGER -2^31, BIGINT and TIMESTAMP -2^63,
//   FLOAT -1.7E308 (decoded: anything <= it, as VoltDB's engine does), DECIMAL -2^127,
//   STRING and VARBINARY length -1.
//
// Encoding is strict: a value must be of its column's kind (`.integer` for the integer widths,
// `.float`, `.decimal`, `.string`, `.bytes`, `.timestamp`) and an integer must fit the width without
// being the sentinel, otherwise `valueDoesNotFitType` is thrown. Silent coercion here would hide
// engine bugs; coercion of parameters (Java's ParameterConverter, §3.5) belongs to the server.

import VoltModel

extension WireReader {
    /// The bare encoding of one value of `type`.
    @inlinable
    public mutating func readValue(_ type: SQLType, _ what: StaticString) throws(WireError) -> Value {
        switch type {
        case .tinyint:
            let v = try readInt8(what)
            return v == WireNull.tinyint ? .null : .integer(Int64(v))
        case .smallint:
            let v = try readInt16(what)
            return v == WireNull.smallint ? .null : .integer(Int64(v))
        case .integer:
            let v = try readInt32(what)
            return v == WireNull.integer ? .null : .integer(Int64(v))
        case .bigint:
            let v = try readInt64(what)
            return v == WireNull.bigint ? .null : .integer(v)
        case .float:
            let v = try readDouble(what)
            return v <= WireNull.float ? .null : .float(v)
        case .varchar:
            guard let s = try readString(what) else { return .null }
            return .string(s)
        case .timestamp:
            let v = try readInt64(what)
            return v == WireNull.timestamp ? .null : .timestamp(v)
        case .decimal:
            let v = try readInt128(what)
            return v == WireNull.decimal ? .null : .decimal(VoltDecimal(unscaled: v))
        case .varbinary:
            guard let b = try readBytes(what) else { return .null }
            return .bytes(b)
        }
    }
}

extension WireWriter {
    /// The bare encoding of `value` as `type`; `.null` becomes the type's sentinel.
    public mutating func writeValue(_ value: Value, as type: SQLType, _ what: @autoclosure () -> String) throws(WireError) {
        switch (type, value) {
        case (.tinyint, .null): writeInt8(WireNull.tinyint)
        case (.smallint, .null): writeInt16(WireNull.smallint)
        case (.integer, .null): writeInt32(WireNull.integer)
        case (.bigint, .null), (.timestamp, .null): writeInt64(WireNull.bigint)
        case (.float, .null): writeDouble(WireNull.float)
        case (.decimal, .null): writeInt128(WireNull.decimal)
        case (.varchar, .null), (.varbinary, .null): writeInt32(WireNull.length)
        case let (.tinyint, .integer(v)) where v > Int64(Int8.min) && v <= Int64(Int8.max): writeInt8(Int8(v))
        case let (.smallint, .integer(v)) where v > Int64(Int16.min) && v <= Int64(Int16.max): writeInt16(Int16(v))
        case let (.integer, .integer(v)) where v > Int64(Int32.min) && v <= Int64(Int32.max): writeInt32(Int32(v))
        case let (.bigint, .integer(v)) where v != Int64.min: writeInt64(v)
        case let (.float, .float(v)): writeDouble(v)
        case let (.varchar, .string(s)): writeString(s)
        case let (.timestamp, .timestamp(v)): writeInt64(v)
        case let (.decimal, .decimal(d)) where d.unscaled != WireNull.decimal: writeInt128(d.unscaled)
        case let (.varbinary, .bytes(b)): writeBytes(b)
        default:
            throw WireError(.valueDoesNotFitType(value: "\(value)", type: type.rawValue), what: what(), offset: -1)
        }
    }

    /// Drops everything written after the first `count` bytes (to undo a failed encode).
    public mutating func truncate(to count: Int) {
        precondition(count >= 0 && count <= self.count, "cannot truncate \(self.count) bytes to \(count)")
        removeLast(self.count - count)
    }
}
