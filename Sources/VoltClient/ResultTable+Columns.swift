// Reading system-procedure results by column name. VoltDB's system tables are read by name, not
// position (the Python client does the same, case-insensitively), so a server that adds or
// reorders columns still reads correctly. A missing column reads as nil.

import VoltModel

extension ResultTable {
    /// The index of the column called `name`, compared case-insensitively.
    public func columnIndex(_ name: String) -> Int? {
        let wanted = name.uppercased()
        return columns.firstIndex { $0.name.uppercased() == wanted }
    }

    /// The cell of `row` in column `name` as text (numbers as digits); nil when NULL or absent.
    public func text(_ row: [Value], _ name: String) -> String? {
        guard let i = columnIndex(name), i < row.count else { return nil }
        switch row[i] {
        case .null: return nil
        case .string(let s): return s
        default: return SQLValueText.render(row[i])
        }
    }

    /// The cell of `row` in column `name` as an integer (a numeric string counts); nil otherwise.
    public func integer(_ row: [Value], _ name: String) -> Int64? {
        guard let i = columnIndex(name), i < row.count else { return nil }
        switch row[i] {
        case .integer(let n): return n
        case .string(let s): return Int64(s.trimmingCharacters())
        case .decimal(let d): return d.truncatedInt64
        case .float(let f): return Int64(exactly: f.rounded(.towardZero))
        default: return nil
        }
    }

    /// The cell of `row` in column `name` as a floating-point number (any number, or a numeric
    /// string); nil otherwise.
    public func double(_ row: [Value], _ name: String) -> Double? {
        guard let i = columnIndex(name), i < row.count else { return nil }
        if case .string(let s) = row[i] { return Double(s.trimmingCharacters()) }
        return row[i].doubleValue
    }
}
