// Value semantics of the SQL layer: conversion between types (parameters, literals, CAST),
// arithmetic, comparison, LIKE and timestamp text.
//
// Choices, following VoltDB:
// - Integer arithmetic is done in BIGINT with overflow detection ("Attempted to add ... causing
//   overflow/underflow"); any FLOAT operand makes the result FLOAT; otherwise any DECIMAL operand
//   makes it DECIMAL. Integer division truncates toward zero. Division (and %) by zero is an error
//   for every numeric type (VoltDB raises it for integers and decimals; we also raise it for FLOAT
//   instead of producing infinities, which the wire cannot round-trip deterministically).
// - Booleans have no SQL type here: predicates evaluate to INTEGER 1 / 0, or NULL for unknown.
// - Conversions to an integer type truncate a FLOAT/DECIMAL toward zero and check the target range
//   ("... out of range ..." is `valueOutOfRange`). Strings convert to numbers when they parse, to
//   TIMESTAMP from `YYYY-MM-DD[ HH:MM:SS[.ffffff]]`, and to VARBINARY from hexadecimal text.
//   Numbers convert to VARCHAR as their decimal text (so an INTEGER wire parameter compared with a
//   VARCHAR column works, as Java's ParameterConverter does).
// - Comparing values of unrelated kinds (a string with a number) is a `typeMismatch` error.

enum SQLValues {
    static let trueValue = Value.integer(1)
    static let falseValue = Value.integer(0)

    @inline(__always)
    static func bool(_ b: Bool) -> Value { b ? trueValue : falseValue }

    /// Whether a predicate result selects the row (true; not false or unknown).
    @inline(__always)
    static func isTrue(_ v: Value) -> Bool {
        if case .integer(let i) = v { return i != 0 }
        return false
    }

    static func typeName(_ v: Value) -> String {
        switch v {
        case .null: "NULL"
        case .integer: "BIGINT"
        case .float: "FLOAT"
        case .decimal: "DECIMAL"
        case .string: "VARCHAR"
        case .bytes: "VARBINARY"
        case .timestamp: "TIMESTAMP"
        }
    }

    // MARK: conversion

    static func convert(_ v: Value, to t: SQLType) throws(SQLError) -> Value {
        func mismatch() -> SQLError {
            SQLError(.typeMismatch, "Type \(typeName(v)) with value \(v) can't be cast as \(t.name)")
        }
        switch (v, t) {
        case (.null, _): return .null
        case (.integer(let i), _) where t.isInteger: return try checkRange(i, t, v)
        case (.float(let d), _) where t.isInteger:
            guard d.isFinite, let i = Int64(exactly: d.rounded(.towardZero)) else {
                throw SQLError(.valueOutOfRange, "Type FLOAT with value \(d) can't be cast as \(t.name) because the value is out of range for the destination type")
            }
            return try checkRange(i, t, v)
        case (.decimal(let d), _) where t.isInteger:
            guard let i = d.truncatedInt64 else {
                throw SQLError(.valueOutOfRange, "Type DECIMAL with value \(d) can't be cast as \(t.name) because the value is out of range for the destination type")
            }
            return try checkRange(i, t, v)
        case (.string(let s), _) where t.isInteger:
            let s = s.sqlTrimmed
            if let i = Int64(s) { return try checkRange(i, t, v) }
            if let d = VoltDecimal(string: s) { return try convert(.decimal(d), to: t) }
            throw mismatch()
        case (.timestamp(let i), _) where t.isInteger: return try checkRange(i, t, v)
        case (.integer(let i), .float): return .float(Double(i))
        case (.float, .float): return v
        case (.decimal(let d), .float): return .float(d.doubleValue)
        case (.string(let s), .float):
            guard let d = Double(s.sqlTrimmed) else { throw mismatch() }
            return .float(d)
        case (.integer(let i), .decimal): return .decimal(VoltDecimal(i))
        case (.float(let d), .decimal):
            guard let x = VoltDecimal(d) else { throw SQLError(.valueOutOfRange, "Type FLOAT with value \(d) can't be cast as DECIMAL because the value is out of range for the destination type") }
            return .decimal(x)
        case (.decimal, .decimal): return v
        case (.string(let s), .decimal):
            guard let x = VoltDecimal(string: s) else { throw mismatch() }
            return .decimal(x)
        case (.string, .varchar): return v
        case (.integer(let i), .varchar): return .string(String(i))
        case (.float(let d), .varchar): return .string(String(d))
        case (.decimal(let d), .varchar): return .string(d.description)
        case (.timestamp(let t), .varchar): return .string(formatTimestamp(t))
        case (.bytes, .varbinary): return v
        case (.string(let s), .varbinary):
            guard let b = decodeHex(s) else { throw mismatch() }
            return .bytes(b)
        case (.timestamp, .timestamp): return v
        case (.integer(let i), .timestamp): return .timestamp(i)
        case (.string(let s), .timestamp):
            guard let t = parseTimestamp(s) else {
                throw SQLError(.typeMismatch, "Can't convert '\(s)' to a TIMESTAMP; expected YYYY-MM-DD HH:MM:SS.ffffff")
            }
            return .timestamp(t)
        default: throw mismatch()
        }
    }

    // `try?` on typed-throws calls is avoided in this layer (it crashed this toolchain); these
    // wrappers catch explicitly instead.
    static func convertOrNil(_ v: Value, to t: SQLType) -> Value? {
        do { return try convert(v, to: t) } catch { return nil }
    }

    private static func checkRange(_ i: Int64, _ t: SQLType, _ original: Value) throws(SQLError) -> Value {
        guard t.integerRange!.contains(i) else {
            throw SQLError(.valueOutOfRange, "Type \(typeName(original)) with value \(original) can't be cast as \(t.name) because the value is out of range for the destination type")
        }
        return .integer(i)
    }

    static func decodeHex(_ s: String) -> [UInt8]? { Hex.decode(s) }

    // MARK: comparison

    /// Three-way comparison of two non-null values; unrelated kinds are an error.
    @inline(__always)
    static func compare(_ a: Value, _ b: Value) throws(SQLError) -> Int {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.string, .string), (.bytes, .bytes), (.timestamp, .timestamp): return Value.compare(a, b)
        case (.integer, _), (.float, _), (.decimal, _):
            switch b {
            case .integer, .float, .decimal: return Value.compare(a, b)
            default: break
            }
        default: break
        }
        throw SQLError(.typeMismatch, "Can't compare \(typeName(a)) value \(a) with \(typeName(b)) value \(b)")
    }

    static func compareOp(_ op: String, _ a: Value, _ b: Value) throws(SQLError) -> Value {
        if a.isNull || b.isNull { return .null }
        let c = try compare(a, b)
        switch op {
        case "=": return bool(c == 0)
        case "<>": return bool(c != 0)
        case "<": return bool(c < 0)
        case "<=": return bool(c <= 0)
        case ">": return bool(c > 0)
        default: return bool(c >= 0)
        }
    }

    // MARK: arithmetic

    static func arithmetic(_ op: String, _ a: Value, _ b: Value) throws(SQLError) -> Value {
        if a.isNull || b.isNull { return .null }
        switch (a, b) {
        case (.integer(let x), .integer(let y)):
            let r: (Int64, Bool)
            switch op {
            case "+": r = x.addingReportingOverflow(y)
            case "-": r = x.subtractingReportingOverflow(y)
            case "*": r = x.multipliedReportingOverflow(by: y)
            case "/":
                guard y != 0 else { throw SQLError(.divisionByZero, "Attempted to divide \(x) by 0") }
                r = x.dividedReportingOverflow(by: y)
            default:
                guard y != 0 else { throw SQLError(.divisionByZero, "Attempted to divide \(x) by 0") }
                r = x.remainderReportingOverflow(dividingBy: y)
            }
            if r.1 || r.0 == Int64.min {
                let verb = ["+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "divide"][op]!
                throw SQLError(.valueOutOfRange, "Attempted to \(verb) \(x) \(op == "+" ? "with" : "by") \(y) causing overflow/underflow")
            }
            return .integer(r.0)
        case (.float, _), (_, .float):
            guard let x = a.doubleValue, let y = b.doubleValue, isNumber(a), isNumber(b) else { throw arithmeticMismatch(op, a, b) }
            switch op {
            case "+": return .float(x + y)
            case "-": return .float(x - y)
            case "*": return .float(x * y)
            case "/":
                guard y != 0 else { throw SQLError(.divisionByZero, "Attempted to divide \(x) by 0") }
                return .float(x / y)
            default:
                guard y != 0 else { throw SQLError(.divisionByZero, "Attempted to divide \(x) by 0") }
                return .float(x.truncatingRemainder(dividingBy: y))
            }
        case (.decimal, _), (_, .decimal):
            guard let x = asDecimal(a), let y = asDecimal(b) else { throw arithmeticMismatch(op, a, b) }
            let r: VoltDecimal?
            switch op {
            case "+": r = x + y
            case "-": r = x - y
            case "*": r = x * y
            case "/":
                guard y.unscaled != 0 else { throw SQLError(.divisionByZero, "Attempted to divide \(x) by 0") }
                r = x / y
            default:
                guard y.unscaled != 0 else { throw SQLError(.divisionByZero, "Attempted to divide \(x) by 0") }
                r = VoltDecimal(checkedUnscaled: x.unscaled % y.unscaled)
            }
            guard let r else { throw SQLError(.valueOutOfRange, "Attempted DECIMAL arithmetic \(x) \(op) \(y) causing overflow/underflow") }
            return .decimal(r)
        default:
            throw arithmeticMismatch(op, a, b)
        }
    }

    private static func isNumber(_ v: Value) -> Bool {
        switch v {
        case .integer, .float, .decimal: true
        default: false
        }
    }

    private static func asDecimal(_ v: Value) -> VoltDecimal? {
        switch v {
        case .decimal(let d): d
        case .integer(let i): VoltDecimal(i)
        default: nil
        }
    }

    private static func arithmeticMismatch(_ op: String, _ a: Value, _ b: Value) -> SQLError {
        SQLError(.typeMismatch, "Operator \(op) is not defined for \(typeName(a)) and \(typeName(b))")
    }

    static func arithmeticResultType(_ a: SQLType?, _ b: SQLType?) -> SQLType? {
        switch (a, b) {
        case (nil, nil): return nil
        case (.float?, _), (_, .float?): return .float
        case (.decimal?, _), (_, .decimal?): return .decimal
        default: return .bigint
        }
    }

    // MARK: LIKE

    /// A compiled LIKE pattern over Unicode scalars: `%` any run, `_` any one character.
    struct LikePattern: Sendable {
        enum Element: Sendable, Equatable { case literal(Unicode.Scalar), one, any }
        let elements: [Element]

        init(_ pattern: String, escape: Unicode.Scalar?) throws(SQLError) {
            var out: [Element] = []
            var escaping = false
            for s in pattern.unicodeScalars {
                if escaping { out.append(.literal(s)); escaping = false; continue }
                if let escape, s == escape { escaping = true; continue }
                switch s {
                case "%": if out.last != .any { out.append(.any) }
                case "_": out.append(.one)
                default: out.append(.literal(s))
                }
            }
            if escaping { throw SQLError(.typeMismatch, "LIKE pattern '\(pattern)' ends with its escape character") }
            elements = out
        }

        func matches(_ text: String) -> Bool {
            let t = Array(text.unicodeScalars)
            var ti = 0, pi = 0
            var starP = -1, starT = 0
            while ti < t.count {
                if pi < elements.count {
                    switch elements[pi] {
                    case .any: starP = pi; starT = ti; pi += 1; continue
                    case .one: ti += 1; pi += 1; continue
                    case .literal(let c) where c == t[ti]: ti += 1; pi += 1; continue
                    default: break
                    }
                }
                guard starP >= 0 else { return false }
                pi = starP + 1
                starT += 1
                ti = starT
            }
            while pi < elements.count, elements[pi] == .any { pi += 1 }
            return pi == elements.count
        }
    }

    // MARK: timestamps

    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff`, VoltDB's TIMESTAMP text.
    static func formatTimestamp(_ micros: Int64) -> String {
        let days = floorDiv(micros, 86_400_000_000)
        let rest = micros - days * 86_400_000_000
        let (y, m, d) = civilFromDays(days)
        let secs = rest / 1_000_000
        let frac = rest % 1_000_000
        func pad(_ v: Int64, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2)).\(pad(frac, 6))"
    }

    static func parseTimestamp(_ text: String) -> Int64? {
        let s = Array(text.sqlTrimmed.utf8)
        var i = 0
        func number(_ maxDigits: Int) -> Int64? {
            var v: Int64 = 0
            var n = 0
            while i < s.count, n < maxDigits, s[i] >= 0x30, s[i] <= 0x39 { v = v * 10 + Int64(s[i] - 0x30); i += 1; n += 1 }
            return n == 0 ? nil : v
        }
        func expect(_ c: UInt8) -> Bool { if i < s.count, s[i] == c { i += 1; return true }; return false }
        guard let y = number(4), expect(UInt8(ascii: "-")), let mo = number(2), expect(UInt8(ascii: "-")), let d = number(2),
              (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var micros = daysFromCivil(y, mo, d) * 86_400_000_000
        if i == s.count { return micros }
        guard expect(0x20) || expect(UInt8(ascii: "T")), let h = number(2), expect(UInt8(ascii: ":")), let mi = number(2),
              expect(UInt8(ascii: ":")), let sec = number(2), h < 24, mi < 60, sec < 60 else { return nil }
        micros += ((h * 60 + mi) * 60 + sec) * 1_000_000
        if expect(UInt8(ascii: ".")) {
            let start = i
            guard var f = number(6) else { return nil }
            for _ in 0..<(6 - (i - start)) { f *= 10 }
            micros += f
            while i < s.count, s[i] >= 0x30, s[i] <= 0x39 { i += 1 }
        }
        return i == s.count ? micros : nil
    }
}
