import VoltCLI
import VoltClient
import VoltModel
import VoltWire

// `voltctl pause`, `resume` and `shutdown`: voltadmin's verbs of the same names. Each connects to
// the admin port (21211 unless a server entry names its own) of the first reachable server and
// calls one system procedure, which acts on the whole cluster: @Pause (the client port stops
// accepting new work), @Resume, @Shutdown. A server may close the connection as soon as it has
// taken @Shutdown, before or instead of answering; a connection that closes after the call was
// sent therefore counts as a shutdown under way.

enum AdminCommands {
    struct Verb {
        let name: String
        let procedure: String
        let abstract: String
        let discussion: String
        let success: String
    }

    static let verbs = [
        Verb(name: "pause", procedure: "@Pause", abstract: "Pause the cluster: stop accepting new work from clients",
             discussion: "Calls @Pause on the admin port. The client port then rejects new transactions until "
                + "'voltctl resume'; admin connections keep working.",
             success: "Cluster paused: client connections are refused new work until 'voltctl resume'."),
        Verb(name: "resume", procedure: "@Resume", abstract: "Resume a paused cluster",
             discussion: "Calls @Resume on the admin port; the cluster accepts client work again.",
             success: "Cluster resumed."),
        Verb(name: "shutdown", procedure: "@Shutdown", abstract: "Stop every host of the cluster",
             discussion: "Calls @Shutdown on the admin port. Every host stops; data not saved in a snapshot "
                + "is lost. The server may close the connection right after taking the call; that counts as success.",
             success: "Shutdown requested: the cluster is stopping."),
    ]

    static func declaration(_ verb: Verb) -> Command {
        Command(
            name: verb.name, abstract: verb.abstract,
            discussion: verb.discussion + "\n\nExample:\n  voltctl \(verb.name) --servers h1,h2 --admin-port 21211",
            options: [
                .value("servers", valueName: "host[:port],...", default: "localhost", repeatable: true,
                       help: "Servers to try, in order; the first that accepts an admin connection is used."),
                .value("admin-port", valueName: "port", default: "21211", help: "Admin port for servers given without one."),
                .value("user", valueName: "name", default: "", help: "User name for the login."),
                .value("password", valueName: "password", default: "", help: "Password for the login."),
                .value("timeout", unit: "milliseconds", default: "30000", help: "How long to wait for the answer."),
            ])
    }

    static var declarations: [Command] { verbs.map(declaration) }

    static func run(_ name: String, _ arguments: ParsedArguments) throws -> String {
        guard let verb = verbs.first(where: { $0.name == name }) else { preconditionFailure("no admin verb \(name)") }
        let servers = try ClientOptions.servers(arguments, portOption: "admin-port")
        let connection = try ClientOptions.connect(servers, arguments, timeoutMillis: try arguments.int("timeout", min: 1))
        defer { connection.close() }
        let response: ClientResponse
        do {
            response = try connection.call(verb.procedure)
        } catch {
            switch error {
            case .closedByPeer where verb.procedure == "@Shutdown", .io where verb.procedure == "@Shutdown":
                return verb.success
            default:
                throw RuntimeError("\(verb.procedure): \(error)")
            }
        }
        guard response.status == .success else {
            throw RuntimeError("\(verb.procedure) failed: "
                + SQLResultFormatter.errorLine(statusCode: response.statusCode, message: response.statusString))
        }
        return verb.success
    }
}
