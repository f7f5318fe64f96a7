import Testing
@testable import Node
import VoltModel

@Suite("Storage: token ranges, bulk load and checksums")
struct StorageRangeTests {
    /// Partitioned on a non-unique column, so that many rows share each token.
    static let events = TableDefinition(
        name: "EVENTS",
        columns: [
            ColumnDefinition(name: "ID", type: .bigint, nullable: false),
            ColumnDefinition(name: "USERID", type: .integer, nullable: false),
            ColumnDefinition(name: "BODY", type: .varchar, maxLength: 40),
        ],
        primaryKey: UniqueConstraint(name: "PK_EVENTS", columns: [0, 1]),
        partitionColumn: 1)

    func events(_ count: Int, users: Int, seed: UInt64) throws -> Table {
        var rng = SplitMix64(seed: seed)
        let t = Table(definition: StorageRangeTests.events)
        for id in 0..<count {
            try t.insert([.integer(Int64(id)), .integer(Int64(rng.below(users))),
                          rng.chance(percent: 10) ? .null : .string(rng.string(rng.below(40)))], log: nil)
        }
        return t
    }

    func randomRange(_ rng: inout SplitMix64) -> TokenRange {
        let a = Int64(Int32.min) + Int64(rng.next() % (1 << 32 + 1))
        let b = Int64(Int32.min) + Int64(rng.next() % (1 << 32 + 1))
        return a == b ? .all : TokenRange(start: min(a, b), endExclusive: max(a, b))
    }

    @Test func tokensAreThePartitionKeysRingTokens() throws {
        let t = try events(200, users: 30, seed: 1)
        t.forEachRow { id in
            #expect(t.token(of: id) == t.value(id, 1).partitionToken(as: .integer))
            return true
        }
        let kv = Table(definition: Fixtures.kv)
        let id = try kv.insert([.string("hello"), .null], log: nil)
        #expect(kv.token(of: id) == Token(-874_993_741))  // docs/PROTOCOL.md §7.1
    }

    @Test(arguments: [(UInt64(1), 1), (2, 3), (3, 7), (4, 50)])
    func chunksCoverTheRangeInTokenOrderWithoutSplittingAToken(seed: UInt64, maxRows: Int) throws {
        let t = try events(600, users: 40, seed: seed)
        var rng = SplitMix64(seed: seed)
        for _ in 0..<20 {
            let range = randomRange(&rng)
            var expected: [(Token, [Value])] = []
            t.forEachRow { id in
                if range.contains(t.token(of: id)) { expected.append((t.token(of: id), t.row(id))) }
                return true
            }
            var streamed: [[Value]] = []
            var cursor: Token? = nil
            var previousLast: Token? = nil
            var chunks = 0
            repeat {
                let chunk = t.rows(in: range, after: cursor, maxRows: maxRows)
                chunks += 1
                let tokens = chunk.rows.map { $0[1].partitionToken(as: .integer)! }
                #expect(tokens == tokens.sorted())
                if let previousLast, let first = tokens.first { #expect(first > previousLast) }
                if chunk.resumeAfter != nil {
                    // A chunk stops at the first token boundary at or after maxRows.
                    let lastGroup = tokens.reversed().prefix { $0 == tokens.last! }.count
                    #expect(chunk.rows.count >= maxRows && chunk.rows.count - lastGroup < maxRows)
                    #expect(chunk.resumeAfter == tokens.last)
                }
                streamed += chunk.rows
                previousLast = tokens.last ?? previousLast
                cursor = chunk.resumeAfter
            } while cursor != nil && chunks < 10_000
            #expect(canonicalSorted(streamed) == canonicalSorted(expected.map(\.1)))
            #expect(streamed.map { $0[1].partitionToken(as: .integer)! } == expected.map(\.0).sorted())
            #expect(t.rowCount(in: range) == expected.count)
        }
    }

    @Test func rangeEdgesIncludeTheRingEnds() throws {
        let t = try events(300, users: 300, seed: 5)
        let all = t.rows(in: .all, after: nil, maxRows: 1_000_000)
        #expect(all.rows.count == 300 && all.resumeAfter == nil)
        let lowHalf = TokenRange(start: Int64(Int32.min), endExclusive: 0)
        let highHalf = TokenRange(start: 0, endExclusive: Int64(Int32.max) + 1)
        #expect(t.rowCount(in: lowHalf) + t.rowCount(in: highHalf) == 300)
        #expect(t.checksum(in: lowHalf).combined(with: t.checksum(in: highHalf)) == t.checksum())
        #expect(t.checksum(in: .all) == t.checksum())
        // A cursor at the last token of the ring leaves nothing.
        #expect(t.rows(in: .all, after: Token(Int32.max), maxRows: 10).rows.isEmpty)
    }

    /// Moving a 3-way split of the ring into three new tables, chunk by chunk, conserves the row
    /// count and the checksum of every range, and deleting the ranges empties the source.
    @Test(arguments: [UInt64(1), 2, 3])
    func threeWaySplitConservesRowsAndChecksums(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let source = try events(2000, users: 500, seed: seed)
        let total = source.checksum()
        var cuts = [Int64(Int32.min) + Int64(rng.next() % (1 << 32)), Int64(Int32.min) + Int64(rng.next() % (1 << 32))].sorted()
        if cuts[0] == cuts[1] { cuts[1] += 1 }
        let ranges = [
            TokenRange(start: Int64(Int32.min), endExclusive: cuts[0] == Int64(Int32.min) ? cuts[0] + 1 : cuts[0]),
            TokenRange(start: cuts[0] == Int64(Int32.min) ? cuts[0] + 1 : cuts[0], endExclusive: cuts[1]),
            TokenRange(start: cuts[1], endExclusive: Int64(Int32.max) + 1),
        ]
        var moved = RangeChecksum()
        for range in ranges {
            let before = source.checksum(in: range)
            let destination = Table(definition: StorageRangeTests.events)
            var cursor: Token? = nil
            repeat {
                let chunk = source.rows(in: range, after: cursor, maxRows: 64)
                let log = WriteLog()
                try destination.bulkLoad(chunk.rows, log: log)
                log.commit()
                cursor = chunk.resumeAfter
            } while cursor != nil
            #expect(destination.checksum() == before)
            #expect(destination.checksum(in: range) == before)
            #expect(destination.rowCount == source.rowCount(in: range))
            let deleted = source.deleteRows(in: range, log: nil)
            #expect(deleted == before.rowCount)
            #expect(source.rowCount(in: range) == 0)
            destination.verifyInvariants()
            moved = moved.combined(with: destination.checksum())
        }
        #expect(moved == total)
        #expect(source.rowCount == 0 && source.checksum() == RangeChecksum())
        source.verifyInvariants()
    }

    @Test func replicatedTablesStreamByContentTokens() throws {
        var rng = SplitMix64(seed: 9)
        let source = Table(definition: Fixtures.tags)
        for _ in 0..<500 { try source.insert([.string("t\(rng.below(100))"), .integer(Int64(rng.below(3)))], log: nil) }
        let copy = Table(definition: Fixtures.tags)
        var cursor: Token? = nil
        repeat {
            let chunk = source.rows(in: .all, after: cursor, maxRows: 10)
            try copy.bulkLoad(chunk.rows, log: nil)
            cursor = chunk.resumeAfter
        } while cursor != nil
        #expect(copy.checksum() == source.checksum())
        #expect(copy.rowCount == 500)
        // Identical rows share a content token and so always travel in one chunk.
        let half = TokenRange(start: Int64(Int32.min), endExclusive: 0)
        #expect(copy.checksum(in: half) == source.checksum(in: half))
        copy.verifyInvariants()
    }

    @Test func bulkLoadIsAllOrNothing() throws {
        let t = try events(50, users: 10, seed: 4)
        let image = t.stateImage()
        let rows: [[Value]] = [
            [.integer(1000), .integer(1), .null],
            [.integer(1001), .integer(2), .string(String(repeating: "x", count: 41))],  // too long
        ]
        #expect(storageError { try t.bulkLoad(rows, log: nil) }?.kind == .valueTooLong)
        #expect(t.stateImage() == image)
        let duplicate: [[Value]] = [[.integer(2000), .integer(1), .null], [.integer(2000), .integer(1), .null]]
        #expect(storageError { try t.bulkLoad(duplicate, log: nil) }?.constraint == "PK_EVENTS")
        #expect(t.stateImage() == image)
        try t.bulkLoad([[.integer(3000), .integer(1), .null]], log: nil)
        #expect(t.rowCount == 51)
    }

    @Test func rangeDeleteRollsBack() throws {
        let t = try events(1000, users: 200, seed: 6)
        let image = t.stateImage()
        let log = WriteLog()
        let n = t.deleteRows(in: TokenRange(start: -1_000_000_000, endExclusive: 1_000_000_000), log: log)
        #expect(n > 0 && log.count == n)
        #expect(t.rowCount == 1000 - n)
        log.rollback()
        #expect(t.stateImage() == image)
        t.verifyInvariants()
    }
}
