/// A command line the program cannot act on. `voltctl` prints `message` after `voltctl: error: `,
/// then a pointer to `<commandPath> --help`, and exits with status 2.
///
/// Messages name the option or argument exactly as the user typed it and quote the offending
/// value, so the user can find it in a long command line.
public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// `--duratoin`, with the closest declared option if one is near.
        case unknownOption(String, suggestion: String?)
        /// `voltctl benhc`, with the closest subcommand if one is near, and the list to pick from.
        case unknownCommand(String, suggestion: String?, available: [String])
        /// A group (`voltctl bench`) given no subcommand.
        case missingCommand(available: [String])
        /// `--keys` at the end of the line, or followed by another option. Carries the synopsis.
        case missingValue(option: String, synopsis: String)
        /// `--json=yes`: a flag given a value.
        case flagWithValue(option: String, value: String)
        /// A non-repeatable option given twice.
        case repeatedOption(String)
        /// A declared-required option absent, or a value asked for that has no default.
        case missingRequiredOption(synopsis: String)
        /// A required positional argument absent.
        case missingArgument(String)
        /// A positional argument beyond those declared.
        case unexpectedArgument(String)
        /// `--duration abc`: `expected` is "a number of seconds", "a whole number", ….
        case badNumber(option: String, expected: String, value: String)
        /// A value of the right type outside its bounds: `requirement` is "be between 0 and 1".
        case outOfRange(option: String, requirement: String, value: String)
        /// Any other rule about a value, stated by the command: `requirement` completes
        /// "`--servers` must …", e.g. "list host:port pairs".
        case invalidValue(option: String, requirement: String, value: String)
        /// A rule about the combination of options, stated in full by the command.
        case other(String)
    }

    public var problem: Problem
    /// The command the user was running, for the "run … --help" hint: `voltctl bench kv`.
    public var commandPath: String

    public init(_ problem: Problem, commandPath: String) {
        self.problem = problem
        self.commandPath = commandPath
    }

    public var message: String {
        switch problem {
        case .unknownOption(let option, let suggestion):
            return "unknown option \(option)" + (suggestion.map { "; did you mean \($0)?" } ?? "")
        case .unknownCommand(let name, let suggestion, let available):
            if let suggestion { return "unknown command '\(name)'; did you mean '\(suggestion)'?" }
            return "unknown command '\(name)'; commands are: \(available.joined(separator: ", "))"
        case .missingCommand(let available):
            return "\(commandPath) needs a command: \(available.joined(separator: ", "))"
        case .missingValue(let option, let synopsis):
            return "\(option) needs a value: \(synopsis)"
        case .flagWithValue(let option, let value):
            return "\(option) is a flag and takes no value, got '\(value)'"
        case .repeatedOption(let option):
            return "\(option) was given more than once"
        case .missingRequiredOption(let synopsis):
            return "missing required option \(synopsis)"
        case .missingArgument(let name):
            return "missing argument <\(name)>"
        case .unexpectedArgument(let argument):
            return "unexpected argument '\(argument)'"
        case .badNumber(let option, let expected, let value):
            return "\(option) expects \(expected), got '\(value)'"
        case .outOfRange(let option, let requirement, let value):
            return "\(option) must \(requirement), got '\(value)'"
        case .invalidValue(let option, let requirement, let value):
            return "\(option) must \(requirement), got '\(value)'"
        case .other(let message):
            return message
        }
    }

    public var description: String { message }
}
