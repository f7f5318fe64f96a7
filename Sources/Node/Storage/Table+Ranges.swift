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

extension Table {
    /// The row's token: its partition key's token, or a replicated table's content token.
    public func token(of id: RowID) -> Token {
        let s = Int(id.slot)
        precondition(isLive(s), "\(id) of table \(name) is not a live row")
        return Token(tokens[s])
    }

    /// Rows whose token is in `range` and after `cursor`, in ascending token order, at least
    /// `maxRows` of them unless the range runs out first, never splitting one token's rows.
    /// `resumeAfter` is the cursor for the next chunk, nil when the range is exhausted.
    public func rows(in range: TokenRange, after cursor: Token?, maxRows: Int) -> (rows: [[Value]], resumeAfter: Token?) {
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
            let t = Table.token(ofKey: key)
            if t >= range.endExclusive { break }
            if out.count >= maxRows && t != lastToken { return (out, Token(Int32(lastToken))) }
            out.append(row(RowID(slot: Table.slot(ofKey: key))))
            lastToken = t
            p = tokenIndex.position(after: p)
        }
        return (out, nil)
    }

    /// Inserts every row, or none: on the first failure the rows already inserted are undone (in
    /// `log` if given, which keeps its earlier records and hash) and the error is thrown.
    public func bulkLoad(_ rows: [[Value]], log: WriteLog?) throws(StorageError) {
        let target = log ?? WriteLog()
        let mark = target.count
        let hashMark = target.determinismHash
        do throws(StorageError) {
            for r in rows { try insert(r, log: target) }
        } catch {
            target.rollback(to: mark)
            target.restoreDeterminismHash(hashMark)
            throw error
        }
        if log == nil { target.commit() }
    }

    /// Deletes every row whose token is in `range`, in token order; returns how many.
    @discardableResult
    public func deleteRows(in range: TokenRange, log: WriteLog?) -> Int {
        var slots: [Int32] = []
        var p = tokenPosition(atOrAfter: range.start)
        let end = tokenIndex.endPosition
        while p < end {
            let key = tokenIndex.entry(at: p)
            if Table.token(ofKey: key) >= range.endExclusive { break }
            slots.append(Table.slot(ofKey: key))
            p = tokenIndex.position(after: p)
        }
        for s in slots { delete(RowID(slot: s), log: log) }
        return slots.count
    }

    public func rowCount(in range: TokenRange) -> Int {
        let from = tokenPosition(atOrAfter: range.start)
        let to = tokenPosition(atOrAfter: range.endExclusive)
        return tokenIndex.rank(of: to) - tokenIndex.rank(of: from)
    }

    /// Order-independent digest and count of the rows whose token is in `range`.
    public func checksum(in range: TokenRange) -> RangeChecksum {
        var sum = RangeChecksum()
        var p = tokenPosition(atOrAfter: range.start)
        let end = tokenIndex.endPosition
        while p < end {
            let key = tokenIndex.entry(at: p)
            if Table.token(ofKey: key) >= range.endExclusive { break }
            sum.add(rowHash(Int(Table.slot(ofKey: key))))
            p = tokenIndex.position(after: p)
        }
        return sum
    }

    /// The whole table's checksum.
    public func checksum() -> RangeChecksum {
        var sum = RangeChecksum()
        forEachRow { id in
            sum.add(rowHash(Int(id.slot)))
            return true
        }
        return sum
    }
}
