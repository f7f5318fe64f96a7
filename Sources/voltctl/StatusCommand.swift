import VoltCLI
import VoltClient
import VoltModel
import VoltWire

// `voltctl status`: hosts, partitions and tables of a running cluster. Asks one reachable server
// for @SystemInformation OVERVIEW (required), @Statistics TOPO, TABLE, KSAFETY, REBALANCE and JOINERS, and
// @SystemCatalog TABLES and COLUMNS; VoltClient's ClusterStatus turns the answers into the three tables (or
// `--json`). A call other than OVERVIEW that fails becomes a warning, not a failure, so a partial
// status still shows.

enum StatusCommand {
    static let declaration = Command(
        name: "status",
        abstract: "Show the cluster's hosts, partitions and tables",
        discussion: """
            Prints three tables: hosts (id, name, address, client and admin port, state, \
            uptime), partitions (leader host and replica hosts), and tables (partitioning \
            column or REPLICATED, row count, partitions). Row counts come from @Statistics \
            TABLE and count every row once: a partition's replicas are not added up, and a \
            replicated table is counted once, not once per site.

            While token ranges move to new partitions (@Statistics REBALANCE has a row), \
            a line "Cluster Expanding, progress: 42.17% completed" and a bar with the \
            transfer rates and the time left follow the summary line. Hosts started with \
            --add that wait to join (until kfactor+1 have arrived) are listed after the hosts, \
            with how long each has waited and why.

            Examples:
              voltctl status
              voltctl status --servers h1:21212 --json
            """,
        options: [
            .value("servers", valueName: "host[:port],...", default: "localhost", repeatable: true,
                   help: "Servers to try, in order; the first that accepts a connection answers."),
            .value("port", valueName: "port", default: "21212", help: "Client port for servers given without one."),
            .value("user", valueName: "name", default: "", help: "User name for the login."),
            .value("password", valueName: "password", default: "", help: "Password for the login."),
            .value("timeout", unit: "milliseconds", default: "10000", help: "How long to wait for each answer."),
            .flag("json", help: "Print the status as JSON (keys in a fixed order)."),
        ])

    static func run(_ arguments: ParsedArguments) throws -> String {
        let servers = try ClientOptions.servers(arguments, portOption: "port")
        let connection = try ClientOptions.connect(servers, arguments, timeoutMillis: try arguments.int("timeout", min: 1))
        defer { connection.close() }
        var warnings: [String] = []

        func table(_ procedure: String, _ parameters: [WireParameter], required: Bool = false, quiet: Bool = false) throws -> ResultTable? {
            let label = ([procedure] + parameters.compactMap { p -> String? in
                if case .value(.string(let s), _) = p { return s } else { return nil }
            }).joined(separator: " ")
            let response: ClientResponse
            do {
                response = try connection.call(procedure, parameters)
            } catch {
                throw RuntimeError("\(label): \(error)")
            }
            guard response.status == .success, let first = response.tables.first else {
                let why = response.status == .success ? "returned no table"
                    : SQLResultFormatter.errorLine(statusCode: response.statusCode, message: response.statusString)
                if required { throw RuntimeError("\(label) failed: \(why)") }
                if quiet { return nil }
                warnings.append("\(label) failed: \(why)")
                return nil
            }
            return first
        }

        let overview = try table("@SystemInformation", [.string("OVERVIEW")], required: true)!
        let topology = try table("@Statistics", [.string("TOPO"), .integer(0)])
        let statistics = try table("@Statistics", [.string("TABLE"), .integer(0)])
        let catalogTables = try table("@SystemCatalog", [.string("TABLES")])
        let catalogColumns = try table("@SystemCatalog", [.string("COLUMNS")])
        // Older servers lack KSAFETY; the MISSING column then shows "-" without a warning.
        let kSafety = try table("@Statistics", [.string("KSAFETY"), .integer(0)], quiet: true)
        // Older servers lack REBALANCE; an error then reads as no rebalance, without a warning.
        let rebalance = try table("@Statistics", [.string("REBALANCE"), .integer(0)], quiet: true)
        // Ours: the hosts waiting in the join buffer; an error reads as none.
        let joiners = try table("@Statistics", [.string("JOINERS"), .integer(0)], quiet: true)
        let status = ClusterStatus.build(overview: overview, topology: topology, tableStatistics: statistics,
                                         catalogTables: catalogTables, catalogColumns: catalogColumns, kSafety: kSafety,
                                         rebalance: rebalance, joiners: joiners, warnings: warnings)
        return arguments.flag("json") ? JSONWriter(style: .pretty).render(status.json) : status.text
    }
}
