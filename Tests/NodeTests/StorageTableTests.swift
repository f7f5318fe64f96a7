import Testing
@testable import Node
import VoltModel

@Suite("Storage: table rows and constraints")
struct StorageTableTests {
    @Test func insertLookupUpdateDelete() throws {
        let kv = Table(definition: Fixtures.kv)
        let a = try kv.insert([.string("k1"), .bytes([1, 2, 3])], log: nil)
        let b = try kv.insert([.string("k2"), .null], log: nil)
        #expect(kv.rowCount == 2)
        #expect(kv.lookup(primaryKey: [.string("k1")]) == a)
        #expect(kv.lookup(primaryKeyValue: .string("k2")) == b)
        #expect(kv.lookup(primaryKey: [.string("k3")]) == nil)
        #expect(kv.value(a, 1) == .bytes([1, 2, 3]))
        #expect(kv.row(b) == [.string("k2"), .null])

        try kv.update(a, to: [.string("k1"), .bytes(Array(repeating: 7, count: 100))], log: nil)
        #expect(kv.value(a, 1) == .bytes(Array(repeating: 7, count: 100)))
        try kv.update(a, to: [.string("k9"), .null], log: nil)
        #expect(kv.lookup(primaryKey: [.string("k1")]) == nil)
        #expect(kv.lookup(primaryKey: [.string("k9")]) == a)
        #expect(kv.token(of: a) == Value.string("k9").partitionToken(as: .varchar))

        kv.delete(b, log: nil)
        #expect(kv.rowCount == 1)
        #expect(kv.lookup(primaryKey: [.string("k2")]) == nil)
        // The freed slot is the next one reused.
        let c = try kv.insert([.string("k3"), .bytes([])], log: nil)
        #expect(c == b)
        #expect(kv.value(c, 1) == .bytes([]))
        kv.verifyInvariants()
    }

    @Test func upsertInsertsThenUpdatesByPrimaryKey() throws {
        let kv = Table(definition: Fixtures.kv)
        let first = try kv.upsert([.string("k"), .bytes([1])], log: nil)
        #expect(first.inserted)
        let second = try kv.upsert([.string("k"), .bytes([2])], log: nil)
        #expect(!second.inserted && second.id == first.id)
        #expect(kv.row(first.id) == [.string("k"), .bytes([2])])
        #expect(kv.rowCount == 1)
    }

    @Test func primaryKeyViolationHasVoltDBMessage() throws {
        let kv = Table(definition: Fixtures.kv)
        try kv.insert([.string("k1"), .bytes([1])], log: nil)
        let e = storageError { _ = try kv.insert([.string("k1"), .bytes([2])], log: nil) }
        #expect(e == StorageError(kind: .constraintViolation,
                                  message: "Constraint violation: UNIQUE constraint violation on table KV, constraint PK_KV; duplicate key 'k1'",
                                  constraint: "PK_KV"))
        #expect(kv.rowCount == 1)
        // Updating another row onto an existing key fails too and leaves the row as it was.
        let k2 = try kv.insert([.string("k2"), .bytes([2])], log: nil)
        #expect(storageError { try kv.update(k2, to: [.string("k1"), .bytes([3])], log: nil) }?.constraint == "PK_KV")
        #expect(kv.row(k2) == [.string("k2"), .bytes([2])])
        #expect(kv.lookup(primaryKey: [.string("k2")]) == k2)
        kv.verifyInvariants()
    }

    @Test func primaryKeyAndPartitionColumnsAreNotNull() {
        let def = TableDefinition(
            name: "T",
            columns: [ColumnDefinition(name: "A", type: .integer), ColumnDefinition(name: "B", type: .integer)],
            primaryKey: UniqueConstraint(name: "PK_T", columns: [0]), partitionColumn: 1)
        let t = Table(definition: def)
        #expect(storageError { _ = try t.insert([.null, .integer(1)], log: nil) }?.kind == .nullNotAllowed)
        #expect(storageError { _ = try t.insert([.integer(1), .null], log: nil) }?.kind == .nullNotAllowed)
        #expect(t.rowCount == 0)
    }

    @Test func compositeKeysAndUniqueConstraintsLetNullsCoexist() throws {
        let t = Table(definition: Fixtures.orders)
        func row(_ id: Int64, _ line: Int64, _ code: Value) -> [Value] {
            [.integer(id), .integer(line), code, .null, .null, .null, .null, .null]
        }
        try t.insert(row(1, 1, .integer(10)), log: nil)
        try t.insert(row(1, 2, .null), log: nil)
        try t.insert(row(2, 1, .null), log: nil)  // a second NULL code does not collide
        #expect(t.lookup(primaryKey: [.integer(1), .integer(2)]) != nil)
        #expect(t.lookup(primaryKey: [.integer(1), .integer(3)]) == nil)
        // Probe values in another numeric form are coerced for the lookup.
        #expect(t.lookup(primaryKey: [.float(1), .string("2")]) != nil)
        #expect(t.lookup(primaryKey: [.float(1.5), .integer(2)]) == nil)

        let dupCode = storageError { _ = try t.insert(row(3, 1, .integer(10)), log: nil) }
        #expect(dupCode?.constraint == "UQ_ORDERS_CODE")
        #expect(dupCode?.message == "Constraint violation: UNIQUE constraint violation on table ORDERS, constraint UQ_ORDERS_CODE; duplicate key '10'")
        let dupKey = storageError { _ = try t.insert(row(1, 1, .integer(11)), log: nil) }
        #expect(dupKey?.message == "Constraint violation: UNIQUE constraint violation on table ORDERS, constraint PK_ORDERS; duplicate key '1', '1'")
        #expect(t.rowCount == 3)
        t.verifyInvariants()
    }

    @Test func limitPartitionRows() throws {
        var def = Fixtures.kv
        def.limitPartitionRows = 2
        let t = Table(definition: def)
        try t.insert([.string("a"), .null], log: nil)
        try t.insert([.string("b"), .null], log: nil)
        let e = storageError { _ = try t.insert([.string("c"), .null], log: nil) }
        #expect(e == StorageError(kind: .partitionRowLimit,
                                  message: "Constraint violation: Table KV exceeds table maximum row count 2"))
        // Updates and upserts of existing keys are not inserts.
        _ = try t.upsert([.string("a"), .bytes([1])], log: nil)
        t.delete(t.lookup(primaryKey: [.string("a")])!, log: nil)
        try t.insert([.string("c"), .null], log: nil)
        #expect(t.rowCount == 2)
    }

    @Test func forEachRowVisitsSlotsInOrderAndStops() throws {
        let t = Table(definition: Fixtures.kv)
        for i in 0..<100 { try t.insert([.string("k\(i)"), .null], log: nil) }
        for i in stride(from: 0, to: 100, by: 3) { t.delete(RowID(slot: Int32(i)), log: nil) }
        var seen: [Int32] = []
        t.forEachRow { seen.append($0.slot); return true }
        #expect(seen == (0..<100).filter { $0 % 3 != 0 }.map(Int32.init))
        var firstTwo: [Int32] = []
        t.forEachRow { firstTwo.append($0.slot); return firstTwo.count < 2 }
        #expect(firstTwo == [1, 2])
    }

    @Test func memoryGrowsWithRowsAndShrinksWhenTheArenaCompacts() throws {
        let t = Table(definition: Fixtures.kv)
        let empty = t.memoryBytes
        var sizes: [Int] = []
        for i in 0..<1000 {
            try t.insert([.string("key\(i)"), .bytes(Array(repeating: UInt8(i & 255), count: 100))], log: nil)
            if i % 100 == 99 { sizes.append(t.memoryBytes) }
        }
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 < $1 })
        #expect(t.memoryBytes > empty + 1000 * 100)
        let full = t.memoryBytes
        // Deleting rows frees their slots (the slot arrays stay) and turns their bytes into garbage,
        // which the next mutation compacts away once it passes half the arena.
        for i in 0..<800 { t.delete(t.lookup(primaryKey: [.string("key\(i)")])!, log: nil) }
        try t.insert([.string("x"), .null], log: nil)
        #expect(t.store.arenaGarbage * 2 <= t.store.arena.count)
        #expect(t.memoryBytes < full - 70_000)
        #expect(t.rowCount == 201)
        for i in 800..<1000 {
            #expect(t.value(t.lookup(primaryKey: [.string("key\(i)")])!, 1) == .bytes(Array(repeating: UInt8(i & 255), count: 100)))
        }
        t.verifyInvariants()
    }

    @Test func repeatedUpdatesKeepTheArenaBounded() throws {
        let t = Table(definition: Fixtures.kv)
        for i in 0..<100 { try t.insert([.string("k\(i)"), .bytes(Array(repeating: 0, count: 100))], log: nil) }
        for round in 0..<50 {
            let log = WriteLog()
            for i in 0..<100 {
                let id = t.lookup(primaryKey: [.string("k\(i)")])!
                try t.update(id, to: [.string("k\(i)"), .bytes(Array(repeating: UInt8(round), count: 100))], log: log)
            }
            log.commit()
        }
        let liveBytes = 100 * 100 + 100 * 4
        let bound = 3 * liveBytes + TableStorage.compactionMinimumGarbageBytes
        #expect(t.store.arena.count <= bound)
        t.verifyInvariants()
    }

    /// Columns past 64 share one change bit; updates and undo must still touch exactly the
    /// indexes over the columns that changed.
    @Test func wideTablesPastSixtyFourColumns() throws {
        let columns = (0..<70).map { ColumnDefinition(name: "C\($0)", type: $0 % 2 == 0 ? .bigint : .varchar, maxLength: 8) }
        let def = TableDefinition(name: "WIDE", columns: columns, primaryKey: UniqueConstraint(name: "PK_WIDE", columns: [0]),
                                  uniqueConstraints: [UniqueConstraint(name: "UQ_WIDE_68", columns: [68])], partitionColumn: 0)
        let t = Table(definition: def)
        try t.addIndex(IndexDefinition(name: "IX_WIDE_69", table: "WIDE", columns: [69]))
        func row(_ id: Int64, _ tag: String) -> [Value] {
            (0..<70).map { $0 == 0 ? .integer(id) : ($0 % 2 == 0 ? .integer(id * 100 + Int64($0)) : .string(tag)) }
        }
        for id in 0..<50 { try t.insert(row(Int64(id), "t\(id % 7)"), log: nil) }
        let image = t.stateImage()
        let log = WriteLog()
        for id in 0..<50 where id % 3 == 0 {
            let rid = t.lookup(primaryKey: [.integer(Int64(id))])!
            var r = t.row(rid)
            r[69] = .string("x\(id % 5)")
            r[68] = .integer(Int64(10_000 + id))
            r[1] = .null
            try t.update(rid, to: r, log: log)
        }
        let clash = t.lookup(primaryKey: [.integer(1)])!
        var r = t.row(clash)
        r[68] = .integer(10_000)
        #expect(storageError { try t.update(clash, to: r, log: log) }?.constraint == "UQ_WIDE_68")
        t.verifyInvariants()
        #expect(t.indexLookup("IX_WIDE_69", prefix: [.string("x0")]).count == 4)
        log.rollback()
        #expect(t.stateImage() == image)
        t.verifyInvariants()
    }

    /// Keys of DECIMAL, TIMESTAMP and FLOAT take the general primary-key path.
    @Test func generalPrimaryKeysOfEveryFixedType() throws {
        let def = TableDefinition(
            name: "G",
            columns: [
                ColumnDefinition(name: "D", type: .decimal),
                ColumnDefinition(name: "TS", type: .timestamp),
                ColumnDefinition(name: "F", type: .float),
                ColumnDefinition(name: "V", type: .varchar, maxLength: 4),
            ],
            primaryKey: UniqueConstraint(name: "PK_G", columns: [0, 1, 2]))
        let t = Table(definition: def)
        for i in 0..<100 {
            try t.insert([.decimal(VoltDecimal(string: "\(i).5")!), .timestamp(Int64(i) * 1_000_000), .float(Double(i) / 4), .string("v\(i % 10)")], log: nil)
        }
        let id = t.lookup(primaryKey: [.decimal(VoltDecimal(string: "42.5")!), .timestamp(42_000_000), .float(10.5)])
        #expect(id.map { t.value($0, 3) } == .string("v2"))
        // Coerced probes: decimal text, integer microseconds, a negative zero.
        #expect(t.lookup(primaryKey: [.string("42.5"), .integer(42_000_000), .decimal(VoltDecimal(string: "10.5")!)]) == id)
        #expect(t.lookup(primaryKey: [.string("0.5"), .integer(0), .float(-0.0)]) != nil)
        #expect(t.lookup(primaryKey: [.string("42.5"), .integer(42_000_001), .float(10.5)]) == nil)
        #expect(t.lookup(primaryKey: [.string("not a number"), .integer(0), .float(0)]) == nil)
        #expect(storageError { _ = try t.insert([.decimal(VoltDecimal(string: "42.5")!), .timestamp(42_000_000), .float(10.5), .null], log: nil) }?
                    .message == "Constraint violation: UNIQUE constraint violation on table G, constraint PK_G; duplicate key '42.500000000000', 'TIMESTAMP(42000000)', '10.5'")
        t.verifyInvariants()
    }

    @Test func partitionStoreListsTablesByNameAndDigestsContents() throws {
        let a = PartitionStore()
        let b = PartitionStore()
        for store in [a, b] {
            store.createTable(Fixtures.orders)
            store.createTable(Fixtures.kv)
        }
        #expect(a.tableNames == ["KV", "ORDERS"])
        #expect(a.checksum() == b.checksum())
        try a.table(named: "KV")!.insert([.string("x"), .null], log: nil)
        #expect(a.checksum() != b.checksum())
        try b.table(named: "KV")!.insert([.string("x"), .null], log: nil)
        #expect(a.checksum() == b.checksum())
        #expect(a.rowCount == 1 && a.memoryBytes == b.memoryBytes)
        a.dropTable(named: "KV")
        #expect(a.tableNames == ["ORDERS"] && a.table(named: "KV") == nil && a.rowCount == 0)
        #expect(a.checksum() != b.checksum())
    }
}
