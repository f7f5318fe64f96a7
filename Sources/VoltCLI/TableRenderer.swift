/// A table of text cells with named columns, ready to render. Cells are already formatted: the
/// caller decides how a value, a NULL or a timestamp reads.
public struct TextTable: Sendable, Equatable {
    public enum Alignment: Sendable, Equatable {
        case left
        case right
        /// Right when every cell that is not empty or `NULL` reads as a number (and there is at
        /// least one), else left.
        case automatic
    }

    public struct Column: Sendable, Equatable {
        public var name: String
        public var alignment: Alignment
        public init(_ name: String, alignment: Alignment = .automatic) {
            self.name = name
            self.alignment = alignment
        }
    }

    public var columns: [Column]
    public var rows: [[String]]

    public init(columns: [Column], rows: [[String]] = []) {
        for (index, row) in rows.enumerated() {
            precondition(
                row.count == columns.count,
                "row \(index) has \(row.count) cells for \(columns.count) columns")
        }
        self.columns = columns
        self.rows = rows
    }

    /// Columns named `headers`, each aligned automatically.
    public init(headers: [String], rows: [[String]] = []) {
        self.init(columns: headers.map { Column($0) }, rows: rows)
    }

    public mutating func append(_ row: [String]) {
        precondition(
            row.count == columns.count,
            "row has \(row.count) cells for \(columns.count) columns")
        rows.append(row)
    }
}

/// `voltctl sql --output-format fixed|csv|tab`.
public enum TableFormat: String, Sendable, CaseIterable {
    /// Columns padded to their widest cell, two spaces apart, a dashed rule under the header;
    /// numeric columns right-aligned. For people.
    case fixed
    /// RFC 4180: a cell is quoted when it holds a comma, a quote, a line break or a leading or
    /// trailing space, with quotes doubled. Lines end with `\n`, not CRLF.
    case csv
    /// Cells separated by one tab; tab, line breaks and backslash inside a cell are written as
    /// `\t`, `\n`, `\r` and `\\`, so each row is exactly one line with a fixed number of fields.
    case tab
}

/// Renders a `TextTable` in one of the `TableFormat`s. Lines are joined with `\n`, with no
/// newline after the last; fixed lines carry no trailing spaces.
public struct TableRenderer: Sendable {
    public var format: TableFormat
    /// False leaves out the header (and the rule of the fixed format): data rows only.
    public var includesHeader: Bool

    public init(format: TableFormat = .fixed, includesHeader: Bool = true) {
        self.format = format
        self.includesHeader = includesHeader
    }

    public func render(_ table: TextTable) -> String {
        switch format {
        case .fixed: return fixed(table).joined(separator: "\n")
        case .csv: return delimited(table, separator: ",", escape: Self.csvField)
        case .tab: return delimited(table, separator: "\t", escape: Self.tabField)
        }
    }

    private func fixed(_ table: TextTable) -> [String] {
        // Fixed output is one line per row, so control characters are shown escaped.
        let rows = table.rows.map { $0.map(Self.tabField) }
        let headers = table.columns.map { Self.tabField($0.name) }
        let widths = table.columns.indices.map { column in
            rows.reduce(includesHeader ? headers[column].count : 0) {
                max($0, $1[column].count)
            }
        }
        let rightAligned = table.columns.indices.map { column in
            switch table.columns[column].alignment {
            case .left: return false
            case .right: return true
            case .automatic: return Self.isNumeric(table.rows.map { $0[column] })
            }
        }
        func line(_ cells: [String]) -> String {
            cells.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - cells[column].count)
                return rightAligned[column] ? padding + cells[column] : cells[column] + padding
            }
            .joined(separator: "  ")
            .trimmingTrailingBlanks()
        }
        var lines: [String] = []
        if includesHeader {
            lines.append(line(headers))
            lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        }
        lines += rows.map(line)
        return lines
    }

    private func delimited(
        _ table: TextTable, separator: String, escape: (String) -> String
    ) -> String {
        var lines: [String] = []
        if includesHeader {
            lines.append(table.columns.map { escape($0.name) }.joined(separator: separator))
        }
        lines += table.rows.map { $0.map(escape).joined(separator: separator) }
        return lines.joined(separator: "\n")
    }

    static func csvField(_ cell: String) -> String {
        let needsQuotes =
            cell.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
            || cell.hasPrefix(" ") || cell.hasSuffix(" ")
        guard needsQuotes else { return cell }
        var quoted = "\""
        for character in cell {
            quoted.append(character)
            if character == "\"" { quoted.append("\"") }
        }
        return quoted + "\""
    }

    static func tabField(_ cell: String) -> String {
        guard cell.unicodeScalars.contains(where: { "\\\t\n\r".unicodeScalars.contains($0) })
        else { return cell }
        var escaped = ""
        for scalar in cell.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\t": escaped += "\\t"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    static func isNumeric(_ cells: [String]) -> Bool {
        var sawNumber = false
        for cell in cells where !cell.isEmpty && cell != "NULL" {
            guard Double(cell) != nil else { return false }
            sawNumber = true
        }
        return sawNumber
    }
}
