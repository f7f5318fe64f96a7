/// MurmurHash3 x64_128 with seed 0, reduced to VoltDB's ring token: the signed upper 32 bits of h1
/// after finalization (docs/PROTOCOL.md §7.1). Tail bytes are read unsigned, as in
/// VoltDB's patched copy of Cassandra's port.
public enum MurmurHash3 {
    private static let c1: UInt64 = 0x87c3_7b91_1142_53d5
    private static let c2: UInt64 = 0x4cf5_ad43_2745_937f

    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) private static func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// The ring token of `bytes`.
    public static func token(_ bytes: UnsafeRawBufferPointer) -> Token {
        let len = bytes.count
        var h1: UInt64 = 0
        var h2: UInt64 = 0
        let blocks = len / 16
        for i in 0..<blocks {
            var k1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self))
            var k2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self))
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        let tail = blocks * 16
        let rest = len & 15
        if rest > 0 {
            var k1: UInt64 = 0
            var k2: UInt64 = 0
            for i in stride(from: rest - 1, through: 0, by: -1) {
                let b = UInt64(bytes[tail + i])
                if i >= 8 { k2 |= b << (8 * UInt64(i - 8)) } else { k1 |= b << (8 * UInt64(i)) }
            }
            if rest > 8 { k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2 }
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        }
        h1 ^= UInt64(len)
        h2 ^= UInt64(len)
        h1 &+= h2
        h2 &+= h1
        h1 = fmix(h1)
        h2 = fmix(h2)
        h1 &+= h2
        return Token(Int32(truncatingIfNeeded: h1 >> 32))
    }

    public static func token(_ bytes: [UInt8]) -> Token {
        bytes.withUnsafeBytes { token($0) }
    }

    /// The token of an integer partition key: the value widened to int64, little-endian.
    public static func token(integer: Int64) -> Token {
        withUnsafeBytes(of: integer.littleEndian) { token($0) }
    }

    /// The token of a string partition key: its UTF-8 bytes.
    public static func token(string: String) -> Token {
        var s = string
        return s.withUTF8 { token(UnsafeRawBufferPointer($0)) }
    }
}

extension Value {
    /// The ring token of this value as a partition key of `type`, or nil for SQL NULL (which VoltDB
    /// sends to partition 0 without hashing). Follows the Java server's coercions (§7.2): an
    /// integer key of a string or bytes column hashes as the widened int64; a decimal string for an
    /// integer column is parsed first; bytes for an integer column are read little-endian at the
    /// column's width.
    public func partitionToken(as type: SQLType) -> Token? {
        switch self {
        case .null:
            return nil
        case .integer(let v):
            if let sentinel = type.integerNullSentinel, type.isInteger, v == sentinel { return nil }
            return MurmurHash3.token(integer: v)
        case .string(let s):
            if type.isInteger {
                guard let v = Int64(s) else { return MurmurHash3.token(string: s) }
                return Value.integer(v).partitionToken(as: type)
            }
            return MurmurHash3.token(string: s)
        case .bytes(let b):
            if type.isInteger {
                let width: Int = switch type { case .tinyint: 1; case .smallint: 2; case .integer: 4; default: 8 }
                guard b.count >= width else { return MurmurHash3.token(b) }
                var raw: UInt64 = 0
                for i in 0..<width { raw |= UInt64(b[i]) << (8 * UInt64(i)) }
                let shift = UInt64(64 - 8 * width)
                let v = Int64(bitPattern: raw << shift) >> Int64(shift)
                return Value.integer(v).partitionToken(as: type)
            }
            return MurmurHash3.token(b)
        case .timestamp(let v):
            return MurmurHash3.token(integer: v)
        case .float, .decimal:
            return nil
        }
    }
}
