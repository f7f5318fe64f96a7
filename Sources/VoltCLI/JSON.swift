// JSON output for `--json`. Objects keep their keys in the order they were built: a project
// rule (Dictionary order is random per process), so two runs of a command print byte-identical
// JSON for the same data and scripts and fixtures can diff it.

/// A JSON document. Objects are ordered lists of members, never dictionaries.
///
/// Literals build it directly, in order:
/// `let v: JSONValue = ["ops": 10, "seconds": 1.5, "sites": [1, 2], "note": nil]`.
public enum JSONValue: Sendable, Equatable {
    case object([Member])
    case array([JSONValue])
    case string(String)
    case int(Int)
    /// Rendered as the shortest decimal that reads back as the same value; NaN and ±infinity,
    /// which JSON cannot express, are rendered as `null`.
    case double(Double)
    case bool(Bool)
    case null

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Dictionary literal syntax, but the order written is the order rendered.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { Member($0.0, $0.1) })
    }
}

/// Renders a `JSONValue` as text: compact (one line, no spaces) or pretty (two-space indent,
/// `"key": value`). The output never ends with a newline.
///
/// Duplicate keys in one object are a bug in the caller and stop the program: most readers keep
/// only one of them, silently.
public struct JSONWriter: Sendable {
    public enum Style: Sendable, Equatable {
        case compact
        case pretty
    }

    public var style: Style

    public init(style: Style = .pretty) { self.style = style }

    public func render(_ value: JSONValue) -> String {
        var out = ""
        write(value, depth: 0, into: &out)
        return out
    }

    private func write(_ value: JSONValue, depth: Int, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let n): out += String(n)
        case .double(let d): out += Self.number(d)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let elements):
            writeContainer(
                open: "[", close: "]", elements, depth: depth, into: &out
            ) { element, out in
                write(element, depth: depth + 1, into: &out)
            }
        case .object(let members):
            var keys = Set<String>()
            for member in members {
                precondition(keys.insert(member.key).inserted, "duplicate JSON key '\(member.key)'")
            }
            writeContainer(
                open: "{", close: "}", members, depth: depth, into: &out
            ) { member, out in
                Self.writeString(member.key, into: &out)
                out += style == .pretty ? ": " : ":"
                write(member.value, depth: depth + 1, into: &out)
            }
        }
    }

    private func writeContainer<Element>(
        open: String, close: String, _ elements: [Element], depth: Int, into out: inout String,
        _ writeElement: (Element, inout String) -> Void
    ) {
        out += open
        guard !elements.isEmpty else {
            out += close
            return
        }
        let pretty = style == .pretty
        let innerIndent = String(repeating: "  ", count: depth + 1)
        for (position, element) in elements.enumerated() {
            if position > 0 { out += "," }
            if pretty { out += "\n" + innerIndent }
            writeElement(element, &out)
        }
        if pretty { out += "\n" + String(repeating: "  ", count: depth) }
        out += close
    }

    /// Finite doubles as Swift's shortest round-trip form, which is valid JSON (`0.1`, `1e-07`,
    /// `1e+20`, `-0.0`); integral values keep `.0` so readers see a double. Non-finite: `null`.
    static func number(_ d: Double) -> String {
        d.isFinite ? d.description : "null"
    }

    /// Quotes and escapes per RFC 8259: `"` and `\` escaped, control characters U+0000–U+001F
    /// as `\b \f \n \r \t` or `\u00XX`. Everything else, including non-ASCII, is written as
    /// UTF-8 unchanged.
    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16, uppercase: false)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
