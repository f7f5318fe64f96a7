/// One SQL value. Integer widths share `.integer`; the column's `SQLType` says which width a value
/// is stored as. SQL NULL is `.null` everywhere above the wire and storage layers, which map it to
/// VoltDB's per-type sentinels.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case float(Double)
    case decimal(VoltDecimal)
    case string(String)
    case bytes([UInt8])
    /// Microseconds since 1970-01-01 UTC.
    case timestamp(Int64)

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let v): String(v)
        case .float(let v): String(v)
        case .decimal(let v): v.description
        case .string(let v): v
        case .bytes(let v): Hex.encode(v)
        case .timestamp(let v): "TIMESTAMP(\(v))"
        }
    }

    /// A numeric value as Double, for arithmetic that mixes kinds.
    public var doubleValue: Double? {
        switch self {
        case .integer(let v): Double(v)
        case .float(let v): v
        case .decimal(let v): v.doubleValue
        case .timestamp(let v): Double(v)
        default: nil
        }
    }

    /// The SQL ordering used by indexes, ORDER BY and comparisons: NULL sorts first; numbers compare
    /// by value across integer, float and decimal; strings compare by their UTF-8 bytes (VoltDB's
    /// binary collation); byte strings lexicographically. Values of unrelated kinds order by kind so
    /// that the order stays total (the planner rejects such comparisons before they reach here).
    public static func compare(_ a: Value, _ b: Value) -> Int {
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case let (.integer(x), .integer(y)): return x < y ? -1 : (x == y ? 0 : 1)
        case let (.timestamp(x), .timestamp(y)): return x < y ? -1 : (x == y ? 0 : 1)
        case let (.string(x), .string(y)): return compareBytes(x.utf8, y.utf8)
        case let (.bytes(x), .bytes(y)): return compareBytes(x, y)
        case let (.decimal(x), .decimal(y)): return x < y ? -1 : (x == y ? 0 : 1)
        case let (.integer(x), .decimal(y)): return compareDecimal(VoltDecimal(x), y)
        case let (.decimal(x), .integer(y)): return compareDecimal(x, VoltDecimal(y))
        default:
            if let x = a.doubleValue, let y = b.doubleValue, a.kindRank == b.kindRank || a.isNumber && b.isNumber {
                return x < y ? -1 : (x == y ? 0 : 1)
            }
            return a.kindRank < b.kindRank ? -1 : (a.kindRank == b.kindRank ? 0 : 1)
        }
    }

    private static func compareDecimal(_ x: VoltDecimal, _ y: VoltDecimal) -> Int { x < y ? -1 : (x == y ? 0 : 1) }

    private static func compareBytes<A: Sequence<UInt8>, B: Sequence<UInt8>>(_ a: A, _ b: B) -> Int {
        var ia = a.makeIterator()
        var ib = b.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?): if x != y { return x < y ? -1 : 1 }
            }
        }
    }

    private var isNumber: Bool {
        switch self {
        case .integer, .float, .decimal: true
        default: false
        }
    }

    private var kindRank: Int {
        switch self {
        case .null: 0
        case .integer, .float, .decimal: 1
        case .timestamp: 2
        case .string: 3
        case .bytes: 4
        }
    }

    /// Appends an unambiguous, platform-independent encoding (a kind tag, then little-endian
    /// payload, length-prefixed where variable). Used for determinism hashes and range checksums,
    /// so it must never change meaning between versions.
    public func appendCanonical(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(0)
        case .integer(let v): out.append(1); appendLE(UInt64(bitPattern: v), to: &out)
        case .float(let v): out.append(2); appendLE(v.bitPattern, to: &out)
        case .decimal(let v):
            out.append(3)
            let bits = UInt128(bitPattern: v.unscaled)
            appendLE(UInt64(truncatingIfNeeded: bits), to: &out)
            appendLE(UInt64(truncatingIfNeeded: bits >> 64), to: &out)
        case .string(let v):
            out.append(4)
            appendLE(UInt64(v.utf8.count), to: &out)
            out.append(contentsOf: v.utf8)
        case .bytes(let v):
            out.append(5)
            appendLE(UInt64(v.count), to: &out)
            out.append(contentsOf: v)
        case .timestamp(let v): out.append(6); appendLE(UInt64(bitPattern: v), to: &out)
        }
    }
}

@inline(__always)
func appendLE(_ v: UInt64, to out: inout [UInt8]) {
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
}

