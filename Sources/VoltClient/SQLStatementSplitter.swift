// Splits SQL text into statements the way sqlcmd does: at `;` outside quotes and comments.
//
// States: normal text, inside a 'string literal' (where '' is a quote, not its end), inside a
// "quoted identifier", inside a `--` line comment, inside a `/* */` block comment. Comments are
// dropped from the statement text (a line comment keeps its newline, a block comment becomes one
// space), so the server never sees them; everything else is kept as written, and each statement is
// trimmed of surrounding blank space. Empty statements (`;;`) are skipped.
//
// A procedure body is one statement: in `CREATE PROCEDURE … AS BEGIN s1; s2; END;` the `;`s
// between BEGIN and its END do not split. Words are tracked outside quotes and comments; a BEGIN
// right after AS in a statement that starts `CREATE [OR REPLACE] PROCEDURE` opens a body, CASE
// inside the body opens an expression that its own END closes, and the END with no CASE open
// closes the body.
//
// The splitter is incremental so that an interactive prompt can feed it a line at a time: `feed`
// returns the statements completed so far and keeps the rest, `finish` returns what is left at the
// end of input (a statement without its final `;`, which sqlcmd also runs). A character whose
// meaning depends on the next one (`-`, `/`, `*` in a comment, `'` in a string) at the end of a
// feed is held back until the next feed or `finish`.

/// Cuts SQL text into statements at top-level semicolons.
public struct SQLStatementSplitter: Sendable {
    private enum Mode: Sendable {
        case normal, singleQuote, doubleQuote, lineComment, blockComment
    }

    private var mode = Mode.normal
    private var current = ""
    private var word = ""
    private var previousWord = ""
    /// The first few words of the statement, to recognise CREATE PROCEDURE.
    private var leadingWords: [String] = []
    private var bodyDepth = 0
    private var caseDepth = 0
    /// A character held back because its meaning depends on the next one.
    private var carry: Character?

    public init() {}

    /// Splits a whole text; the last statement need not end with `;`.
    public static func split(_ text: String) -> [String] {
        var splitter = SQLStatementSplitter()
        var statements = splitter.feed(text)
        if let last = splitter.finish() { statements.append(last) }
        return statements
    }

    /// Whether text of an unfinished statement (or an open quote or comment) is pending: an
    /// interactive prompt then asks for a continuation line.
    public var hasPendingText: Bool {
        carry != nil || mode != .normal || current.contains { !$0.isWhitespace }
    }

    /// Consumes `text` and returns every statement it completes, in order.
    public mutating func feed(_ text: String) -> [String] {
        var statements: [String] = []
        var characters = Array(text)
        if let carried = carry {
            characters.insert(carried, at: 0)
            carry = nil
        }
        var index = 0
        while index < characters.count {
            let c = characters[index]
            let next: Character? = index + 1 < characters.count ? characters[index + 1] : nil
            if next == nil && needsLookahead(c) {
                carry = c
                break
            }
            index += step(c, next, into: &statements)
        }
        return statements
    }

    /// Ends the input: the pending statement, if it holds anything but blank space and comments.
    public mutating func finish() -> String? {
        var statements: [String] = []
        if let carried = carry {
            carry = nil
            _ = step(carried, nil, into: &statements)
        }
        endWord()
        let text = current.trimmingCharacters()
        reset()
        mode = .normal
        return statements.first ?? (text.isEmpty ? nil : text)
    }

    // MARK: Private

    private func needsLookahead(_ c: Character) -> Bool {
        switch mode {
        case .normal: return c == "-" || c == "/"
        case .singleQuote: return c == "'"
        case .blockComment: return c == "*"
        case .doubleQuote, .lineComment: return false
        }
    }

    /// Handles `c` (with its successor for lookahead); returns how many characters it consumed.
    private mutating func step(_ c: Character, _ next: Character?, into statements: inout [String]) -> Int {
        switch mode {
        case .normal:
            if c == "-" && next == "-" {
                endWord()
                mode = .lineComment
                return 2
            }
            if c == "/" && next == "*" {
                endWord()
                mode = .blockComment
                current.append(" ")
                return 2
            }
            if c == ";" {
                endWord()
                if bodyDepth > 0 {
                    current.append(c)
                } else {
                    let text = current.trimmingCharacters()
                    if !text.isEmpty { statements.append(text) }
                    reset()
                }
                return 1
            }
            if c.isLetter || c.isNumber || c == "_" {
                word.append(c)
            } else {
                endWord()
                if c == "'" { mode = .singleQuote }
                if c == "\"" { mode = .doubleQuote }
            }
            current.append(c)
            return 1
        case .singleQuote:
            current.append(c)
            if c == "'" {
                if next == "'" {
                    current.append("'")
                    return 2
                }
                mode = .normal
            }
            return 1
        case .doubleQuote:
            current.append(c)
            if c == "\"" { mode = .normal }
            return 1
        case .lineComment:
            if c == "\n" || c == "\r\n" {
                current.append(c)
                mode = .normal
            }
            return 1
        case .blockComment:
            if c == "*" && next == "/" {
                mode = .normal
                return 2
            }
            return 1
        }
    }

    private mutating func endWord() {
        guard !word.isEmpty else { return }
        let upper = word.uppercased()
        word = ""
        if leadingWords.count < 4 { leadingWords.append(upper) }
        if bodyDepth == 0 {
            if upper == "BEGIN" && previousWord == "AS" && startsProcedure { bodyDepth = 1 }
        } else if upper == "CASE" {
            caseDepth += 1
        } else if upper == "END" {
            if caseDepth > 0 { caseDepth -= 1 } else { bodyDepth -= 1 }
        }
        previousWord = upper
    }

    private var startsProcedure: Bool {
        guard leadingWords.first == "CREATE" else { return false }
        return leadingWords.dropFirst().prefix(3).contains("PROCEDURE")
    }

    private mutating func reset() {
        current = ""
        word = ""
        previousWord = ""
        leadingWords = []
        bodyDepth = 0
        caseDepth = 0
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines (no Foundation needed).
    func trimmingCharacters() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}
