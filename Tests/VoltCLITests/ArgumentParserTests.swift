import Testing
import VoltCLI

/// A small tree with one of every kind of option and argument.
let sampleTool = Command(
    name: "tool",
    abstract: "Exercise the parser",
    subcommands: [
        Command(
            name: "load",
            abstract: "Load files into a table",
            options: [
                .value(
                    "host", short: "H", valueName: "host:port", repeatable: true, help: "A host."),
                .value("duration", short: "d", unit: "seconds", default: "10", help: "How long."),
                .value("keys", valueName: "count", default: "100000", help: "How many keys."),
                .value("value-bytes", unit: "bytes", default: "100", help: "Value size."),
                .value("ratio", valueName: "fraction", default: "0.5", help: "A ratio."),
                .value("dir", valueName: "path", required: true, help: "Where."),
                .value("limit", valueName: "n", help: "Optional, no default."),
                .flag("json", short: "j", help: "JSON output."),
            ],
            arguments: [
                Argument("table", help: "The table."),
                Argument("files", help: "Files to load.", isRequired: false, isVariadic: true),
            ]),
        Command(
            name: "group",
            abstract: "A nested group",
            subcommands: [Command(name: "leaf", abstract: "A leaf without options")]),
    ])

let sampleParser = ArgumentParser(root: sampleTool)

/// Parses a line that must run a command.
func parsed(_ line: [String]) throws -> ParsedArguments {
    guard case .run(let arguments) = try sampleParser.parse(line) else {
        Issue.record("expected a command to run for \(line)")
        throw UsageError(.other("not run"), commandPath: "tool")
    }
    return arguments
}

/// The message of the usage error a line produces, or nil if it parses.
func parseError(_ line: [String]) -> String? {
    do {
        _ = try sampleParser.parse(line)
        return nil
    } catch {
        return error.message
    }
}

/// The path of the help a line asks for, or nil if it does not ask for help.
func helpPath(_ line: [String]) throws -> [String]? {
    guard case .help(let path, _) = try sampleParser.parse(line) else { return nil }
    return path
}

@Suite struct ArgumentParserAcceptsTheForms {
    @Test func spaceEqualsAndShortFormsGiveTheSameValue() throws {
        for line in [
            ["load", "--duration", "30", "--dir", "/d", "t"],
            ["load", "--duration=30", "--dir=/d", "t"],
            ["load", "-d", "30", "--dir", "/d", "t"],
        ] {
            let arguments = try parsed(line)
            #expect(try arguments.double("duration") == 30, "\(line)")
            #expect(try arguments.string("dir") == "/d", "\(line)")
            #expect(arguments.positional("table") == "t", "\(line)")
        }
    }

    @Test func equalsFormKeepsEverythingAfterTheFirstEquals() throws {
        let arguments = try parsed(["load", "--dir=a=b", "t"])
        #expect(try arguments.string("dir") == "a=b")
    }

    @Test func equalsFormAcceptsAnEmptyValue() throws {
        let arguments = try parsed(["load", "--dir=", "t"])
        #expect(try arguments.string("dir") == "")
    }

    @Test func absentOptionsReadAsTheirDefaults() throws {
        let arguments = try parsed(["load", "--dir", "/d", "t"])
        #expect(try arguments.int("keys") == 100_000)
        #expect(try arguments.double("ratio") == 0.5)
        #expect(arguments.isGiven("keys") == false)
        #expect(arguments.flag("json") == false)
        #expect(try arguments.optionalInt("limit") == nil)
        #expect(arguments.optionalString("limit") == nil)
    }

    @Test func flagsInLongAndShortForm() throws {
        #expect(try parsed(["load", "--json", "--dir", "/d", "t"]).flag("json"))
        #expect(try parsed(["load", "-j", "--dir", "/d", "t"]).flag("json"))
    }

    @Test func optionsAndPositionalsMayInterleave() throws {
        let arguments = try parsed(["load", "t", "--dir", "/d", "a.csv", "--json", "b.csv"])
        #expect(arguments.positional("table") == "t")
        #expect(arguments.positionalList("files") == ["a.csv", "b.csv"])
        #expect(arguments.flag("json"))
    }

    @Test func doubleDashEndsOptions() throws {
        let arguments = try parsed(["load", "--dir", "/d", "--", "--json", "-h", "--help"])
        #expect(arguments.positional("table") == "--json")
        #expect(arguments.positionalList("files") == ["-h", "--help"])
        #expect(arguments.flag("json") == false)
    }

    @Test func negativeNumbersAreValuesNotOptions() throws {
        let arguments = try parsed(["load", "--limit", "-5", "--dir", "/d", "t"])
        #expect(try arguments.optionalInt("limit") == -5)
        let table = try parsed(["load", "--dir", "/d", "-2.5"])
        #expect(table.positional("table") == "-2.5")
    }

    @Test func aLoneDashIsAValue() throws {
        let arguments = try parsed(["load", "--dir", "-", "-"])
        #expect(try arguments.string("dir") == "-")
        #expect(arguments.positional("table") == "-")
    }

    @Test func theParsedCommandNamesItsPath() throws {
        let arguments = try parsed(["load", "--dir", "/d", "t"])
        #expect(arguments.path == ["tool", "load"])
        #expect(arguments.verbs == ["load"])
        #expect(arguments.commandPath == "tool load")
        let leaf = try parsed(["group", "leaf"])
        #expect(leaf.verbs == ["group", "leaf"])
    }
}

@Suite struct ArgumentParserLists {
    @Test func commaSeparatedAndRepeatedValuesConcatenateInOrder() throws {
        let arguments = try parsed(
            ["load", "--host", "a:1,b:2", "-H", "c:3", "--host=d:4", "--dir", "/d", "t"])
        #expect(arguments.list("host") == ["a:1", "b:2", "c:3", "d:4"])
        #expect(arguments.optionalString("host") == "d:4")
    }

    @Test func blanksAndEmptyItemsAreDropped() throws {
        let arguments = try parsed(["load", "--host", " a:1 , ,b:2,", "--dir", "/d", "t"])
        #expect(arguments.list("host") == ["a:1", "b:2"])
    }

    @Test func anAbsentListIsEmptyAndADefaultIsSplit() throws {
        let arguments = try parsed(["load", "--dir", "/d", "t"])
        #expect(arguments.list("host") == [])
        #expect(arguments.list("keys") == ["100000"])
    }

    @Test func aListOptionWithoutRepeatsReadsLikeAnyValue() throws {
        let arguments = try parsed(["load", "--dir", "x,y", "t"])
        #expect(arguments.list("dir") == ["x", "y"])
    }
}

@Suite struct ArgumentParserErrors {
    @Test func unknownOptionSuggestsTheClosestName() {
        #expect(
            parseError(["load", "--duratoin", "5"])
                == "unknown option --duratoin; did you mean --duration?")
        #expect(parseError(["load", "--jsno"]) == "unknown option --jsno; did you mean --json?")
        #expect(
            parseError(["load", "--value-byte", "5"])
                == "unknown option --value-byte; did you mean --value-bytes?")
        #expect(parseError(["load", "--hepl"]) == "unknown option --hepl; did you mean --help?")
    }

    @Test func unknownOptionWithNothingCloseHasNoSuggestion() {
        #expect(parseError(["load", "--zzzzzz"]) == "unknown option --zzzzzz")
        #expect(parseError(["load", "-x"]) == "unknown option -x")
        #expect(parseError(["load", "-jd"]) == "unknown option -jd")
    }

    @Test func unknownOptionOnAGroup() {
        #expect(parseError(["--jsn"]) == "unknown option --jsn")
        #expect(parseError(["--hel"]) == "unknown option --hel; did you mean --help?")
    }

    @Test func missingValueAtTheEndOrBeforeAnotherOption() {
        #expect(parseError(["load", "t", "--dir"]) == "--dir needs a value: --dir <path>")
        #expect(parseError(["load", "t", "--dir", "--json"]) == "--dir needs a value: --dir <path>")
        #expect(parseError(["load", "t", "-d"]) == "-d needs a value: --duration <seconds>")
        #expect(parseError(["load", "t", "--dir", "--"]) == "--dir needs a value: --dir <path>")
    }

    @Test func aFlagGivenAValue() {
        #expect(
            parseError(["load", "--json=yes", "--dir", "/d", "t"])
                == "--json is a flag and takes no value, got 'yes'")
    }

    @Test func aSingleValueOptionGivenTwice() {
        #expect(
            parseError(["load", "--dir", "a", "--dir", "b", "t"])
                == "--dir was given more than once")
        let twice = parseError(["load", "--json", "-j", "--dir", "a", "t"])
        #expect(twice == "-j was given more than once")
    }

    @Test func missingRequiredOption() {
        #expect(parseError(["load", "t"]) == "missing required option --dir <path>")
    }

    @Test func missingAndUnexpectedArguments() {
        #expect(parseError(["load", "--dir", "/d"]) == "missing argument <table>")
        #expect(parseError(["group", "leaf", "extra"]) == "unexpected argument 'extra'")
    }

    @Test func unknownCommandSuggestsTheClosestName() {
        #expect(parseError(["laod"]) == "unknown command 'laod'; did you mean 'load'?")
        #expect(parseError(["group", "lef"]) == "unknown command 'lef'; did you mean 'leaf'?")
        #expect(parseError(["hlep"]) == "unknown command 'hlep'; did you mean 'help'?")
        #expect(parseError(["xyzzy"]) == "unknown command 'xyzzy'; commands are: load, group, help")
        #expect(parseError(["group", "xyzzy"]) == "unknown command 'xyzzy'; commands are: leaf")
    }

    @Test func aGroupWithoutACommand() {
        #expect(parseError([]) == "tool needs a command: load, group")
        #expect(parseError(["group"]) == "tool group needs a command: leaf")
    }

    @Test func errorsNameTheCommandForTheHelpHint() {
        do {
            _ = try sampleParser.parse(["group", "leaf", "--x"])
            Issue.record("expected an error")
        } catch {
            #expect(error.commandPath == "tool group leaf")
            #expect(error.problem == .unknownOption("--x", suggestion: nil))
        }
    }
}

@Suite struct ParsedArgumentsNumbers {
    func arguments(_ options: [String]) throws -> ParsedArguments {
        try parsed(["load", "--dir", "/d", "t"] + options)
    }

    /// The message of the usage error `body` throws, or nil if it throws none.
    func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return (error as? UsageError)?.message ?? "not a usage error: \(error)"
        }
    }

    @Test func badNumbersNameTheOptionTheUnitAndTheValue() throws {
        let a = try arguments(
            ["--duration", "abc", "--keys", "1.5", "--value-bytes", "x", "--ratio", "half"])
        #expect(
            message { _ = try a.double("duration") }
                == "--duration expects a number of seconds, got 'abc'")
        #expect(message { _ = try a.int("keys") } == "--keys expects a whole number, got '1.5'")
        #expect(
            message { _ = try a.int("value-bytes") }
                == "--value-bytes expects a whole number of bytes, got 'x'")
        #expect(message { _ = try a.double("ratio") } == "--ratio expects a number, got 'half'")
    }

    @Test func nanAndInfinityAreNotNumbers() throws {
        for text in ["nan", "inf", "-infinity"] {
            let a = try arguments(["--duration", text])
            #expect(
                message { _ = try a.double("duration") }
                    == "--duration expects a number of seconds, got '\(text)'")
        }
    }

    @Test func rangesAreCheckedWithTheBoundsInTheMessage() throws {
        let a = try arguments(
            ["--keys", "0", "--ratio", "1.5", "--duration", "0", "--value-bytes", "2000000"])
        #expect(message { _ = try a.int("keys", min: 1) } == "--keys must be at least 1, got '0'")
        #expect(
            message { _ = try a.int("keys", min: 1, max: 9) }
                == "--keys must be between 1 and 9, got '0'")
        #expect(
            message { _ = try a.int("value-bytes", max: 1_048_576) }
                == "--value-bytes must be at most 1048576, got '2000000'")
        #expect(
            message { _ = try a.double("ratio", min: 0, max: 1) }
                == "--ratio must be between 0 and 1, got '1.5'")
        #expect(
            message { _ = try a.double("duration", greaterThan: 0) }
                == "--duration must be greater than 0, got '0'")
        #expect(
            message { _ = try a.double("ratio", max: 0.25) }
                == "--ratio must be at most 0.25, got '1.5'")
    }

    @Test func valuesInRangeAreReturned() throws {
        let a = try arguments(
            ["--keys", "1", "--ratio", "1", "--duration", "0.5", "--limit", " 7 "])
        #expect(try a.int("keys", min: 1, max: 1) == 1)
        #expect(try a.double("ratio", min: 0, max: 1) == 1)
        #expect(try a.double("duration", greaterThan: 0) == 0.5)
        #expect(try a.optionalInt("limit", min: 7) == 7)
    }

    @Test func askingForAValueThatHasNoDefaultIsAMissingRequiredOption() throws {
        let a = try arguments([])
        #expect(message { _ = try a.int("limit") } == "missing required option --limit <n>")
        #expect(message { _ = try a.string("limit") } == "missing required option --limit <n>")
    }

    @Test func commandsStateTheirOwnRulesThroughTheSameErrorType() throws {
        let a = try arguments([])
        let error = a.error(
            .invalidValue(option: "--host", requirement: "list host:port pairs", value: "x"))
        #expect(error.message == "--host must list host:port pairs, got 'x'")
        #expect(error.commandPath == "tool load")
        #expect(a.error(.other("pick one")).message == "pick one")
    }
}

@Suite struct ArgumentParserHelp {
    @Test func helpOnEveryCommand() throws {
        #expect(try helpPath(["--help"]) == ["tool"])
        #expect(try helpPath(["-h"]) == ["tool"])
        #expect(try helpPath(["load", "--help"]) == ["tool", "load"])
        #expect(try helpPath(["group", "-h"]) == ["tool", "group"])
        #expect(try helpPath(["group", "leaf", "--help"]) == ["tool", "group", "leaf"])
    }

    @Test func theHelpVerb() throws {
        #expect(try helpPath(["help"]) == ["tool"])
        #expect(try helpPath(["help", "load"]) == ["tool", "load"])
        #expect(try helpPath(["help", "group", "leaf"]) == ["tool", "group", "leaf"])
        #expect(parseError(["help", "lod"]) == "unknown command 'lod'; did you mean 'load'?")
        #expect(parseError(["help", "load", "extra"]) == "unexpected argument 'extra'")
    }

    @Test func helpWinsOverOtherProblemsOnTheLine() throws {
        #expect(try helpPath(["load", "--bogus", "--help"]) == ["tool", "load"])
        #expect(try helpPath(["load", "--dir", "--help"]) == ["tool", "load"])
        #expect(try helpPath(["load", "--keys", "abc", "-h"]) == ["tool", "load"])
        #expect(try helpPath(["group", "--bogus", "--help"]) == ["tool", "group"])
    }

    @Test func helpAfterDoubleDashIsAnArgument() throws {
        #expect(try helpPath(["load", "--dir", "/d", "--", "--help"]) == nil)
    }

    @Test func anUnknownCommandIsStillAnErrorWhenHelpIsAsked() {
        #expect(parseError(["laod", "--help"]) == "unknown command 'laod'; did you mean 'load'?")
    }

    @Test func helpTextForAPath() {
        let leafHelp = sampleParser.helpText(for: ["tool", "group", "leaf"])
        #expect(leafHelp?.hasPrefix("Usage: tool group leaf") == true)
        #expect(sampleParser.helpText(for: ["tool", "nope"]) == nil)
        #expect(sampleParser.helpText(for: ["other"]) == nil)
    }
}

@Suite struct ArgumentParserDeclarationChecks {
    @Test func aDuplicateOptionStopsTheProgram() async {
        await #expect(processExitsWith: .failure) {
            _ = ArgumentParser(
                root: Command(
                    name: "x", abstract: "",
                    options: [.flag("a", help: ""), .flag("a", help: "")]))
        }
    }

    @Test func readingAnUndeclaredOptionStopsTheProgram() async {
        await #expect(processExitsWith: .failure) {
            let arguments = try parsed(["group", "leaf"])
            _ = arguments.flag("json")
        }
    }
}
