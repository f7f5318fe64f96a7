// Result tables as sqlcmd prints them, in the three output formats of `--output-format`.
//
// A query's table is printed with a header (a dashed rule under it in the fixed format) and then,
// after a blank line, `(Returned N rows in 0.01s)`. A DML statement's one-row `modified_tuples`
// table prints only that footer with its count, as sqlcmd does. `--output-skip-metadata` leaves
// out the header, the rule and the footer: data rows only, for scripts.
//
// Columns of numeric SQL types are right-aligned in the fixed format and everything else is
// left-aligned: the column's type decides, not whether its cells happen to look like numbers, so
// a VARCHAR of digits stays left-aligned. A column without a name is shown as C1, C2, … by
// position, as VoltDB names expression columns.

import VoltCLI
import VoltModel

/// Renders result tables for `voltctl sql`.
public struct SQLResultFormatter: Sendable {
    public var format: TableFormat
    public var showsMetadata: Bool

    public init(format: TableFormat = .fixed, showsMetadata: Bool = true) {
        self.format = format
        self.showsMetadata = showsMetadata
    }

    /// The count of a DML result (one row, one BIGINT column named `modified_tuples` or unnamed).
    public static func modifiedTuples(_ table: ResultTable) -> Int64? {
        guard table.columns.count == 1, table.rows.count == 1,
              table.columns[0].type == .bigint || table.columns[0].type == .integer,
              table.columns[0].name.isEmpty || table.columns[0].name.lowercased() == "modified_tuples",
              case .integer(let n) = table.rows[0][0]
        else { return nil }
        return n
    }

    /// The table's cells as text, aligned by column type.
    public static func textTable(_ table: ResultTable) -> TextTable {
        let columns = table.columns.enumerated().map { index, column in
            TextTable.Column(
                column.name.isEmpty ? "C\(index + 1)" : column.name,
                alignment: column.type.isNumeric ? .right : .left)
        }
        return TextTable(columns: columns, rows: table.rows.map { $0.map(SQLValueText.render) })
    }

    /// A query's table, then its footer when metadata is shown. No final newline.
    public func render(_ table: ResultTable, elapsedSeconds: Double) -> String {
        let body = TableRenderer(format: format, includesHeader: showsMetadata).render(Self.textTable(table))
        guard showsMetadata else { return body }
        let footer = Self.footer(rows: Int64(table.rows.count), elapsedSeconds: elapsedSeconds)
        return body.isEmpty ? footer : body + "\n\n" + footer
    }

    /// What a DML statement prints: its footer, or nothing without metadata.
    public func renderModifiedCount(_ count: Int64, elapsedSeconds: Double) -> String? {
        showsMetadata ? Self.footer(rows: count, elapsedSeconds: elapsedSeconds) : nil
    }

    static func footer(rows: Int64, elapsedSeconds: Double) -> String {
        "(Returned \(rows) rows in \(TextFormat.fixed(elapsedSeconds, decimals: 2))s)"
    }

    /// The line an error response prints: `ERROR (GRACEFUL_FAILURE): message`.
    public static func errorLine(statusCode: Int8, message: String?) -> String {
        let name = ClientStatus(rawValue: statusCode)?.name ?? "status \(statusCode)"
        let text = message.map { $0.isEmpty ? "(no message)" : $0 } ?? "(no message)"
        return "ERROR (\(name)): \(text)"
    }
}
