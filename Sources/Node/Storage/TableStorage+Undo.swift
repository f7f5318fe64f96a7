// Undoing one WriteLog record. Records are undone newest first, so each undo finds the table in
// exactly the state its mutation left: the arena is no longer than when the mutation ended, the
// free list's top is what an insert took, and a deleted slot still holds its cells (deleted slots
// are freed only at commit). Each undo therefore restores the previous state exactly, including
// the arena length and garbage count; index block layouts may differ but not their contents.

extension TableStorage {
    mutating func undo(_ r: UndoRecord) {
        precondition(pendingRecords > 0 && iterationDepth == 0, "table \(name) undoes a record it does not hold")
        let s = Int(r.slot)
        switch r.op {
        case .insert:
            precondition(isLive(s), "undo of insert: slot \(s) of table \(name) is not live")
            unlink(r.slot, changes: .all, tokenChanged: true)
            setLive(s, false)
            rowCount -= 1
            clearCells(s)
            if r.fromFreeList {
                freeSlots.append(r.slot)
            } else {
                precondition(s == slotCount - 1, "undo of insert: slot \(s) is not the last of table \(name)")
                removeLastSlot()
            }
        case .delete:
            precondition(!isLiveBitSet(s), "undo of delete: slot \(s) of table \(name) is live")
            link(r.slot, changes: .all, tokenChanged: true)
            setLive(s, true)
            rowCount += 1
        case .update:
            precondition(isLive(s), "undo of update: slot \(s) of table \(name) is not live")
            var changes = ChangeSet(columns: CollectionOfOne(Int(r.firstCell.column)))
            for image in r.moreCells { changes.insert(Int(image.column)) }
            let primaryKeyChanged = primaryKeySet.intersects(changes)
            unlink(r.slot, changes: changes, primaryKeyChanged: primaryKeyChanged, tokenChanged: r.tokenChanged)
            writeImage(r.firstCell, s)
            for image in r.moreCells { writeImage(image, s) }
            if r.tokenChanged { tokens[s] = r.oldToken }
            link(r.slot, changes: changes, primaryKeyChanged: primaryKeyChanged, tokenChanged: r.tokenChanged)
        }
        truncateArena(to: r.arenaMark)
        arenaGarbage = r.garbageMark
        pendingRecords -= 1
        if pendingRecords == 0 { pendingLog = nil }
    }
}
