// The primary-key map: an open-addressing hash table from a key to the slot of the row holding it.
//
// A bucket is 16 bytes: `tag << 32 | slot` (the tag is the upper 32 bits of the key's 64-bit
// stable hash) and a payload word chosen by the table so that a probe can usually be confirmed
// without another trip to memory: the key itself for a single integer key, the key's arena
// reference for a single VARCHAR/VARBINARY key (so a lookup goes bucket → key bytes, not bucket →
// row → key bytes), and the second hash word for other keys. Equality is decided by the caller,
// from the payload and, where needed, the row's cells. A lookup allocates nothing.
//
// Buckets are probed linearly from `tag & mask`; a removed entry leaves a tombstone so that later
// probes keep going. The table doubles when live entries pass 5/8 of the buckets and is rebuilt at
// the same size when tombstones crowd it; rebuilds need only the stored tags. Payloads that depend
// on where bytes live are refreshed by `refreshPayloads` after the table compacts its arena.
//
// The map is never iterated for results, so its bucket layout may differ between two tables with
// equal contents (after a rollback, say) without anything observable differing. Its hash is
// `StableHasher`, never Swift's per-process seeded `Hasher`.

struct SlotHashMap {
    struct Bucket {
        var head: UInt64
        var payload: UInt64
    }

    static let emptyHead: UInt64 = .max
    static let tombstone: UInt64 = .max - 1

    private(set) var buckets: [Bucket]
    private(set) var count = 0
    private var tombstones = 0

    init() {
        buckets = Array(repeating: Bucket(head: SlotHashMap.emptyHead, payload: 0), count: 16)
    }

    @inline(__always)
    static func tag(_ hash: UInt64) -> UInt64 { hash >> 32 }

    @inline(__always)
    static func head(_ hash: UInt64, _ slot: Int32) -> UInt64 {
        precondition(slot >= 0, "slot \(slot) is negative")
        return tag(hash) << 32 | UInt64(UInt32(bitPattern: slot))
    }

    /// The slot whose key has `hash` and for which `matches(slot, payload)` is true.
    @inline(__always)
    func find(hash: UInt64, matches: (Int32, UInt64) -> Bool) -> Int32? {
        let tag = SlotHashMap.tag(hash)
        return buckets.withUnsafeBufferPointer { b -> Int32? in
            let mask = b.count - 1
            var i = Int(truncatingIfNeeded: tag) & mask
            while true {
                let e = b[i].head
                if e == SlotHashMap.emptyHead { return nil }
                if e >> 32 == tag && e != SlotHashMap.tombstone {
                    let slot = Int32(truncatingIfNeeded: e & 0xffff_ffff)
                    if matches(slot, b[i].payload) { return slot }
                }
                i = (i + 1) & mask
            }
        }
    }

    /// Adds an entry; the caller has checked that no equal key is present.
    mutating func insert(hash: UInt64, slot: Int32, payload: UInt64) {
        if (count + tombstones + 1) * 8 > buckets.count * 5 {
            rebuild(bucketCount: (count + 1) * 2 > buckets.count ? buckets.count * 2 : buckets.count)
        }
        place(Bucket(head: SlotHashMap.head(hash, slot), payload: payload))
        count += 1
    }

    mutating func remove(hash: UInt64, slot: Int32) {
        let head = SlotHashMap.head(hash, slot)
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: SlotHashMap.tag(hash)) & mask
        while true {
            let e = buckets[i].head
            precondition(e != SlotHashMap.emptyHead, "primary-key map has no entry for slot \(slot)")
            if e == head {
                buckets[i] = Bucket(head: SlotHashMap.tombstone, payload: 0)
                count -= 1
                tombstones += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    /// Recomputes every live entry's payload from its slot.
    mutating func refreshPayloads(_ payload: (Int32) -> UInt64) {
        for i in buckets.indices {
            let e = buckets[i].head
            if e != SlotHashMap.emptyHead && e != SlotHashMap.tombstone {
                buckets[i].payload = payload(Int32(truncatingIfNeeded: e & 0xffff_ffff))
            }
        }
    }

    private mutating func place(_ bucket: Bucket) {
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: bucket.head >> 32) & mask
        while true {
            let e = buckets[i].head
            if e == SlotHashMap.emptyHead || e == SlotHashMap.tombstone {
                if e == SlotHashMap.tombstone { tombstones -= 1 }
                buckets[i] = bucket
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func rebuild(bucketCount: Int) {
        let old = buckets
        buckets = Array(repeating: Bucket(head: SlotHashMap.emptyHead, payload: 0), count: bucketCount)
        tombstones = 0
        for b in old where b.head != SlotHashMap.emptyHead && b.head != SlotHashMap.tombstone { place(b) }
    }
}
