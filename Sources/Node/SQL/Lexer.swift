// The SQL lexer: turns statement text into tokens carrying their 1-based line/column and UTF-8
// offsets.
//
// Rules (VoltDB/HSQL dialect):
// - Keywords and unquoted identifiers are case-insensitive: both become `.word` tokens with the
//   text upper-cased; the parser decides what is a keyword. Double-quoted identifiers keep their case
//   (`""` escapes a quote) and never act as keywords.
// - String literals use single quotes with `''` as the escaped quote. `X'0A1B'` is a VARBINARY
//   literal.
// - Numbers: digits are an integer; with a `.` a DECIMAL; with an exponent a FLOAT.
// - `?` is a parameter, numbered by the parser in order of appearance.
// - `--` comments run to the end of the line, `/* ... */` comments may span lines.

struct SourcePosition: Sendable, Hashable {
    var line: Int
    var column: Int
}

enum TokenKind: Sendable, Equatable {
    case word(String)            // unquoted identifier or keyword, upper-cased
    case quotedIdentifier(String)
    case integer(String)
    case decimal(String)
    case float(String)
    case string(String)
    case binary([UInt8])
    case parameter
    case symbol(String)          // ( ) , . ; * + - / % || = <> != < <= > >=
    case end
}

struct SQLToken: Sendable {
    var kind: TokenKind
    var position: SourcePosition
    var start: Int               // UTF-8 offset of the first byte
    var end: Int                 // UTF-8 offset one past the last byte

    /// How the token reads in an error message.
    var display: String {
        switch kind {
        case .word(let w): w
        case .quotedIdentifier(let w): "\"\(w)\""
        case .integer(let s), .decimal(let s), .float(let s): s
        case .string(let s): "'\(s)'"
        case .binary(let b): "X'\(b.map { String($0, radix: 16) }.joined())'"
        case .parameter: "?"
        case .symbol(let s): s
        case .end: "end of statement"
        }
    }
}

struct Lexer {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    static func tokenize(_ text: String) throws(SQLError) -> [SQLToken] {
        var lexer = Lexer(text)
        var tokens: [SQLToken] = []
        while true {
            let t = try lexer.next()
            tokens.append(t)
            if t.kind == .end { return tokens }
        }
    }

    private var position: SourcePosition {
        // Columns count characters, not bytes: skip UTF-8 continuation bytes.
        var column = 1
        var i = lineStart
        while i < index { if bytes[i] & 0xC0 != 0x80 { column += 1 }; i += 1 }
        return SourcePosition(line: line, column: column)
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") { line += 1; lineStart = index + 1 }
        index += 1
    }

    private func error(_ message: String, at pos: SourcePosition) -> SQLError {
        SQLError(.syntax, "\(message) at line \(pos.line), column \(pos.column)", position: (pos.line, pos.column))
    }

    private mutating func skipSpaceAndComments() throws(SQLError) {
        while let c = peek() {
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                advance()
            } else if c == UInt8(ascii: "-"), peek(1) == UInt8(ascii: "-") {
                while let d = peek(), d != 0x0A { _ = d; advance() }
            } else if c == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                let pos = position
                advance(); advance()
                while true {
                    guard let d = peek() else { throw error("unterminated comment", at: pos) }
                    if d == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") { advance(); advance(); break }
                    advance()
                }
            } else {
                return
            }
        }
    }

    private static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") || c >= 0x80
    }

    private static func isIdentPart(_ c: UInt8) -> Bool {
        isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "$")
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    private func text(_ from: Int) -> String { String(decoding: bytes[from..<index], as: UTF8.self) }

    mutating func nextOrNil() -> SQLToken? {
        do { return try next() } catch { return nil }
    }

    mutating func next() throws(SQLError) -> SQLToken {
        try skipSpaceAndComments()
        let pos = position
        let start = index
        func token(_ kind: TokenKind) -> SQLToken { SQLToken(kind: kind, position: pos, start: start, end: index) }
        guard let c = peek() else { return token(.end) }

        if (c == UInt8(ascii: "X") || c == UInt8(ascii: "x")), peek(1) == UInt8(ascii: "'") {
            advance(); advance()
            var hex: [UInt8] = []
            while let d = peek(), d != UInt8(ascii: "'") { hex.append(d); advance() }
            guard peek() != nil else { throw error("unterminated binary literal", at: pos) }
            advance()
            guard hex.count % 2 == 0, let decoded = Lexer.decodeHex(hex) else {
                throw error("invalid hexadecimal binary literal", at: pos)
            }
            return token(.binary(decoded))
        }
        if Lexer.isIdentStart(c) {
            while let d = peek(), Lexer.isIdentPart(d) { advance() }
            return token(.word(text(start).uppercased()))
        }
        if Lexer.isDigit(c) || (c == UInt8(ascii: ".") && peek(1).map(Lexer.isDigit) == true) {
            var sawDot = false
            var sawExponent = false
            while let d = peek() {
                if Lexer.isDigit(d) { advance() }
                else if d == UInt8(ascii: "."), !sawDot, !sawExponent { sawDot = true; advance() }
                else if (d == UInt8(ascii: "e") || d == UInt8(ascii: "E")), !sawExponent {
                    let next = peek(1)
                    let afterSign = (next == UInt8(ascii: "+") || next == UInt8(ascii: "-")) ? peek(2) : next
                    guard let a = afterSign, Lexer.isDigit(a) else { break }
                    sawExponent = true
                    advance()
                    if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { advance() }
                } else { break }
            }
            if let d = peek(), Lexer.isIdentStart(d) {
                throw error("malformed number '\(text(start))\(Character(UnicodeScalar(d)))'", at: pos)
            }
            let s = text(start)
            return token(sawExponent ? .float(s) : sawDot ? .decimal(s) : .integer(s))
        }
        switch c {
        case UInt8(ascii: "'"):
            advance()
            var out: [UInt8] = []
            while true {
                guard let d = peek() else { throw error("unterminated string literal", at: pos) }
                advance()
                if d == UInt8(ascii: "'") {
                    if peek() == UInt8(ascii: "'") { out.append(d); advance() } else { break }
                } else {
                    out.append(d)
                }
            }
            return token(.string(String(decoding: out, as: UTF8.self)))
        case UInt8(ascii: "\""):
            advance()
            var out: [UInt8] = []
            while true {
                guard let d = peek() else { throw error("unterminated quoted identifier", at: pos) }
                advance()
                if d == UInt8(ascii: "\"") {
                    if peek() == UInt8(ascii: "\"") { out.append(d); advance() } else { break }
                } else {
                    out.append(d)
                }
            }
            guard !out.isEmpty else { throw error("empty quoted identifier", at: pos) }
            return token(.quotedIdentifier(String(decoding: out, as: UTF8.self)))
        case UInt8(ascii: "?"):
            advance()
            return token(.parameter)
        default:
            break
        }
        let two: [String] = ["||", "<>", "!=", "<=", ">="]
        if let d = peek(1) {
            let pair = String(decoding: [c, d], as: UTF8.self)
            if two.contains(pair) { advance(); advance(); return token(.symbol(pair)) }
        }
        let single = "(),.;*+-/%=<>"
        if c < 0x80, single.utf8.contains(c) {
            advance()
            return token(.symbol(String(UnicodeScalar(c))))
        }
        throw error("unexpected character '\(Character(UnicodeScalar(c)))'", at: pos)
    }

    private static func decodeHex(_ hex: [UInt8]) -> [UInt8]? { Hex.decode(utf8: hex) }
}
