// VoltDB's elastic hashinator: the token ring that maps a partition key to its partition, bit for
// bit as a VoltDB cluster of the same size builds it (docs/PROTOCOL.md §7).
//
// Shape. A ring is a list of entries (token, partition), tokens ascending, the first token -2^31.
// Entry k owns the tokens [token_k, token_k+1); the last entry runs through Int32.max inclusive, so
// every 32-bit token has exactly one owner and there is no wrap-around case. A key's partition is
// the owner of the greatest entry token <= the key's MurmurHash3 token (Python's
// `bisect_right - 1`); SQL NULL goes to partition 0 without hashing.
//
// Construction (Java `Buckets`). T tokens (16384 by default) sit at -2^31 + i * interval,
// i = 0..<T, with interval = Int32.max / (T / 2) in integer division (262143 for T = 16384, not
// 262144). Every token starts on partition 0; partitions 1, 2, ... are added one at a time, and
// after each addition the ring rebalances: take the most loaded partition (most tokens, ties to the
// highest id) and the least loaded (fewest tokens, ties to the lowest id); stop when their counts
// differ by at most one, otherwise move the numerically smallest token of the most loaded to the
// least loaded and repeat. Elastic expansion (`addingPartitions`) runs the same procedure from the
// current ownership, so growing P to P + k gives exactly the ring a fresh P + k cluster has, and
// old partitions only ever lose tokens, to the new ones.
//
// Cost. Each partition's tokens are kept in a min-heap of entry indices, so a move is
// O(log T) plus an O(P) scan for the most and least loaded: building 16384 tokens for P partitions
// makes about T * (H(P) - 1) moves (H the harmonic number), never an O(T) scan per move.
//
// Invariants (checked with `precondition` whenever a ring is made): at least one entry, tokens and
// owners the same length, the first token -2^31, tokens non-decreasing. Rings this file builds have
// strictly ascending tokens; equal neighbours are tolerated only because the client's decoder
// tolerates them in a HASHCONFIG blob (an entry with an empty range owns no token).
//
// Departure from VoltDB: none in the ring itself. `partitions` lists the partitions that own at
// least one entry (a ring does not know about partitions it gives nothing to); `addingPartitions(_:)`
// numbers new partitions after the highest id present, which for VoltDB's dense ids 0..<P is P.

/// VoltDB's elastic hash ring: sorted tokens, each owned by one partition.
public struct HashRing: Sendable, Hashable, CustomStringConvertible {
    /// VoltDB's `ELASTIC_TOTAL_TOKENS`.
    public static let defaultTokenCount = 16384

    /// Entry tokens, ascending; the first is `Token.min`.
    public let tokens: [Token]
    /// `owners[k]` owns the tokens `[tokens[k], tokens[k + 1])`; the last entry runs through `Int32.max`.
    public let owners: [PartitionID]
    /// The partitions that own at least one entry, ascending.
    public let partitions: [PartitionID]
    /// The spacing of the entry tokens when entry k's token is exactly `-2^31 + k * spacing` (every
    /// ring the constructor builds), so that a lookup is one division instead of a binary search;
    /// 0 when the tokens are spaced any other way (a decoded HASHCONFIG blob may be), and lookups
    /// then search. Derived from `tokens`, so it never makes two equal rings compare unequal.
    let uniformSpacing: Int64

    /// The ring a fresh VoltDB cluster with `partitionCount` partitions (ids `0..<partitionCount`)
    /// starts with.
    public init(partitionCount: Int, tokenCount: Int = HashRing.defaultTokenCount) {
        precondition(tokenCount >= 2, "a ring needs at least 2 tokens, got \(tokenCount)")
        precondition(partitionCount >= 1 && partitionCount <= tokenCount,
                     "partition count \(partitionCount) must be in 1...\(tokenCount) (the token count)")
        let interval = Int64(Int32.max) / Int64(tokenCount / 2)
        precondition(interval >= 1, "token count \(tokenCount) leaves no room between tokens")
        var tokens: [Token] = []
        tokens.reserveCapacity(tokenCount)
        for i in 0..<tokenCount {
            // Never overflows: i <= 2 * (T / 2), so the last token is at most 2^31 - 2.
            tokens.append(Token(Int32(Int64(Int32.min) + Int64(i) * interval)))
        }
        let single = HashRing(validatedTokens: tokens, owners: Array(repeating: PartitionID(0), count: tokenCount))
        self = single.addingPartitions((1..<partitionCount).map { PartitionID(Int32($0)) })
    }

    /// A ring from raw entries; every caller has established the invariants, which are re-checked.
    init(validatedTokens tokens: [Token], owners: [PartitionID]) {
        precondition(!tokens.isEmpty && tokens.count == owners.count,
                     "a ring needs one owner per token and at least one entry: \(tokens.count) tokens, \(owners.count) owners")
        precondition(tokens[0] == Token.min, "the first ring token must be -2^31, got \(tokens[0])")
        for k in 1..<tokens.count {
            precondition(tokens[k - 1].rawValue <= tokens[k].rawValue,
                         "ring tokens decrease at entry \(k): \(tokens[k - 1]) then \(tokens[k])")
        }
        self.tokens = tokens
        self.owners = owners
        self.uniformSpacing = HashRing.uniformSpacing(of: tokens)
        // Owners come in long runs, so hashing one owner per run is enough.
        var distinct: Set<PartitionID> = [owners[0]]
        for k in 1..<owners.count where owners[k] != owners[k - 1] { distinct.insert(owners[k]) }
        self.partitions = distinct.sorted()
    }

    // MARK: Size

    /// The number of ring entries (16384 for a VoltDB-built ring).
    public var tokenCount: Int { tokens.count }

    /// The number of partitions owning at least one entry.
    public var partitionCount: Int { partitions.count }

    /// How many entries each partition owns.
    public var tokensPerPartition: [PartitionID: Int] {
        var counts: [PartitionID: Int] = [:]
        var runStart = 0
        for k in 1...owners.count where k == owners.count || owners[k] != owners[k - 1] {
            counts[owners[runStart], default: 0] += k - runStart
            runStart = k
        }
        return counts
    }

    public var description: String { "HashRing(\(partitionCount) partitions, \(tokenCount) tokens)" }

    // MARK: Elastic expansion

    /// The ring after adding `count` partitions numbered after the highest id present, continuing
    /// VoltDB's rebalancing from the current ownership: equal to a fresh ring of the new size when
    /// this ring is a fresh one.
    public func addingPartitions(_ count: Int) -> HashRing {
        precondition(count >= 0, "cannot add \(count) partitions")
        let next = (partitions.last?.rawValue ?? -1) + 1
        return addingPartitions((0..<count).map { PartitionID(next + Int32($0)) })
    }

    /// The ring after adding the partitions `ids`, one at a time in the given order, rebalancing
    /// after each as VoltDB's `Buckets.addPartitions` does.
    public func addingPartitions(_ ids: [PartitionID]) -> HashRing {
        precondition(Set(ids).count == ids.count && Set(ids).isDisjoint(with: partitions),
                     "partitions to add \(ids) must be distinct and new to the ring (has \(partitions))")
        precondition(partitions.count + ids.count <= tokens.count,
                     "\(partitions.count + ids.count) partitions cannot share \(tokens.count) tokens")
        if ids.isEmpty { return self }
        var buckets = Buckets(owners: owners)
        for id in ids { buckets.addPartition(id) }
        return HashRing(validatedTokens: tokens, owners: buckets.owners(entryCount: tokens.count))
    }

    // MARK: Lookup

    /// The partition owning `token`: the owner of the greatest entry token <= `token`.
    public func partition(for token: Token) -> PartitionID {
        owners[entryIndex(containing: token.rawValue)]
    }

    /// The partition of a partition-key value of a column of `type` (§7.2 hashing and coercions);
    /// SQL NULL, and values that are not hashable keys, go to partition 0 as in VoltDB.
    public func partition(forKey value: Value, type: SQLType) -> PartitionID {
        guard let token = value.partitionToken(as: type) else { return PartitionID(0) }
        return partition(for: token)
    }

    /// The index of the last entry whose token is <= `token` (bisect_right - 1). Always exists,
    /// because the first entry token is -2^31.
    @inline(__always)
    func entryIndex(containing token: Int32) -> Int {
        if uniformSpacing > 0 {
            // Entry k starts at -2^31 + k * spacing, so the greatest k with start <= token is the
            // quotient, capped at the last entry (which runs through Int32.max).
            return min(Int((Int64(token) - Int64(Int32.min)) / uniformSpacing), tokens.count - 1)
        }
        return searchEntryIndex(containing: token)
    }

    /// `entryIndex(containing:)` by binary search, for rings whose tokens are not evenly spaced.
    func searchEntryIndex(containing token: Int32) -> Int {
        var low = 0
        var high = tokens.count
        while low < high {
            let mid = (low + high) / 2
            if tokens[mid].rawValue <= token { low = mid + 1 } else { high = mid }
        }
        return low - 1
    }

    /// The first token after entry `k`'s range: the next entry's token, or 2^31 for the last entry.
    public func entryEnd(_ k: Int) -> Int64 {
        k + 1 < tokens.count ? Int64(tokens[k + 1].rawValue) : Int64(Int32.max) + 1
    }

    // MARK: Ownership

    /// One maximal run of consecutive tokens owned by one partition.
    public struct OwnedRange: Sendable, Hashable, CustomStringConvertible {
        public let range: TokenRange
        public let partition: PartitionID
        public init(range: TokenRange, partition: PartitionID) {
            self.range = range
            self.partition = partition
        }
        public var description: String { "\(range) -> \(partition)" }
    }

    /// The whole ring as maximal runs, ascending by start; together they cover every token exactly
    /// once. Runs do not wrap: the run ending at Int32.max and the one starting at -2^31 stay apart
    /// even when one partition owns both.
    public var ownedRanges: [OwnedRange] {
        var runs: [OwnedRange] = []
        var runStart: Int64 = 0
        var runEnd: Int64 = 0
        var runOwner: PartitionID?
        for k in 0..<tokens.count {
            let start = Int64(tokens[k].rawValue)
            let end = entryEnd(k)
            if start == end { continue }  // an equal-token neighbour owns nothing
            if runOwner == owners[k] {
                runEnd = end
                continue
            }
            if let owner = runOwner {
                runs.append(OwnedRange(range: TokenRange(start: runStart, endExclusive: runEnd), partition: owner))
            }
            runOwner = owners[k]
            runStart = start
            runEnd = end
        }
        if let owner = runOwner {
            runs.append(OwnedRange(range: TokenRange(start: runStart, endExclusive: runEnd), partition: owner))
        }
        return runs
    }

    /// The token ranges `partition` owns, contiguous runs merged, ascending.
    public func ranges(of partition: PartitionID) -> [TokenRange] {
        ownedRanges.filter { $0.partition == partition }.map(\.range)
    }

    /// The indices of the entries whose token lies in `range` (empty when none does).
    public func entries(in range: TokenRange) -> Range<Int> {
        firstEntry(atOrAfter: range.start)..<firstEntry(atOrAfter: range.endExclusive)
    }

    /// The index of the first entry whose token is >= `token`, or `tokenCount` when none is.
    private func firstEntry(atOrAfter token: Int64) -> Int {
        var low = 0
        var high = tokens.count
        while low < high {
            let mid = (low + high) / 2
            if Int64(tokens[mid].rawValue) < token { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Whether `range` starts and ends on entry boundaries, so that it is a union of whole entries.
    public func isAligned(_ range: TokenRange) -> Bool {
        let entries = entries(in: range)
        return !entries.isEmpty && Int64(tokens[entries.lowerBound].rawValue) == range.start
            && entryEnd(entries.upperBound - 1) == range.endExclusive
    }

    /// The ring with every entry of `range` handed from `source` to `destination`: one cutover step
    /// of an elastic join. `range` must start and end on entry boundaries and `source` must own all
    /// of it; anything else is a broken plan.
    public func reassigning(_ range: TokenRange, from source: PartitionID, to destination: PartitionID) -> HashRing {
        precondition(isAligned(range), "range \(range) does not start and end on entry boundaries of \(self)")
        var newOwners = owners
        for k in entries(in: range) {
            precondition(owners[k] == source,
                         "range \(range) is not all \(source)'s: entry \(k) at \(tokens[k]) belongs to \(owners[k])")
            newOwners[k] = destination
        }
        // The tokens are unchanged, so the ring invariants still hold; only the partition list can
        // change, by gaining the destination or losing a source left with nothing. Updating it in
        // place keeps a cutover step at one copy of the owners rather than a rehash of them.
        var newPartitions = partitions
        if !newOwners.contains(source) { newPartitions.removeAll { $0 == source } }
        if !newPartitions.contains(destination) {
            newPartitions.insert(destination, at: newPartitions.firstIndex { $0 > destination } ?? newPartitions.count)
        }
        return HashRing(tokens: tokens, owners: newOwners, partitions: newPartitions)
    }

    /// A ring whose invariants the caller carries over from a valid ring with the same tokens.
    private init(tokens: [Token], owners: [PartitionID], partitions: [PartitionID]) {
        self.tokens = tokens
        self.owners = owners
        self.partitions = partitions
        self.uniformSpacing = HashRing.uniformSpacing(of: tokens)
    }

    /// The spacing s > 0 such that `tokens[k] == -2^31 + k * s` for every k, or 0 if there is none.
    /// A one-entry ring gets a spacing past the whole token space, so every token maps to entry 0.
    private static func uniformSpacing(of tokens: [Token]) -> Int64 {
        guard tokens.count > 1 else { return Int64(1) << 33 }
        let spacing = Int64(tokens[1].rawValue) - Int64(Int32.min)
        guard spacing > 0 else { return 0 }
        for k in 0..<tokens.count where Int64(tokens[k].rawValue) != Int64(Int32.min) + Int64(k) * spacing {
            return 0
        }
        return spacing
    }

    // MARK: @GetPartitionKeys

    /// VoltDB's `@GetPartitionKeys`: for `i = 0, 1, 2, ...` (below 500000) the candidate key `i`
    /// (integer types), `String(i)` (VARCHAR) or the 4-byte big-endian bytes of `i` (VARBINARY),
    /// emitted with its partition the first time that partition is hit, until every partition
    /// owning tokens has a key. Rows are in discovery order, as VoltDB returns them.
    public func partitionKeys(for type: SQLType) -> [(partition: PartitionID, key: Value)] {
        precondition(type.isPartitionable, "@GetPartitionKeys has no keys of type \(type)")
        let wanted = Set(ownedRanges.map(\.partition))
        var found: Set<PartitionID> = []
        var rows: [(partition: PartitionID, key: Value)] = []
        var i: Int64 = 0
        while i < 500_000 && found.count < wanted.count {
            let key: Value
            switch type {
            case .varchar:
                key = .string(String(i))
            case .varbinary:
                let v = UInt32(truncatingIfNeeded: i)
                key = .bytes([UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16),
                              UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)])
            default:
                key = .integer(i)
            }
            let partition = self.partition(forKey: key, type: type)
            if found.insert(partition).inserted { rows.append((partition, key)) }
            i += 1
        }
        return rows
    }
}

// MARK: - HASHCONFIG blob

/// Why a HASHCONFIG blob was refused; the same blobs the Python client's decoder refuses.
public enum HashRingConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Fewer than the 4 bytes of the entry count.
    case missingEntryCount(byteCount: Int)
    /// The entry count is zero or negative.
    case nonPositiveEntryCount(Int32)
    /// The blob is not exactly 4 + 8N bytes long.
    case lengthMismatch(entryCount: Int32, expectedBytes: Int, actualBytes: Int)
    /// The first entry's token is not -2^31, so some tokens would have no owner.
    case firstTokenNotRingStart(Token)
    /// Entry `entry`'s token is below the previous one.
    case decreasingTokens(entry: Int, previous: Token, token: Token)

    public var description: String {
        switch self {
        case .missingEntryCount(let n):
            "hash config blob of \(n) bytes is too short for its entry count"
        case .nonPositiveEntryCount(let n):
            "hash config blob has \(n) entries; it needs at least one"
        case let .lengthMismatch(n, expected, actual):
            "hash config blob of \(n) entries must be \(expected) bytes, got \(actual)"
        case .firstTokenNotRingStart(let t):
            "hash config blob's first token is \(t); it must be -2147483648"
        case let .decreasingTokens(k, previous, token):
            "hash config blob's tokens decrease at entry \(k): \(previous) then \(token)"
        }
    }
}

extension HashRing {
    /// The raw HASHCONFIG blob clients receive in `@Statistics TOPO`: int32 BE N, then N entries of
    /// (int32 BE token, int32 BE partition id).
    public var configBlob: [UInt8] {
        var blob: [UInt8] = []
        blob.reserveCapacity(4 + 8 * tokens.count)
        appendBigEndian(UInt32(tokens.count), to: &blob)
        for k in 0..<tokens.count {
            appendBigEndian(UInt32(bitPattern: tokens[k].rawValue), to: &blob)
            appendBigEndian(UInt32(bitPattern: owners[k].rawValue), to: &blob)
        }
        return blob
    }

    /// Decodes a raw HASHCONFIG blob. Equal neighbouring tokens are accepted, as the client accepts
    /// them; the later entry wins lookups.
    public init(configBlob blob: [UInt8]) throws(HashRingConfigError) {
        guard blob.count >= 4 else { throw .missingEntryCount(byteCount: blob.count) }
        let count = Int32(bitPattern: readBigEndian(blob, at: 0))
        guard count > 0 else { throw .nonPositiveEntryCount(count) }
        let expected = 4 + 8 * Int(count)
        guard blob.count == expected else {
            throw .lengthMismatch(entryCount: count, expectedBytes: expected, actualBytes: blob.count)
        }
        var tokens: [Token] = []
        var owners: [PartitionID] = []
        tokens.reserveCapacity(Int(count))
        owners.reserveCapacity(Int(count))
        for k in 0..<Int(count) {
            let token = Token(Int32(bitPattern: readBigEndian(blob, at: 4 + 8 * k)))
            if k == 0, token != Token.min { throw .firstTokenNotRingStart(token) }
            if k > 0, token.rawValue < tokens[k - 1].rawValue {
                throw .decreasingTokens(entry: k, previous: tokens[k - 1], token: token)
            }
            tokens.append(token)
            owners.append(PartitionID(Int32(bitPattern: readBigEndian(blob, at: 8 + 8 * k))))
        }
        self.init(validatedTokens: tokens, owners: owners)
    }
}

@inline(__always)
private func appendBigEndian(_ v: UInt32, to out: inout [UInt8]) {
    out.append(UInt8(truncatingIfNeeded: v >> 24))
    out.append(UInt8(truncatingIfNeeded: v >> 16))
    out.append(UInt8(truncatingIfNeeded: v >> 8))
    out.append(UInt8(truncatingIfNeeded: v))
}

@inline(__always)
private func readBigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}

// MARK: - Buckets (the rebalancing procedure)

/// VoltDB's `Buckets` over entry indices: which partition owns which entries, each partition's
/// entries in a min-heap so that "the numerically smallest token of the most loaded partition" is
/// its heap's minimum (entry order is token order).
private struct Buckets {
    /// Slot -> partition id, in the order partitions became known.
    private var ids: [PartitionID] = []
    /// Slot -> the entry indices that partition owns.
    private var heaps: [EntryHeap] = []
    /// Slot -> `heaps[slot].count`, kept apart so the load scan touches one flat array.
    private var counts: [Int] = []

    /// Starts from a ring's ownership. Indices are appended in ascending order, so each array is
    /// already a valid min-heap.
    init(owners: [PartitionID]) {
        var slotOf: [PartitionID: Int] = [:]
        var previous: (owner: PartitionID, slot: Int)?
        for (k, owner) in owners.enumerated() {
            let slot: Int
            if let previous, previous.owner == owner {
                // Owners come in runs; skip the dictionary for the common case.
                slot = previous.slot
            } else if let known = slotOf[owner] {
                slot = known
            } else {
                slot = ids.count
                slotOf[owner] = slot
                ids.append(owner)
                heaps.append(EntryHeap())
                counts.append(0)
            }
            heaps[slot].appendAscending(Int32(k))
            counts[slot] += 1
            previous = (owner, slot)
        }
    }

    /// Adds an empty partition and rebalances until the most and least loaded partitions differ by
    /// at most one token.
    mutating func addPartition(_ id: PartitionID) {
        ids.append(id)
        heaps.append(EntryHeap())
        counts.append(0)
        while true {
            var most = 0
            var least = 0
            for slot in 1..<ids.count {
                let c = counts[slot]
                if c > counts[most] || (c == counts[most] && ids[slot] > ids[most]) { most = slot }
                if c < counts[least] || (c == counts[least] && ids[slot] < ids[least]) { least = slot }
            }
            if counts[most] - counts[least] <= 1 { return }
            let entry = heaps[most].popMin()
            heaps[least].push(entry)
            counts[most] -= 1
            counts[least] += 1
        }
    }

    func owners(entryCount: Int) -> [PartitionID] {
        var owners = Array(repeating: PartitionID(-1), count: entryCount)
        for slot in 0..<ids.count {
            for entry in heaps[slot].elements { owners[Int(entry)] = ids[slot] }
        }
        return owners
    }
}

/// A binary min-heap of entry indices.
private struct EntryHeap {
    private(set) var elements: [Int32] = []

    /// Appends an index larger than every index present (keeps the heap property trivially).
    mutating func appendAscending(_ e: Int32) {
        precondition(elements.last.map { $0 < e } ?? true, "entry \(e) appended out of order")
        elements.append(e)
    }

    mutating func push(_ e: Int32) {
        elements.append(e)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if elements[parent] <= elements[child] { break }
            elements.swapAt(parent, child)
            child = parent
        }
    }

    mutating func popMin() -> Int32 {
        precondition(!elements.isEmpty, "the most loaded partition has no tokens to give")
        let top = elements[0]
        let last = elements.removeLast()
        if elements.isEmpty { return top }
        elements[0] = last
        var parent = 0
        let n = elements.count
        while true {
            let left = 2 * parent + 1
            if left >= n { break }
            let right = left + 1
            let smaller = right < n && elements[right] < elements[left] ? right : left
            if elements[parent] <= elements[smaller] { break }
            elements.swapAt(parent, smaller)
            parent = smaller
        }
        return top
    }
}
