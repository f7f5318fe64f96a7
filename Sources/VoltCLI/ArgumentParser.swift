// Parses an argument vector against a `Command` tree.
//
// Grammar, left to right:
//   1. At the root, `help [<command>...]` asks for the help of the named command.
//   2. While the current command is a group, the next argument names a subcommand.
//   3. At a leaf, arguments are options or positionals, in any order:
//        --name value | --name=value | -n value | --flag | -f
//      `--` ends options: everything after it is positional. An argument that starts with `-`
//      is an option unless it reads as a number (`-5`, `-0.25`) or is `-` alone, so negative
//      numbers work as values and positionals. An option that takes a value never swallows a
//      following option (`--servers --json` is "needs a value", not servers = "--json").
//   4. Then positionals are assigned in declaration order, and required options are checked.
//
// `--help` or `-h` anywhere before `--` wins over every other problem on the line once the
// command is known: someone asking for help gets help, not an error about another option. An
// unknown subcommand is still an error, because there is no command to show help for.

/// What the command line asks for: run a command, or show a help text.
public enum ParseResult: Sendable, Equatable {
    case run(ParsedArguments)
    /// `path` names the command whose help `text` is, from the root.
    case help(path: [String], text: String)
}

public struct ArgumentParser: Sendable {
    public let root: Command
    public let helpFormatter: HelpFormatter

    /// Checks the declaration once; a malformed tree stops the program here, at startup, rather
    /// than when a user happens to reach the bad command.
    public init(root: Command, helpFormatter: HelpFormatter = HelpFormatter()) {
        Self.validate(root, path: [root.name], isRoot: true)
        self.root = root
        self.helpFormatter = helpFormatter
    }

    public func parse(_ arguments: [String]) throws(UsageError) -> ParseResult {
        if root.isGroup, arguments.first == "help" {
            return try helpCommand(Array(arguments.dropFirst()))
        }
        let optionArguments = arguments.prefix { $0 != "--" }
        let asksForHelp = optionArguments.contains { Self.isHelp($0) }

        var command = root
        var path = [root.name]
        var index = 0
        while command.isGroup {
            let commandPath = path.joined(separator: " ")
            guard index < arguments.count else {
                throw UsageError(
                    .missingCommand(available: command.subcommands.map(\.name)),
                    commandPath: commandPath)
            }
            let argument = arguments[index]
            if asksForHelp && (Self.isHelp(argument) || Self.isOptionLike(argument)) {
                return help(for: command, path: path)
            }
            if Self.isOptionLike(argument) {
                let suggestion = argument.hasPrefix("--")
                    ? Suggestion.closest(to: String(argument.dropFirst(2)), among: ["help"])
                        .map { "--\($0)" }
                    : nil
                throw UsageError(
                    .unknownOption(argument, suggestion: suggestion), commandPath: commandPath)
            }
            guard let next = command.subcommand(named: argument) else {
                throw unknownCommand(argument, in: command, isRoot: path.count == 1, path: path)
            }
            command = next
            path.append(next.name)
            index += 1
        }
        if asksForHelp { return help(for: command, path: path) }
        return .run(try LeafParser(command: command, path: path).parse(arguments[index...]))
    }

    /// The help text of the command at `path` (root name first), or nil if there is none.
    public func helpText(for path: [String]) -> String? {
        guard path.first == root.name else { return nil }
        var command = root
        for name in path.dropFirst() {
            guard let next = command.subcommand(named: name) else { return nil }
            command = next
        }
        return helpFormatter.render(command, path: path)
    }

    // MARK: Private

    private func help(for command: Command, path: [String]) -> ParseResult {
        .help(path: path, text: helpFormatter.render(command, path: path))
    }

    /// `voltctl help bench kv`.
    private func helpCommand(_ names: [String]) throws(UsageError) -> ParseResult {
        var command = root
        var path = [root.name]
        for name in names {
            if Self.isHelp(name) { break }
            guard command.isGroup else {
                throw UsageError(.unexpectedArgument(name), commandPath: "\(root.name) help")
            }
            guard let next = command.subcommand(named: name) else {
                throw unknownCommand(name, in: command, isRoot: path.count == 1, path: path)
            }
            command = next
            path.append(name)
        }
        return help(for: command, path: path)
    }

    private func unknownCommand(_ name: String, in group: Command, isRoot: Bool, path: [String])
        -> UsageError
    {
        var available = group.subcommands.map(\.name)
        if isRoot { available.append("help") }
        return UsageError(
            .unknownCommand(
                name, suggestion: Suggestion.closest(to: name, among: available),
                available: available),
            commandPath: path.joined(separator: " "))
    }

    static func isHelp(_ argument: String) -> Bool { argument == "--help" || argument == "-h" }

    /// Whether an argument is written as an option rather than a value.
    static func isOptionLike(_ argument: String) -> Bool {
        guard argument.hasPrefix("-"), argument != "-" else { return false }
        if argument.hasPrefix("--") { return true }
        return Double(argument) == nil
    }

    private static func validate(_ command: Command, path: [String], isRoot: Bool) {
        let where_ = path.joined(separator: " ")
        precondition(
            !command.name.isEmpty && !command.name.hasPrefix("-")
                && !command.name.contains(" "),
            "\(where_): a command name must be one word not starting with '-'")
        if command.isGroup {
            precondition(
                command.options.isEmpty && command.arguments.isEmpty,
                "\(where_): a command with subcommands takes no options or arguments of its own")
            let names = command.subcommands.map(\.name)
            precondition(Set(names).count == names.count, "\(where_): duplicate subcommand")
            precondition(
                !isRoot || !names.contains("help"), "\(where_): 'help' is a built-in command")
            for subcommand in command.subcommands {
                validate(subcommand, path: path + [subcommand.name], isRoot: false)
            }
            return
        }
        var longs = Set<String>()
        var shorts = Set<Character>()
        for option in command.options {
            let long = option.long
            precondition(
                !long.isEmpty && !long.hasPrefix("-") && !long.contains("=")
                    && !long.contains(" "),
                "\(where_): bad option name '\(long)'")
            precondition(long != "help", "\(where_): --help is built in")
            precondition(longs.insert(long).inserted, "\(where_): duplicate option --\(long)")
            if let short = option.short {
                precondition(short != "h", "\(where_): -h is built in (help)")
                precondition(short != "-", "\(where_): bad short name for --\(long)")
                precondition(shorts.insert(short).inserted, "\(where_): duplicate option -\(short)")
            }
            if !option.takesValue {
                precondition(
                    !option.isRepeatable && !option.isRequired && option.defaultValue == nil,
                    "\(where_): flag --\(long) cannot be repeatable, required or defaulted")
            }
            precondition(
                !(option.isRequired && option.defaultValue != nil),
                "\(where_): --\(long) is required, so a default would never apply")
        }
        var argumentNames = Set<String>()
        var sawOptional = false
        for (position, argument) in command.arguments.enumerated() {
            precondition(
                argumentNames.insert(argument.name).inserted,
                "\(where_): duplicate argument <\(argument.name)>")
            precondition(
                !(argument.isRequired && sawOptional),
                "\(where_): required <\(argument.name)> follows an optional argument")
            precondition(
                !argument.isVariadic || position == command.arguments.count - 1,
                "\(where_): only the last argument may be variadic")
            sawOptional = sawOptional || !argument.isRequired
        }
    }
}

/// Reads the options and positionals of a leaf command.
private struct LeafParser {
    let command: Command
    let path: [String]

    var commandPath: String { path.joined(separator: " ") }

    func parse(_ arguments: ArraySlice<String>) throws(UsageError) -> ParsedArguments {
        var given: [String: [String]] = [:]
        var loose: [String] = []
        var index = arguments.startIndex
        var optionsEnded = false
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if optionsEnded || !ArgumentParser.isOptionLike(argument) {
                loose.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            let option: Option
            let spelled: String
            var inlineValue: String?
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name: String
                if let equals = body.firstIndex(of: "=") {
                    name = String(body[..<equals])
                    inlineValue = String(body[body.index(after: equals)...])
                } else {
                    name = String(body)
                }
                spelled = "--\(name)"
                guard let found = command.option(named: name) else {
                    let suggestion = Suggestion.closest(
                        to: name, among: command.options.map(\.long) + ["help"])
                    throw error(.unknownOption(spelled, suggestion: suggestion.map { "--\($0)" }))
                }
                option = found
            } else {
                spelled = argument
                let short = argument.dropFirst()
                guard short.count == 1, let found = command.options.first(where: {
                    $0.short == short.first
                }) else {
                    throw error(.unknownOption(argument, suggestion: nil))
                }
                option = found
            }

            let value: String
            if !option.takesValue {
                if let inlineValue {
                    throw error(.flagWithValue(option: spelled, value: inlineValue))
                }
                value = ""
            } else if let inlineValue {
                value = inlineValue
            } else if index < arguments.endIndex, !ArgumentParser.isOptionLike(arguments[index]) {
                value = arguments[index]
                index += 1
            } else {
                throw error(.missingValue(option: spelled, synopsis: option.synopsis))
            }
            if given[option.long] != nil && !option.isRepeatable {
                throw error(.repeatedOption(spelled))
            }
            given[option.long, default: []].append(value)
        }

        var positionals: [String: [String]] = [:]
        var remaining = loose[...]
        for argument in command.arguments {
            if argument.isVariadic {
                if remaining.isEmpty && argument.isRequired {
                    throw error(.missingArgument(argument.name))
                }
                if !remaining.isEmpty { positionals[argument.name] = Array(remaining) }
                remaining = []
            } else if let first = remaining.first {
                positionals[argument.name] = [first]
                remaining = remaining.dropFirst()
            } else if argument.isRequired {
                throw error(.missingArgument(argument.name))
            }
        }
        if let extra = remaining.first { throw error(.unexpectedArgument(extra)) }

        for option in command.options
        where option.isRequired && given[option.long] == nil {
            throw error(.missingRequiredOption(synopsis: option.synopsis))
        }
        return ParsedArguments(
            command: command, path: path, given: given, positionals: positionals)
    }

    private func error(_ problem: UsageError.Problem) -> UsageError {
        UsageError(problem, commandPath: commandPath)
    }
}
