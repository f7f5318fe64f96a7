// Splitting a script (an @AdHoc batch, a DDL file) into statements.
//
// A statement ends at a ';' that is outside a string literal, a quoted identifier and a comment.
// The one exception is the body of `CREATE PROCEDURE ... AS BEGIN ... END`, whose inner ';'s belong to
// the procedure: after the words AS BEGIN of a CREATE PROCEDURE, ';' does not split until the
// matching END (CASE ... END pairs inside the body are counted so that they do not close it).
// Empty statements (";;", trailing comments) are dropped; texts are trimmed.

public enum SQLScript {
    public static func split(_ text: String) -> [String] {
        let b = Array(text.utf8)
        var statements: [String] = []
        var start = 0
        var i = 0
        var words: [String] = []          // the first words of the current statement (upper-cased)
        var inBlock = false
        var caseDepth = 0
        var lastWord = ""

        func flush(_ end: Int) {
            let s = String(decoding: b[start..<end], as: UTF8.self)
            var lexer = Lexer(s)
            // Leading comments are not part of the statement; a piece with only comments is dropped.
            guard let first = lexer.nextOrNil() else {
                if !s.sqlTrimmed.isEmpty { statements.append(s.sqlTrimmed) }
                return
            }
            if first.kind == .end { return }
            statements.append(String(decoding: Array(s.utf8)[first.start...], as: UTF8.self).sqlTrimmed)
        }

        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                i += 1
                while i < b.count {
                    if b[i] == c {
                        if i + 1 < b.count, b[i + 1] == c { i += 2; continue }
                        break
                    }
                    i += 1
                }
                i += 1
                continue
            }
            if c == UInt8(ascii: "-"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "-") {
                while i < b.count, b[i] != 0x0A { i += 1 }
                continue
            }
            if c == UInt8(ascii: "/"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "*") {
                i += 2
                while i + 1 < b.count, !(b[i] == UInt8(ascii: "*") && b[i + 1] == UInt8(ascii: "/")) { i += 1 }
                i += 2
                continue
            }
            if isWordByte(c) {
                let ws = i
                while i < b.count, isWordByte(b[i]) || (b[i] >= 0x30 && b[i] <= 0x39) { i += 1 }
                let w = String(decoding: b[ws..<i], as: UTF8.self).uppercased()
                if words.count < 2 { words.append(w) }
                if inBlock {
                    if w == "CASE" { caseDepth += 1 }
                    else if w == "END" { if caseDepth > 0 { caseDepth -= 1 } else { inBlock = false } }
                } else if w == "BEGIN", lastWord == "AS", words == ["CREATE", "PROCEDURE"] {
                    inBlock = true
                    caseDepth = 0
                }
                lastWord = w
                continue
            }
            if c == UInt8(ascii: ";"), !inBlock {
                flush(i)
                start = i + 1
                words = []
                lastWord = ""
            }
            i += 1
        }
        if start < b.count { flush(b.count) }
        return statements
    }

    /// Whether a statement changes the schema (CREATE, DROP, PARTITION, ALTER) rather than data.
    public static func isDDL(_ statement: String) -> Bool {
        var lexer = Lexer(statement)
        guard let t = lexer.nextOrNil(), case .word(let w) = t.kind else { return false }
        return ["CREATE", "DROP", "PARTITION", "ALTER", "DR", "SET", "EXPORT", "IMPORT"].contains(w)
    }

    private static func isWordByte(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") || c >= 0x80
    }
}
