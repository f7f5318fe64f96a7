// Ring lookup: the constant-time path for evenly spaced tokens must agree with a plain binary
// search (bisect_right - 1) over the same entries, at every boundary and for random tokens, and
// rings with uneven tokens (only decoded HASHCONFIG blobs have them) must still be searched.
import Testing
import VoltModel

@Suite struct HashRingLookupTests {
    /// The reference lookup: the owner of the last entry whose token is <= `token`.
    static func bisect(_ ring: HashRing, _ token: Int32) -> PartitionID {
        var low = 0
        var high = ring.tokens.count
        while low < high {
            let mid = (low + high) / 2
            if ring.tokens[mid].rawValue <= token { low = mid + 1 } else { high = mid }
        }
        return ring.owners[low - 1]
    }

    static func probes(_ ring: HashRing, seed: UInt64) -> [Int32] {
        var probes: [Int32] = [Int32.min, Int32.min + 1, -1, 0, 1, Int32.max - 1, Int32.max]
        for t in ring.tokens {
            probes.append(t.rawValue)
            if t.rawValue > Int32.min { probes.append(t.rawValue - 1) }
            if t.rawValue < Int32.max { probes.append(t.rawValue + 1) }
        }
        var rng = SplitMix64(seed: seed)
        for _ in 0..<20_000 { probes.append(Int32(truncatingIfNeeded: rng.next())) }
        return probes
    }

    @Test(arguments: [(1, 16384), (2, 16384), (3, 16384), (7, 16384), (1, 2), (2, 3), (3, 7), (5, 100)])
    func constructedRingsAgreeWithBinarySearch(partitions: Int, tokens: Int) {
        let ring = HashRing(partitionCount: partitions, tokenCount: tokens)
        for t in Self.probes(ring, seed: UInt64(partitions * 131 + tokens)) {
            #expect(ring.partition(for: Token(t)) == Self.bisect(ring, t), "token \(t)")
        }
    }

    @Test func decodedUnevenRingsAgreeWithBinarySearch() throws {
        // Entries at -2^31, -10, -10 (an empty range), 7 and 1000: not evenly spaced.
        let entries: [(Int32, Int32)] = [(Int32.min, 0), (-10, 1), (-10, 2), (7, 0), (1000, 1)]
        var blob: [UInt8] = []
        func append(_ v: Int32) {
            let u = UInt32(bitPattern: v)
            blob += [UInt8(truncatingIfNeeded: u >> 24), UInt8(truncatingIfNeeded: u >> 16),
                     UInt8(truncatingIfNeeded: u >> 8), UInt8(truncatingIfNeeded: u)]
        }
        append(Int32(entries.count))
        for (token, owner) in entries { append(token); append(owner) }
        let ring = try HashRing(configBlob: blob)
        for t in Self.probes(ring, seed: 7) {
            #expect(ring.partition(for: Token(t)) == Self.bisect(ring, t), "token \(t)")
        }
        #expect(ring.partition(for: Token(-10)) == PartitionID(2))
        #expect(ring.partition(for: Token(-11)) == PartitionID(0))
    }

    @Test func aDecodedConstructedRingLooksUpTheSame() throws {
        let ring = HashRing(partitionCount: 3)
        let decoded = try HashRing(configBlob: ring.configBlob)
        #expect(decoded == ring)
        for t in Self.probes(ring, seed: 11).prefix(5000) {
            #expect(decoded.partition(for: Token(t)) == ring.partition(for: Token(t)))
        }
    }
}
