import Foundation
import VoltClient

// The interactive prompt of `voltctl sql`, as sqlcmd shows it: each input line is prompted with
// its number (`1> `, `2> `, …); lines accumulate until a statement ends with `;` outside quotes and
// comments, then every completed statement runs. `exit`, `quit`, `show …` and `describe …` typed on
// a line of their own run at once, without a `;`. End of input (Ctrl-D) leaves the shell; a
// statement that failed does not (its error is printed and the prompt returns), a broken
// connection does, with exit status 1.

struct SQLShell {
    let session: SQLSession

    func run() -> Int32 {
        var splitter = SQLStatementSplitter()
        var lineNumber = 1
        while true {
            writeOut("\(lineNumber)> ")
            guard let line = readLine(strippingNewline: true) else {
                writeOut("\n")
                return 0
            }
            lineNumber += 1
            var statements: [String]
            if !splitter.hasPendingText && SQLStatement.isImmediateDirective(line) {
                var directive = line.trimmingCharacters(in: .whitespaces)
                while directive.hasSuffix(";") { directive.removeLast() }
                statements = [directive]
            } else {
                statements = splitter.feed(line + "\n")
            }
            for statement in statements {
                switch session.execute(statement) {
                case .succeeded, .failed:
                    continue
                case .quit:
                    return 0
                case .connectionLost(let reason):
                    printError("voltctl: error: lost the connection: \(reason)")
                    return 1
                }
            }
        }
    }
}
