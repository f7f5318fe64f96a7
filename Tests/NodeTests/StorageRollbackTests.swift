import Testing
@testable import Node
import VoltModel

/// Applies random mutations, some failing, to a table through a log. Shared by the rollback and
/// determinism property tests so that both exercise every mutation path.
struct RandomWorkload {
    var rng: SplitMix64
    let makeRow: (inout SplitMix64) -> [Value]
    /// Replaces the non-key columns of a row (an update that touches no index).
    let changePayload: ((inout SplitMix64, [Value]) -> [Value])?

    mutating func step(_ t: Table, log: WriteLog?) {
        let row = makeRow(&rng)
        let live = t.liveSlots
        let target = live.isEmpty ? nil : RowID(slot: live[rng.below(live.count)])
        switch rng.below(100) {
        case 0..<35:
            _ = storageError { _ = try t.insert(row, log: log) }
        case 35..<50:
            if let target { _ = storageError { try t.update(target, to: row, log: log) } }
        case 50..<62:
            if let target, let changePayload {
                let changed = changePayload(&rng, t.row(target))
                _ = storageError { try t.update(target, to: changed, log: log) }
            }
        case 62..<78:
            if let target { t.delete(target, log: log) }
        case 78..<88:
            if t.definition.primaryKey != nil { _ = storageError { _ = try t.upsert(row, log: log) } }
        case 88..<94:
            var rows: [[Value]] = []
            for _ in 0..<(1 + rng.below(6)) { rows.append(makeRow(&rng)) }
            _ = storageError { try t.bulkLoad(rows, log: log) }
        case 94..<97:
            if let target { _ = storageError { try t.update(target, to: t.row(target), log: log) } }
        default:
            let a = Int64(Int32.min) + Int64(rng.next() % (1 << 32))
            let b = Int64(Int32.min) + Int64(rng.next() % (1 << 32))
            if a != b { t.deleteRows(in: TokenRange(start: min(a, b), endExclusive: max(a, b)), log: log) }
        }
    }

    static func orders(seed: UInt64, idDomain: Int = 60) -> RandomWorkload {
        RandomWorkload(rng: SplitMix64(seed: seed), makeRow: { Fixtures.orderRow(&$0, idDomain: idDomain) }, changePayload: { rng, row in
            var r = row
            r[5] = rng.chance(percent: 20) ? .null : .float(Double(rng.below(100)))
            r[6] = rng.chance(percent: 20) ? .null : .bytes(rng.bytes(rng.below(300)))
            return r
        })
    }

    static func kv(seed: UInt64) -> RandomWorkload {
        RandomWorkload(rng: SplitMix64(seed: seed), makeRow: { rng in
            [.string("key\(rng.below(150))"), rng.chance(percent: 10) ? .null : .bytes(rng.bytes(rng.below(200)))]
        }, changePayload: { rng, row in [row[0], .bytes(rng.bytes(100))] })
    }

    static func tags(seed: UInt64) -> RandomWorkload {
        RandomWorkload(rng: SplitMix64(seed: seed), makeRow: { rng in
            [rng.chance(percent: 10) ? .null : .string(rng.string(rng.below(20))), .integer(Int64(rng.below(5)))]
        }, changePayload: nil)
    }
}

@Suite("Storage: rollback and determinism")
struct StorageRollbackTests {
    /// Mixed transactions, each committed or rolled back at random, with unlogged mutations in
    /// between (which free slots at once and compact the arena). After every rollback the table is
    /// byte-identical to before the transaction: column storage over all slots, arena, free list,
    /// index contents, memory accounting, checksum.
    func rollbackRestoresExactly(_ def: TableDefinition, index: IndexDefinition?, workload: RandomWorkload,
                                 rounds: Int, warmup: Int) throws {
        var w = workload
        let t = Table(definition: def)
        if let index { try t.addIndex(index) }
        for _ in 0..<warmup { w.step(t, log: nil) }
        var rollbacks = 0
        for _ in 0..<rounds {
            let image = t.stateImage()
            let checksum = t.checksum()
            let memory = t.memoryBytes
            let log = WriteLog()
            for _ in 0..<w.rng.below(40) { w.step(t, log: log) }
            t.verifyInvariants()
            if w.rng.chance(percent: 60) {
                log.rollback()
                rollbacks += 1
                #expect(log.isEmpty)
                #expect(t.memoryBytes == memory)
                #expect(t.checksum() == checksum)
                let after = t.stateImage()
                #expect(after == image)
                if after != image { return }
            } else {
                log.commit()
            }
            t.verifyInvariants()
            for _ in 0..<w.rng.below(4) { w.step(t, log: nil) }
        }
        #expect(rollbacks > rounds / 3)
    }

    @Test(arguments: [UInt64(11), 12, 13, 14])
    func ordersRollback(seed: UInt64) throws {
        try rollbackRestoresExactly(Fixtures.orders, index: Fixtures.ordersNameIndex,
                                    workload: .orders(seed: seed), rounds: 150, warmup: 100)
    }

    @Test func ordersRollbackWithSplitBlocks() throws {
        // Enough rows that every index has several blocks, so undo crosses block boundaries.
        try rollbackRestoresExactly(Fixtures.orders, index: Fixtures.ordersNameIndex,
                                    workload: .orders(seed: 99, idDomain: 1500), rounds: 40, warmup: 3000)
    }

    @Test(arguments: [UInt64(21), 22])
    func kvRollback(seed: UInt64) throws {
        try rollbackRestoresExactly(Fixtures.kv, index: nil, workload: .kv(seed: seed), rounds: 200, warmup: 200)
    }

    @Test func replicatedTableWithoutKeyRollback() throws {
        try rollbackRestoresExactly(Fixtures.tags,
                                    index: IndexDefinition(name: "IX_TAGS_N", table: "TAGS", columns: [1]),
                                    workload: .tags(seed: 31), rounds: 150, warmup: 100)
    }

    @Test func rollbackOfAFailedBulkLoadKeepsEarlierRecordsAndHash() throws {
        let t = Table(definition: Fixtures.kv)
        let log = WriteLog()
        try t.insert([.string("a"), .null], log: log)
        let hash = log.determinismHash
        let e = storageError { try t.bulkLoad([[.string("b"), .null], [.string("c"), .null], [.string("a"), .null]], log: log) }
        #expect(e?.constraint == "PK_KV")
        #expect(log.count == 1 && log.determinismHash == hash && t.rowCount == 1)
        log.commit()
        #expect(t.lookup(primaryKey: [.string("a")]) != nil && t.lookup(primaryKey: [.string("b")]) == nil)
        t.verifyInvariants()
    }

    @Test func deletedSlotsAreReusedOnlyAfterCommit() throws {
        let t = Table(definition: Fixtures.kv)
        for i in 0..<3 { try t.insert([.string("k\(i)"), .null], log: nil) }
        let log = WriteLog()
        t.delete(RowID(slot: 1), log: log)
        let fresh = try t.insert([.string("new"), .null], log: log)
        #expect(fresh.slot == 3)  // slot 1 waits for the commit
        log.commit()
        #expect(t.store.freeSlots == [1])
        #expect(try t.insert([.string("newer"), .null], log: nil).slot == 1)
    }

    /// Replicas: two tables fed the same calls end byte-identical, with equal checksums and equal
    /// determinism hashes after every transaction; a different sequence gives different ones.
    @Test func sameSequenceSameStateAndHashes() throws {
        func run(seed: UInt64) throws -> (image: [UInt8], checksum: RangeChecksum, hashes: [UInt64]) {
            var w = RandomWorkload.orders(seed: seed)
            let t = Table(definition: Fixtures.orders)
            try t.addIndex(Fixtures.ordersNameIndex)
            var hashes: [UInt64] = []
            for round in 0..<60 {
                let log = WriteLog()
                for _ in 0..<20 { w.step(t, log: log) }
                hashes.append(log.determinismHash)
                if round % 4 == 3 { log.rollback() } else { log.commit() }
            }
            return (t.stateImage(), t.checksum(), hashes)
        }
        let a = try run(seed: 7)
        let b = try run(seed: 7)
        let c = try run(seed: 8)
        #expect(a.image == b.image)
        #expect(a.checksum == b.checksum)
        #expect(a.hashes == b.hashes)
        #expect(a.checksum != c.checksum)
        #expect(a.hashes != c.hashes)
        #expect(Set(a.hashes).count > 50)
    }

    @Test func determinismHashIsOrderDependentWhileChecksumsAreNot() throws {
        func run(_ keys: [String], value: UInt8 = 1) throws -> (UInt64, RangeChecksum) {
            let t = Table(definition: Fixtures.kv)
            let log = WriteLog()
            for k in keys { try t.insert([.string(k), .bytes([value])], log: log) }
            log.commit()
            return (log.determinismHash, t.checksum())
        }
        let ab = try run(["a", "b"])
        let ba = try run(["b", "a"])
        let ab2 = try run(["a", "b"], value: 2)
        #expect(ab.1 == ba.1)          // same rows
        #expect(ab.0 != ba.0)          // different order of mutations
        #expect(ab.0 != ab2.0 && ab.1 != ab2.1)
        #expect(ab == (try run(["a", "b"])))

        // The table name and the operation are part of each mutation's hash.
        var renamed = Fixtures.kv
        renamed.name = "KV2"
        let t = Table(definition: renamed)
        let log = WriteLog()
        for k in ["a", "b"] { try t.insert([.string(k), .bytes([1])], log: log) }
        #expect(log.determinismHash != ab.0)
        #expect(t.checksum() == ab.1)
        log.commit()
        log.resetDeterminismHash()
        #expect(log.determinismHash == 0)
    }
}
