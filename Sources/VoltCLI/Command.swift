// A command line is declared as a value: a tree of `Command`s, each with its options, positional
// arguments and subcommands. The parser (`ArgumentParser`) reads a declaration and an argument
// vector and produces `ParsedArguments`; the help renderer (`HelpFormatter`) reads the same
// declaration, so `--help` cannot drift from what the parser accepts.
//
// The rules a declaration must follow are checked once, by `ArgumentParser.init`, with
// `precondition`: a broken declaration is a bug in the program, never a user error.

/// One `--long` option of a command: a flag, or an option that takes a value.
public struct Option: Sendable, Hashable {
    /// The long name without the leading dashes: `"value-bytes"` for `--value-bytes`.
    public var long: String
    /// The short name without the dash: `"k"` for `-k`. `h` is reserved for help.
    public var short: Character?
    /// The placeholder shown in help and in "needs a value" errors: `count` in `--keys <count>`.
    /// Ignored for flags.
    public var valueName: String
    /// What the value measures, used in number errors: "a number of *seconds*". Nil when the
    /// value is a plain count or ratio.
    public var unit: String?
    /// One sentence or a short paragraph; wrapped by the help renderer.
    public var help: String
    /// The value used when the option is absent, and shown in help as `(default: …)`.
    public var defaultValue: String?
    /// False for a flag (`--json`), true for an option that takes a value (`--keys 10`).
    public var takesValue: Bool
    /// Whether the option may be given more than once; `ParsedArguments.list` returns every
    /// occurrence. A non-repeatable option given twice is a usage error.
    public var isRepeatable: Bool
    /// Whether the command cannot run without it. The parser reports a missing required option.
    public var isRequired: Bool

    public init(
        long: String, short: Character? = nil, valueName: String = "value", unit: String? = nil,
        help: String, defaultValue: String? = nil, takesValue: Bool, isRepeatable: Bool = false,
        isRequired: Bool = false
    ) {
        self.long = long
        self.short = short
        self.valueName = valueName
        self.unit = unit
        self.help = help
        self.defaultValue = defaultValue
        self.takesValue = takesValue
        self.isRepeatable = isRepeatable
        self.isRequired = isRequired
    }

    /// A boolean switch: present or absent, never given a value.
    public static func flag(_ long: String, short: Character? = nil, help: String) -> Option {
        Option(long: long, short: short, help: help, takesValue: false)
    }

    /// An option that takes a value. `valueName` defaults to the unit, then to `value`.
    public static func value(
        _ long: String, short: Character? = nil, valueName: String? = nil, unit: String? = nil,
        default defaultValue: String? = nil, repeatable: Bool = false, required: Bool = false,
        help: String
    ) -> Option {
        Option(
            long: long, short: short, valueName: valueName ?? unit ?? "value", unit: unit,
            help: help, defaultValue: defaultValue, takesValue: true, isRepeatable: repeatable,
            isRequired: required)
    }

    /// How the option is written in help and errors: `--keys <count>`, or `--json` for a flag.
    public var synopsis: String { takesValue ? "--\(long) <\(valueName)>" : "--\(long)" }
}

/// A positional argument of a command, in declaration order.
public struct Argument: Sendable, Hashable {
    /// Shown as `<name>` in usage and errors, and the key for `ParsedArguments.positional`.
    public var name: String
    public var help: String
    public var isRequired: Bool
    /// Takes every remaining argument; only the last argument may be variadic.
    public var isVariadic: Bool

    public init(_ name: String, help: String, isRequired: Bool = true, isVariadic: Bool = false) {
        self.name = name
        self.help = help
        self.isRequired = isRequired
        self.isVariadic = isVariadic
    }
}

/// A command or a group of subcommands (`voltctl`, `voltctl bench`, `voltctl bench kv`).
///
/// A command with subcommands is a group: it takes no options of its own (besides `--help`) and
/// no positional arguments, and its first argument names the subcommand.
public struct Command: Sendable, Hashable {
    public var name: String
    /// One line, no trailing period needed; shown under the usage line and in a parent's list.
    public var abstract: String
    /// Paragraphs separated by blank lines. Lines indented by spaces (examples) are kept as
    /// written; other paragraphs are re-wrapped.
    public var discussion: String
    public var options: [Option]
    public var arguments: [Argument]
    public var subcommands: [Command]

    public init(
        name: String, abstract: String, discussion: String = "", options: [Option] = [],
        arguments: [Argument] = [], subcommands: [Command] = []
    ) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = options
        self.arguments = arguments
        self.subcommands = subcommands
    }

    public var isGroup: Bool { !subcommands.isEmpty }

    public func option(named long: String) -> Option? { options.first { $0.long == long } }

    public func subcommand(named name: String) -> Command? {
        subcommands.first { $0.name == name }
    }
}
