import Testing
@testable import Node
import VoltModel

@Suite("Storage: ordered indexes")
struct StorageIndexTests {
    static let people = TableDefinition(
        name: "PEOPLE",
        columns: [
            ColumnDefinition(name: "ID", type: .bigint, nullable: false),
            ColumnDefinition(name: "LAST", type: .varchar, maxLength: 20),
            ColumnDefinition(name: "AGE", type: .tinyint),
        ],
        primaryKey: UniqueConstraint(name: "PK_PEOPLE", columns: [0]))

    func peopleTable() throws -> Table {
        let t = Table(definition: StorageIndexTests.people)
        let rows: [(Int64, String?, Int64?)] = [
            (1, "smith", 30), (2, "jones", 25), (3, "smith", 25), (4, nil, 40), (5, "adams", 30),
            (6, "smith", 30), (7, "jones", nil), (8, "brown", 50),
        ]
        for (id, last, age) in rows {
            try t.insert([.integer(id), last.map(Value.string) ?? .null, age.map(Value.integer) ?? .null], log: nil)
        }
        try t.addIndex(IndexDefinition(name: "IX_LAST_AGE", table: "PEOPLE", columns: [1, 2]))
        try t.addIndex(IndexDefinition(name: "IX_AGE", table: "PEOPLE", columns: [2]))
        return t
    }

    func ids(_ t: Table, _ rows: [RowID]) -> [Int64] {
        rows.map { if case .integer(let v) = t.value($0, 0) { v } else { -1 } }
    }

    @Test func indexesListConstraintsAndSecondaryIndexesByName() throws {
        let t = try peopleTable()
        #expect(t.indexes.map(\.name) == ["IX_AGE", "IX_LAST_AGE", "PK_PEOPLE"])
        #expect(t.indexes.last == IndexDefinition(name: "PK_PEOPLE", table: "PEOPLE", columns: [0], unique: true))
        t.dropIndex(named: "IX_AGE")
        t.dropIndex(named: "NO_SUCH_INDEX")
        #expect(t.indexes.map(\.name) == ["IX_LAST_AGE", "PK_PEOPLE"])
        let again = storageError { try t.addIndex(IndexDefinition(name: "IX_LAST_AGE", table: "PEOPLE", columns: [2])) }
        #expect(again?.kind == .internalError)
    }

    @Test func equalityOnPrefixesInKeyThenRowOrder() throws {
        let t = try peopleTable()
        #expect(ids(t, t.indexLookup("IX_LAST_AGE", prefix: [.string("smith")])) == [3, 1, 6])
        #expect(ids(t, t.indexLookup("IX_LAST_AGE", prefix: [.string("smith"), .integer(30)])) == [1, 6])
        #expect(ids(t, t.indexLookup("IX_LAST_AGE", prefix: [.string("jones")])) == [7, 2])  // NULL age first
        #expect(ids(t, t.indexLookup("IX_LAST_AGE", prefix: [.null])) == [4])
        #expect(ids(t, t.indexLookup("IX_LAST_AGE", prefix: [.string("zed")])).isEmpty)
        #expect(ids(t, t.indexLookup("IX_LAST_AGE", prefix: [])) == [4, 5, 8, 7, 2, 3, 1, 6])
        #expect(ids(t, t.indexLookup("PK_PEOPLE", prefix: [.integer(5)])) == [5])
        // Mixed-kind probes compare by value.
        #expect(ids(t, t.indexLookup("IX_AGE", prefix: [.float(25)])) == [2, 3])
        #expect(ids(t, t.indexLookup("IX_AGE", prefix: [.decimal(VoltDecimal(string: "25.5")!)])).isEmpty)
    }

    @Test func rangeScansAscendingDescendingInclusiveExclusiveWithLimit() throws {
        let t = try peopleTable()
        // Ages: NULL(7), 25(2,3), 30(1,5,6), 40(4), 50(8).
        func scan(_ lower: [Value]?, _ li: Bool, _ upper: [Value]?, _ ui: Bool, desc: Bool = false, limit: Int? = nil) -> [Int64] {
            ids(t, t.indexScan("IX_AGE", lower: lower, lowerInclusive: li, upper: upper, upperInclusive: ui, descending: desc, limit: limit))
        }
        #expect(scan([.integer(25)], true, [.integer(40)], true) == [2, 3, 1, 5, 6, 4])
        #expect(scan([.integer(25)], false, [.integer(40)], false) == [1, 5, 6])
        #expect(scan([.integer(25)], true, [.integer(40)], false, desc: true) == [6, 5, 1, 3, 2])
        #expect(scan(nil, true, [.integer(30)], false) == [7, 2, 3])
        #expect(scan([.null], false, [.integer(30)], false) == [2, 3])  // skipping NULLs
        #expect(scan([.integer(30)], true, nil, true, limit: 2) == [1, 5])
        #expect(scan(nil, true, nil, true, desc: true, limit: 3) == [8, 4, 6])
        #expect(scan([.integer(41)], true, [.integer(49)], true).isEmpty)
        #expect(scan([.integer(40)], true, [.integer(30)], true).isEmpty)
        #expect(scan(nil, true, nil, true, limit: 0).isEmpty)
        #expect(scan([.float(29.5)], true, [.float(30.5)], true) == [1, 5, 6])

        // A composite index scanned on its first column, then on both.
        let composite = { (lower: [Value]?, li: Bool, upper: [Value]?, ui: Bool, desc: Bool) in
            self.ids(t, t.indexScan("IX_LAST_AGE", lower: lower, lowerInclusive: li, upper: upper, upperInclusive: ui,
                                    descending: desc, limit: nil))
        }
        #expect(composite([.string("b")], true, [.string("k")], true, false) == [8, 7, 2])
        #expect(composite([.string("smith"), .integer(25)], false, [.string("smith")], true, false) == [1, 6])
        #expect(composite([.string("jones"), .integer(25)], true, [.string("smith"), .integer(25)], true, true) == [3, 2])
    }

    @Test func uniqueIndexBuildFailsCleanlyAndThenEnforces() throws {
        let t = try peopleTable()
        let before = t.memoryBytes
        let e = storageError { try t.addIndex(IndexDefinition(name: "UX_LAST", table: "PEOPLE", columns: [1], unique: true)) }
        #expect(e?.kind == .constraintViolation && e?.constraint == "UX_LAST")
        #expect(e?.message == "Constraint violation: UNIQUE constraint violation on table PEOPLE, constraint UX_LAST; duplicate key 'jones'")
        #expect(!t.indexes.contains { $0.name == "UX_LAST" })
        #expect(t.memoryBytes == before)

        // LAST + AGE is unique apart from NULL-containing keys and smith/30.
        t.delete(t.lookup(primaryKey: [.integer(6)])!, log: nil)
        let withoutIndex = t.memoryBytes
        try t.addIndex(IndexDefinition(name: "UX_LAST_AGE", table: "PEOPLE", columns: [1, 2], unique: true))
        #expect(t.memoryBytes == withoutIndex + 7 * 8)
        #expect(storageError { _ = try t.insert([.integer(9), .string("smith"), .integer(30)], log: nil) }?.constraint == "UX_LAST_AGE")
        try t.insert([.integer(9), .string("jones"), .null], log: nil)  // (jones, NULL) twice: NULLs never collide
        try t.insert([.integer(10), .null, .integer(40)], log: nil)
        t.verifyInvariants()
    }

    /// Index reads agree with a brute-force model over random data, through inserts, updates and
    /// deletes that move rows between blocks (enough rows to split and merge blocks).
    @Test(arguments: [UInt64(1), 2, 3])
    func randomScansMatchAModel(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let t = Table(definition: Fixtures.orders)
        try t.addIndex(Fixtures.ordersNameIndex)
        for _ in 0..<3000 {
            let row = Fixtures.orderRow(&rng, idDomain: 2000)
            switch rng.below(10) {
            case 0..<6:
                _ = storageError { _ = try t.insert(row, log: nil) }
            case 6..<8:
                let live = t.liveSlots
                if !live.isEmpty {
                    let id = RowID(slot: live[rng.below(live.count)])
                    _ = storageError { try t.update(id, to: row, log: nil) }
                }
            default:
                let live = t.liveSlots
                if !live.isEmpty { t.delete(RowID(slot: live[rng.below(live.count)]), log: nil) }
            }
        }
        t.verifyInvariants()
        let columns = [3, 4]
        var model: [(slot: Int32, key: [Value])] = t.liveSlots.map { s in (s, columns.map { t.value(RowID(slot: s), $0) }) }
        model.sort { a, b in
            for i in 0..<2 { let r = Value.compare(a.key[i], b.key[i]); if r != 0 { return r < 0 } }
            return a.slot < b.slot
        }
        func prefixCompare(_ probe: [Value], _ key: [Value]) -> Int {
            for i in probe.indices { let r = Value.compare(probe[i], key[i]); if r != 0 { return r } }
            return 0
        }
        let keys = model.map(\.key)
        for _ in 0..<200 {
            let sample = keys[rng.below(keys.count)]
            let n = rng.below(3)
            let probe = Array(sample.prefix(n))
            let expected = model.filter { prefixCompare(probe, $0.key) == 0 }.map(\.slot)
            #expect(t.indexLookup("IX_ORDERS_NAME_PRICE", prefix: probe).map(\.slot) == expected)

            let lower: [Value]? = rng.chance(percent: 20) ? nil : Array(keys[rng.below(keys.count)].prefix(1 + rng.below(2)))
            let upper: [Value]? = rng.chance(percent: 20) ? nil : Array(keys[rng.below(keys.count)].prefix(1 + rng.below(2)))
            let li = rng.chance(percent: 50), ui = rng.chance(percent: 50), desc = rng.chance(percent: 50)
            let limit: Int? = rng.chance(percent: 50) ? nil : rng.below(50)
            var want = model.filter { e in
                let okLower = lower.map { li ? prefixCompare($0, e.key) <= 0 : prefixCompare($0, e.key) < 0 } ?? true
                let okUpper = upper.map { ui ? prefixCompare($0, e.key) >= 0 : prefixCompare($0, e.key) > 0 } ?? true
                return okLower && okUpper
            }.map(\.slot)
            if desc { want.reverse() }
            if let limit { want = Array(want.prefix(limit)) }
            let got = t.indexScan("IX_ORDERS_NAME_PRICE", lower: lower, lowerInclusive: li, upper: upper, upperInclusive: ui,
                                  descending: desc, limit: limit).map(\.slot)
            #expect(got == want)
        }
    }
}
