/// A result table as the engine produces it and the wire layer serializes it (a VoltTable).
/// Column types are VoltDB wire types; rows hold `Value`s of those types.
public struct ResultTable: Sendable, Hashable {
    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: SQLType
        public init(_ name: String, _ type: SQLType) { self.name = name; self.type = type }
    }

    public var columns: [Column]
    public var rows: [[Value]]

    public init(columns: [Column], rows: [[Value]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// The one-row, one-column BIGINT table VoltDB returns for DML.
    public static func modifiedTuples(_ count: Int64) -> ResultTable {
        ResultTable(columns: [Column("modified_tuples", .bigint)], rows: [[.integer(count)]])
    }

    /// The single value of a one-row, one-column table (a COUNT(*), a modified-tuples count).
    public var scalar: Value? { rows.count == 1 && columns.count == 1 ? rows[0][0] : nil }
}
