/// The column types the engine stores. Raw values are VoltDB's wire type codes
/// (docs/PROTOCOL.md §1.3), so a type can be written to a result table as is.
public enum SQLType: Int8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case tinyint = 3
    case smallint = 4
    case integer = 5
    case bigint = 6
    case float = 8
    case varchar = 9
    case timestamp = 11
    case decimal = 22
    case varbinary = 25

    /// The SQL name, as `@SystemCatalog COLUMNS` reports it.
    public var name: String {
        switch self {
        case .tinyint: "TINYINT"
        case .smallint: "SMALLINT"
        case .integer: "INTEGER"
        case .bigint: "BIGINT"
        case .float: "FLOAT"
        case .varchar: "VARCHAR"
        case .timestamp: "TIMESTAMP"
        case .decimal: "DECIMAL"
        case .varbinary: "VARBINARY"
        }
    }

    public var description: String { name }

    public var isInteger: Bool {
        switch self {
        case .tinyint, .smallint, .integer, .bigint: true
        default: false
        }
    }

    public var isNumeric: Bool { isInteger || self == .float || self == .decimal }

    /// Whether a table may be partitioned on a column of this type (VoltDB: integers, strings, bytes).
    public var isPartitionable: Bool { isInteger || self == .varchar || self == .varbinary }

    /// The inclusive range of an integer type. The minimum of each width is VoltDB's NULL sentinel,
    /// so the usable range starts one above it.
    public var integerRange: ClosedRange<Int64>? {
        switch self {
        case .tinyint: Int64(Int8.min) + 1 ... Int64(Int8.max)
        case .smallint: Int64(Int16.min) + 1 ... Int64(Int16.max)
        case .integer: Int64(Int32.min) + 1 ... Int64(Int32.max)
        case .bigint: Int64.min + 1 ... Int64.max
        default: nil
        }
    }

    /// The NULL sentinel VoltDB uses for an integer type of this width.
    public var integerNullSentinel: Int64? {
        switch self {
        case .tinyint: Int64(Int8.min)
        case .smallint: Int64(Int16.min)
        case .integer: Int64(Int32.min)
        case .bigint, .timestamp: Int64.min
        default: nil
        }
    }

    public init?(sqlName: String) {
        switch sqlName.uppercased() {
        case "TINYINT": self = .tinyint
        case "SMALLINT": self = .smallint
        case "INTEGER", "INT": self = .integer
        case "BIGINT": self = .bigint
        case "FLOAT", "DOUBLE", "REAL": self = .float
        case "VARCHAR", "STRING": self = .varchar
        case "TIMESTAMP": self = .timestamp
        case "DECIMAL": self = .decimal
        case "VARBINARY": self = .varbinary
        default: return nil
        }
    }
}
