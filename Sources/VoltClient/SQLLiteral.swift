// Arguments of sqlcmd's `exec PROC arg, arg`: SQL literals, and how each becomes a wire parameter.
//
// Literals: NULL (any case); integers (`-12`; beyond 64 bits they read as decimals); decimals
// (`1.5`, `-.25`, `1e3`); 'strings' with '' for a quote; X'0aFF' byte strings; and, as sqlcmd
// allows, bare words (`abc`), read as strings.
//
// Typing: when the procedure's parameter types are known (from @SystemCatalog PROCEDURECOLUMNS) a
// literal is converted to its parameter's type here, so a mistake is reported before anything is
// sent: an integer for a FLOAT column becomes a FLOAT, a string for a TIMESTAMP is parsed as
// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` (UTC), a string for a VARBINARY as hex. When they are not known
// the literal goes as its natural type (integers BIGINT, decimals DECIMAL — or FLOAT when written with
// an exponent — strings STRING, byte strings VARBINARY) and the
// server coerces it to the parameter's type, as VoltDB's ParameterConverter does.

import VoltModel
import VoltWire

/// One argument of `exec`, as written.
public enum SQLLiteral: Sendable, Equatable {
    case null
    case integer(Int64)
    /// The decimal's text as written (`1.50`, `-2e3`), converted when its type is known.
    case decimal(String)
    case string(String)
    case bytes([UInt8])

    /// Parses a whole argument list: literals separated by commas, blanks or both.
    public static func parseList(_ text: some StringProtocol) throws(SQLInputError) -> [SQLLiteral] {
        var literals: [SQLLiteral] = []
        var rest = Array(text)
        var index = 0
        var expectsValue = true  // after a comma, another literal must follow
        while true {
            while index < rest.count && rest[index].isWhitespace { index += 1 }
            guard index < rest.count else { break }
            if rest[index] == "," {
                if expectsValue { throw SQLInputError("empty argument before ',' in '\(text)'") }
                expectsValue = true
                index += 1
                continue
            }
            let (literal, end) = try readLiteral(&rest, from: index, in: text)
            literals.append(literal)
            index = end
            expectsValue = false
        }
        if expectsValue && !literals.isEmpty { throw SQLInputError("argument list '\(text)' ends with ','") }
        return literals
    }

    private static func readLiteral(_ chars: inout [Character], from start: Int, in text: some StringProtocol)
        throws(SQLInputError) -> (SQLLiteral, Int)
    {
        var index = start
        let isHexPrefix = (chars[index] == "x" || chars[index] == "X") && index + 1 < chars.count && chars[index + 1] == "'"
        if chars[index] == "'" || isHexPrefix {
            if isHexPrefix { index += 1 }
            index += 1
            var body = ""
            while true {
                guard index < chars.count else { throw SQLInputError("unterminated string literal in '\(text)'") }
                let c = chars[index]
                index += 1
                if c == "'" {
                    if index < chars.count && chars[index] == "'" {
                        body.append("'")
                        index += 1
                        continue
                    }
                    break
                }
                body.append(c)
            }
            if index < chars.count && !(chars[index].isWhitespace || chars[index] == ",") {
                throw SQLInputError("expected ',' after the string literal in '\(text)'")
            }
            if isHexPrefix {
                guard let bytes = hexBytes(body) else { throw SQLInputError("X'\(body)' is not an even number of hex digits") }
                return (.bytes(bytes), index)
            }
            return (.string(body), index)
        }
        while index < chars.count && !(chars[index].isWhitespace || chars[index] == ",") { index += 1 }
        let token = String(chars[start..<index])
        if token.uppercased() == "NULL" { return (.null, index) }
        if let n = Int64(token) { return (.integer(n), index) }
        if isNumeric(token) { return (.decimal(token), index) }
        return (.string(token), index)
    }

    /// Whether a token reads as a number: optional sign, digits with at most one point, optional exponent.
    static func isNumeric(_ token: String) -> Bool {
        var chars = token[...]
        if chars.first == "-" || chars.first == "+" { chars = chars.dropFirst() }
        var digits = 0
        var sawPoint = false
        while let c = chars.first, c.isASCII, c.isNumber || c == "." {
            if c == "." {
                if sawPoint { return false }
                sawPoint = true
            } else {
                digits += 1
            }
            chars = chars.dropFirst()
        }
        guard digits > 0 else { return false }
        if let e = chars.first, e == "e" || e == "E" {
            chars = chars.dropFirst()
            if chars.first == "-" || chars.first == "+" { chars = chars.dropFirst() }
            guard !chars.isEmpty, chars.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            return true
        }
        return chars.isEmpty
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = hexValue(digits[i]), let low = hexValue(digits[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        return bytes
    }

    private static func hexValue(_ d: UInt8) -> UInt8? {
        switch d {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// How the literal reads in an error message.
    var written: String {
        switch self {
        case .null: "NULL"
        case .integer(let n): String(n)
        case .decimal(let d): d
        case .string(let s): "'" + s.replacingAll("'", with: "''") + "'"
        case .bytes(let b): "X'" + Value.bytes(b).description + "'"
        }
    }

    // MARK: To wire parameters

    /// The parameter to send: converted to `type` when it is known, else the literal's own type.
    public func wireParameter(for type: SQLType?) throws(SQLInputError) -> WireParameter {
        guard let type else { return naturalParameter }
        if case .null = self { return .value(.null, wireType: WireType(type)) }
        let fail = { () -> SQLInputError in SQLInputError("\(written) is not a valid \(type.name) value") }
        switch type {
        case .tinyint, .smallint, .integer, .bigint:
            let n: Int64
            switch self {
            case .integer(let v): n = v
            case .string(let s): guard let v = Int64(s.trimmingCharacters()) else { throw fail() }; n = v
            case .decimal(let d):
                // 1.0 or 1e3 are whole numbers; 1.5 is not.
                guard let v = Double(d), v.rounded() == v, let w = Int64(exactly: v) else { throw fail() }
                n = w
            default: throw fail()
            }
            guard type.integerRange!.contains(n) else {
                throw SQLInputError("\(written) is out of range for \(type.name) (\(type.integerRange!.lowerBound)...\(type.integerRange!.upperBound))")
            }
            return .value(.integer(n), wireType: WireType(type))
        case .float:
            switch self {
            case .integer(let v): return .float(Double(v))
            case .decimal(let d), .string(let d):
                guard let v = Double(d.trimmingCharacters()), v.isFinite else { throw fail() }
                return .float(v)
            default: throw fail()
            }
        case .decimal:
            switch self {
            case .integer(let v): return .decimal(VoltDecimal(v))
            case .decimal(let d), .string(let d):
                if let v = VoltDecimal(string: d.trimmingCharacters()) { return .decimal(v) }
                guard let f = Double(d), let v = VoltDecimal(f) else { throw fail() }
                return .decimal(v)
            default: throw fail()
            }
        case .varchar:
            switch self {
            case .string(let s): return .string(s)
            case .integer(let v): return .string(String(v))
            case .decimal(let d): return .string(d)
            default: throw fail()
            }
        case .varbinary:
            switch self {
            case .bytes(let b): return .varbinary(b)
            case .string(let s): guard let b = Self.hexBytes(s) else { throw fail() }; return .varbinary(b)
            default: throw fail()
            }
        case .timestamp:
            switch self {
            case .integer(let v): return .timestamp(micros: v)
            case .string(let s): guard let v = SQLTimestamp.micros(parsing: s) else { throw fail() }; return .timestamp(micros: v)
            default: throw fail()
            }
        }
    }

    /// The parameter when the procedure's types are unknown; the server coerces it.
    public var naturalParameter: WireParameter {
        switch self {
        case .null: .null
        case .integer(let v): .bigint(v)
        case .decimal(let d):
            if !d.contains(where: { $0 == "e" || $0 == "E" }), let v = VoltDecimal(string: d) {
                .decimal(v)
            } else {
                .float(Double(d) ?? .nan)
            }
        case .string(let s): .string(s)
        case .bytes(let b): .varbinary(b)
        }
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
