// The state and logic of one `Table` (see Table.swift for the layout, the invariants and why this
// is a struct). Mutating methods take the owning `Table` so that undo records can name it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a column is stored.
enum PhysicalKind: UInt8 {
    case int64, float64, decimal, varlen
}

/// Where and how one column is stored.
struct ColumnLayout {
    let kind: PhysicalKind
    /// The column's position within the arrays of its kind.
    let store: Int
    let type: SQLType
    /// `.int64` only: the NULL sentinel and the largest value.
    let intNull: Int64
    let intMax: Int64
    /// The tag `Value.appendCanonical` writes for a non-NULL value of this column.
    let canonicalTag: UInt8
    /// false for NOT NULL columns and for primary-key and partition columns.
    let nullable: Bool
    /// Variable-length: a value with at most this many bytes certainly fits (fast check).
    let fastByteLimit: Int
}

/// The shape of the primary key, to pick a lookup path without a dynamic dispatch per column.
enum KeyShape {
    case none
    case singleInt(column: Int)
    case singleVar(column: Int)
    case general
}

/// Which columns an update changed: a bit per column below 64, and one bit for all the others.
struct ChangeSet {
    var low: UInt64 = 0
    var high = false

    static let all = ChangeSet(low: .max, high: true)

    init() {}
    init(low: UInt64, high: Bool) { self.low = low; self.high = high }

    init(columns: some Sequence<Int>) {
        for c in columns { insert(c) }
    }

    mutating func insert(_ column: Int) {
        if column < 64 { low |= 1 << UInt64(column) } else { high = true }
    }

    func intersects(_ other: ChangeSet) -> Bool { low & other.low != 0 || (high && other.high) }
}

/// An ordered index over some columns of the table.
struct OrderedIndex {
    enum Origin { case primaryKey, uniqueConstraint, index }

    let definition: IndexDefinition
    let origin: Origin
    var columns: [Int] { definition.columns }
    let columnSet: ChangeSet
    var entries: BlockList<Int32>

    /// The primary key's uniqueness is checked in the hash map instead.
    var checksUniqueness: Bool { definition.unique && origin != .primaryKey }
}

struct TableStorage {
    let definition: TableDefinition
    let name: String

    // MARK: Layout

    let layout: [ColumnLayout]
    let partitionColumn: Int?
    let partitionSet: ChangeSet?
    /// `StableHasher` of the table name, the seed of its mutation hashes.
    let nameHash: UInt64

    var ints: [[Int64]]
    var floats: [[Double]]
    var decimals: [[Int128]]
    /// The var-length references of all var-length columns, row by row: slot s's cell of store i
    /// is `refs[s * varCount + i]`, so one row's references share a cache line.
    var refs: [UInt64] = []
    let varCount: Int
    /// The NULL sentinel of each `ints` store.
    let intNulls: [Int64]
    var arena: [UInt8] = []
    var arenaGarbage = 0
    var tokens: [Int32] = []
    var liveBits: [UInt64] = []
    var freeSlots: [Int32] = []
    var slotCount = 0
    var rowCount = 0

    // MARK: Indexes

    let primaryKeyColumns: [Int]
    let primaryKeyShape: KeyShape
    let primaryKeySet: ChangeSet
    /// Primary-key and partition columns, which are NOT NULL whatever their definition says.
    let keyColumnsNotNull: [Int]
    /// Per column: read by the primary key, the partition key or an ordered index.
    var keyed: [Bool] = []
    var primaryMap = SlotHashMap()
    /// Constraint-backed and secondary ordered indexes, sorted by name.
    var ordered: [OrderedIndex] = []
    var orderedByName: [String: Int] = [:]
    var tokenIndex = BlockList<UInt64>()
    /// Which tokens this partition replica owns; nil accepts every row (replicated tables, tools).
    var ownership: TokenOwnership?

    // MARK: Bookkeeping

    /// The log holding this table's uncommitted records, and how many there are.
    var pendingLog: ObjectIdentifier?
    var pendingRecords = 0
    var iterationDepth = 0

    /// Arena compaction waits until garbage is at least this large (and over half the arena).
    static let compactionMinimumGarbageBytes = 4096

    init(definition: TableDefinition) {
        let columns = definition.columns
        precondition(!columns.isEmpty, "table \(definition.name) has no columns")
        precondition(columns.count < Int(Int32.max), "table \(definition.name) has too many columns")
        if let p = definition.partitionColumn {
            precondition(columns.indices.contains(p) && columns[p].type.isPartitionable,
                         "table \(definition.name): partition column \(p) is missing or not partitionable")
        }
        let pkColumns = definition.primaryKey?.columns ?? []
        if let pk = definition.primaryKey {
            precondition(!pk.columns.isEmpty && pk.columns.allSatisfy(columns.indices.contains),
                         "table \(definition.name): primary key \(pk.name) has bad columns \(pk.columns)")
        }
        for u in definition.uniqueConstraints {
            precondition(!u.columns.isEmpty && u.columns.allSatisfy(columns.indices.contains),
                         "table \(definition.name): constraint \(u.name) has bad columns \(u.columns)")
        }
        var notNull = pkColumns
        if let p = definition.partitionColumn, !notNull.contains(p) { notNull.append(p) }
        notNull.sort()

        var layout: [ColumnLayout] = []
        var counts = (ints: 0, floats: 0, decimals: 0, vars: 0)
        var intNulls: [Int64] = []
        for (i, c) in columns.enumerated() {
            let nullable = c.nullable && !notNull.contains(i)
            switch c.type {
            case .tinyint, .smallint, .integer, .bigint, .timestamp:
                let null = c.type.integerNullSentinel!
                let max = c.type.integerRange?.upperBound ?? Int64.max
                layout.append(ColumnLayout(kind: .int64, store: counts.ints, type: c.type, intNull: null, intMax: max,
                                           canonicalTag: c.type == .timestamp ? 6 : 1, nullable: nullable,
                                           fastByteLimit: 0))
                intNulls.append(null)
                counts.ints += 1
            case .float:
                layout.append(ColumnLayout(kind: .float64, store: counts.floats, type: c.type, intNull: 0, intMax: 0,
                                           canonicalTag: 2, nullable: nullable, fastByteLimit: 0))
                counts.floats += 1
            case .decimal:
                layout.append(ColumnLayout(kind: .decimal, store: counts.decimals, type: c.type, intNull: 0, intMax: 0,
                                           canonicalTag: 3, nullable: nullable, fastByteLimit: 0))
                counts.decimals += 1
            case .varchar, .varbinary:
                let fast = c.type == .varchar
                    ? min(c.maxLength ?? ColumnDefinition.maxVariableLengthBytes, ColumnDefinition.maxVariableLengthBytes)
                    : c.byteLimit
                layout.append(ColumnLayout(kind: .varlen, store: counts.vars, type: c.type, intNull: 0, intMax: 0,
                                           canonicalTag: c.type == .varchar ? 4 : 5, nullable: nullable,
                                           fastByteLimit: fast))
                counts.vars += 1
            }
        }
        self.definition = definition
        self.name = definition.name
        self.layout = layout
        self.partitionColumn = definition.partitionColumn
        self.partitionSet = definition.partitionColumn.map { ChangeSet(columns: CollectionOfOne($0)) }
        self.intNulls = intNulls
        ints = Array(repeating: [], count: counts.ints)
        floats = Array(repeating: [], count: counts.floats)
        decimals = Array(repeating: [], count: counts.decimals)
        varCount = counts.vars
        var nameHasher = StableHasher(seed: 0x7461_626c_65)
        for b in definition.name.utf8 { nameHasher.combine(byte: b) }
        nameHash = nameHasher.finalize64()

        primaryKeyColumns = pkColumns
        primaryKeySet = ChangeSet(columns: pkColumns)
        keyColumnsNotNull = notNull
        if pkColumns.count == 1 {
            primaryKeyShape = layout[pkColumns[0]].kind == .int64 ? .singleInt(column: pkColumns[0])
                : layout[pkColumns[0]].kind == .varlen ? .singleVar(column: pkColumns[0]) : .general
        } else {
            primaryKeyShape = pkColumns.isEmpty ? .none : .general
        }

        var indexes: [OrderedIndex] = []
        if let pk = definition.primaryKey {
            indexes.append(OrderedIndex(
                definition: IndexDefinition(name: pk.name, table: definition.name, columns: pk.columns, unique: true),
                origin: .primaryKey, columnSet: ChangeSet(columns: pk.columns), entries: BlockList()))
        }
        for u in definition.uniqueConstraints {
            indexes.append(OrderedIndex(
                definition: IndexDefinition(name: u.name, table: definition.name, columns: u.columns, unique: true),
                origin: .uniqueConstraint, columnSet: ChangeSet(columns: u.columns), entries: BlockList()))
        }
        indexes.sort { $0.definition.name < $1.definition.name }
        for i in indexes.indices.dropFirst() {
            precondition(indexes[i - 1].definition.name != indexes[i].definition.name,
                         "table \(definition.name) has two constraints named \(indexes[i].definition.name)")
        }
        ordered = indexes
        rebuildIndexNames()
        recomputeKeyedColumns()
    }

    var isPartitioned: Bool { partitionColumn != nil }
    var hasPrimaryKey: Bool { !primaryKeyColumns.isEmpty }

    var memoryBytes: Int {
        let perSlot = 8 * (ints.count + floats.count + varCount) + 16 * decimals.count + 4
        var total = slotCount * perSlot + liveBits.count * 8 + freeSlots.count * 4 + arena.count
        total += primaryMap.count * 32
        for i in ordered { total += i.entries.count * 8 }
        total += tokenIndex.count * 8
        return total
    }

    // MARK: Reading

    @inline(__always)
    func isLive(_ s: Int) -> Bool {
        s >= 0 && s < slotCount && liveBits[s >> 6] & (1 << UInt64(s & 63)) != 0
    }

    @inline(__always)
    func checkLive(_ id: RowID) {
        precondition(isLive(Int(id.slot)), "\(id) of table \(name) is not a live row")
    }

    func rowValues(_ s: Int) -> [Value] {
        var out: [Value] = []
        out.reserveCapacity(layout.count)
        for c in 0..<layout.count { out.append(cellValue(c, s)) }
        return out
    }

    /// Calls `body` with every live slot, in slot order.
    func forEachLiveSlot(_ body: (Int) -> Void) {
        for w in 0..<liveBits.count {
            var bits = liveBits[w]
            while bits != 0 {
                body(w << 6 | bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
    }

    // MARK: Mutations

    mutating func insert(_ row: [Value], log: WriteLog?, owner: Table) throws(StorageError) -> RowID {
        beginMutation(log)
        let row = try prepare(row)
        if let limit = definition.limitPartitionRows, rowCount >= limit {
            throw StorageError(kind: .partitionRowLimit,
                               message: "Constraint violation: Table \(name) exceeds table maximum row count \(limit)")
        }
        let arenaMark = arena.count
        let garbageMark = arenaGarbage
        let fromFreeList = !freeSlots.isEmpty
        let slot = fromFreeList ? freeSlots.removeLast() : appendSlot()
        let s = Int(slot)
        for c in 0..<layout.count { writeCell(c, s, row[c]) }
        tokens[s] = computeToken(s)
        if let error = mispartitioned(s) ?? uniquenessViolation(slot, primaryKeyChanged: true, changes: .all) {
            clearCells(s)
            if fromFreeList { freeSlots.append(slot) } else { removeLastSlot() }
            truncateArena(to: arenaMark)
            arenaGarbage = garbageMark
            throw error
        }
        link(slot, changes: .all, tokenChanged: true)
        setLive(s, true)
        rowCount += 1
        if let log {
            record(UndoRecord(table: owner, op: .insert, slot: slot, fromFreeList: fromFreeList, oldToken: 0,
                              tokenChanged: false, arenaMark: arenaMark, garbageMark: garbageMark,
                              firstCell: UndoRecord.noCell, moreCells: []), in: log)
            log.fold(mutationHash(.insert, before: nil, after: rowHash(s)))
        }
        return RowID(slot: slot)
    }

    mutating func update(_ id: RowID, to row: [Value], log: WriteLog?, owner: Table) throws(StorageError) {
        beginMutation(log)
        let s = Int(id.slot)
        precondition(isLive(s), "\(id) of table \(name) is not a live row")
        let row = try prepare(row)
        var changes = ChangeSet()
        var changed = false
        for c in 0..<layout.count where cellDiffers(c, s, row[c]) {
            changes.insert(c)
            changed = true
        }
        guard changed else {
            if let log { log.fold(mutationHash(.update, before: nil, after: rowHash(s))) }
            return
        }
        let tokenChanged = partitionSet?.intersects(changes) ?? true
        let primaryKeyChanged = primaryKeySet.intersects(changes)
        let arenaMark = arena.count
        let garbageMark = arenaGarbage
        let oldToken = tokenChanged ? tokens[s] : 0
        unlink(id.slot, changes: changes, primaryKeyChanged: primaryKeyChanged, tokenChanged: tokenChanged)

        var first = UndoRecord.noCell
        var more: [CellImage] = []
        for c in 0..<layout.count {
            // Columns past 64 share one change bit, so compare those again.
            let differs = c < 64 ? changes.low & (1 << UInt64(c)) != 0 : cellDiffers(c, s, row[c])
            guard differs else { continue }
            let image = readImage(c, s)
            if first.column < 0 { first = image } else { more.append(image) }
            if layout[c].kind == .varlen { arenaGarbage += VarRef.byteCount(image.lo) }
            writeCell(c, s, row[c])
        }
        if tokenChanged { tokens[s] = computeToken(s) }

        if let error = uniquenessViolation(id.slot, primaryKeyChanged: primaryKeyChanged, changes: changes) {
            writeImage(first, s)
            for image in more { writeImage(image, s) }
            if tokenChanged { tokens[s] = oldToken }
            truncateArena(to: arenaMark)
            arenaGarbage = garbageMark
            link(id.slot, changes: changes, primaryKeyChanged: primaryKeyChanged, tokenChanged: tokenChanged)
            throw error
        }
        link(id.slot, changes: changes, primaryKeyChanged: primaryKeyChanged, tokenChanged: tokenChanged)
        if let log {
            record(UndoRecord(table: owner, op: .update, slot: id.slot, fromFreeList: false, oldToken: oldToken,
                              tokenChanged: tokenChanged, arenaMark: arenaMark, garbageMark: garbageMark,
                              firstCell: first, moreCells: more), in: log)
            log.fold(mutationHash(.update, before: nil, after: rowHash(s)))
        }
    }

    /// The error for a row whose token this replica does not own, as VoltDB words it.
    func mispartitioned(_ s: Int) -> StorageError? {
        guard partitionColumn != nil, let ownership, !ownership.owns(Token(tokens[s])) else { return nil }
        return StorageError(kind: .mispartitioned,
                            message: "Mispartitioned tuple in single-partition insert statement: the row's partition key of table \(name) belongs to \(ownership.ring.partition(for: Token(tokens[s]))), not \(ownership.partition)")
    }

    /// Whether writing `v` into a cell changes anything an index or key could see. A var-length
    /// column outside every key is reported changed (unless NULL stays NULL) without reading its
    /// old bytes: rewriting equal bytes costs less than the cache miss of comparing them.
    @inline(__always)
    func cellDiffers(_ c: Int, _ s: Int, _ v: Value) -> Bool {
        let l = layout[c]
        if l.kind == .varlen && !keyed[c] {
            return !(v.isNull && refs[s &* varCount &+ l.store] == VarRef.null)
        }
        return !cellEquals(c, s, v)
    }

    /// Marks the columns that the primary key, the partition key or any ordered index reads.
    mutating func recomputeKeyedColumns() {
        var k = Array(repeating: false, count: layout.count)
        for c in primaryKeyColumns { k[c] = true }
        if let p = partitionColumn { k[p] = true }
        for index in ordered { for c in index.columns { k[c] = true } }
        keyed = k
    }

    mutating func delete(_ id: RowID, log: WriteLog?, owner: Table) {
        beginMutation(log)
        let s = Int(id.slot)
        precondition(isLive(s), "\(id) of table \(name) is not a live row")
        let garbageMark = arenaGarbage
        let before = log != nil ? rowHash(s) : (0, 0)
        unlink(id.slot, changes: .all, primaryKeyChanged: true, tokenChanged: true)
        setLive(s, false)
        rowCount -= 1
        for st in 0..<varCount { arenaGarbage += VarRef.byteCount(refs[s * varCount + st]) }
        if let log {
            record(UndoRecord(table: owner, op: .delete, slot: id.slot, fromFreeList: false, oldToken: 0,
                              tokenChanged: false, arenaMark: arena.count, garbageMark: garbageMark,
                              firstCell: UndoRecord.noCell, moreCells: []), in: log)
            log.fold(mutationHash(.delete, before: before, after: nil))
        } else {
            releaseSlot(id.slot)
        }
    }

    mutating func upsert(_ row: [Value], log: WriteLog?, owner: Table) throws(StorageError) -> (id: RowID, inserted: Bool) {
        precondition(hasPrimaryKey, "UPSERT into table \(name), which has no primary key")
        let prepared = try prepare(row)
        let keyColumns = primaryKeyColumns
        if let slot = primaryKeySlot({ prepared[keyColumns[$0]] }) {
            try update(RowID(slot: slot), to: prepared, log: log, owner: owner)
            return (RowID(slot: slot), false)
        }
        return (try insert(prepared, log: log, owner: owner), true)
    }

    // MARK: Slots and bookkeeping

    @inline(__always)
    mutating func beginMutation(_ log: WriteLog?) {
        precondition(iterationDepth == 0, "table \(name) mutated inside forEachRow")
        if pendingRecords > 0 {
            precondition(log.map(ObjectIdentifier.init) == pendingLog,
                         "table \(name) has \(pendingRecords) uncommitted records in another WriteLog; mutate it only through that log until it commits or rolls back")
        } else if log == nil {
            compactArenaIfWorthIt()
        }
    }

    /// Compacts when garbage passes half the arena. Runs only between transactions — before an
    /// unlogged mutation, or when a commit settles the table's last record — so a rollback never
    /// has a compaction to undo.
    mutating func compactArenaIfWorthIt() {
        if arenaGarbage >= TableStorage.compactionMinimumGarbageBytes && arenaGarbage * 2 > arena.count {
            compactArena()
        }
    }

    mutating func record(_ r: UndoRecord, in log: WriteLog) {
        log.append(r)
        pendingRecords += 1
        pendingLog = ObjectIdentifier(log)
    }

    /// A committed record: a deleted row's slot is freed now.
    mutating func settle(_ r: UndoRecord) {
        precondition(pendingRecords > 0, "table \(name) settles a record it does not hold")
        if r.op == .delete { releaseSlot(r.slot) }
        pendingRecords -= 1
        if pendingRecords == 0 {
            pendingLog = nil
            compactArenaIfWorthIt()
        }
    }

    mutating func appendSlot() -> Int32 {
        precondition(slotCount < Int(Int32.max), "table \(name) is out of slots")
        let s = slotCount
        slotCount += 1
        for i in 0..<ints.count { ints[i].append(intNulls[i]) }
        for i in 0..<floats.count { floats[i].append(ColumnDefinition.floatNullSentinel) }
        for i in 0..<decimals.count { decimals[i].append(VoltDecimal.nullSentinel) }
        for _ in 0..<varCount { refs.append(VarRef.null) }
        tokens.append(0)
        if s & 63 == 0 { liveBits.append(0) }
        return Int32(s)
    }

    mutating func removeLastSlot() {
        slotCount -= 1
        let s = slotCount
        precondition(!isLiveBitSet(s), "removing live slot \(s) of table \(name)")
        for i in 0..<ints.count { ints[i].removeLast() }
        for i in 0..<floats.count { floats[i].removeLast() }
        for i in 0..<decimals.count { decimals[i].removeLast() }
        refs.removeLast(varCount)
        tokens.removeLast()
        if s & 63 == 0 { liveBits.removeLast() }
    }

    /// Clears a dead slot and puts it on the free list.
    mutating func releaseSlot(_ slot: Int32) {
        let s = Int(slot)
        precondition(!isLiveBitSet(s), "freeing live slot \(s) of table \(name)")
        clearCells(s)
        freeSlots.append(slot)
    }

    /// Sets every cell of a slot to NULL and its token to 0: the state of a dead slot.
    mutating func clearCells(_ s: Int) {
        for i in 0..<ints.count { ints[i][s] = intNulls[i] }
        for i in 0..<floats.count { floats[i][s] = ColumnDefinition.floatNullSentinel }
        for i in 0..<decimals.count { decimals[i][s] = VoltDecimal.nullSentinel }
        for i in 0..<varCount { refs[s * varCount + i] = VarRef.null }
        tokens[s] = 0
    }

    @inline(__always)
    func isLiveBitSet(_ s: Int) -> Bool { liveBits[s >> 6] & (1 << UInt64(s & 63)) != 0 }

    @inline(__always)
    mutating func setLive(_ s: Int, _ live: Bool) {
        if live { liveBits[s >> 6] |= 1 << UInt64(s & 63) } else { liveBits[s >> 6] &= ~(1 << UInt64(s & 63)) }
    }

    mutating func truncateArena(to length: Int) {
        precondition(length <= arena.count, "arena of table \(name) is shorter than its mark")
        arena.removeLast(arena.count - length)
    }

    /// Rewrites the arena with only the bytes of live rows, in slot order.
    mutating func compactArena() {
        precondition(pendingRecords == 0, "compacting table \(name) with uncommitted records")
        var fresh: [UInt8] = []
        // Room for as much garbage as live bytes again, so the arena does not regrow (a copy and a
        // round of page faults) before the next compaction. Only touched pages become resident.
        fresh.reserveCapacity(2 * (arena.count - arenaGarbage) + TableStorage.compactionMinimumGarbageBytes)
        arena.withUnsafeBufferPointer { old in
            for s in 0..<slotCount {
                let live = isLiveBitSet(s)
                for st in 0..<varCount {
                    let r = refs[s * varCount + st]
                    precondition(live || r == VarRef.null, "dead slot \(s) of table \(name) still references the arena")
                    guard r != VarRef.null else { continue }
                    let offset = fresh.count
                    fresh.append(contentsOf: UnsafeBufferPointer(rebasing: old[VarRef.offset(r)..<VarRef.offset(r) + VarRef.length(r)]))
                    refs[s * varCount + st] = VarRef.make(offset: offset, length: VarRef.length(r))
                }
            }
        }
        precondition(fresh.count == arena.count - arenaGarbage,
                     "table \(name): arena holds \(fresh.count) live bytes, accounting says \(arena.count - arenaGarbage)")
        arena = fresh
        arenaGarbage = 0
        if case .singleVar(let c) = primaryKeyShape {
            // A single var-length key's map payload is its arena reference, which just moved.
            let moved = refs, stride = varCount, store = layout[c].store
            primaryMap.refreshPayloads { moved[Int($0) &* stride &+ store] }
        }
    }

    /// Validates a row and brings any value not in stored form to it via `ColumnDefinition.coerce`.
    func prepare(_ row: [Value]) throws(StorageError) -> [Value] {
        precondition(row.count == layout.count, "row has \(row.count) values; table \(name) has \(layout.count) columns")
        var fixed: [Value]? = nil
        for c in 0..<layout.count where !isStorable(row[c], c) {
            let v = try definition.columns[c].coerce(row[c])
            if fixed == nil { fixed = row }
            fixed![c] = v
        }
        let out = fixed ?? row
        for c in keyColumnsNotNull where out[c].isNull {
            throw StorageError(kind: .nullNotAllowed,
                               message: "Constraint violation: column \(definition.columns[c].name) of table \(name) is a key column and does not allow NULL")
        }
        return out
    }

    /// Whether a value is already in the exact stored form of column `c` and fits it.
    @inline(__always)
    func isStorable(_ v: Value, _ c: Int) -> Bool {
        let l = layout[c]
        switch v {
        case .null: return l.nullable
        case .integer(let x): return l.kind == .int64 && l.type != .timestamp && x > l.intNull && x <= l.intMax
        case .timestamp(let x): return l.type == .timestamp && x != Int64.min
        case .float(let d):
            return l.kind == .float64 && d.isFinite && d > ColumnDefinition.floatNullSentinel
                && !(d == 0 && d.sign == .minus)
        case .decimal(let d): return l.kind == .decimal && d.unscaled.magnitude <= VoltDecimal.maxUnscaled.magnitude
        case .string(let s): return l.type == .varchar && s.utf8.count <= l.fastByteLimit
        case .bytes(let b): return l.type == .varbinary && b.count <= l.fastByteLimit
        }
    }

    /// The stable hash of one mutation, folded into the log's determinism hash.
    func mutationHash(_ op: UndoRecord.Op, before: (UInt64, UInt64)?, after: (UInt64, UInt64)?) -> UInt64 {
        var h = StableHasher(seed: nameHash)
        h.combine(byte: op.rawValue)
        if let b = before { h.combine(word: b.0); h.combine(word: b.1) }
        if let a = after { h.combine(word: a.0); h.combine(word: a.1) }
        return h.finalize64()
    }
}
