import Foundation
import Node
import VoltCLI

// `voltctl bench kv`: a key-value workload (GETs and PUTs of random keys) that reports throughput
// and latency percentiles. The command parses into `KVBenchOptions`, a library call turns that
// into a `KVBenchResult`, and the result renders as text or `--json`.

/// What `voltctl bench kv` runs.
struct KVBenchOptions: Sendable, Equatable {
    /// Distinct keys, loaded before the run.
    var keys: Int
    /// Bytes in each value.
    var valueBytes: Int
    /// Fraction of operations that are GETs (0...1); the rest are PUTs.
    var getRatio: Double
    /// Measured time.
    var durationSeconds: Double
    /// Time run before measuring, not counted.
    var warmupSeconds: Double
    /// Execution sites (one thread and one partition each) of the embedded engine.
    var sites: Int

    /// The options as recorded in `--json` output, in declaration order.
    var json: JSONValue {
        [
            "keys": .int(keys),
            "valueBytes": .int(valueBytes),
            "getRatio": .double(getRatio),
            "durationSeconds": .double(durationSeconds),
            "warmupSeconds": .double(warmupSeconds),
            "sites": .int(sites),
        ]
    }
}

/// What one `voltctl bench kv` run measured. Counts and latencies cover the measured period
/// only, never the warm-up.
struct KVBenchResult: Sendable, Equatable {
    var gets: Int
    var puts: Int
    var failures: Int
    /// Length of the measured period.
    var seconds: Double
    var p50Micros: Double
    var p99Micros: Double
    var p999Micros: Double
    var sites: Int
    /// Time to load every key before the run.
    var loadSeconds: Double
    /// Rows in STORE, and the median and best time of a multi-partition `SELECT COUNT(*)` over them.
    var rows: Int
    var countMillisMedian: Double
    var countMillisMin: Double
    /// With --servers: topology changes applied during the run (nil for the embedded engine).
    var topologyUpdates: Int?

    init(_ r: EmbeddedKVBenchmark.Result, sites: Int) {
        gets = r.gets
        puts = r.puts
        failures = r.failures
        seconds = r.seconds
        p50Micros = Double(r.latency.percentileNanos(50)) / 1000
        p99Micros = Double(r.latency.percentileNanos(99)) / 1000
        p999Micros = Double(r.latency.percentileNanos(99.9)) / 1000
        self.sites = sites
        loadSeconds = r.loadSeconds
        rows = r.rows
        countMillisMedian = r.countMillisMedian
        countMillisMin = r.countMillisMin
    }

    /// Operations completed in the measured period: every GET and PUT.
    var ops: Int { gets + puts }

    var opsPerSecond: Double { seconds > 0 ? Double(ops) / seconds : 0 }

    /// The result as `--json` prints it; keys in this order, always ("topologyUpdates" last, only
    /// with --servers).
    var json: JSONValue {
        let result: JSONValue = [
            "ops": .int(ops),
            "seconds": .double(seconds),
            "opsPerSecond": .double(opsPerSecond),
            "p50Micros": .double(p50Micros),
            "p99Micros": .double(p99Micros),
            "p999Micros": .double(p999Micros),
            "gets": .int(gets),
            "puts": .int(puts),
            "failures": .int(failures),
            "sites": .int(sites),
            "loadSeconds": .double(loadSeconds),
            "rows": .int(rows),
            "mpCountMillisMedian": .double(countMillisMedian),
            "mpCountMillisMin": .double(countMillisMin),
        ]
        guard let topologyUpdates, case .object(let members) = result else { return result }
        return .object(members + [JSONValue.Member("topologyUpdates", .int(topologyUpdates))])
    }

    /// The result for people: one metric a line, values right-aligned.
    var text: String {
        let rows = [
            ["ops", TextFormat.grouped(ops)],
            ["seconds", TextFormat.fixed(seconds, decimals: 2)],
            ["ops/sec", TextFormat.grouped(Int(opsPerSecond.rounded()))],
            ["p50 latency (µs)", TextFormat.fixed(p50Micros, decimals: 2)],
            ["p99 latency (µs)", TextFormat.fixed(p99Micros, decimals: 2)],
            ["p99.9 latency (µs)", TextFormat.fixed(p999Micros, decimals: 2)],
            ["gets", TextFormat.grouped(gets)],
            ["puts", TextFormat.grouped(puts)],
            ["failures", TextFormat.grouped(failures)],
            ["sites", String(sites)],
            ["load time (s)", TextFormat.fixed(loadSeconds, decimals: 2)],
            ["MP COUNT(*) rows", TextFormat.grouped(self.rows)],
            ["MP COUNT(*) median (ms)", TextFormat.fixed(countMillisMedian, decimals: 3)],
            ["MP COUNT(*) best (ms)", TextFormat.fixed(countMillisMin, decimals: 3)],
        ] + (topologyUpdates.map { [["topology updates", TextFormat.grouped($0)]] } ?? [])
        let table = TextTable(
            columns: [.init("metric", alignment: .left), .init("value", alignment: .right)],
            rows: rows)
        return TableRenderer(format: .fixed, includesHeader: false).render(table)
    }
}

/// Runs the key-value workload against an engine inside this process. Progress lines go to
/// standard error so that `--json` output on standard output stays clean.
func runEmbeddedKVBench(_ options: KVBenchOptions) throws -> KVBenchResult {
    var o = EmbeddedKVBenchmark.Options()
    o.keys = options.keys
    o.valueBytes = options.valueBytes
    o.getRatio = options.getRatio
    o.durationSeconds = options.durationSeconds
    o.warmupSeconds = options.warmupSeconds
    o.sites = options.sites
    let result = try EmbeddedKVBenchmark.run(o) { line in
        FileHandle.standardError.write(Data("voltctl bench: \(line)\n".utf8))
    }
    return KVBenchResult(result, sites: options.sites)
}

/// The `bench kv` command: its declaration and what it does.
enum BenchKVCommand {
    /// VoltDB caps a VARBINARY value at 1 MiB; a larger value could never be stored.
    static let valueBytesMax = 1_048_576

    static let declaration = Command(
        name: "kv",
        abstract: "Measure key-value throughput and latency",
        discussion: """
            Loads --keys keys with values of --value-bytes bytes, then runs GETs and PUTs of \
            random keys (--get-ratio of them GETs) for --warmup seconds, unmeasured, and then \
            for --duration seconds, measured. Reports operations per second and the p50, p99 \
            and p99.9 latencies of the measured period.

            After the run it times a multi-partition SELECT COUNT(*) over the loaded rows \
            (median and best of 21).

            --embedded runs an engine inside this process. --servers runs the same workload \
            over the client wire protocol: it creates STORE (partitioned on KEY) if the \
            catalog lacks it, loads the keys with pipelined STORE.upsert calls, then sends \
            STORE.select and STORE.upsert calls with up to --max-in-flight unanswered per \
            connection (--connections per host), paced to --rate if given. Latency is \
            measured per call from send to response. With --servers, "sites" reports the \
            cluster's partition count (0 if the server does not report it).

            With --servers, each call goes to its partition leader's host (client affinity) \
            and the run follows the cluster's topology: it connects to every host the cluster \
            lists, and on each topology change routes new calls by the new leaders and hash \
            ring, connects to hosts that joined and stops sending to hosts that left. \
            "topology updates" counts the changes applied.

            Examples:
              voltctl bench kv --embedded --sites 4 --duration 30 --json
              voltctl bench kv --servers h1,h2 --connections 4 --max-in-flight 512
            """,
        options: [
            .flag("embedded", help: "Run against an engine inside this process (no network)."),
            .value(
                "servers", valueName: "host[:port],...", repeatable: true,
                help: "Run against a running cluster over the client wire protocol."),
            .value("port", valueName: "port", default: "21212", help: "With --servers: client port for servers given without one."),
            .value("user", valueName: "name", default: "", help: "With --servers: user name for the login."),
            .value("password", valueName: "password", default: "", help: "With --servers: password for the login."),
            .value(
                "connections", valueName: "count", default: "2",
                help: "With --servers: connections to each host of the cluster, each with its own sender and receiver thread."),
            .value(
                "max-in-flight", valueName: "count", default: "256",
                help: "With --servers: calls sent and not yet answered, at most, per connection."),
            .value(
                "rate", unit: "ops/s",
                help: "With --servers: target operations per second over all connections (default: as fast as possible)."),
            .value(
                "timeout", unit: "milliseconds", default: "10000",
                help: "With --servers: a connection with calls in flight and no response for this long fails the run."),
            .value("keys", valueName: "count", default: "100000", help: "Distinct keys."),
            .value(
                "value-bytes", unit: "bytes", default: "100",
                help: "Bytes in each value, up to 1 MiB (1048576)."),
            .value(
                "get-ratio", valueName: "fraction", default: "0.5",
                help: "Fraction of operations that are GETs, 0 to 1; the rest are PUTs."),
            .value("duration", unit: "seconds", default: "10", help: "Measured time."),
            .value(
                "warmup", unit: "seconds", default: "2",
                help: "Time run before measuring, not counted."),
            .value(
                "sites", valueName: "count", default: "2",
                help: "Execution sites of the embedded engine, one thread and partition each."),
            .flag("skip-load", help: "With --servers: do not load the keys first (an earlier run with the same --keys loaded them)."),
            .flag("json", help: "Print the options and result as JSON (keys in a fixed order)."),
        ])

    /// Reads the options, runs the benchmark and returns what to print.
    static func run(_ arguments: ParsedArguments) throws -> String {
        let embedded = arguments.flag("embedded")
        let usesServers = arguments.isGiven("servers")
        if embedded && usesServers {
            throw arguments.error(.other("--embedded and --servers cannot be used together"))
        }
        if !embedded && !usesServers {
            throw arguments.error(
                .other("bench kv needs a target: --embedded or --servers <host:port,...>"))
        }
        let options = try KVBenchOptions(
            keys: arguments.int("keys", min: 1),
            valueBytes: arguments.int("value-bytes", min: 0, max: valueBytesMax),
            getRatio: arguments.double("get-ratio", min: 0, max: 1),
            durationSeconds: arguments.double("duration", greaterThan: 0),
            warmupSeconds: arguments.double("warmup", min: 0),
            sites: arguments.int("sites", min: 1))
        if usesServers {
            if arguments.list("servers").isEmpty {
                throw arguments.error(
                    .invalidValue(
                        option: "--servers", requirement: "list at least one host:port",
                        value: arguments.optionalString("servers") ?? ""))
            }
            return try runRemoteKVBench(RemoteKVBenchOptions(arguments, common: options), json: arguments.flag("json"))
        }

        return try runEmbeddedKVBench(options).rendered(target: "embedded", options: options.json, json: arguments.flag("json"))
    }
}

extension KVBenchResult {
    /// The result for people, or with `--json` one document: `{benchmark, target, options, result}`.
    func rendered(target: String, options: JSONValue, json: Bool) -> String {
        guard json else { return text }
        let document: JSONValue = ["benchmark": "kv", "target": .string(target), "options": options, "result": self.json]
        return JSONWriter(style: .pretty).render(document)
    }
}
