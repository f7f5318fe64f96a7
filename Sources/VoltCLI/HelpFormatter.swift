/// Renders the help text of a command from its declaration: a usage line, the abstract, the
/// discussion, then the subcommands, arguments and options in aligned columns, wrapped to
/// `width` columns (100 by default).
///
/// Widths count `Character`s, so wide East Asian characters are counted as one column; help
/// texts are ASCII.
public struct HelpFormatter: Sendable {
    public var width: Int
    /// The label column never grows past this; a longer label gets its own line.
    public var labelWidthMax: Int

    public init(width: Int = 100, labelWidthMax: Int = 32) {
        precondition(width >= 40, "help width \(width) is too narrow to lay out")
        self.width = width
        self.labelWidthMax = labelWidthMax
    }

    /// The help of `command`; `path` names it from the root (`["voltctl", "bench", "kv"]`).
    public func render(_ command: Command, path: [String]) -> String {
        let commandPath = path.joined(separator: " ")
        var sections: [[String]] = []
        sections.append(usage(command, commandPath: commandPath))
        if !command.abstract.isEmpty {
            sections.append(TextWrap.wrap(command.abstract, width: width))
        }
        sections.append(contentsOf: discussion(command.discussion))

        if command.isGroup {
            var rows = command.subcommands.map { ($0.name, $0.abstract) }
            if path.count == 1 { rows.append(("help", "Show help for a command")) }
            sections.append(["Commands:"] + columns(rows))
        }
        if !command.arguments.isEmpty {
            let rows = command.arguments.map { argument in
                (argumentLabel(argument), argument.help)
            }
            sections.append(["Arguments:"] + columns(rows))
        }
        let helpOption = ("-h, --help", "Show help for this command.")
        let optionRows = command.options.map { option in
            let label = (option.short.map { "-\($0), " } ?? "    ") + option.synopsis
            return (label, optionHelp(option))
        }
        sections.append(["Options:"] + columns(optionRows + [helpOption]))
        if command.isGroup {
            let root = path[0]
            sections.append(
                TextWrap.wrap(
                    "Run '\(root) help <command>' or '\(root) <command> --help' for more about a"
                        + " command.", width: width))
        }
        return sections.map { $0.joined(separator: "\n") }.joined(separator: "\n\n")
    }

    // MARK: Sections

    private func usage(_ command: Command, commandPath: String) -> [String] {
        var words: [String] = []
        if command.isGroup {
            words.append("<command>")
        } else {
            words += command.options.filter(\.isRequired).map(\.synopsis)
            if command.options.contains(where: { !$0.isRequired }) { words.append("[options]") }
            words += command.arguments.map(argumentLabel)
        }
        let prefix = "Usage: \(commandPath) "
        return TextWrap.wrap(
            words.joined(separator: " "), width: width, firstLinePrefix: prefix,
            indent: String(repeating: " ", count: prefix.count))
    }

    private func argumentLabel(_ argument: Argument) -> String {
        let name = "<\(argument.name)>" + (argument.isVariadic ? "..." : "")
        return argument.isRequired ? name : "[\(name)]"
    }

    private func optionHelp(_ option: Option) -> String {
        var text = option.help
        if let defaultValue = option.defaultValue {
            text += " (default: \(defaultValue.isEmpty ? "''" : defaultValue))"
        }
        if option.isRequired { text += " (required)" }
        if option.isRepeatable { text += " (may be repeated)" }
        return text
    }

    /// Paragraphs separated by blank lines. Lines that start with a space (examples) are kept as
    /// written; runs of other lines are joined and re-wrapped.
    private func discussion(_ text: String) -> [[String]] {
        var paragraphs: [[String]] = []
        var current: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingBlanks().isEmpty {
                if !current.isEmpty { paragraphs.append(current) }
                current = []
            } else {
                current.append(String(line))
            }
        }
        if !current.isEmpty { paragraphs.append(current) }
        return paragraphs.map { lines in
            var out: [String] = []
            var prose: [String] = []
            for line in lines {
                if line.hasPrefix(" ") {
                    out += TextWrap.wrap(prose.joined(separator: " "), width: width)
                    prose = []
                    out.append(line.trimmingTrailingBlanks())
                } else {
                    prose.append(line)
                }
            }
            return out + TextWrap.wrap(prose.joined(separator: " "), width: width)
        }
    }

    /// Two columns: labels indented by 2, texts aligned after the widest label that is not
    /// wider than `labelWidthMax`, wrapped with a hanging indent. A wider label has its text start
    /// on the next line.
    private func columns(_ rows: [(String, String)]) -> [String] {
        let labelWidth = rows.map(\.0.count).filter { $0 <= labelWidthMax }.max() ?? 0
        let textColumn = 2 + labelWidth + 2
        let textWidth = max(20, width - textColumn)
        let indent = String(repeating: " ", count: textColumn)
        var lines: [String] = []
        for (rowLabel, text) in rows {
            let wrapped = TextWrap.wrap(text, width: textWidth)
            let label = "  " + rowLabel
            if rowLabel.count > labelWidth {
                lines.append(label)
                lines += wrapped.map { indent + $0 }
            } else {
                let padded = label + String(repeating: " ", count: textColumn - label.count)
                lines.append(wrapped.isEmpty ? label : padded + wrapped[0])
                lines += wrapped.dropFirst().map { indent + $0 }
            }
        }
        return lines
    }
}

/// Greedy word wrapping. Runs of blanks and newlines collapse to one space; a word longer than
/// the width gets a line of its own rather than being cut.
public enum TextWrap {
    public static func wrap(
        _ text: String, width: Int, firstLinePrefix: String = "", indent: String = ""
    ) -> [String] {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        var lines: [String] = []
        var line = firstLinePrefix
        var lineHasWord = false
        for word in words {
            if lineHasWord && line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
                lineHasWord = false
            }
            line += (lineHasWord ? " " : "") + word
            lineHasWord = true
        }
        if lineHasWord || !firstLinePrefix.isEmpty { lines.append(line.trimmingTrailingBlanks()) }
        return lines
    }
}

extension String {
    func trimmingTrailingBlanks() -> String {
        guard let last = lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(self[...last])
    }
}
