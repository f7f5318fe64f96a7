// Self-checks for tests and debugging: `verifyInvariants()` recomputes everything derived (counts,
// index contents and order, tokens, arena accounting) from column storage and fails a
// precondition on any difference; `stateImage()` serialises the table's complete physical state,
// dead slots included, so that a test can demand byte-identity (after a rollback, or between two
// replicas fed the same calls). Neither is on any hot path.

extension TableStorage {
    func verifyInvariants() {
        var live: [Int32] = []
        forEachLiveSlot { live.append(Int32($0)) }
        precondition(live.count == rowCount, "table \(name): \(live.count) live bits, rowCount \(rowCount)")
        precondition(tokenIndex.count == rowCount, "table \(name): token index has \(tokenIndex.count) entries")
        if hasPrimaryKey {
            precondition(primaryMap.count == rowCount, "table \(name): primary map has \(primaryMap.count) entries")
            for s in live {
                let found = primaryKeySlot { cellValue(primaryKeyColumns[$0], Int(s)) }
                precondition(found == s, "table \(name): primary key of slot \(s) finds \(String(describing: found))")
            }
        }
        for index in ordered {
            let entries = index.entries.allEntries
            precondition(entries.count == rowCount, "index \(index.definition.name) has \(entries.count) entries")
            precondition(Set(entries) == Set(live), "index \(index.definition.name) does not hold the live slots")
            for k in entries.indices.dropFirst() {
                precondition(compareEntries(index.columns, entries[k - 1], entries[k]) < 0,
                             "index \(index.definition.name) is out of order at \(k)")
            }
            precondition(index.entries.maxes == index.entries.blocks.map { $0.last! }, "index \(index.definition.name) has stale block maxes")
            for block in index.entries.blocks {
                precondition(!block.isEmpty && block.count <= BlockList<Int32>.blockCapacity, "index block of \(block.count)")
            }
        }
        precondition(tokenIndex.maxes == tokenIndex.blocks.map { $0.last! }, "token index has stale block maxes")
        let keys = tokenIndex.allEntries
        for k in keys.indices.dropFirst() { precondition(keys[k - 1] < keys[k], "token index is out of order at \(k)") }
        for key in keys {
            let s = Int(TableStorage.slot(ofKey: key))
            precondition(isLive(s), "token index names dead slot \(s)")
            precondition(Int64(tokens[s]) == TableStorage.token(ofKey: key) && tokens[s] == computeToken(s),
                         "token of slot \(s) is stale")
        }
        var liveBytes = 0
        for s in live { for st in 0..<varCount { liveBytes += VarRef.byteCount(refs[Int(s) * varCount + st]) } }
        precondition(arena.count - arenaGarbage == liveBytes,
                     "table \(name): arena \(arena.count) − garbage \(arenaGarbage) ≠ live bytes \(liveBytes)")
        for slot in freeSlots {
            let s = Int(slot)
            precondition(!isLiveBitSet(s), "free slot \(s) is live")
            for c in 0..<layout.count { precondition(isNullCell(c, s), "free slot \(s) is not cleared") }
        }
        precondition(Set(freeSlots).count == freeSlots.count, "free list has duplicates")
        precondition(liveBits.count == (slotCount + 63) / 64, "bitmap has \(liveBits.count) words for \(slotCount) slots")
    }

    /// Every byte of physical state that a rollback must restore: column arrays over all slots,
    /// arena and garbage count, tokens, liveness, the free list in order, and index contents
    /// (entries in order; the primary map as its sorted slots).
    func stateImage() -> [UInt8] {
        var out: [UInt8] = []
        func word(_ w: UInt64) { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(i)))) } }
        word(UInt64(slotCount))
        word(UInt64(rowCount))
        for column in ints { word(UInt64(column.count)); for x in column { word(UInt64(bitPattern: x)) } }
        for column in floats { word(UInt64(column.count)); for x in column { word(x.bitPattern) } }
        for column in decimals {
            word(UInt64(column.count))
            for x in column { let b = UInt128(bitPattern: x); word(UInt64(truncatingIfNeeded: b)); word(UInt64(truncatingIfNeeded: b >> 64)) }
        }
        word(UInt64(refs.count))
        for x in refs { word(x) }
        word(UInt64(arena.count))
        out.append(contentsOf: arena)
        word(UInt64(arenaGarbage))
        word(UInt64(tokens.count))
        for t in tokens { word(UInt64(UInt32(bitPattern: t))) }
        word(UInt64(liveBits.count))
        for w in liveBits { word(w) }
        word(UInt64(freeSlots.count))
        for s in freeSlots { word(UInt64(UInt32(bitPattern: s))) }
        var mapped: [Int32] = []
        if hasPrimaryKey {
            forEachLiveSlot { s in
                if primaryKeySlot({ cellValue(primaryKeyColumns[$0], s) }) == Int32(s) { mapped.append(Int32(s)) }
            }
        }
        word(UInt64(primaryMap.count))
        for s in mapped { word(UInt64(UInt32(bitPattern: s))) }
        for index in ordered {
            out.append(contentsOf: index.definition.name.utf8)
            for s in index.entries.allEntries { word(UInt64(UInt32(bitPattern: s))) }
        }
        for key in tokenIndex.allEntries { word(key) }
        word(UInt64(memoryBytes))
        return out
    }
}
