import Foundation
import Node
import VoltCLI
import VoltClient

// `voltctl bench kv --servers`: the embedded benchmark's workload over the client wire protocol
// (VoltClient's KVWireBenchmark, pipelined: a sender and a receiver thread per connection). The
// result renders through the embedded variant's `KVBenchResult`, so both print the same text and
// the same `--json` result keys; "sites" holds the cluster's partition count (one site per
// partition, as in the embedded engine; at the end of the run), 0 when the server does not report
// it, and one key more comes last: "topologyUpdates", the topology changes the run followed.

/// The wire driver records into the same histogram as the embedded benchmark.
extension LatencyHistogram: LatencyRecorder {}

/// What `voltctl bench kv --servers` runs, as recorded in `--json`.
struct RemoteKVBenchOptions: Sendable, Equatable {
    var common: KVBenchOptions
    var wire: KVWireBenchmark.Options

    /// Reads the wire options; `common` was read and checked already.
    init(_ arguments: ParsedArguments, common: KVBenchOptions) throws {
        self.common = common
        let servers = try ClientOptions.servers(arguments, portOption: "port")
        var wire = KVWireBenchmark.Options(servers: servers)
        wire.username = try arguments.string("user")
        wire.password = try arguments.string("password")
        wire.connectionsPerServer = try arguments.int("connections", min: 1, max: 64)
        wire.maxInFlightPerConnection = try arguments.int("max-in-flight", min: 1, max: 1_000_000)
        wire.ratePerSecond = try arguments.optionalDouble("rate", greaterThan: 0)
        wire.timeoutMillis = try arguments.int("timeout", min: 1)
        wire.load = !arguments.flag("skip-load")
        wire.keys = common.keys
        wire.valueBytes = common.valueBytes
        wire.getRatio = common.getRatio
        wire.durationSeconds = common.durationSeconds
        wire.warmupSeconds = common.warmupSeconds
        // A key's handle holds its send time in 47 bits of nanoseconds: 39 hours.
        if common.warmupSeconds + common.durationSeconds > 36 * 3600 {
            throw arguments.error(.other("--warmup plus --duration must stay under 36 hours"))
        }
        self.wire = wire
    }

    var json: JSONValue {
        [
            "keys": .int(common.keys),
            "valueBytes": .int(common.valueBytes),
            "getRatio": .double(common.getRatio),
            "durationSeconds": .double(common.durationSeconds),
            "warmupSeconds": .double(common.warmupSeconds),
            "servers": .array(wire.servers.map { .string($0.description) }),
            "connectionsPerServer": .int(wire.connectionsPerServer),
            "maxInFlightPerConnection": .int(wire.maxInFlightPerConnection),
            "ratePerSecond": wire.ratePerSecond.map(JSONValue.double) ?? .null,
            "load": .bool(wire.load),
        ]
    }
}

extension KVBenchResult {
    init(_ r: KVWireBenchmark.Result<LatencyHistogram>) {
        gets = r.gets
        puts = r.puts
        failures = r.failures
        seconds = r.seconds
        p50Micros = Double(r.latency.percentileNanos(50)) / 1000
        p99Micros = Double(r.latency.percentileNanos(99)) / 1000
        p999Micros = Double(r.latency.percentileNanos(99.9)) / 1000
        sites = r.partitions ?? 0
        loadSeconds = r.loadSeconds
        rows = r.rows
        countMillisMedian = r.countMillisMedian
        countMillisMin = r.countMillisMin
        topologyUpdates = r.topologyUpdates
    }
}

/// Runs the workload against the cluster and returns what to print.
func runRemoteKVBench(_ options: RemoteKVBenchOptions, json: Bool) throws -> String {
    let progress: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data("voltctl bench: \(line)\n".utf8))
    }
    let raw: KVWireBenchmark.Result<LatencyHistogram>
    do {
        raw = try KVWireBenchmark.run(options.wire, recording: LatencyHistogram.self, progress: progress)
    } catch {
        throw RuntimeError(error.message)
    }
    if let failure = raw.firstFailure { progress("\(raw.failures) calls failed; the first: \(failure)") }
    return KVBenchResult(raw).rendered(target: "servers", options: options.json, json: json)
}
