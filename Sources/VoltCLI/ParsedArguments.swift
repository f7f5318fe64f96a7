/// The options and arguments of one invocation of a leaf command, read through typed accessors.
///
/// Values are kept as the strings the user typed; an accessor converts and checks them when the
/// command asks, so the error names the option and quotes the value. An absent option reads as
/// its declared default. Asking for an option or argument the command does not declare is a
/// bug in the program and stops it (`precondition`).
public struct ParsedArguments: Sendable, Equatable {
    /// The command that runs.
    public let command: Command
    /// Names from the root down to `command`: `["voltctl", "bench", "kv"]`.
    public let path: [String]
    /// Every occurrence of each option the user gave, in order, by long name. A flag's
    /// occurrences are empty strings.
    public let given: [String: [String]]
    /// Positional arguments by declared name; a variadic argument may hold several.
    public let positionals: [String: [String]]

    public init(
        command: Command, path: [String], given: [String: [String]],
        positionals: [String: [String]]
    ) {
        self.command = command
        self.path = path
        self.given = given
        self.positionals = positionals
    }

    /// `voltctl bench kv`: how errors and help name this command.
    public var commandPath: String { path.joined(separator: " ") }

    /// The subcommand names below the root: `["bench", "kv"]`. Dispatch switches on this.
    public var verbs: [String] { Array(path.dropFirst()) }

    // MARK: Options

    /// Whether the user wrote the option at all (as opposed to relying on its default).
    public func isGiven(_ long: String) -> Bool {
        _ = declared(long)
        return given[long] != nil
    }

    /// Whether a flag was given.
    public func flag(_ long: String) -> Bool {
        let option = declared(long)
        precondition(!option.takesValue, "--\(long) takes a value; read it with string/int/double")
        return given[long] != nil
    }

    /// The value given (the last one if repeatable), else the default, else nil.
    public func optionalString(_ long: String) -> String? {
        let option = declared(long)
        precondition(option.takesValue, "--\(long) is a flag; read it with flag(_:)")
        return given[long]?.last ?? option.defaultValue
    }

    /// The value given, else the default. Throws a missing-required-option error when there is
    /// neither: the command cannot run without it.
    public func string(_ long: String) throws(UsageError) -> String {
        guard let value = optionalString(long) else {
            throw error(.missingRequiredOption(synopsis: declared(long).synopsis))
        }
        return value
    }

    /// An integer value, checked against optional inclusive bounds.
    public func int(_ long: String, min: Int? = nil, max: Int? = nil) throws(UsageError) -> Int {
        try checkedInt(long, try string(long), min: min, max: max)
    }

    /// Like `int`, but nil when the option is absent and has no default.
    public func optionalInt(_ long: String, min: Int? = nil, max: Int? = nil)
        throws(UsageError) -> Int?
    {
        guard let text = optionalString(long) else { return nil }
        return try checkedInt(long, text, min: min, max: max)
    }

    /// A finite decimal value, checked against optional bounds. `greaterThan` is an exclusive
    /// lower bound (`--duration` must be greater than 0); `min` and `max` are inclusive.
    public func double(
        _ long: String, min: Double? = nil, max: Double? = nil, greaterThan: Double? = nil
    ) throws(UsageError) -> Double {
        try checkedDouble(long, try string(long), min: min, max: max, greaterThan: greaterThan)
    }

    /// Like `double`, but nil when the option is absent and has no default.
    public func optionalDouble(
        _ long: String, min: Double? = nil, max: Double? = nil, greaterThan: Double? = nil
    ) throws(UsageError) -> Double? {
        guard let text = optionalString(long) else { return nil }
        return try checkedDouble(long, text, min: min, max: max, greaterThan: greaterThan)
    }

    /// Every value of the option, each occurrence split at commas, blanks trimmed, empty items
    /// dropped: `--host a:1,b:2 --host c:3` reads as `["a:1", "b:2", "c:3"]`. When the option
    /// is absent, the default split the same way, else empty.
    public func list(_ long: String) -> [String] {
        let option = declared(long)
        precondition(option.takesValue, "--\(long) is a flag; read it with flag(_:)")
        let occurrences = given[long] ?? option.defaultValue.map { [$0] } ?? []
        return occurrences.flatMap { occurrence in
            occurrence.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingBlanks() }
                .filter { !$0.isEmpty }
        }
    }

    // MARK: Positional arguments

    /// The positional argument's value (the first, if variadic), or nil if absent.
    public func positional(_ name: String) -> String? {
        positionalList(name).first
    }

    /// Every value of a positional argument; for a variadic argument, all the rest.
    public func positionalList(_ name: String) -> [String] {
        precondition(
            command.arguments.contains { $0.name == name },
            "\(commandPath) declares no argument <\(name)>")
        return positionals[name] ?? []
    }

    // MARK: Helpers

    /// A usage error attributed to this command; for rules the command checks itself.
    public func error(_ problem: UsageError.Problem) -> UsageError {
        UsageError(problem, commandPath: commandPath)
    }

    private func declared(_ long: String) -> Option {
        guard let option = command.option(named: long) else {
            preconditionFailure("\(commandPath) declares no option --\(long)")
        }
        return option
    }

    private func checkedInt(_ long: String, _ text: String, min: Int?, max: Int?)
        throws(UsageError) -> Int
    {
        let option = declared(long)
        guard let value = Int(text.trimmingBlanks()) else {
            let expected = "a whole number" + (option.unit.map { " of \($0)" } ?? "")
            throw error(.badNumber(option: "--\(long)", expected: expected, value: text))
        }
        if let requirement = Bounds.violation(
            value, min: min, max: max, greaterThan: nil, render: { String($0) })
        {
            throw error(.outOfRange(option: "--\(long)", requirement: requirement, value: text))
        }
        return value
    }

    private func checkedDouble(
        _ long: String, _ text: String, min: Double?, max: Double?, greaterThan: Double?
    ) throws(UsageError) -> Double {
        let option = declared(long)
        // Double("nan") and Double("inf") parse, but no option of ours means them.
        guard let value = Double(text.trimmingBlanks()), value.isFinite else {
            let expected = "a number" + (option.unit.map { " of \($0)" } ?? "")
            throw error(.badNumber(option: "--\(long)", expected: expected, value: text))
        }
        if let requirement = Bounds.violation(
            value, min: min, max: max, greaterThan: greaterThan, render: TextFormat.shortest)
        {
            throw error(.outOfRange(option: "--\(long)", requirement: requirement, value: text))
        }
        return value
    }
}

private enum Bounds {
    /// The requirement a value breaks, phrased to follow "must", or nil when it is in bounds.
    static func violation<T: Comparable>(
        _ value: T, min: T?, max: T?, greaterThan: T?, render: (T) -> String
    ) -> String? {
        if let greaterThan, value <= greaterThan {
            if let max {
                return "be greater than \(render(greaterThan)) and at most \(render(max))"
            }
            return "be greater than \(render(greaterThan))"
        }
        switch (min, max) {
        case (let min?, let max?) where value < min || value > max:
            return "be between \(render(min)) and \(render(max))"
        case (let min?, nil) where value < min:
            return "be at least \(render(min))"
        case (nil, let max?) where value > max:
            return "be at most \(render(max))"
        default:
            return nil
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (no Foundation needed).
    func trimmingBlanks() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }) else { return "" }
        let last = lastIndex(where: { !isBlank($0) })!
        return String(self[first...last])
    }
}
