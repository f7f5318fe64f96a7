// Wire parameters to engine values (docs/PROTOCOL.md §3.5). The engine already
// converts each value to the type its procedure inferred for that parameter (integer widths,
// numeric strings, hexadecimal text for VARBINARY, with a message naming the parameter when it
// cannot), so this layer only maps what the engine has no `Value` for:
//
// - BOOLEAN → INTEGER 1 or 0 (VoltDB stores booleans as TINYINT);
// - DATE → TIMESTAMP at midnight UTC of that day;
// - a TINYINT array (Java's `byte[]`, what the Python client sends for `bytes` declared TINYINT)
//   → VARBINARY, as Java's ParameterConverter does;
// - other arrays, GEOGRAPHY and GEOGRAPHY_POINT → refused with a message: no SQL procedure here
//   takes them (`IN ?` lists are not supported yet);
// - VOLTTABLE → refused, except by the bulk-load system procedures, which read it themselves.

import VoltModel
import VoltWire

/// A parameter the server cannot pass to a procedure; answered GRACEFUL_FAILURE.
struct ParameterError: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension WireParameter {
    /// The engine value of parameter `index` of `procedure`.
    func engineValue(index: Int, procedure: String) throws(ParameterError) -> Value {
        switch self {
        case .value(let v, _):
            return v
        case .boolean(let b):
            return b.map { .integer($0 ? 1 : 0) } ?? .null
        case .date(let d):
            guard let d else { return .null }
            guard (1...12).contains(d.month), (1...31).contains(d.day) else {
                throw ParameterError("Parameter \(index) of \(procedure): \(d) is not a valid DATE")
            }
            return .timestamp(Self.daysFromCivil(year: d.year, month: d.month, day: d.day) * 86_400_000_000)
        case .byteArray(let bytes):
            return .bytes(bytes)
        case .array(_, let elementType):
            throw ParameterError("Parameter \(index) of \(procedure) is an array of \(elementType.name); "
                + "array parameters are not supported by SQL procedures: pass one value per parameter")
        case .geographyPoint, .geography:
            throw ParameterError("Parameter \(index) of \(procedure) is a GEOGRAPHY value; geospatial types are not supported")
        case .table:
            throw ParameterError("Parameter \(index) of \(procedure) is a VOLTTABLE; only @LoadSinglepartitionTable and "
                + "@LoadMultipartitionTable take table parameters")
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The values of a whole parameter set.
    static func engineValues(_ parameters: [WireParameter], procedure: String) throws(ParameterError) -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(parameters.count)
        for (i, p) in parameters.enumerated() { values.append(try p.engineValue(index: i, procedure: procedure)) }
        return values
    }
}
