// Turning a parameter or literal into a column's stored type, and rejecting what does not fit.
//
// Conversions follow VoltDB's parameter rules: any integer width from an integer, a whole FLOAT or
// DECIMAL, or integer text; FLOAT from any number or numeric text; DECIMAL from any number or
// decimal text; TIMESTAMP from a timestamp or integer microseconds; VARCHAR from text only;
// VARBINARY from bytes or hexadecimal text. The minimum of each integer width is VoltDB's NULL
// sentinel, so it is out of range as a value; likewise FLOAT values at or below -1.7E308 (the FLOAT
// NULL sentinel), NaN and infinities. -0.0 becomes 0.0 so that equal keys have equal bytes.

extension ColumnDefinition {
    /// The double VoltDB stores and sends for a NULL FLOAT.
    public static let floatNullSentinel: Double = -1.7E308

    /// Coerces a value to this column's type and checks it: integer range per width, FLOAT from
    /// integer/decimal, DECIMAL from integer/float/string, TIMESTAMP from integer µs, VARCHAR length
    /// in characters or bytes, VARBINARY length, VARCHAR from string only, NOT NULL.
    public func coerce(_ value: Value) throws(StorageError) -> Value {
        if case .null = value {
            guard nullable else { throw nullError() }
            return .null
        }
        switch type {
        case .tinyint, .smallint, .integer, .bigint:
            let x: Int64
            switch value {
            case .integer(let v):
                x = v
            case .float(let d):
                guard d.isFinite, d.rounded(.towardZero) == d else { throw notConvertible(value) }
                guard let v = Int64(exactly: d) else { throw outOfRange(String(d)) }
                x = v
            case .decimal(let d):
                guard d.unscaled % VoltDecimal.scaleFactor == 0 else { throw notConvertible(value) }
                guard let v = d.truncatedInt64 else { throw outOfRange(d.description) }
                x = v
            case .string(let s):
                guard let v = Int64(s.trimmingSpacesForStorage()) else { throw notConvertible(value) }
                x = v
            default:
                throw castError(value)
            }
            guard type.integerRange!.contains(x) else { throw outOfRange(String(x)) }
            return .integer(x)

        case .float:
            let d: Double
            switch value {
            case .float(let v): d = v
            case .integer(let v): d = Double(v)
            case .decimal(let v): d = v.doubleValue
            case .string(let s):
                guard let v = Double(s.trimmingSpacesForStorage()) else { throw notConvertible(value) }
                d = v
            default:
                throw castError(value)
            }
            guard d.isFinite, d > ColumnDefinition.floatNullSentinel else { throw outOfRange(String(d)) }
            return .float(d == 0 ? 0.0 : d)

        case .decimal:
            switch value {
            case .decimal(let d):
                guard VoltDecimal(checkedUnscaled: d.unscaled) != nil else { throw outOfRange(d.description) }
                return value
            case .integer(let v):
                return .decimal(VoltDecimal(v))
            case .float(let v):
                guard let d = VoltDecimal(v) else { throw outOfRange(String(v)) }
                return .decimal(d)
            case .string(let s):
                if let d = VoltDecimal(string: s) { return .decimal(d) }
                if Double(s.trimmingSpacesForStorage()) != nil { throw outOfRange(s) }
                throw notConvertible(value)
            default:
                throw castError(value)
            }

        case .timestamp:
            let x: Int64
            switch value {
            case .timestamp(let v): x = v
            case .integer(let v): x = v
            default: throw castError(value)
            }
            guard x != Int64.min else { throw outOfRange(String(x)) }
            return .timestamp(x)

        case .varchar:
            guard case .string(let s) = value else { throw castError(value) }
            try checkLength(of: s)
            return value

        case .varbinary:
            switch value {
            case .bytes(let b):
                try checkLength(byteCount: b.count)
                return value
            case .string(let s):
                guard let b = ColumnDefinition.bytes(fromHex: s) else { throw notConvertible(value) }
                try checkLength(byteCount: b.count)
                return .bytes(b)
            default:
                throw castError(value)
            }
        }
    }

    /// The most bytes a value of this variable-length column may hold.
    var byteLimit: Int {
        guard let n = maxLength else { return ColumnDefinition.maxVariableLengthBytes }
        // VARCHAR(n) in characters holds up to 4 UTF-8 bytes per character.
        if type == .varchar && !lengthInBytes { return min(n * 4, ColumnDefinition.maxVariableLengthBytes) }
        return min(n, ColumnDefinition.maxVariableLengthBytes)
    }

    func checkLength(of s: String) throws(StorageError) {
        let bytes = s.utf8.count
        guard let n = maxLength else {
            if bytes > ColumnDefinition.maxVariableLengthBytes { throw tooLong(bytes, unit: "bytes") }
            return
        }
        if lengthInBytes {
            if bytes > n { throw tooLong(bytes, unit: "bytes") }
        } else if bytes > n {
            // A character is at least one byte, so only text longer in bytes than n needs counting.
            let characters = s.unicodeScalars.count
            if characters > n { throw tooLong(characters, unit: "characters") }
        }
        if bytes > ColumnDefinition.maxVariableLengthBytes { throw tooLong(bytes, unit: "bytes") }
    }

    func checkLength(byteCount: Int) throws(StorageError) {
        if byteCount > (maxLength ?? ColumnDefinition.maxVariableLengthBytes) || byteCount > ColumnDefinition.maxVariableLengthBytes {
            throw tooLong(byteCount, unit: "bytes")
        }
    }

    /// VARCHAR(10), VARCHAR(10 BYTES), VARBINARY(10), or the bare type name.
    var typeText: String {
        guard let n = maxLength else { return type.name }
        return type == .varchar && lengthInBytes ? "\(type.name)(\(n) BYTES)" : "\(type.name)(\(n))"
    }

    func nullError() -> StorageError {
        StorageError(kind: .nullNotAllowed, message: "Constraint violation: column \(name) does not allow NULL")
    }

    private func outOfRange(_ text: String) -> StorageError {
        StorageError(kind: .valueOutOfRange, message: "Value \(text) out of range for \(type.name) column \(name)")
    }

    private func tooLong(_ length: Int, unit: String) -> StorageError {
        StorageError(kind: .valueTooLong, message: "Value too long for column \(name) (\(typeText)): \(length) \(unit)")
    }

    private func castError(_ value: Value) -> StorageError {
        StorageError(kind: .typeMismatch,
                     message: "Type \(value.storageKindName) can't be cast as \(type.name) for column \(name)")
    }

    private func notConvertible(_ value: Value) -> StorageError {
        let text: String = if case .string(let s) = value { "'\(s)'" } else { value.description }
        return StorageError(kind: .typeMismatch, message: "Value \(text) can't be converted to \(type.name) for column \(name)")
    }

    static func bytes(fromHex s: String) -> [UInt8]? { Hex.decode(s) }
}

extension Value {
    /// The SQL type name of a value's kind, for messages.
    var storageKindName: String {
        switch self {
        case .null: "NULL"
        case .integer: "BIGINT"
        case .float: "FLOAT"
        case .decimal: "DECIMAL"
        case .string: "VARCHAR"
        case .bytes: "VARBINARY"
        case .timestamp: "TIMESTAMP"
        }
    }
}

extension String {
    func trimmingSpacesForStorage() -> Substring {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return s
    }
}
