// `@SystemCatalog` selectors built from a catalog value: TABLES, COLUMNS, PRIMARYKEYS, PROCEDURES
// and INDEXINFO, with VoltDB's column names, types and order (JdbcDatabaseMetaDataGenerator;
// docs/PROTOCOL.md §5.5–5.7). Clients parse these by name: `VoltClient` reads
// PROCEDURES' PROCEDURE_NAME and REMARKS JSON for routing, `VoltBulkLoader` reads COLUMNS
// (TABLE_NAME upper case, ORDINAL_POSITION 1-based, REMARKS "PARTITION_COLUMN") and PRIMARYKEYS,
// case-sensitively.
//
// Rows are sorted (tables by name, then columns by ordinal or index columns by position,
// procedures by name) so equal catalogs give byte-equal results — what the procedures push
// compares.

import VoltCLI
import VoltModel

enum SystemCatalogTables {
    static let selectors = ["COLUMNS", "INDEXINFO", "PRIMARYKEYS", "PROCEDURES", "TABLES"]

    static func table(_ selector: String, _ catalog: Catalog) -> ResultTable? {
        switch selector {
        case "TABLES": tables(catalog)
        case "COLUMNS": columns(catalog)
        case "PRIMARYKEYS": primaryKeys(catalog)
        case "PROCEDURES": procedures(catalog)
        case "INDEXINFO": indexInfo(catalog)
        default: nil
        }
    }

    private static func s(_ text: String?) -> Value { text.map(Value.string) ?? .null }
    private static func i(_ v: Int?) -> Value { v.map { .integer(Int64($0)) } ?? .null }

    private static var definitions: (Catalog) -> [TableDefinition] {
        { catalog in catalog.tableNames.compactMap { catalog.table(named: $0) } }
    }

    static func tables(_ catalog: Catalog) -> ResultTable {
        let names = ["TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS", "TYPE_CAT", "TYPE_SCHEM",
                     "TYPE_NAME", "SELF_REFERENCING_COL_NAME", "REF_GENERATION"]
        let rows: [[Value]] = definitions(catalog).map { t in
            let remarks = t.partitionColumn.map {
                JSONWriter(style: .compact).render(["partitionColumn": .string(t.columns[$0].name)])
            }
            return [.null, .null, .string(t.name), .string("TABLE"), s(remarks), .null, .null, .null, .null, .null]
        }
        return ResultTable(columns: names.map { .init($0, .varchar) }, rows: rows)
    }

    static func columns(_ catalog: Catalog) -> ResultTable {
        let columns: [ResultTable.Column] = [
            .init("TABLE_CAT", .varchar), .init("TABLE_SCHEM", .varchar), .init("TABLE_NAME", .varchar),
            .init("COLUMN_NAME", .varchar), .init("DATA_TYPE", .integer), .init("TYPE_NAME", .varchar),
            .init("COLUMN_SIZE", .integer), .init("BUFFER_LENGTH", .integer), .init("DECIMAL_DIGITS", .integer),
            .init("NUM_PREC_RADIX", .integer), .init("NULLABLE", .integer), .init("REMARKS", .varchar),
            .init("COLUMN_DEF", .varchar), .init("SQL_DATA_TYPE", .integer), .init("SQL_DATETIME_SUB", .integer),
            .init("CHAR_OCTET_LENGTH", .integer), .init("ORDINAL_POSITION", .integer), .init("IS_NULLABLE", .varchar),
            .init("SCOPE_CATALOG", .varchar), .init("SCOPE_SCHEMA", .varchar), .init("SCOPE_TABLE", .varchar),
            .init("SOURCE_DATA_TYPE", .smallint), .init("IS_AUTOINCREMENT", .varchar),
        ]
        var rows: [[Value]] = []
        for t in definitions(catalog) {
            let keyColumns = Set(t.primaryKey?.columns ?? [])
            for (ordinal, c) in t.columns.enumerated() {
                let nullable = c.nullable && !keyColumns.contains(ordinal) && t.partitionColumn != ordinal
                let size: Int? = switch c.type {
                case .tinyint: 7
                case .smallint: 15
                case .integer: 31
                case .bigint: 63
                case .float: 53
                case .decimal: 38
                case .timestamp: 26
                case .varchar, .varbinary: c.maxLength ?? ColumnDefinition.maxVariableLengthBytes
                }
                let digits: Int? = c.type.isInteger ? 0 : (c.type == .decimal ? 12 : nil)
                let radix: Int? = c.type.isInteger || c.type == .float ? 2 : (c.type == .decimal ? 10 : nil)
                let octets: Int? = c.type == .varchar || c.type == .varbinary ? size : nil
                rows.append([
                    .null, .null, .string(t.name), .string(c.name), i(jdbcType(c.type)), .string(c.type.name),
                    i(size), .null, i(digits), i(radix), i(nullable ? 1 : 0),
                    t.partitionColumn == ordinal ? .string("PARTITION_COLUMN") : .null,
                    c.defaultValue.map { .string($0.description) } ?? .null, .null, .null, i(octets),
                    i(ordinal + 1), .string(nullable ? "YES" : "NO"), .null, .null, .null, .null, .string("NO"),
                ])
            }
        }
        return ResultTable(columns: columns, rows: rows)
    }

    /// java.sql.Types of a column type.
    static func jdbcType(_ type: SQLType) -> Int {
        switch type {
        case .tinyint: -6
        case .smallint: 5
        case .integer: 4
        case .bigint: -5
        case .float: 8
        case .decimal: 3
        case .varchar: 12
        case .varbinary: -3
        case .timestamp: 93
        }
    }

    static func primaryKeys(_ catalog: Catalog) -> ResultTable {
        let columns: [ResultTable.Column] = [
            .init("TABLE_CAT", .varchar), .init("TABLE_SCHEM", .varchar), .init("TABLE_NAME", .varchar),
            .init("COLUMN_NAME", .varchar), .init("KEY_SEQ", .smallint), .init("PK_NAME", .varchar),
        ]
        var rows: [[Value]] = []
        for t in definitions(catalog) {
            guard let pk = t.primaryKey else { continue }
            for (position, c) in pk.columns.enumerated() {
                rows.append([.null, .null, .string(t.name), .string(t.columns[c].name), i(position + 1), .string(pk.name)])
            }
        }
        return ResultTable(columns: columns, rows: rows)
    }

    static func procedures(_ catalog: Catalog) -> ResultTable {
        let columns: [ResultTable.Column] = [
            .init("PROCEDURE_CAT", .varchar), .init("PROCEDURE_SCHEM", .varchar), .init("PROCEDURE_NAME", .varchar),
            .init("RESERVED1", .varchar), .init("RESERVED2", .varchar), .init("RESERVED3", .varchar),
            .init("REMARKS", .varchar), .init("PROCEDURE_TYPE", .smallint), .init("SPECIFIC_NAME", .varchar),
        ]
        let rows: [[Value]] = catalog.procedures.map { p in
            [.null, .null, .string(p.name), .null, .null, .null, .string(remarks(p)), .integer(0), .string(p.name)]
        }
        return ResultTable(columns: columns, rows: rows)
    }

    /// The REMARKS JSON the Python client routes by (§5.5), keys in Java's order.
    static func remarks(_ p: CompiledProcedure) -> String {
        let json: JSONValue
        switch p.partitioning {
        case .single(let index, let type):
            json = ["readOnly": .bool(p.readOnly), "singlePartition": true, "partitionParameter": .int(index),
                    "partitionParameterType": .int(Int(type.rawValue)), "compound": false]
        case .singleConstant, .multi:
            // A procedure pinned by a literal key has no parameter to hash: clients route it as
            // multi-partition work, which any host accepts.
            json = ["readOnly": .bool(p.readOnly), "singlePartition": false, "compound": false]
        }
        return JSONWriter(style: .compact).render(json)
    }

    static func indexInfo(_ catalog: Catalog) -> ResultTable {
        let columns: [ResultTable.Column] = [
            .init("TABLE_CAT", .varchar), .init("TABLE_SCHEM", .varchar), .init("TABLE_NAME", .varchar),
            .init("NON_UNIQUE", .tinyint), .init("INDEX_QUALIFIER", .varchar), .init("INDEX_NAME", .varchar),
            .init("TYPE", .smallint), .init("ORDINAL_POSITION", .smallint), .init("COLUMN_NAME", .varchar),
            .init("ASC_OR_DESC", .varchar), .init("CARDINALITY", .integer), .init("PAGES", .integer),
            .init("FILTER_CONDITION", .varchar),
        ]
        var indexes: [(table: String, name: String, unique: Bool, columns: [Int])] = []
        for t in definitions(catalog) {
            if let pk = t.primaryKey { indexes.append((t.name, pk.name, true, pk.columns)) }
        }
        for index in catalog.indexes { indexes.append((index.table, index.name, index.unique, index.columns)) }
        indexes.sort { ($0.table, $0.name) < ($1.table, $1.name) }
        var rows: [[Value]] = []
        for index in indexes {
            guard let t = catalog.table(named: index.table) else { continue }
            for (position, c) in index.columns.enumerated() {
                rows.append([.null, .null, .string(index.table), i(index.unique ? 0 : 1), .null, .string(index.name),
                             i(3), i(position + 1), .string(t.columns[c].name), .string("A"), i(0), i(0), .null])
            }
        }
        return ResultTable(columns: columns, rows: rows)
    }
}
