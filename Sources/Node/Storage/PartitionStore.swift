// All tables of one partition replica, by name. Owned by the partition's site thread like its
// tables. Table names are upper-case identifiers; every listing and digest goes by sorted name, so
// nothing depends on dictionary order.

public final class PartitionStore {
    private var tables: [String: Table] = [:]
    /// Table names, sorted.
    public private(set) var tableNames: [String] = []

    public init() {}

    /// The tokens this partition replica owns, applied to every partitioned table (nil: accept
    /// every row). The rebalancer changes it as ranges move in and out.
    public var ownership: TokenOwnership? {
        didSet { for name in tableNames { apply(ownership, to: tables[name]!) } }
    }

    /// The ownership before the running multi-partition transaction changed it (a range moving in
    /// or out), put back if that transaction rolls back; nil when no change is pending.
    private var ownershipBeforeTransaction: TokenOwnership??

    /// Whether this replica owns `token` (true when it has no ownership: it accepts every row).
    @inline(__always)
    public func owns(_ token: Token) -> Bool { ownership?.owns(token) ?? true }

    /// Changes the ownership inside a multi-partition transaction: `settleOwnership` keeps or undoes it.
    public func changeOwnership(to new: TokenOwnership) {
        if ownershipBeforeTransaction == nil { ownershipBeforeTransaction = .some(ownership) }
        ownership = new
    }

    /// The multi-partition transaction ended: keep its ownership change, or put the old one back.
    func settleOwnership(commit: Bool) {
        if !commit, let before = ownershipBeforeTransaction { ownership = before }
        ownershipBeforeTransaction = nil
    }

    private func apply(_ ownership: TokenOwnership?, to table: Table) {
        table.ownership = table.definition.partitionColumn == nil ? nil : ownership
    }

    public func table(named name: String) -> Table? { tables[name] }

    /// Creates an empty table. Its name must be upper-case and not yet used.
    @discardableResult
    public func createTable(_ def: TableDefinition) -> Table {
        precondition(def.name == def.name.uppercased(), "table name \(def.name) is not upper-case")
        precondition(tables[def.name] == nil, "table \(def.name) already exists")
        let table = Table(definition: def)
        apply(ownership, to: table)
        tables[def.name] = table
        tableNames.append(def.name)
        tableNames.sort()
        return table
    }

    /// Drops a table and its rows; no-op if there is none of that name.
    public func dropTable(named name: String) {
        guard let table = tables[name] else { return }
        precondition(table.pendingRecords == 0, "DROP TABLE \(name) while it has uncommitted changes")
        tables[name] = nil
        tableNames.removeAll { $0 == name }
    }

    /// Puts back a table that `dropTable` removed, rows and indexes intact: how a schema
    /// transaction that dropped it is rolled back.
    public func attach(_ table: Table) {
        let name = table.definition.name
        precondition(tables[name] == nil, "cannot attach table \(name): the name is in use")
        apply(ownership, to: table)
        tables[name] = table
        tableNames.append(name)
        tableNames.sort()
    }

    /// Deletes every row of every table, keeping the tables and their indexes (a rejoining replica
    /// discarding a copy it must fetch again).
    public func removeAllRows() {
        for name in tableNames {
            let table = tables[name]!
            var ids: [RowID] = []
            ids.reserveCapacity(table.rowCount)
            table.forEachRow { ids.append($0); return true }
            for id in ids { table.delete(id, log: nil) }
        }
    }

    public var memoryBytes: Int { tableNames.reduce(0) { $0 + tables[$1]!.memoryBytes } }
    public var rowCount: Int { tableNames.reduce(0) { $0 + tables[$1]!.rowCount } }

    /// A deterministic digest of every table's contents, by sorted name, for comparing replicas:
    /// equal iff the replicas hold the same tables with the same multisets of rows (with
    /// overwhelming probability). Independent of slots, insertion order and memory layout.
    public func checksum() -> UInt64 {
        var h = StableHasher(seed: 0x7061_7274)
        for name in tableNames {
            let sum = tables[name]!.checksum()
            h.combine(word: UInt64(name.utf8.count))
            for b in name.utf8 { h.combine(byte: b) }
            h.combine(word: UInt64(sum.rowCount))
            h.combine(word: sum.digest)
            h.combine(word: sum.digest2)
        }
        return h.finalize64()
    }
}
