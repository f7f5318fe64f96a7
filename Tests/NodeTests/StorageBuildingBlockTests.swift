import Testing
@testable import Node
import VoltModel

@Suite("Storage: hasher, block list, slot map")
struct StorageBuildingBlockTests {
    /// The hash is persisted and compared between processes and versions: pin it.
    @Test func stableHasherGoldenValues() {
        #expect(StableHasher.hash([]) == (0x6fab_6c34_09be_6cc1, 0x42b6_7176_6ed1_aa98))
        #expect(StableHasher.hash(Array("hello, world".utf8)) == (0x7675_d024_f84b_8263, 0xf9de_3832_e7ae_5dd8))
    }

    @Test func feedingWordsBytesOrRunsGivesTheSameHash() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<200 {
            let bytes = rng.bytes(rng.below(80))
            let whole = StableHasher.hash(bytes)
            var h = StableHasher()
            var i = 0
            while i < bytes.count {
                if rng.chance(percent: 40) && i + 8 <= bytes.count {
                    var w: UInt64 = 0
                    for k in 0..<8 { w |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
                    h.combine(word: w)
                    i += 8
                } else if rng.chance(percent: 50) {
                    let n = min(bytes.count - i, rng.below(20))
                    bytes[i..<i + n].withUnsafeBytes { h.combine(bytes: $0) }
                    i += n
                } else {
                    h.combine(byte: bytes[i])
                    i += 1
                }
            }
            #expect(h.finalize() == whole)
        }
        #expect(StableHasher.hash([0]) != StableHasher.hash([]))
        #expect(StableHasher.hash([1, 0]) != StableHasher.hash([1]))
    }

    /// Row hashes read cells from column storage; they must equal the hash of the row's
    /// `Value.appendCanonical` bytes, so a row hashes the same in every table that holds it.
    @Test func rowHashIsTheHashOfCanonicalBytes() throws {
        var rng = SplitMix64(seed: 8)
        let t = Table(definition: Fixtures.orders)
        for _ in 0..<300 { _ = storageError { _ = try t.insert(Fixtures.orderRow(&rng, idDomain: 1000), log: nil) } }
        #expect(t.rowCount > 200)
        t.forEachRow { id in
            var bytes: [UInt8] = []
            for v in t.row(id) { v.appendCanonical(to: &bytes) }
            #expect(t.store.rowHash(Int(id.slot)) == StableHasher.hash(bytes))
            var h = StableHasher()
            for v in t.row(id) { t.store.hashCanonicalValue(v, into: &h) }
            #expect(h.finalize() == StableHasher.hash(bytes))
            return true
        }
    }

    @Test func blockListMatchesASortedArray() {
        var rng = SplitMix64(seed: 5)
        var list = BlockList<Int>()
        var model: [Int] = []
        for step in 0..<20_000 {
            if model.isEmpty || rng.chance(percent: step < 10_000 ? 70 : 30) {
                let x = rng.below(5000)
                let p = list.partitionPoint { $0 < x }
                list.insert(x, at: p)
                model.insert(x, at: model.firstIndex { $0 >= x } ?? model.count)
            } else {
                let x = model[rng.below(model.count)]
                let p = list.partitionPoint { $0 < x }
                #expect(list.entry(at: p) == x)
                list.remove(at: p)
                model.remove(at: model.firstIndex(of: x)!)
            }
            if step % 1000 == 0 {
                #expect(list.allEntries == model)
                #expect(list.blocks.allSatisfy { !$0.isEmpty && $0.count <= BlockList<Int>.blockCapacity })
                #expect(list.maxes == list.blocks.map { $0.last! })
            }
        }
        #expect(list.allEntries == model && list.count == model.count)
        let probe = 2500
        let p = list.partitionPoint { $0 < probe }
        #expect(list.rank(of: p) == model.firstIndex { $0 >= probe } ?? model.count)
        var walked: [Int] = []
        var q = list.position(before: list.endPosition)
        while let at = q { walked.append(list.entry(at: at)); q = list.position(before: at) }
        #expect(walked == model.reversed())
    }

    @Test func slotMapMatchesADictionary() {
        var rng = SplitMix64(seed: 6)
        var map = SlotHashMap()
        var model: [Int32: UInt64] = [:]  // slot -> hash
        for _ in 0..<50_000 {
            // A tiny hash domain forces tag collisions and long probe chains.
            if model.isEmpty || rng.chance(percent: 60) {
                let slot = Int32(rng.below(1 << 20))
                if model[slot] == nil {
                    let hash = rng.chance(percent: 50) ? UInt64(rng.below(8)) << 32 : rng.next()
                    map.insert(hash: hash, slot: slot, payload: UInt64(slot) * 3)
                    model[slot] = hash
                }
            } else {
                let slot = model.keys.min()!
                map.remove(hash: model[slot]!, slot: slot)
                model[slot] = nil
            }
        }
        #expect(map.count == model.count)
        for slot in model.keys.sorted() {
            #expect(map.find(hash: model[slot]!) { s, payload in s == slot && payload == UInt64(slot) * 3 } == slot)
        }
        map.refreshPayloads { UInt64($0) + 1 }
        for slot in model.keys.sorted() {
            #expect(map.find(hash: model[slot]!) { s, payload in s == slot && payload == UInt64(slot) + 1 } == slot)
        }
        #expect(map.find(hash: 1 << 40) { _, _ in false } == nil)
    }
}
