// The schema values the storage layer is built from: columns, tables, constraints, indexes, and the
// row identifier. Plain Sendable values, so the catalog can hand them between threads; a `Table`
// built from one is owned by a single site thread.

/// One column of a table. Names are upper-cased identifiers.
public struct ColumnDefinition: Sendable, Hashable {
    public var name: String
    public var type: SQLType
    /// VARCHAR(n) / VARBINARY(n); nil for fixed-width types. For VARCHAR the unit is characters
    /// (Unicode scalars) unless `lengthInBytes`. A nil length on a variable-length column means
    /// VoltDB's largest column, `ColumnDefinition.maxVariableLengthBytes` bytes.
    public var maxLength: Int?
    /// VARCHAR(n BYTES).
    public var lengthInBytes: Bool
    public var nullable: Bool
    /// nil = no default (NULL if nullable). The executor applies defaults; storage only stores.
    public var defaultValue: Value?

    /// VoltDB's limit on one variable-length value: 1 MiB.
    public static let maxVariableLengthBytes = 1_048_576

    public init(name: String, type: SQLType, maxLength: Int? = nil, lengthInBytes: Bool = false,
                nullable: Bool = true, defaultValue: Value? = nil) {
        self.name = name
        self.type = type
        self.maxLength = maxLength
        self.lengthInBytes = lengthInBytes
        self.nullable = nullable
        self.defaultValue = defaultValue
    }
}

/// A PRIMARY KEY or UNIQUE constraint: its name and its columns by ordinal, in key order.
public struct UniqueConstraint: Sendable, Hashable {
    public var name: String
    public var columns: [Int]

    public init(name: String, columns: [Int]) {
        self.name = name
        self.columns = columns
    }
}

public struct TableDefinition: Sendable, Hashable {
    public var name: String
    public var columns: [ColumnDefinition]
    /// Columns by ordinal. Primary key columns are NOT NULL whatever their column says.
    public var primaryKey: UniqueConstraint?
    public var uniqueConstraints: [UniqueConstraint]
    /// nil = replicated table. The partition column is NOT NULL whatever its column says (VoltDB
    /// rejects nullable partition columns in DDL).
    public var partitionColumn: Int?
    /// LIMIT PARTITION ROWS n: inserts beyond n rows in this partition fail.
    public var limitPartitionRows: Int?

    public init(name: String, columns: [ColumnDefinition], primaryKey: UniqueConstraint? = nil,
                uniqueConstraints: [UniqueConstraint] = [], partitionColumn: Int? = nil,
                limitPartitionRows: Int? = nil) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.uniqueConstraints = uniqueConstraints
        self.partitionColumn = partitionColumn
        self.limitPartitionRows = limitPartitionRows
    }

    public var isReplicated: Bool { partitionColumn == nil }

    public func columnIndex(named name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }
}

/// A secondary index (CREATE [UNIQUE] INDEX). Columns by ordinal, in key order.
public struct IndexDefinition: Sendable, Hashable {
    public var name: String
    public var table: String
    public var columns: [Int]
    public var unique: Bool

    public init(name: String, table: String, columns: [Int], unique: Bool = false) {
        self.name = name
        self.table = table
        self.columns = columns
        self.unique = unique
    }
}

/// A row's place in its table. Valid until the row is deleted; a slot is reused (last freed, first
/// reused) by a later insert, so a RowID must not be held across transactions.
public struct RowID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let slot: Int32

    public init(slot: Int32) { self.slot = slot }

    public static func < (a: RowID, b: RowID) -> Bool { a.slot < b.slot }

    public var description: String { "row \(slot)" }
}
