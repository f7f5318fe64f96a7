// One transaction's record of what it changed: the undo log, and a running determinism hash that
// replicas compare after running the same invocation.
//
// Records are appended by `Table` as each mutation succeeds (a mutation that throws leaves no
// record and no trace). `rollback()` undoes them newest first, which restores each table exactly:
// the same live slots, the same free-slot list in the same order, the same var-length arena bytes
// and garbage count, the same index contents and so the same memory accounting. That exactness
// rests on three rules the table keeps while it has records in an open log:
//   * the var-length arena is append-only (no compaction), so an undo can truncate it to the length
//     recorded before the mutation and every older reference stays valid;
//   * a deleted row's slot is not put on the free list until `commit()`, so its cells survive for
//     an undo and no later insert of the same transaction can reuse it;
//   * every mutation of the table goes through this same log (checked by precondition).
// `commit()` settles the records (frees the deleted slots, in deletion order) and forgets them.
//
// The determinism hash folds, for every successful mutation in order: the table name's stable
// hash, the operation, and the stable 128-bit hash of the canonical bytes of the row — the new row
// for an insert or update, the old row for a delete — never a slot number, which may legitimately
// differ between a source and a bulk-loaded copy. (An update's old row is left out: it costs a
// cache miss per update, and a replica whose old row differed already diverged in an earlier,
// hashed mutation.) It survives `commit()` and `rollback()`; `resetDeterminismHash()` starts a new one when a
// log is reused.

/// One transaction's record of what it changed: the undo log and a running determinism hash.
public final class WriteLog {
    /// Order-dependent fold over every mutation (table name, op, slot-independent row bytes).
    public private(set) var determinismHash: UInt64 = 0

    var records: [UndoRecord] = []

    public init() {}

    deinit {
        precondition(records.isEmpty,
                     "a WriteLog with \(records.count) uncommitted records was dropped; call commit() or rollback()")
    }

    public var isEmpty: Bool { records.isEmpty }
    public var count: Int { records.count }

    /// Undoes every mutation in reverse order, leaving tables byte-identical to before the
    /// transaction (same slots, same index contents, same memory accounting).
    public func rollback() {
        rollback(to: 0)
    }

    /// Forgets the undo records (keeps the hash readable).
    public func commit() {
        // One access to `records` for the whole loop, not one per record.
        records.withUnsafeBufferPointer { committed in
            for r in committed { r.table.settle(r) }
        }
        records.removeAll(keepingCapacity: true)
    }

    /// Starts a fresh determinism hash, for a log reused by the next transaction.
    public func resetDeterminismHash() {
        determinismHash = 0
    }

    func rollback(to mark: Int) {
        while records.count > mark {
            let r = records.removeLast()
            r.table.undo(r)
        }
    }

    func append(_ record: UndoRecord) {
        records.append(record)
    }

    func fold(_ mutationHash: UInt64) {
        determinismHash = StableHasher.fold(determinismHash, mutationHash)
    }

    /// Restores a hash saved before a bulk operation that failed as a whole.
    func restoreDeterminismHash(_ h: UInt64) {
        determinismHash = h
    }
}

/// The raw bits of one cell: integers, floats and var-length references in `lo`; DECIMAL in both.
struct CellImage {
    var column: Int32
    var lo: UInt64
    var hi: UInt64
}

/// How to undo one mutation of one table.
struct UndoRecord {
    enum Op: UInt8 { case insert, delete, update }

    let table: Table
    let op: Op
    let slot: Int32
    /// insert: the slot came off the free list (else it was appended at the end).
    let fromFreeList: Bool
    /// update: the row's token before (its partition key or, replicated, its content changed).
    let oldToken: Int32
    let tokenChanged: Bool
    /// The arena length and garbage count before the mutation.
    let arenaMark: Int
    let garbageMark: Int
    /// update: the first changed column's old cell, then any others.
    let firstCell: CellImage
    let moreCells: [CellImage]

    static let noCell = CellImage(column: -1, lo: 0, hi: 0)
}
