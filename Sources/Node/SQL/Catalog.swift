// The catalog: an immutable value holding tables, indexes and procedures (user-defined and VoltDB's
// default CRUD procedures). DDL never mutates a catalog; `applying(ddl:)` validates a whole batch
// against a working copy and returns a new catalog with `version + 1` plus the storage changes for
// the engine to apply to every site — or throws, leaving nothing changed.
//
// Rules, following VoltDB:
// - Names are upper-cased unless quoted; table, index and procedure lookups are case-insensitive.
// - PRIMARY KEY columns and the partition column are implicitly NOT NULL. VARCHAR and VARBINARY
//   default to length 1 (VoltDB's default); VARCHAR(n BYTES) counts bytes.
// - PARTITION TABLE t ON COLUMN c: c must be of an integer, VARCHAR or VARBINARY type; every PRIMARY
//   KEY and UNIQUE constraint (and UNIQUE index) of a partitioned table must include c, because
//   uniqueness is only enforced within a partition (ASSUMEUNIQUE opts out, as in VoltDB).
// - Every UNIQUE constraint gets a backing unique index named after the constraint, so the planner
//   can use it. The primary key is served by `Table.lookup(primaryKey:)` and gets no extra index
//   (keeping the hot insert path to one structure); range scans over a PK need an explicit index.
// - Procedures are recompiled from their SQL after every DDL batch, so a batch that drops or
//   changes a table a procedure uses fails with that procedure's planning error.
// - Default CRUD procedures follow docs/PROTOCOL.md §5.12 exactly.
// - Schema changes are computed by diffing the old and new catalogs (sorted by name: index drops,
//   table drops, table creates with their indexes, index creates). Re-partitioning an existing table
//   is emitted as drop + create; VoltDB only allows it on empty tables and so do we in effect.

public struct Catalog: Sendable {
    public static let empty = Catalog()

    public private(set) var version: Int64 = 0
    /// Every DDL batch applied to reach this catalog, in order: replaying them on an empty catalog
    /// rebuilds it (a rejoining host receives its schema this way).
    public private(set) var ddlHistory: [String] = []
    var tables: [String: TableDefinition] = [:]
    var indexDefinitions: [String: IndexDefinition] = [:]
    /// Indexes that back a UNIQUE constraint (not droppable on their own).
    var constraintIndexes: Set<String> = []
    var procedureSources: [String: CreateProcedureStatement] = [:]     // keyed by upper-cased name
    var compiledProcedures: [String: CompiledProcedure] = [:]          // keyed by upper-cased name

    var view: CatalogView { CatalogView(tables: tables, indexes: indexDefinitions, version: version) }

    public func table(named name: String) -> TableDefinition? { tables[name.uppercased()] ?? tables[name] }

    public var tableNames: [String] { tables.keys.sorted() }

    public var indexes: [IndexDefinition] { indexDefinitions.values.sorted { $0.name < $1.name } }

    public func procedure(named name: String) -> CompiledProcedure? { compiledProcedures[name.uppercased()] }

    public var procedures: [CompiledProcedure] { compiledProcedures.values.sorted { $0.name < $1.name } }

    // MARK: DDL

    public func applying(ddl: String) throws(SQLError) -> (catalog: Catalog, changes: [SchemaChange]) {
        var next = self
        for text in SQLScript.split(ddl) {
            let statement = try Parser.parse(text)
            try next.apply(statement)
        }
        next.version = version + 1
        next.ddlHistory.append(ddl)
        try next.recompileProcedures()
        return (next, changes(to: next))
    }

    private func err(_ kind: SQLError.Kind, _ message: String, _ p: SourcePosition) -> SQLError {
        SQLError(kind, "\(message) at line \(p.line), column \(p.column)", position: (p.line, p.column))
    }

    private mutating func apply(_ statement: Statement) throws(SQLError) {
        switch statement {
        case .createTable(let s): try createTable(s)
        case .createIndex(let name, let table, let columns, let unique, let assumeUnique, let p):
            guard let def = tables[table] else { throw err(.unknownTable, "Object not found: \(table)", p) }
            guard indexDefinitions[name] == nil else { throw err(.duplicateObject, "Object name already exists: \(name)", p) }
            var cols: [Int] = []
            for (c, cp) in columns {
                guard let i = def.columnIndex(named: c) else { throw err(.unknownColumn, "Column \(c) not found in table \(table)", cp) }
                cols.append(i)
            }
            if unique, !assumeUnique, let pc = def.partitionColumn, !cols.contains(pc) {
                throw err(.planning, "Unique index \(name) on partitioned table \(table) must include the partition column \(def.columns[pc].name) (or be ASSUMEUNIQUE)", p)
            }
            indexDefinitions[name] = IndexDefinition(name: name, table: table, columns: cols, unique: unique)
        case .dropTable(let name, let ifExists, _, let p):
            guard tables[name] != nil else {
                if ifExists { return }
                throw err(.unknownTable, "Object not found: \(name)", p)
            }
            tables[name] = nil
            for (n, i) in indexDefinitions where i.table == name { indexDefinitions[n] = nil; constraintIndexes.remove(n) }
        case .dropIndex(let name, let ifExists, let p):
            guard indexDefinitions[name] != nil else {
                if ifExists { return }
                throw err(.unknownIndex, "Object not found: \(name)", p)
            }
            if constraintIndexes.contains(name) {
                throw err(.planning, "Index \(name) backs a UNIQUE constraint and cannot be dropped on its own", p)
            }
            indexDefinitions[name] = nil
        case .dropProcedure(let name, let ifExists, let p):
            guard procedureSources.removeValue(forKey: name.uppercased()) != nil else {
                if ifExists { return }
                throw err(.unknownProcedure, "Procedure \(name) was not found", p)
            }
        case .partitionTable(let table, let column, let p):
            guard var def = tables[table] else { throw err(.unknownTable, "Object not found: \(table)", p) }
            guard let c = def.columnIndex(named: column) else { throw err(.unknownColumn, "Column \(column) not found in table \(table)", p) }
            if def.partitionColumn != nil { throw err(.duplicateObject, "Table \(table) is already partitioned", p) }
            guard def.columns[c].type.isPartitionable else {
                throw err(.planning, "Partition column \(table).\(column) has type \(def.columns[c].type.name); it must be an integer, VARCHAR or VARBINARY column", p)
            }
            def.columns[c].nullable = false
            def.partitionColumn = c
            for u in (def.primaryKey.map { [$0] } ?? []) + def.uniqueConstraints where !u.columns.contains(c) {
                if u.name.hasPrefix(Catalog.assumeUniquePrefix) { continue }
                throw err(.planning, "Partition column \(table).\(column) is not included in the unique constraint \(u.name); a PRIMARY KEY or UNIQUE constraint of a partitioned table must include its partition column", p)
            }
            for i in indexDefinitions.values where i.table == table && i.unique && !constraintIndexes.contains(i.name) && !i.columns.contains(c) {
                throw err(.planning, "Partition column \(table).\(column) is not included in the unique index \(i.name)", p)
            }
            def.uniqueConstraints = def.uniqueConstraints.map { UniqueConstraint(name: $0.name.replacingPrefix(Catalog.assumeUniquePrefix), columns: $0.columns) }
            tables[table] = def
            for (n, i) in indexDefinitions where i.table == table && constraintIndexes.contains(n) {
                let clean = n.replacingPrefix(Catalog.assumeUniquePrefix)
                if clean != n {
                    indexDefinitions[n] = nil
                    constraintIndexes.remove(n)
                    indexDefinitions[clean] = IndexDefinition(name: clean, table: i.table, columns: i.columns, unique: i.unique)
                    constraintIndexes.insert(clean)
                }
            }
        case .createProcedure(let s):
            let key = s.name.uppercased()
            if procedureSources[key] != nil || Catalog.isDefaultProcedureName(key, tables: tables) {
                throw err(.duplicateObject, "Procedure \(s.name) already exists", s.position)
            }
            procedureSources[key] = s
        case .select, .insert, .update, .delete:
            throw SQLError(.planning, "Only DDL statements are allowed in a schema change")
        }
    }

    /// Marks ASSUMEUNIQUE constraints while a table may still be partitioned later in the batch.
    static let assumeUniquePrefix = "\u{1}ASSUME:"

    private mutating func createTable(_ s: CreateTableStatement) throws(SQLError) {
        guard tables[s.name] == nil else { throw err(.duplicateObject, "Object name already exists: \(s.name)", s.position) }
        var columns: [ColumnDefinition] = []
        var primaryKey: UniqueConstraint?
        var uniques: [(UniqueConstraint, Bool)] = []
        for c in s.columns {
            if columns.contains(where: { $0.name == c.name }) { throw err(.duplicateObject, "Column \(c.name) is defined twice in table \(s.name)", c.position) }
            var length: Int?
            if c.type.type == .varchar || c.type.type == .varbinary {
                length = c.type.length ?? 1
                guard (1...1_048_576).contains(length!) else { throw err(.valueOutOfRange, "Column \(c.name) length \(length!) is out of range 1 to 1048576", c.position) }
            }
            var def = ColumnDefinition(name: c.name, type: c.type.type, maxLength: length, lengthInBytes: c.type.inBytes,
                                       nullable: !c.notNull && !c.primaryKey, defaultValue: nil)
            if let d = c.defaultValue {
                let compiled = try ExprCompiler(scope: Scope(), parameters: ParameterTypes()).compile(d, hint: c.type.type)
                guard let v = compiled.constant else { throw err(.planning, "DEFAULT of column \(c.name) must be a literal", d.position) }
                if !v.isNull { def.defaultValue = try coerceForColumn(v, ColumnDefinition(name: c.name, type: def.type, maxLength: length, lengthInBytes: c.type.inBytes, nullable: true, defaultValue: nil)) }
            }
            columns.append(def)
            let ci = columns.count - 1
            if c.primaryKey {
                if primaryKey != nil { throw err(.duplicateObject, "Table \(s.name) has more than one PRIMARY KEY", c.position) }
                primaryKey = UniqueConstraint(name: "VOLTDB_AUTOGEN_IDX_PK_\(s.name)_\(c.name)", columns: [ci])
            }
            if c.unique {
                uniques.append((UniqueConstraint(name: "VOLTDB_AUTOGEN_IDX_CT_\(s.name)_\(c.name)", columns: [ci]), c.assumeUnique))
            }
        }
        for k in s.constraints {
            var cols: [Int] = []
            for (n, p) in k.columns {
                guard let i = columns.firstIndex(where: { $0.name == n }) else { throw err(.unknownColumn, "Column \(n) not found in table \(s.name)", p) }
                cols.append(i)
            }
            let suffix = k.columns.map(\.0).joined(separator: "_")
            if k.primaryKey {
                if primaryKey != nil { throw err(.duplicateObject, "Table \(s.name) has more than one PRIMARY KEY", k.position) }
                primaryKey = UniqueConstraint(name: k.name ?? "VOLTDB_AUTOGEN_IDX_PK_\(s.name)_\(suffix)", columns: cols)
                for i in cols { columns[i].nullable = false }
            } else {
                uniques.append((UniqueConstraint(name: k.name ?? "VOLTDB_AUTOGEN_IDX_CT_\(s.name)_\(suffix)", columns: cols), k.assumeUnique))
            }
        }
        var constraintNames: Set<String> = primaryKey.map { [$0.name] } ?? []
        for (u, _) in uniques {
            guard constraintNames.insert(u.name).inserted, indexDefinitions[u.name] == nil else {
                throw err(.duplicateObject, "Object name already exists: \(u.name)", s.position)
            }
        }
        let stored = uniques.map { u, assume in assume ? UniqueConstraint(name: Catalog.assumeUniquePrefix + u.name, columns: u.columns) : u }
        tables[s.name] = TableDefinition(name: s.name, columns: columns, primaryKey: primaryKey, uniqueConstraints: stored,
                                         partitionColumn: nil, limitPartitionRows: s.limitPartitionRows)
        for u in stored {
            indexDefinitions[u.name] = IndexDefinition(name: u.name, table: s.name, columns: u.columns, unique: true)
            constraintIndexes.insert(u.name)
        }
    }

    /// Strips the ASSUMEUNIQUE markers of tables that stayed replicated.
    private mutating func finalizeConstraintNames() {
        for (name, var def) in tables where def.uniqueConstraints.contains(where: { $0.name.hasPrefix(Catalog.assumeUniquePrefix) }) {
            def.uniqueConstraints = def.uniqueConstraints.map { UniqueConstraint(name: $0.name.replacingPrefix(Catalog.assumeUniquePrefix), columns: $0.columns) }
            tables[name] = def
        }
        for (n, i) in indexDefinitions where n.hasPrefix(Catalog.assumeUniquePrefix) {
            let clean = n.replacingPrefix(Catalog.assumeUniquePrefix)
            indexDefinitions[n] = nil
            constraintIndexes.remove(n)
            indexDefinitions[clean] = IndexDefinition(name: clean, table: i.table, columns: i.columns, unique: i.unique)
            constraintIndexes.insert(clean)
        }
    }

    // MARK: procedures

    private mutating func recompileProcedures() throws(SQLError) {
        finalizeConstraintNames()
        var compiled: [String: CompiledProcedure] = [:]
        for name in tables.keys.sorted() {
            for p in DefaultProcedures.make(for: tables[name]!, catalogVersion: version) { compiled[p.name.uppercased()] = p }
        }
        for key in procedureSources.keys.sorted() {
            let source = procedureSources[key]!
            if compiled[key] != nil { throw SQLError(.duplicateObject, "Procedure \(source.name) already exists") }
            compiled[key] = try CompiledProcedure.compile(source, catalog: view)
        }
        compiledProcedures = compiled
    }

    static func isDefaultProcedureName(_ upperName: String, tables: [String: TableDefinition]) -> Bool {
        guard let dot = upperName.lastIndex(of: ".") else { return false }
        return tables[String(upperName[..<dot])] != nil
            && ["INSERT", "UPSERT", "SELECT", "UPDATE", "DELETE"].contains(String(upperName[upperName.index(after: dot)...]))
    }

    // MARK: changes

    private func changes(to next: Catalog) -> [SchemaChange] {
        var out: [SchemaChange] = []
        var recreated: Set<String> = []
        for name in tables.keys.sorted() {
            if let n = next.tables[name], n != tables[name] { recreated.insert(name) }
        }
        for (name, i) in indexDefinitions.sorted(by: { $0.key < $1.key })
        where next.tables[i.table] != nil && !recreated.contains(i.table) && next.indexDefinitions[name] != i {
            out.append(.dropIndex(table: i.table, name: name))
        }
        for name in tables.keys.sorted() where next.tables[name] == nil || recreated.contains(name) {
            out.append(.dropTable(name))
        }
        for name in next.tables.keys.sorted() where tables[name] == nil || recreated.contains(name) {
            out.append(.createTable(next.tables[name]!))
            for i in next.indexes where i.table == name { out.append(.createIndex(i)) }
        }
        for i in next.indexes where tables[i.table] != nil && !recreated.contains(i.table) && indexDefinitions[i.name] != i {
            out.append(.createIndex(i))
        }
        return out
    }

    // MARK: ad hoc

    /// Compiles one ad hoc DML/query statement into a procedure (name "@AdHoc").
    public func compileAdHoc(_ sql: String) throws(SQLError) -> CompiledProcedure {
        let parts = SQLScript.split(sql)
        guard parts.count == 1 else {
            throw SQLError(.planning, parts.isEmpty ? "The ad hoc SQL is empty" : "compileAdHoc takes one statement; got \(parts.count)")
        }
        if SQLScript.isDDL(parts[0]) { throw SQLError(.planning, "DDL must go through a schema change, not compileAdHoc") }
        return try CompiledProcedure.compileAdHoc(parts[0], catalog: view)
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
