// VoltTable serialization (docs/PROTOCOL.md §4.3), used for response tables and for
// the VOLTTABLE (21) parameter the bulk loader sends:
//
//   int32 total length   bytes after this field; the Python reader jumps to start+total, so exact
//   int32 header length  bytes of status, column count, types and names; Java uses it, so exact
//   int8  status         -128 from servers (Java), 0 from the bulk loader
//   int16 column count
//   int8  type × columns
//   string name × columns
//   int32 row count
//   rows: int32 row length (bytes after it), then the bare value of each column (Value+Wire.swift)
//
// The encoder writes into the caller's buffer and back-patches every length, so a table costs no
// intermediate copies. The decoder is strict where the Python reader is lenient — each row length
// and the total length must match the bytes actually read — because a mismatch means the columns
// were misread. It ignores the header length (as Python does) after checking it is not negative:
// the column list it describes is parsed anyway. Column types outside `SQLType` (BOOLEAN, DATE,
// GEOGRAPHY…) are rejected: the Python reader cannot read them either (§1.3).

import VoltModel

extension ResultTable {
    /// The status byte servers put in tables (Java writes -128; the Python reader shows None).
    public static let defaultWireStatus: Int8 = -128

    /// Appends this table's VoltTable serialization.
    public func encodeVoltTable(into w: inout WireWriter, status: Int8 = ResultTable.defaultWireStatus) throws(WireError) {
        let start = w.count
        do {
            try encodeUnchecked(into: &w, status: status)
        } catch {
            w.truncate(to: start)
            throw error
        }
    }

    private func encodeUnchecked(into w: inout WireWriter, status: Int8) throws(WireError) {
        precondition(columns.count <= Int(Int16.max), "a table has at most \(Int16.max) columns, got \(columns.count)")
        let total = w.reserveInt32()
        let header = w.reserveInt32()
        w.writeInt8(status)
        w.writeInt16(Int16(columns.count))
        for column in columns { w.writeInt8(column.type.rawValue) }
        for column in columns { w.writeString(column.name) }
        w.patchLengthOfBytesAfter(header)
        precondition(rows.count <= Int(Int32.max), "a table has at most \(Int32.max) rows, got \(rows.count)")
        w.writeInt32(Int32(rows.count))
        for (rowIndex, row) in rows.enumerated() {
            guard row.count == columns.count else {
                throw WireError(.lengthMismatch(declared: columns.count, actual: row.count),
                                what: "table row \(rowIndex) (values vs columns)", offset: -1)
            }
            let rowLength = w.reserveInt32()
            for (i, value) in row.enumerated() {
                try w.writeValue(value, as: columns[i].type, "table row \(rowIndex) column \(columns[i].name)")
            }
            w.patchLengthOfBytesAfter(rowLength)
        }
        w.patchLengthOfBytesAfter(total)
    }

    /// Reads one VoltTable serialization.
    public static func decodeVoltTable(from r: inout WireReader) throws(WireError) -> ResultTable {
        let totalAt = r.offset
        let total = try r.readInt32("table total length")
        guard total >= 0 else { throw WireError(.invalidLength(Int(total)), what: "table total length", offset: totalAt) }
        guard r.remaining >= Int(total) else {
            throw WireError(.truncated(needed: Int(total), available: r.remaining), what: "table body", offset: r.offset)
        }
        let bodyStart = r.offset
        let headerAt = r.offset
        let headerLength = try r.readInt32("table header length")
        guard headerLength >= 0 else { throw WireError(.invalidLength(Int(headerLength)), what: "table header length", offset: headerAt) }
        _ = try r.readInt8("table status")
        let countAt = r.offset
        let columnCount = Int(try r.readInt16("table column count"))
        // Each column needs at least a type byte and a 4-byte name length.
        guard columnCount >= 0, columnCount * 5 <= r.remaining else {
            throw WireError(.invalidLength(columnCount), what: "table column count", offset: countAt)
        }
        var types: [SQLType] = []
        types.reserveCapacity(columnCount)
        for _ in 0..<columnCount {
            let at = r.offset
            let code = try r.readInt8("table column type")
            guard let type = SQLType(rawValue: code) else {
                throw WireError(.unsupportedType(code), what: "table column type", offset: at)
            }
            types.append(type)
        }
        var columns: [Column] = []
        columns.reserveCapacity(columnCount)
        for i in 0..<columnCount { columns.append(Column(try r.readNonNullString("table column name"), types[i])) }
        let rowCountAt = r.offset
        let rowCount = Int(try r.readInt32("table row count"))
        guard rowCount >= 0, rowCount <= r.remaining / 4 else {
            throw WireError(.invalidLength(rowCount), what: "table row count", offset: rowCountAt)
        }
        var rows: [[Value]] = []
        rows.reserveCapacity(rowCount)
        for _ in 0..<rowCount {
            let lengthAt = r.offset
            let rowLength = try r.readInt32("table row length")
            guard rowLength >= 0, Int(rowLength) <= r.remaining else {
                throw WireError(.invalidLength(Int(rowLength)), what: "table row length", offset: lengthAt)
            }
            let rowStart = r.offset
            var row: [Value] = []
            row.reserveCapacity(columnCount)
            for type in types { row.append(try r.readValue(type, "table cell")) }
            guard r.offset - rowStart == Int(rowLength) else {
                throw WireError(.lengthMismatch(declared: Int(rowLength), actual: r.offset - rowStart), what: "table row", offset: lengthAt)
            }
            rows.append(row)
        }
        guard r.offset - bodyStart == Int(total) else {
            throw WireError(.lengthMismatch(declared: Int(total), actual: r.offset - bodyStart), what: "table", offset: totalAt)
        }
        return ResultTable(columns: columns, rows: rows)
    }
}
