// An ordered multiset of entries kept as a list of sorted blocks (the layout of Python's
// sortedcontainers): every block holds 1...`blockCapacity` entries, blocks are in order, and the
// last entry of each block is ≤ the first of the next. `maxes` holds each block's last entry in one
// contiguous array, so finding a place is a cache-friendly binary search over `maxes`, then one
// inside a single block; inserting shifts at most one block (a memmove of
// ≤ 512 entries) and splits a block that overflows into two halves. Removing an entry drops an
// emptied block and merges a block that fell below an eighth full into a neighbour when both fit in
// one. All of this is a function of the sequence of calls only, so two replicas that make the same
// calls hold the same blocks.
//
// The list does not know how entries compare: every search takes a predicate `isBelow(entry)` that
// must be true for a (possibly empty) prefix of the entries and false for the rest, which is what
// the table's comparators give for (key, slot) orders. Entries are small values: a slot number for
// column indexes (the key is read from column storage), or a packed (token, slot) word for the
// token index.

struct BlockList<Entry> {
    static var blockCapacity: Int { 512 }

    /// A place in the list; `(blocks.count, 0)` is the end.
    struct Position: Comparable {
        var block: Int
        var offset: Int

        static func < (a: Position, b: Position) -> Bool {
            a.block != b.block ? a.block < b.block : a.offset < b.offset
        }
    }

    private(set) var blocks: [[Entry]] = []
    /// `maxes[b] == blocks[b].last!`
    private(set) var maxes: [Entry] = []
    private(set) var count = 0

    init() {}

    /// Builds the list from entries already in order, each block half full so that the first
    /// inserts after a bulk build do not all split.
    init(sorted entries: [Entry]) {
        let step = BlockList.blockCapacity / 2
        var i = 0
        while i < entries.count {
            let end = min(i + step, entries.count)
            blocks.append(Array(entries[i..<end]))
            maxes.append(entries[end - 1])
            i = end
        }
        count = entries.count
    }

    var isEmpty: Bool { count == 0 }
    var startPosition: Position { Position(block: 0, offset: 0) }
    var endPosition: Position { Position(block: blocks.count, offset: 0) }

    @inline(__always)
    func entry(at p: Position) -> Entry { blocks[p.block][p.offset] }

    @inline(__always)
    func position(after p: Position) -> Position {
        p.offset + 1 < blocks[p.block].count ? Position(block: p.block, offset: p.offset + 1)
                                              : Position(block: p.block + 1, offset: 0)
    }

    /// The position before `p`, or nil at the start.
    @inline(__always)
    func position(before p: Position) -> Position? {
        if p.offset > 0 { return Position(block: p.block, offset: p.offset - 1) }
        if p.block > 0 { return Position(block: p.block - 1, offset: blocks[p.block - 1].count - 1) }
        return nil
    }

    /// The first position whose entry is not below; the end if every entry is below.
    @inline(__always)
    func partitionPoint(_ isBelow: (Entry) -> Bool) -> Position {
        let lo = maxes.withUnsafeBufferPointer { m -> Int in
            var lo = 0
            var hi = m.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if isBelow(m[mid]) { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        if lo == blocks.count { return endPosition }
        let l = blocks[lo].withUnsafeBufferPointer { b -> Int in
            var l = 0
            var h = b.count - 1  // the last entry is known not to be below
            while l < h {
                let mid = (l + h) >> 1
                if isBelow(b[mid]) { l = mid + 1 } else { h = mid }
            }
            return l
        }
        return Position(block: lo, offset: l)
    }

    /// Inserts at `p` (as returned by `partitionPoint` for this entry's order).
    mutating func insert(_ entry: Entry, at p: Position) {
        count += 1
        if blocks.isEmpty {
            blocks.append([entry])
            maxes.append(entry)
            return
        }
        var p = p
        if p.block == blocks.count {
            p = Position(block: blocks.count - 1, offset: blocks[blocks.count - 1].count)
        }
        blocks[p.block].insert(entry, at: p.offset)
        if p.offset == blocks[p.block].count - 1 { maxes[p.block] = entry }
        if blocks[p.block].count > BlockList.blockCapacity {
            let half = blocks[p.block].count / 2
            let upper = Array(blocks[p.block][half...])
            blocks[p.block].removeSubrange(half...)
            maxes[p.block] = blocks[p.block][half - 1]
            blocks.insert(upper, at: p.block + 1)
            maxes.insert(upper[upper.count - 1], at: p.block + 1)
        }
    }

    @discardableResult
    mutating func remove(at p: Position) -> Entry {
        let entry = blocks[p.block].remove(at: p.offset)
        count -= 1
        let n = blocks[p.block].count
        if n == 0 {
            blocks.remove(at: p.block)
            maxes.remove(at: p.block)
            return entry
        }
        if p.offset == n { maxes[p.block] = blocks[p.block][n - 1] }
        if n < BlockList.blockCapacity / 8 {
            if p.block + 1 < blocks.count, n + blocks[p.block + 1].count <= BlockList.blockCapacity {
                let next = blocks.remove(at: p.block + 1)
                blocks[p.block].append(contentsOf: next)
                maxes.remove(at: p.block)
            } else if p.block > 0, n + blocks[p.block - 1].count <= BlockList.blockCapacity {
                let this = blocks.remove(at: p.block)
                blocks[p.block - 1].append(contentsOf: this)
                maxes.remove(at: p.block - 1)
            }
        }
        return entry
    }

    /// The number of entries before `p`.
    func rank(of p: Position) -> Int {
        var r = p.offset
        for b in 0..<p.block { r += blocks[b].count }
        return r
    }

    /// Every entry in order (tests and rebuilds).
    var allEntries: [Entry] { blocks.flatMap { $0 } }
}
