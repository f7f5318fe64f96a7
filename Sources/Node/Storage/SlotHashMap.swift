// The primary-key map: an open-addressing hash table from a key to the slot of the row holding it.
//
// It stores no keys. Each bucket is one word, `tag << 32 | slot`, where `tag` is the upper 32 bits
// of the key's 64-bit stable hash; equality is decided by the caller, which compares the candidate
// slot's cells in column storage with the probe. So a lookup allocates nothing and the map costs 8
// bytes a bucket. Buckets are probed linearly from `tag & mask`; a removed entry leaves a tombstone
// so that later probes keep going. The table doubles when live entries pass half the buckets and is
// rebuilt at the same size when tombstones crowd it; rebuilds need only the stored tags.
//
// The map is never iterated, so its bucket layout may differ between two tables with equal
// contents (after a rollback, say) without anything observable differing. Its hash is
// `StableHasher`, never Swift's per-process seeded `Hasher`.

struct SlotHashMap {
    static let emptyBucket: UInt64 = .max
    static let tombstone: UInt64 = .max - 1

    private(set) var buckets: [UInt64]
    private(set) var count = 0
    private var tombstones = 0

    init() {
        buckets = Array(repeating: SlotHashMap.emptyBucket, count: 16)
    }

    @inline(__always)
    static func tag(_ hash: UInt64) -> UInt64 { hash >> 32 }

    @inline(__always)
    static func pack(_ hash: UInt64, _ slot: Int32) -> UInt64 {
        precondition(slot >= 0, "slot \(slot) is negative")
        return tag(hash) << 32 | UInt64(UInt32(bitPattern: slot))
    }

    /// The slot whose key has `hash` and for which `matches` is true.
    @inline(__always)
    func find(hash: UInt64, matches: (Int32) -> Bool) -> Int32? {
        let mask = buckets.count - 1
        let tag = SlotHashMap.tag(hash)
        var i = Int(truncatingIfNeeded: tag) & mask
        return buckets.withUnsafeBufferPointer { b -> Int32? in
            while true {
                let e = b[i]
                if e == SlotHashMap.emptyBucket { return nil }
                if e >> 32 == tag && e != SlotHashMap.tombstone {
                    let slot = Int32(truncatingIfNeeded: e & 0xffff_ffff)
                    if matches(slot) { return slot }
                }
                i = (i + 1) & mask
            }
        }
    }

    /// Adds an entry; the caller has checked that no equal key is present.
    mutating func insert(hash: UInt64, slot: Int32) {
        if (count + tombstones + 1) * 8 > buckets.count * 5 {
            rebuild(bucketCount: (count + 1) * 2 > buckets.count ? buckets.count * 2 : buckets.count)
        }
        place(SlotHashMap.pack(hash, slot))
        count += 1
    }

    mutating func remove(hash: UInt64, slot: Int32) {
        let entry = SlotHashMap.pack(hash, slot)
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: SlotHashMap.tag(hash)) & mask
        while true {
            let e = buckets[i]
            precondition(e != SlotHashMap.emptyBucket, "primary-key map has no entry for slot \(slot)")
            if e == entry {
                buckets[i] = SlotHashMap.tombstone
                count -= 1
                tombstones += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func place(_ entry: UInt64) {
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: entry >> 32) & mask
        while true {
            let e = buckets[i]
            if e == SlotHashMap.emptyBucket || e == SlotHashMap.tombstone {
                if e == SlotHashMap.tombstone { tombstones -= 1 }
                buckets[i] = entry
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func rebuild(bucketCount: Int) {
        let old = buckets
        buckets = Array(repeating: SlotHashMap.emptyBucket, count: bucketCount)
        tombstones = 0
        for e in old where e != SlotHashMap.emptyBucket && e != SlotHashMap.tombstone { place(e) }
    }

    mutating func removeAll() {
        buckets = Array(repeating: SlotHashMap.emptyBucket, count: 16)
        count = 0
        tombstones = 0
    }
}
