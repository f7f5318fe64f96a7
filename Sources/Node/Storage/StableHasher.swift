// A 128-bit streaming hash with a fixed definition, for everything that is persisted or compared
// between processes: row hashes (range checksums), the write log's determinism hash, and the
// primary-key map's bucket choice. Swift's `Hasher` is seeded randomly per process, so it is never
// used for any of these.
//
// Definition: the input is a byte stream cut into 16-byte blocks, each two little-endian words
// (k1, k2) that go through MurmurHash3 x64_128's body (k1 into lane h1, k2 into lane h2). A final
// partial block is zero-padded and mixed the same way, and the total length is folded into the
// finalization, so streams that differ only by trailing zero bytes still differ. The output is
// the two finalized lanes.
//
// Feeding: `combine(byte:)`, `combine(word:)` (8 bytes, little-endian) and `combine(bytes:)` may be
// mixed freely at any alignment; the result depends only on the bytes. The hasher keeps up to 7
// bytes in `tail` and at most one whole word in `pending`, so a misaligned word costs a shift and
// an or. That lets the row hasher read cells straight out of column storage and still equal the
// hash of `Value.appendCanonical` bytes (tested), and the golden values in the tests pin the
// definition.

@usableFromInline
struct StableHasher {
    @usableFromInline var h1: UInt64
    @usableFromInline var h2: UInt64
    /// Bytes not yet forming a whole word, little-endian, `tailCount` of them (0..<8).
    @usableFromInline var tail: UInt64 = 0
    @usableFromInline var tailCount: UInt64 = 0
    /// A whole word waiting for its block partner.
    @usableFromInline var pending: UInt64 = 0
    @usableFromInline var hasPending = false
    @usableFromInline var length: UInt64 = 0

    @usableFromInline static let c1: UInt64 = 0x87c3_7b91_1142_53d5
    @usableFromInline static let c2: UInt64 = 0x4cf5_ad43_2745_937f

    @inlinable
    init(seed: UInt64 = 0) {
        h1 = seed
        h2 = seed ^ 0x9e37_79b9_7f4a_7c15
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inlinable @inline(__always)
    static func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// MurmurHash3 x64_128's block step.
    @inlinable @inline(__always)
    mutating func mixBlock(_ k1: UInt64, _ k2: UInt64) {
        h1 ^= StableHasher.rotl(k1 &* StableHasher.c1, 31) &* StableHasher.c2
        h1 = (StableHasher.rotl(h1, 27) &+ h2) &* 5 &+ 0x52dc_e729
        h2 ^= StableHasher.rotl(k2 &* StableHasher.c2, 33) &* StableHasher.c1
        h2 = (StableHasher.rotl(h2, 31) &+ h1) &* 5 &+ 0x3849_5ab5
    }

    /// The next whole word of the stream.
    @inlinable @inline(__always)
    mutating func push(_ w: UInt64) {
        if hasPending {
            mixBlock(pending, w)
            hasPending = false
        } else {
            pending = w
            hasPending = true
        }
    }

    @inlinable @inline(__always)
    mutating func combine(byte b: UInt8) {
        tail |= UInt64(b) << (tailCount &* 8)
        tailCount &+= 1
        length &+= 1
        if tailCount == 8 {
            push(tail)
            tail = 0
            tailCount = 0
        }
    }

    /// Eight bytes, little-endian.
    @inlinable @inline(__always)
    mutating func combine(word w: UInt64) {
        length &+= 8
        if tailCount == 0 {
            push(w)
        } else {
            let shift = tailCount &* 8
            push(tail | (w << shift))
            tail = w >> (64 - shift)
        }
    }

    @inlinable
    mutating func combine(bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        var i = 0
        // Whole blocks straight from memory when the stream is block-aligned.
        if tailCount == 0 && !hasPending {
            while i &+ 16 <= n {
                mixBlock(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)),
                         UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)))
                i &+= 16
            }
            length &+= UInt64(i)
        }
        while i &+ 8 <= n {
            combine(word: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i &+= 8
        }
        while i < n {
            combine(byte: bytes[i])
            i &+= 1
        }
    }

    @inlinable
    mutating func combine(bytes: UnsafeBufferPointer<UInt8>) {
        combine(bytes: UnsafeRawBufferPointer(bytes))
    }

    @inlinable
    func finalize() -> (UInt64, UInt64) {
        var s = self
        // The last partial block: the pending word (if any), then the tail, zero-padded.
        if s.hasPending {
            s.mixBlock(s.pending, s.tail)
        } else if s.tailCount > 0 {
            s.mixBlock(s.tail, 0)
        }
        var a = s.h1 ^ s.length
        var b = s.h2 ^ s.length
        a &+= b
        b &+= a
        a = StableHasher.fmix(a)
        b = StableHasher.fmix(b)
        a &+= b
        b &+= a
        return (a, b)
    }

    /// One 64-bit word of the hash, for maps and folds.
    @inlinable
    func finalize64() -> UInt64 { finalize().0 }

    /// An order-dependent fold of `x` into `h`: fold(fold(h, a), b) != fold(fold(h, b), a) in general.
    @inlinable
    static func fold(_ h: UInt64, _ x: UInt64) -> UInt64 {
        fmix((h &* 0x9e37_79b9_7f4a_7c15) ^ fmix(x ^ 0x2545_f491_4f6c_dd1d))
    }

    /// The hash of a whole byte array (tests and names).
    static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> (UInt64, UInt64) {
        var h = StableHasher(seed: seed)
        bytes.withUnsafeBytes { h.combine(bytes: $0) }
        return h.finalize()
    }
}
