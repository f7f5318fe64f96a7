// Token-range operations, the storage side of moving a range between partitions: chunked
// iteration in token order, all-or-nothing bulk load, range delete, range row counts and
// order-independent range checksums.
//
// A chunk from `rows(in:after:maxRows:)` ends only between two tokens, so the rows sharing a token
// always travel together and a cursor of "the last token sent" is enough to resume, whatever
// happened to slots in between. A chunk may therefore exceed `maxRows` by the size of one token's
// group of rows.
//
// A range checksum is a `RangeChecksum`: the row count and the wrapping sums of both 64-bit words
// of each row's stable 128-bit hash (of its canonical bytes). Sums do not depend on order, slots or
// arena layout, so a source range and its bulk-loaded copy agree; two different multisets of rows
// agree with probability about 2^-128. Checksums of disjoint ranges add up (`combined(with:)`).
//
// For a replicated table the tokens are content tokens (see Table.swift), so these operations
// still partition the table; `TokenRange.all` covers it.

/// An order-independent digest of a set of rows.
public struct RangeChecksum: Sendable, Hashable, CustomStringConvertible {
    public var rowCount: Int
    /// Wrapping sum of the first word of every row's hash.
    public var digest: UInt64
    /// Wrapping sum of the second word of every row's hash.
    public var digest2: UInt64

    public init(rowCount: Int = 0, digest: UInt64 = 0, digest2: UInt64 = 0) {
        self.rowCount = rowCount
        self.digest = digest
        self.digest2 = digest2
    }

    /// The checksum of the union of two disjoint sets of rows.
    public func combined(with other: RangeChecksum) -> RangeChecksum {
        RangeChecksum(rowCount: rowCount + other.rowCount, digest: digest &+ other.digest, digest2: digest2 &+ other.digest2)
    }

    mutating func add(_ h: (UInt64, UInt64)) {
        rowCount += 1
        digest &+= h.0
        digest2 &+= h.1
    }

    public var description: String {
        "\(rowCount) rows, digest \(String(digest, radix: 16))/\(String(digest2, radix: 16))"
    }
}

extension TableStorage {
    func rows(in range: TokenRange, after cursor: Token?, maxRows: Int) -> (rows: [[Value]], resumeAfter: Token?) {
        precondition(maxRows > 0, "maxRows must be positive, got \(maxRows)")
        var start = range.start
        if let cursor { start = max(start, Int64(cursor.rawValue) + 1) }
        var out: [[Value]] = []
        guard start < range.endExclusive else { return (out, nil) }
        var p = tokenPosition(atOrAfter: start)
        let end = tokenIndex.endPosition
        var lastToken = Int64.min
        while p < end {
            let key = tokenIndex.entry(at: p)
            let t = TableStorage.token(ofKey: key)
            if t >= range.endExclusive { break }
            if out.count >= maxRows && t != lastToken { return (out, Token(Int32(lastToken))) }
            out.append(rowValues(Int(TableStorage.slot(ofKey: key))))
            lastToken = t
            p = tokenIndex.position(after: p)
        }
        return (out, nil)
    }

    /// The slots of the rows whose token is in `range`, in token order.
    func slots(in range: TokenRange) -> [Int32] {
        var slots: [Int32] = []
        var p = tokenPosition(atOrAfter: range.start)
        let end = tokenIndex.endPosition
        while p < end {
            let key = tokenIndex.entry(at: p)
            if TableStorage.token(ofKey: key) >= range.endExclusive { break }
            slots.append(TableStorage.slot(ofKey: key))
            p = tokenIndex.position(after: p)
        }
        return slots
    }

    func rowCount(in range: TokenRange) -> Int {
        let from = tokenPosition(atOrAfter: range.start)
        let to = tokenPosition(atOrAfter: range.endExclusive)
        return tokenIndex.rank(of: to) - tokenIndex.rank(of: from)
    }

    func checksum(in range: TokenRange) -> RangeChecksum {
        var sum = RangeChecksum()
        var p = tokenPosition(atOrAfter: range.start)
        let end = tokenIndex.endPosition
        while p < end {
            let key = tokenIndex.entry(at: p)
            if TableStorage.token(ofKey: key) >= range.endExclusive { break }
            sum.add(rowHash(Int(TableStorage.slot(ofKey: key))))
            p = tokenIndex.position(after: p)
        }
        return sum
    }

    func checksum() -> RangeChecksum {
        var sum = RangeChecksum()
        forEachLiveSlot { sum.add(rowHash($0)) }
        return sum
    }
}
