// Index maintenance and index reads: the primary-key map, the ordered indexes and the token index.
//
// Ordered index entries are slots ordered by (key columns, slot). Equality lookups and range scans
// take probe values that are compared with the key columns as a prefix (`Value.compare` order,
// NULL first). A NULL probe value matches stored NULLs, so `IS NULL` can use an index; SQL's
// `= NULL` (never true) and the exclusion of NULLs from `< x` are the executor's business, e.g. a
// scan with `lower: [.null], lowerInclusive: false` skips the NULLs of the first column.

extension TableStorage {
    // MARK: Linking rows into indexes

    /// Adds a row to the primary map (if its key changed), the ordered indexes over changed
    /// columns, and the token index (if its token changed).
    mutating func link(_ slot: Int32, changes: ChangeSet, primaryKeyChanged: Bool = true, tokenChanged: Bool) {
        if hasPrimaryKey && primaryKeyChanged {
            let entry = primaryKeyEntry(Int(slot))
            primaryMap.insert(hash: entry.hash, slot: slot, payload: entry.payload)
        }
        for i in 0..<ordered.count where ordered[i].columnSet.intersects(changes) {
            indexInsert(i, slot)
        }
        if tokenChanged { tokenInsert(tokens[Int(slot)], slot) }
    }

    /// The inverse of `link`; must run while the row still holds the values it was linked with.
    mutating func unlink(_ slot: Int32, changes: ChangeSet, primaryKeyChanged: Bool = true, tokenChanged: Bool) {
        if hasPrimaryKey && primaryKeyChanged {
            primaryMap.remove(hash: primaryKeyEntry(Int(slot)).hash, slot: slot)
        }
        for i in 0..<ordered.count where ordered[i].columnSet.intersects(changes) {
            indexRemove(i, slot)
        }
        if tokenChanged { tokenRemove(tokens[Int(slot)], slot) }
    }

    /// The first unique key the unlinked row in `slot` would duplicate, as an error: the primary
    /// key (if it changed), then unique constraints and unique indexes over changed columns.
    func uniquenessViolation(_ slot: Int32, primaryKeyChanged: Bool, changes: ChangeSet) -> StorageError? {
        if hasPrimaryKey && primaryKeyChanged {
            let pkColumns = primaryKeyColumns
            let found = primaryMap.find(hash: primaryKeyEntry(Int(slot)).hash) { other, _ in
                other != slot && keysEqual(pkColumns, other, slot)
            }
            if found != nil { return duplicateError(definition.primaryKey!.name, pkColumns, slot) }
        }
        for i in 0..<ordered.count where ordered[i].checksUniqueness && ordered[i].columnSet.intersects(changes) {
            let columns = ordered[i].columns
            if keyHasNull(columns, Int(slot)) { continue }
            let p = ordered[i].entries.partitionPoint { compareKeys(columns, $0, slot) < 0 }
            if p < ordered[i].entries.endPosition && compareKeys(columns, ordered[i].entries.entry(at: p), slot) == 0 {
                return duplicateError(ordered[i].definition.name, columns, slot)
            }
        }
        return nil
    }

    func duplicateError(_ constraint: String, _ columns: [Int], _ slot: Int32) -> StorageError {
        StorageError(kind: .constraintViolation,
                     message: "Constraint violation: UNIQUE constraint violation on table \(name), constraint \(constraint); duplicate key \(keyText(columns, Int(slot)))",
                     constraint: constraint)
    }

    // Searches run in non-mutating methods: a closure in a mutating method that captures `self`
    // gets a copy of the whole struct (every array retained) on each call.

    /// Where `slot` is or belongs in ordered index i.
    func entryPosition(_ i: Int, _ slot: Int32) -> BlockList<Int32>.Position {
        let columns = ordered[i].columns
        return ordered[i].entries.partitionPoint { compareEntries(columns, $0, slot) < 0 }
    }

    mutating func indexInsert(_ i: Int, _ slot: Int32) {
        let p = entryPosition(i, slot)
        ordered[i].entries.insert(slot, at: p)
    }

    mutating func indexRemove(_ i: Int, _ slot: Int32) {
        let p = entryPosition(i, slot)
        precondition(p < ordered[i].entries.endPosition && ordered[i].entries.entry(at: p) == slot,
                     "index \(ordered[i].definition.name) of table \(name) has no entry for slot \(slot)")
        ordered[i].entries.remove(at: p)
    }

    // MARK: Token index

    /// The token index orders words `(token + 2^31) << 32 | slot`: by signed token, then slot.
    @inline(__always)
    static func tokenKey(_ token: Int32, _ slot: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: token) ^ 0x8000_0000) << 32 | UInt64(UInt32(bitPattern: slot))
    }

    @inline(__always)
    static func token(ofKey key: UInt64) -> Int64 { Int64(key >> 32) + Int64(Int32.min) }

    @inline(__always)
    static func slot(ofKey key: UInt64) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: key)) }

    mutating func tokenInsert(_ token: Int32, _ slot: Int32) {
        let key = TableStorage.tokenKey(token, slot)
        let p = tokenIndex.partitionPoint { $0 < key }
        tokenIndex.insert(key, at: p)
    }

    mutating func tokenRemove(_ token: Int32, _ slot: Int32) {
        let key = TableStorage.tokenKey(token, slot)
        let p = tokenIndex.partitionPoint { $0 < key }
        precondition(p < tokenIndex.endPosition && tokenIndex.entry(at: p) == key,
                     "token index of table \(name) has no entry for slot \(slot) at token \(token)")
        tokenIndex.remove(at: p)
    }

    /// The first token-index position at or after ring position `token` (64-bit, so 2^31 is the end).
    func tokenPosition(atOrAfter token: Int64) -> BlockList<UInt64>.Position {
        if token > Int64(Int32.max) { return tokenIndex.endPosition }
        if token <= Int64(Int32.min) { return tokenIndex.startPosition }
        let key = UInt64(token - Int64(Int32.min)) << 32
        return tokenIndex.partitionPoint { $0 < key }
    }

    // MARK: Reads

    func indexPosition(_ index: String) -> Int {
        guard let i = orderedByName[index] else { preconditionFailure("table \(name) has no index \(index)") }
        return i
    }

    func indexLookup(_ index: String, prefix: [Value]) -> [RowID] {
        let i = indexPosition(index)
        let columns = ordered[i].columns
        precondition(prefix.count <= columns.count, "index \(index) has \(columns.count) columns, probe has \(prefix.count)")
        var out: [RowID] = []
        let entries = ordered[i].entries
        var p = entries.partitionPoint { comparePrefix(prefix, columns, $0) > 0 }
        let end = entries.endPosition
        while p < end {
            let s = entries.entry(at: p)
            if comparePrefix(prefix, columns, s) != 0 { break }
            out.append(RowID(slot: s))
            p = entries.position(after: p)
        }
        return out
    }

    func indexScan(_ index: String, lower: [Value]?, lowerInclusive: Bool, upper: [Value]?,
                          upperInclusive: Bool, descending: Bool, limit: Int?) -> [RowID] {
        let i = indexPosition(index)
        let columns = ordered[i].columns
        precondition((lower?.count ?? 0) <= columns.count && (upper?.count ?? 0) <= columns.count,
                     "bounds longer than the \(columns.count) columns of index \(index)")
        let entries = ordered[i].entries
        let from: BlockList<Int32>.Position
        if let lower {
            from = lowerInclusive ? entries.partitionPoint { comparePrefix(lower, columns, $0) > 0 }
                                  : entries.partitionPoint { comparePrefix(lower, columns, $0) >= 0 }
        } else {
            from = entries.startPosition
        }
        let to: BlockList<Int32>.Position
        if let upper {
            to = upperInclusive ? entries.partitionPoint { comparePrefix(upper, columns, $0) >= 0 }
                                : entries.partitionPoint { comparePrefix(upper, columns, $0) > 0 }
        } else {
            to = entries.endPosition
        }
        let limit = limit ?? Int.max
        var out: [RowID] = []
        guard from < to, limit > 0 else { return out }
        if descending {
            var p = entries.position(before: to)
            while let q = p, q >= from, out.count < limit {
                out.append(RowID(slot: entries.entry(at: q)))
                p = entries.position(before: q)
            }
        } else {
            var p = from
            while p < to && out.count < limit {
                out.append(RowID(slot: entries.entry(at: p)))
                p = entries.position(after: p)
            }
        }
        return out
    }

    // MARK: DDL

    mutating func addIndex(_ index: IndexDefinition) throws(StorageError) {
        precondition(pendingRecords == 0 && iterationDepth == 0,
                     "CREATE INDEX on table \(name) while it has uncommitted changes or is being iterated")
        precondition(index.table == name, "index \(index.name) is on table \(index.table), not \(name)")
        precondition(!index.columns.isEmpty && index.columns.allSatisfy(layout.indices.contains),
                     "index \(index.name) has bad columns \(index.columns)")
        guard orderedByName[index.name] == nil else {
            throw StorageError(kind: .internalError, message: "Index \(index.name) already exists on table \(name)",
                               constraint: index.name)
        }
        let columns = index.columns
        let slots = liveSlotsSorted(by: columns)
        if index.unique {
            for k in slots.indices.dropFirst() where !keyHasNull(columns, Int(slots[k]))
                && compareKeys(columns, slots[k - 1], slots[k]) == 0 {
                throw duplicateError(index.name, columns, slots[k])
            }
        }
        ordered.append(OrderedIndex(definition: index, origin: .index, columnSet: ChangeSet(columns: columns),
                                    entries: BlockList(sorted: slots)))
        ordered.sort { $0.definition.name < $1.definition.name }
        rebuildIndexNames()
        recomputeKeyedColumns()
    }

    /// The live slots in (columns, slot) order.
    func liveSlotsSorted(by columns: [Int]) -> [Int32] {
        var slots: [Int32] = []
        slots.reserveCapacity(rowCount)
        forEachLiveSlot { slots.append(Int32($0)) }
        slots.sort { compareEntries(columns, $0, $1) < 0 }
        return slots
    }

    mutating func dropIndex(named: String) {
        precondition(pendingRecords == 0 && iterationDepth == 0,
                     "DROP INDEX on table \(name) while it has uncommitted changes or is being iterated")
        guard let i = orderedByName[named] else { return }
        precondition(ordered[i].origin == .index, "index \(named) backs a constraint of table \(name)")
        ordered.remove(at: i)
        rebuildIndexNames()
        recomputeKeyedColumns()
    }

    mutating func rebuildIndexNames() {
        orderedByName = [:]
        for (i, index) in ordered.enumerated() { orderedByName[index.definition.name] = i }
    }
}
