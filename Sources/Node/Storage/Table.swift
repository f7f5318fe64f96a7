// One table of one partition replica: rows in column storage, its primary-key map, its ordered
// indexes and its token index. Owned by exactly one site thread (a final class, not Sendable, no
// locks); everything it does is a function of the calls made on it, so replicas that make the same
// calls hold byte-identical tables.
//
// Code shape. `Table` is the public face and the identity a WriteLog records; all state and logic
// live in the struct `TableStorage` it holds. A class's stored properties get a dynamic
// exclusivity check on every access, which on the lookup/update path cost more than the work
// itself; inside a struct's methods the same accesses are checked at compile time, so each public
// call pays for one dynamic check instead of dozens. Reads go through `reading { }` (an inout
// access) because calling a non-mutating method on the stored struct would copy it first, and
// searches inside mutating methods are factored into non-mutating helpers because a closure that
// captures a mutating `self` copies the whole struct on every call.
//
// Layout. A row lives in a slot, an index into every column array. Each column is one contiguous
// typed array chosen by its physical kind:
//   * TINYINT…BIGINT and TIMESTAMP: `[Int64]`, NULL as VoltDB's sentinel for the width (the
//     minimum of the width; -2^63 for TIMESTAMP), which also sorts NULL first;
//   * FLOAT: `[Double]`, NULL as VoltDB's -1.7E308 (coercion keeps real values above it);
//   * DECIMAL: `[Int128]` of the unscaled value, NULL as -2^127;
//   * VARCHAR / VARBINARY: `UInt64` references into one byte arena per table, each packing
//     `offset << 24 | (length + 1)`, 0 for NULL (so lengths up to 16 MiB − 2, offsets up to 1 TiB).
//     The references of all var-length columns share one array, row by row (`refs[s * varCount +
//     i]`), so that a row's key and value references cost one cache miss, not one per column.
// Per slot the table also keeps the row's ring token (`[Int32]`) and a liveness bit. Dead slots hold
// "cleared" cells (NULL everywhere, token 0) and wait on a LIFO free list; an insert takes the most
// recently freed slot, else appends one. The arena is append-only; bytes of overwritten or deleted
// values are counted as garbage and reclaimed by compacting the arena (live rows in slot order)
// when garbage passes half of it — only between transactions: when a commit settles the table's
// last record, or before a mutation made without a log.
//
// Indexes, all keyed by slots so that nothing duplicates row data:
//   * the primary key: a `SlotHashMap` from the key's stable hash to the slot. Its buckets carry
//     the key itself for a single integer key and the key's arena reference for a single
//     VARCHAR/VARBINARY key, so a probe is confirmed without reading the row (one memory miss for
//     an integer key, two for a string key); other keys are compared in column storage. No
//     allocation on lookup;
//   * ordered indexes, one for the primary key (so it can serve range scans), one per UNIQUE
//     constraint and one per CREATE INDEX: a `BlockList` of slots ordered by the key columns
//     (compared as `Value.compare` does, NULL first) and then by slot;
//   * the token index: a `BlockList` of packed (token, slot) words, for range iteration, range
//     deletes and range checksums.
//
// Tokens. For a partitioned table a row's token is its partition key's MurmurHash3 token, computed
// exactly as `Value.partitionToken(as:)` does. The partition key is NOT NULL (VoltDB requires it of
// partition columns). A replicated table has no partition key; its rows get a content token, the
// upper 32 bits of the row's stable hash, so that the same chunked range streaming, range
// checksums and range deletes can copy replicated tables; `TokenRange.all` covers the whole table.
// A content token is not a routing token.
//
// Invariants (checked by `verifyInvariants()` in tests, by preconditions where cheap):
//   * `rowCount` = live bits set = entries in the primary map, in every ordered index, and in the
//     token index; every one of those entries names a live slot with that slot's current key;
//   * `tokens[s]` equals the token computed from the live row in slot s;
//   * arena length − garbage = the bytes referenced by live rows;
//   * each primary-map entry's payload is current (refreshed when the arena compacts);
//   * a slot is on the free list only when dead and cleared; a deleted slot is not on the free list
//     until the transaction that deleted it commits (so its cells survive for an undo);
//   * no mutation while `forEachRow` runs; no mutation except through the WriteLog that holds this
//     table's uncommitted records.
//
// Uniqueness: the primary key and unique constraints/indexes reject a second row with an equal
// key, except that UNIQUE keys containing a NULL never collide (SQL semantics). Primary-key and
// partition columns are NOT NULL.

public final class Table {
    public let definition: TableDefinition
    var store: TableStorage

    public init(definition: TableDefinition) {
        self.definition = definition
        store = TableStorage(definition: definition)
    }

    /// Runs a read of the storage in place. Calling a non-mutating method on `store` directly
    /// would first copy the whole struct (retaining each of its arrays); an inout access borrows
    /// it, at the price of one dynamic exclusivity check.
    @inline(__always)
    func reading<R>(_ body: (inout TableStorage) -> R) -> R {
        body(&store)
    }

    public var name: String { definition.name }

    /// The tokens this table's partition owns. Set by the site for partitioned tables; an insert
    /// (or an update that re-homes a row) whose key hashes elsewhere then fails as mispartitioned
    /// instead of hiding a row where no single-partition call would look for it.
    public var ownership: TokenOwnership? {
        get { store.ownership }
        set { store.ownership = newValue }
    }
    public var rowCount: Int { store.rowCount }

    /// Deterministic estimate: column storage + var-length arena + indexes. Counts entries, not
    /// capacities, so a rollback restores it exactly.
    public var memoryBytes: Int { reading { $0.memoryBytes } }

    /// Every ordered index, constraint-backed ones included (named after their constraint: the
    /// primary key's and each UNIQUE constraint's), sorted by name.
    public var indexes: [IndexDefinition] { store.ordered.map(\.definition) }

    // MARK: Rows

    /// Inserts a row (already coerced by the caller; types, NOT NULL and lengths are checked again
    /// cheaply, and anything not in stored form is coerced). Checks the primary key, unique
    /// constraints, unique indexes and LIMIT PARTITION ROWS.
    @discardableResult
    public func insert(_ row: [Value], log: WriteLog?) throws(StorageError) -> RowID {
        try store.insert(row, log: log, owner: self)
    }

    /// Replaces a live row's values. Indexes are touched only where a key column changed.
    public func update(_ id: RowID, to row: [Value], log: WriteLog?) throws(StorageError) {
        try store.update(id, to: row, log: log, owner: self)
    }

    /// Deletes a live row. With a log, its slot is freed when the log commits.
    public func delete(_ id: RowID, log: WriteLog?) {
        store.delete(id, log: log, owner: self)
    }

    /// Inserts the row, or updates the row with its primary key. The table must have a primary key.
    public func upsert(_ row: [Value], log: WriteLog?) throws(StorageError) -> (id: RowID, inserted: Bool) {
        try store.upsert(row, log: log, owner: self)
    }

    public func value(_ id: RowID, _ column: Int) -> Value {
        reading { s in
            s.checkLive(id)
            return s.cellValue(column, Int(id.slot))
        }
    }

    public func row(_ id: RowID) -> [Value] {
        reading { s in
            s.checkLive(id)
            return s.rowValues(Int(id.slot))
        }
    }

    /// Calls `body` for each live row in slot order until it returns false. `body` must not mutate
    /// this table (checked).
    public func forEachRow(_ body: (RowID) throws -> Bool) rethrows {
        store.iterationDepth += 1
        defer { store.iterationDepth -= 1 }
        var w = 0
        while w < store.liveBits.count {
            var bits = store.liveBits[w]
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                bits &= bits - 1
                if try !body(RowID(slot: Int32(w << 6 | b))) { return }
            }
            w += 1
        }
    }

    // MARK: Indexes

    /// The row with this primary key. Allocation-free for keys already in stored form.
    public func lookup(primaryKey key: [Value]) -> RowID? {
        reading { s in
            precondition(key.count == s.primaryKeyColumns.count,
                         "primary key of table \(s.name) has \(s.primaryKeyColumns.count) columns, probe has \(key.count)")
            return s.primaryKeySlot { key[$0] }.map(RowID.init(slot:))
        }
    }

    /// `lookup(primaryKey: [value])` for a single-column primary key, without the array.
    public func lookup(primaryKeyValue value: Value) -> RowID? {
        reading { s in
            precondition(s.primaryKeyColumns.count == 1, "primary key of table \(s.name) has \(s.primaryKeyColumns.count) columns")
            return s.primaryKeySlot { _ in value }.map(RowID.init(slot:))
        }
    }

    /// Builds a secondary index over the live rows. A unique index that finds a duplicate throws
    /// and leaves nothing behind. Not part of any transaction: the table must have no uncommitted
    /// records.
    public func addIndex(_ index: IndexDefinition) throws(StorageError) {
        try store.addIndex(index)
    }

    /// Drops a secondary index; no-op if there is none of that name. Constraint-backed indexes
    /// cannot be dropped.
    public func dropIndex(named: String) {
        store.dropIndex(named: named)
    }

    /// Equality on a prefix of the index columns, in index order then RowID order. A NULL probe
    /// value matches stored NULLs.
    public func indexLookup(_ index: String, prefix: [Value]) -> [RowID] {
        reading { $0.indexLookup(index, prefix: prefix) }
    }

    /// Range scan on the index's first columns: bounds are value lists compared as a prefix; nil =
    /// unbounded. Ascending key order with ties by RowID, or that whole order reversed when
    /// `descending`; at most `limit` rows. NULLs sort first: `lower: [.null]` exclusive skips them.
    public func indexScan(_ index: String, lower: [Value]?, lowerInclusive: Bool, upper: [Value]?,
                          upperInclusive: Bool, descending: Bool, limit: Int?) -> [RowID] {
        reading {
            $0.indexScan(index, lower: lower, lowerInclusive: lowerInclusive, upper: upper,
                         upperInclusive: upperInclusive, descending: descending, limit: limit)
        }
    }

    // MARK: Token ranges

    /// The row's token: its partition key's token, or a replicated table's content token.
    public func token(of id: RowID) -> Token {
        reading { s in
            s.checkLive(id)
            return Token(s.tokens[Int(id.slot)])
        }
    }

    /// Rows whose token is in `range` and after `cursor`, in ascending token order: at least
    /// `maxRows` of them unless the range runs out first, never splitting one token's rows.
    /// `resumeAfter` is the cursor for the next chunk, nil when the range is exhausted.
    public func rows(in range: TokenRange, after cursor: Token?, maxRows: Int) -> (rows: [[Value]], resumeAfter: Token?) {
        reading { $0.rows(in: range, after: cursor, maxRows: maxRows) }
    }

    /// Inserts every row, or none: on the first failure the rows already inserted are undone (in
    /// `log` if given, which keeps its earlier records and hash) and the error is thrown.
    public func bulkLoad(_ rows: [[Value]], log: WriteLog?) throws(StorageError) {
        let target = log ?? WriteLog()
        let mark = target.count
        let hashMark = target.determinismHash
        do throws(StorageError) {
            for r in rows { _ = try store.insert(r, log: target, owner: self) }
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
        let slots = reading { $0.slots(in: range) }
        for s in slots { store.delete(RowID(slot: s), log: log, owner: self) }
        return slots.count
    }

    public func rowCount(in range: TokenRange) -> Int {
        reading { $0.rowCount(in: range) }
    }

    /// Order-independent digest and count of the rows whose token is in `range`.
    public func checksum(in range: TokenRange) -> RangeChecksum {
        reading { $0.checksum(in: range) }
    }

    /// The whole table's checksum.
    public func checksum() -> RangeChecksum {
        reading { $0.checksum() }
    }

    // MARK: WriteLog callbacks

    func undo(_ r: UndoRecord) { store.undo(r) }
    func settle(_ r: UndoRecord) { store.settle(r) }
    var pendingRecords: Int { store.pendingRecords }

    // MARK: Self-checks (tests)

    func verifyInvariants() { reading { $0.verifyInvariants() } }
    func stateImage() -> [UInt8] { reading { $0.stateImage() } }
}
