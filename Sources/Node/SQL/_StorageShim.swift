// TEMPORARY stand-in for the storage layer (branch `storage`), written against exactly the public
// API that branch publishes so the SQL layer can build and be tested before it lands. Arrays and
// linear scans only; the lead deletes this file when merging the real storage. Nothing in the SQL
// layer may depend on anything here beyond that published API.

public struct ColumnDefinition: Sendable, Hashable {
    public var name: String
    public var type: SQLType
    public var maxLength: Int?
    public var lengthInBytes: Bool
    public var nullable: Bool
    public var defaultValue: Value?

    public init(name: String, type: SQLType, maxLength: Int? = nil, lengthInBytes: Bool = false,
                nullable: Bool = true, defaultValue: Value? = nil) {
        self.name = name
        self.type = type
        self.maxLength = maxLength
        self.lengthInBytes = lengthInBytes
        self.nullable = nullable
        self.defaultValue = defaultValue
    }

    public func coerce(_ value: Value) throws(StorageError) -> Value {
        if value.isNull {
            if !nullable { throw StorageError(kind: .nullNotAllowed, message: "Column \(name) has no default and is not nullable", constraint: nil) }
            return .null
        }
        func mismatch() -> StorageError {
            StorageError(kind: .typeMismatch, message: "Value \(value) cannot be stored in column \(name) of type \(type)", constraint: nil)
        }
        switch type {
        case .tinyint, .smallint, .integer, .bigint:
            let v: Int64
            switch value {
            case .integer(let i): v = i
            case .float(let d):
                guard let i = Int64(exactly: d) else { throw mismatch() }
                v = i
            case .decimal(let d):
                guard d.unscaled % VoltDecimal.scaleFactor == 0, let i = d.truncatedInt64 else { throw mismatch() }
                v = i
            default: throw mismatch()
            }
            guard type.integerRange!.contains(v) else {
                throw StorageError(kind: .valueOutOfRange, message: "Value \(v) is out of range for column \(name) of type \(type)", constraint: nil)
            }
            return .integer(v)
        case .float:
            guard let d = value.doubleValue, !(value.isTimestamp) else { throw mismatch() }
            return .float(d)
        case .decimal:
            switch value {
            case .decimal: return value
            case .integer(let i): return .decimal(VoltDecimal(i))
            case .float(let d):
                guard let v = VoltDecimal(d) else { throw mismatch() }
                return .decimal(v)
            default: throw mismatch()
            }
        case .varchar:
            guard case .string(let s) = value else { throw mismatch() }
            if let max = maxLength {
                let length = lengthInBytes ? s.utf8.count : s.count
                if length > max {
                    throw StorageError(kind: .valueTooLong, message: "Value for column \(name) is \(length) \(lengthInBytes ? "bytes" : "characters") long, exceeding the limit of \(max)", constraint: nil)
                }
            }
            return value
        case .varbinary:
            guard case .bytes(let b) = value else { throw mismatch() }
            if let max = maxLength, b.count > max {
                throw StorageError(kind: .valueTooLong, message: "Value for column \(name) is \(b.count) bytes long, exceeding the limit of \(max)", constraint: nil)
            }
            return value
        case .timestamp:
            switch value {
            case .timestamp: return value
            case .integer(let i): return .timestamp(i)
            default: throw mismatch()
            }
        }
    }
}

extension Value {
    fileprivate var isTimestamp: Bool { if case .timestamp = self { true } else { false } }
}

public struct UniqueConstraint: Sendable, Hashable {
    public var name: String
    public var columns: [Int]
    public init(name: String, columns: [Int]) { self.name = name; self.columns = columns }
}

public struct TableDefinition: Sendable, Hashable {
    public var name: String
    public var columns: [ColumnDefinition]
    public var primaryKey: UniqueConstraint?
    public var uniqueConstraints: [UniqueConstraint]
    public var partitionColumn: Int?
    public var limitPartitionRows: Int?

    public init(name: String, columns: [ColumnDefinition], primaryKey: UniqueConstraint? = nil,
                uniqueConstraints: [UniqueConstraint] = [], partitionColumn: Int? = nil, limitPartitionRows: Int? = nil) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.uniqueConstraints = uniqueConstraints
        self.partitionColumn = partitionColumn
        self.limitPartitionRows = limitPartitionRows
    }

    public func columnIndex(named name: String) -> Int? { columns.firstIndex { $0.name == name } }
}

public struct IndexDefinition: Sendable, Hashable {
    public var name: String
    public var table: String
    public var columns: [Int]
    public var unique: Bool
    public init(name: String, table: String, columns: [Int], unique: Bool) {
        self.name = name; self.table = table; self.columns = columns; self.unique = unique
    }
}

public struct RowID: Hashable, Comparable, Sendable {
    public let slot: Int32
    public init(slot: Int32) { self.slot = slot }
    public static func < (a: RowID, b: RowID) -> Bool { a.slot < b.slot }
}

public struct StorageError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case constraintViolation, typeMismatch, valueOutOfRange, valueTooLong, nullNotAllowed, partitionRowLimit, internalError
    }
    public var kind: Kind
    public var message: String
    public var constraint: String?
    public init(kind: Kind, message: String, constraint: String? = nil) {
        self.kind = kind; self.message = message; self.constraint = constraint
    }
}

public final class WriteLog {
    private var undo: [() -> Void] = []
    public var determinismHash: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    fileprivate func record(_ row: [Value], _ action: @escaping () -> Void) {
        var bytes: [UInt8] = []
        for v in row { v.appendCanonical(to: &bytes) }
        for b in bytes { determinismHash = (determinismHash ^ UInt64(b)) &* 0x100_0000_01b3 }
        undo.append(action)
    }
    public func rollback() {
        while let action = undo.popLast() { action() }
    }
    public func commit() { undo.removeAll() }
}

public final class Table {
    public let definition: TableDefinition
    private var slots: [[Value]?] = []
    public private(set) var rowCount = 0
    public var memoryBytes: Int { rowCount * 64 }
    public private(set) var indexes: [IndexDefinition] = []

    init(definition: TableDefinition) { self.definition = definition }

    private func keys(_ row: [Value], _ columns: [Int]) -> [Value] { columns.map { row[$0] } }

    private func checkUnique(_ row: [Value], except: Int32?) throws(StorageError) {
        var constraints: [UniqueConstraint] = []
        if let pk = definition.primaryKey { constraints.append(pk) }
        constraints += definition.uniqueConstraints
        constraints += indexes.filter(\.unique).map { UniqueConstraint(name: $0.name, columns: $0.columns) }
        for c in constraints {
            let key = keys(row, c.columns)
            if key.contains(where: \.isNull) { continue }
            for (i, other) in slots.enumerated() where Int32(i) != except {
                if let other, keys(other, c.columns) == key {
                    throw StorageError(kind: .constraintViolation,
                                       message: "Constraint violation: unique constraint \(c.name) on table \(definition.name) is violated by key (\(key.map(\.description).joined(separator: ", ")))",
                                       constraint: c.name)
                }
            }
        }
    }

    private func checked(_ row: [Value]) throws(StorageError) -> [Value] {
        precondition(row.count == definition.columns.count, "row has \(row.count) values for \(definition.columns.count) columns")
        var out: [Value] = []
        for (i, c) in definition.columns.enumerated() { out.append(try c.coerce(row[i])) }
        return out
    }

    public func insert(_ row: [Value], log: WriteLog?) throws(StorageError) -> RowID {
        let row = try checked(row)
        try checkUnique(row, except: nil)
        if let limit = definition.limitPartitionRows, rowCount >= limit {
            throw StorageError(kind: .partitionRowLimit, message: "Table \(definition.name) exceeds the LIMIT PARTITION ROWS of \(limit)")
        }
        slots.append(row)
        rowCount += 1
        let id = RowID(slot: Int32(slots.count - 1))
        log?.record(row) { [unowned self] in self.slots[Int(id.slot)] = nil; self.rowCount -= 1 }
        return id
    }

    public func update(_ id: RowID, to row: [Value], log: WriteLog?) throws(StorageError) {
        let row = try checked(row)
        try checkUnique(row, except: id.slot)
        let old = slots[Int(id.slot)]
        slots[Int(id.slot)] = row
        log?.record(row) { [unowned self] in self.slots[Int(id.slot)] = old }
    }

    public func delete(_ id: RowID, log: WriteLog?) {
        guard let old = slots[Int(id.slot)] else { return }
        slots[Int(id.slot)] = nil
        rowCount -= 1
        log?.record(old) { [unowned self] in self.slots[Int(id.slot)] = old; self.rowCount += 1 }
    }

    public func upsert(_ row: [Value], log: WriteLog?) throws(StorageError) -> (id: RowID, inserted: Bool) {
        guard let pk = definition.primaryKey else {
            throw StorageError(kind: .internalError, message: "Table \(definition.name) has no primary key")
        }
        if let id = lookup(primaryKey: keys(row, pk.columns)) {
            try update(id, to: row, log: log)
            return (id, false)
        }
        return (try insert(row, log: log), true)
    }

    public func value(_ id: RowID, _ column: Int) -> Value { slots[Int(id.slot)]![column] }
    public func row(_ id: RowID) -> [Value] { slots[Int(id.slot)]! }

    public func forEachRow(_ body: (RowID) throws -> Bool) rethrows {
        for i in slots.indices where slots[i] != nil {
            if try !body(RowID(slot: Int32(i))) { return }
        }
    }

    public func lookup(primaryKey key: [Value]) -> RowID? {
        guard let pk = definition.primaryKey else { return nil }
        for (i, row) in slots.enumerated() {
            if let row, keys(row, pk.columns) == key { return RowID(slot: Int32(i)) }
        }
        return nil
    }

    public func addIndex(_ index: IndexDefinition) throws(StorageError) {
        indexes.append(index)
    }

    public func dropIndex(named: String) { indexes.removeAll { $0.name == named } }

    public func indexLookup(_ index: String, prefix: [Value]) -> [RowID] {
        indexScan(index, lower: prefix, lowerInclusive: true, upper: prefix, upperInclusive: true, descending: false, limit: nil)
    }

    private static func comparePrefix(_ key: [Value], _ bound: [Value]) -> Int {
        for i in 0..<min(key.count, bound.count) {
            let c = Value.compare(key[i], bound[i])
            if c != 0 { return c }
        }
        return 0
    }

    public func indexScan(_ index: String, lower: [Value]?, lowerInclusive: Bool, upper: [Value]?, upperInclusive: Bool,
                          descending: Bool, limit: Int?) -> [RowID] {
        guard let def = indexes.first(where: { $0.name == index }) else { return [] }
        var hits: [([Value], RowID)] = []
        for (i, row) in slots.enumerated() {
            guard let row else { continue }
            let key = keys(row, def.columns)
            if let lower {
                let c = Table.comparePrefix(key, lower)
                if c < 0 || (c == 0 && !lowerInclusive) { continue }
            }
            if let upper {
                let c = Table.comparePrefix(key, upper)
                if c > 0 || (c == 0 && !upperInclusive) { continue }
            }
            hits.append((key, RowID(slot: Int32(i))))
        }
        hits.sort { a, b in
            let c = Table.comparePrefix(a.0, b.0)
            return c != 0 ? c < 0 : a.1 < b.1
        }
        var ids = hits.map(\.1)
        if descending { ids.reverse() }
        if let limit, ids.count > limit { ids = Array(ids.prefix(limit)) }
        return ids
    }
}

public final class PartitionStore {
    private var tables: [String: Table] = [:]
    public init() {}
    public func table(named: String) -> Table? { tables[named] }
    public func createTable(_ def: TableDefinition) -> Table {
        let t = Table(definition: def)
        tables[def.name] = t
        return t
    }
    public func dropTable(named: String) { tables[named] = nil }
    public func attach(_ table: Table) { tables[table.definition.name] = table }
    public var tableNames: [String] { tables.keys.sorted() }
}
