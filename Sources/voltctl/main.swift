// voltctl: the command-line tool. Thin by design: declare the commands, parse into a value,
// call a library, print text or JSON. Exit status: 0 success (and --help), 1 the command failed,
// 2 the command line was wrong.

import Foundation
import VoltCLI

/// A failure while carrying out a well-formed command; exit status 1.
struct RuntimeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

let voltctl = Command(
    name: "voltctl",
    abstract: "Operate an elastic, K-safe, in-memory SQL database cluster",
    subcommands: [
        InitCommand.declaration,
        StartCommand.declaration,
        Command(
            name: "bench",
            abstract: "Measure throughput and latency under a synthetic workload",
            subcommands: [BenchKVCommand.declaration]),
        SQLCommand.declaration,
        StatusCommand.declaration,
    ] + AdminCommands.declarations)

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

func run(_ arguments: [String]) -> Int32 {
    do {
        switch try ArgumentParser(root: voltctl).parse(arguments) {
        case .help(_, let text):
            print(text)
        case .run(let parsed):
            switch parsed.verbs {
            case ["bench", "kv"]: print(try BenchKVCommand.run(parsed))
            case ["init"]: print(try InitCommand.run(parsed))
            case ["start"]: try StartCommand.run(parsed, commandLine: arguments)
            case ["sql"]: return try SQLCommand.run(parsed)
            case ["status"]: print(try StatusCommand.run(parsed))
            case ["pause"], ["resume"], ["shutdown"]: print(try AdminCommands.run(parsed.verbs[0], parsed))
            default: preconditionFailure("'\(parsed.commandPath)' is declared but has no handler")
            }
        }
        return 0
    } catch let error as UsageError {
        printError("voltctl: error: \(error.message)")
        printError("Run '\(error.commandPath) --help' for usage.")
        return 2
    } catch {
        printError("voltctl: error: \(error)")
        return 1
    }
}

exit(run(Array(CommandLine.arguments.dropFirst())))
