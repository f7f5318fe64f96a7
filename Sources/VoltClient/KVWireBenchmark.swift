// `voltctl bench kv --servers`: the embedded key-value benchmark's workload run against a cluster
// over the client wire protocol. Same table, keys, value and mix as `EmbeddedKVBenchmark`:
//
//   1. On one control connection: create STORE unless @SystemCatalog TABLES lists it (the
//      embedded variant's DDL, one statement per @AdHoc), and read the partition count
//      (@Statistics PARTITIONCOUNT, else the TOPO rows).
//   2. Open `connectionsPerServer` pipelined connections to every server.
//   3. Load: every key once with `STORE.upsert`, keys spread round-robin over the connections.
//      Any failed upsert fails the benchmark.
//   4. Run: random GETs (`STORE.select`) and PUTs (`STORE.upsert`) for warm-up plus duration;
//      only calls sent after the warm-up and answered before the end count.
//   5. Time `SELECT COUNT(*) FROM STORE` through @AdHoc `countRepetitions` times (median, best),
//      on the control connection, or on a new one if its host went away during the run.
//
// Client affinity, following the topology (when the server reports an elastic ring: OVERVIEW and
// TOPO, read on the control connection): in the run each connection sends only keys whose
// partition its host leads, as VoltDB's clients do, so no call takes an extra hop; every host of
// the topology gets `connectionsPerServer` connections, listed in `servers` or not; and the
// topology is followed while the run goes on (FollowingConnections: a new map on every change,
// calls in flight keep their host). Without a usable topology every connection draws from every
// key, and nothing is followed.
//
// Keys are `K000000000`…, the value is `valueBytes` bytes from SplitMix64(seed), each connection's
// random stream is seeded from the seed and its index, so two runs with the same options send the
// same calls. The pipelining itself is PipelinedKVDriver's.

import VoltModel
import VoltWire

/// A failure that stops the wire benchmark: connecting, creating STORE, loading, a broken
/// connection during the run.
public struct KVWireBenchmarkError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum KVWireBenchmark {
    public struct Options: Sendable, Equatable {
        public var servers: [ServerAddress]
        public var username = ""
        public var password = ""
        public var connectionsPerServer = 2
        public var maxInFlightPerConnection = 256
        /// Target operations per second over all connections; nil for as fast as possible.
        public var ratePerSecond: Double?
        public var keys = 100_000
        public var valueBytes = 100
        public var getRatio = 0.5
        public var durationSeconds = 10.0
        public var warmupSeconds = 2.0
        public var countRepetitions = 21
        public var seed: UInt64 = 0x5EED
        public var timeoutMillis = 10_000
        /// Load the keys before running (false: an earlier run with the same keys and value size
        /// loaded them, and the run starts at once).
        public var load = true

        public init(servers: [ServerAddress]) { self.servers = servers }

        public var connectionCount: Int { servers.count * connectionsPerServer }
    }

    public struct Result<Recorder: LatencyRecorder>: Sendable {
        public var gets: Int
        public var puts: Int
        public var failures: Int
        public var seconds: Double
        public var latency: Recorder
        public var loadSeconds: Double
        public var rows: Int
        public var countMillisMedian: Double
        public var countMillisMin: Double
        /// Partitions of the cluster, when the server reports them.
        public var partitions: Int?
        /// Whether STORE was created by this run (false: it existed).
        public var createdTable: Bool
        /// The first failed call of the measured period, `STATUS_NAME: message`.
        public var firstFailure: String?
        /// Topology changes applied during the run (0 when the topology was not followed).
        public var topologyUpdates: Int
    }

    /// The embedded benchmark's key spelling, so both variants touch the same rows.
    public static func key(_ i: Int) -> String {
        let digits = String(i)
        return "K" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits
    }

    public static let createTable =
        "CREATE TABLE STORE (KEY VARCHAR(250) NOT NULL, VALUE VARBINARY(1048576) NOT NULL, PRIMARY KEY (KEY))"
    public static let partitionTable = "PARTITION TABLE STORE ON COLUMN KEY"

    public static func run<Recorder: LatencyRecorder>(_ options: Options, recording: Recorder.Type = Recorder.self,
                                                      progress: @escaping @Sendable (String) -> Void = { _ in })
        throws(KVWireBenchmarkError) -> Result<Recorder>
    {
        precondition(!options.servers.isEmpty && options.keys > 0 && options.connectionsPerServer > 0)
        var control = try connectControl(options.servers, options)
        defer { control.close() }
        let created = try ensureStore(control)
        if created { progress("created table STORE, partitioned on KEY") }
        var partitions = partitionCount(control)
        let topology = (try? KVTopology.read(control)) ?? nil

        var sockets: [WireSocket] = []
        defer { for socket in sockets { socket.close() } }
        for server in options.servers {
            do {
                sockets += try connect(server, options)
            } catch {
                throw KVWireBenchmarkError("cannot open a benchmark connection to \(server): \(error)")
            }
        }

        var rng = SplitMix64(seed: options.seed)
        let value = (0..<options.valueBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let encoder = KVInvocationEncoder(keys: (0..<options.keys).map(key), value: value)
        let driver = PipelinedKVDriver(encoder: encoder, maxInFlight: options.maxInFlightPerConnection,
                                       timeoutMillis: options.timeoutMillis)
        let connections = sockets.count

        let loadStart = MonotonicClock.nanos()
        var load = PipelinedKVDriver.Report<Recorder>()
        if options.load {
            progress("loading \(options.keys) keys of \(options.valueBytes) bytes over \(connections) connection\(connections == 1 ? "" : "s")")
            for report in driver.run(PipelinedKVDriver.Phase(epochNanos: loadStart), sockets: sockets,
                                     work: (0..<connections).map { .load(first: $0, stride: connections, keyCount: options.keys) },
                                     recording: Recorder.self) {
                load.merge(report)
            }
        } else {
            progress("not loading: the \(options.keys) keys are assumed loaded by an earlier run")
        }
        let loadSeconds = Double(MonotonicClock.nanos() - loadStart) / 1e9
        if let error = load.error { throw KVWireBenchmarkError("loading failed: \(error)") }
        guard load.failures == 0 else {
            throw KVWireBenchmarkError("\(load.failures) upserts failed while loading; first: \(load.firstFailure ?? "?")")
        }

        let start = MonotonicClock.nanos()
        let warmupEnd = start + UInt64(options.warmupSeconds * 1e9)
        let end = warmupEnd + UInt64(options.durationSeconds * 1e9)
        let rate = options.ratePerSecond.map { $0 / Double(connections) }
        progress("warming up \(format(options.warmupSeconds))s, then measuring \(format(options.durationSeconds))s"
                 + " (\(options.maxInFlightPerConnection) calls in flight per connection"
                 + (options.ratePerSecond.map { ", target \(Int($0)) ops/s" } ?? "") + ")")
        let phase = PipelinedKVDriver.Phase(epochNanos: start, sendUntilNanos: end, measureFromNanos: warmupEnd,
                                            measureUntilNanos: end, ratePerConnection: rate)
        let run = driver.start(phase, recording: Recorder.self)
        defer { for socket in run.sockets { socket.close() } }
        var topologyUpdates = 0
        var latest = topology
        if let topology {
            progress("routing each call to its partition leader's host (client affinity), following topology changes")
            let follower = FollowingConnections(run: run, topology: topology, options: options, progress: progress)
            for socket in sockets { follower.add(socket) }
            follower.follow(until: end)
            topologyUpdates = follower.updatesApplied
            latest = follower.latest
        } else {
            for (c, socket) in sockets.enumerated() {
                run.add(socket, .random(getRatio: options.getRatio, keyCount: options.keys, seed: seed(connection: c, options)))
            }
        }
        var measured = PipelinedKVDriver.Report<Recorder>()
        var lost: [PipelinedKVDriver.Report<Recorder>] = []
        let reports = run.wait()
        for report in reports {
            if report.error != nil { lost.append(report) }
            var counted = report
            counted.error = nil
            measured.merge(counted)
        }
        // A host that fails mid-run (a failover under load) closes its connections; the run goes
        // on over the others and says what was lost. Only losing every connection fails it.
        if lost.count == reports.count { throw KVWireBenchmarkError("the run failed: \(lost[0].error ?? "every connection was lost")") }
        if !lost.isEmpty {
            let unanswered = lost.reduce(0) { $0 + $1.sent - $1.answered }
            progress("\(lost.count) of \(reports.count) connections were lost during the run (\(lost[0].error ?? "")); "
                     + "\(unanswered) calls in flight on them got no answer and are not counted")
        }
        if let latest { partitions = latest.partitionCount }

        // The control connection's host may have left during the run: then any other will do.
        let countServers = (latest.map { t in t.hosts.compactMap { t.addresses[$0] } } ?? []) + options.servers
        var countMillis: [Double] = []
        var rows = 0
        for _ in 0..<max(1, options.countRepetitions) {
            let t0 = MonotonicClock.nanos()
            let response = try callReconnecting(&control, "@AdHoc", [.string("SELECT COUNT(*) FROM STORE")],
                                                servers: countServers, options)
            countMillis.append(Double(MonotonicClock.nanos() - t0) / 1e6)
            guard response.status == .success, case .integer(let n)? = response.tables.first?.scalar else {
                throw KVWireBenchmarkError("SELECT COUNT(*) FROM STORE failed: "
                    + SQLResultFormatter.errorLine(statusCode: response.statusCode, message: response.statusString))
            }
            rows = Int(n)
        }
        countMillis.sort()
        return Result(gets: measured.gets, puts: measured.puts, failures: measured.failures,
                      seconds: options.durationSeconds, latency: measured.latency, loadSeconds: loadSeconds, rows: rows,
                      countMillisMedian: countMillis[countMillis.count / 2], countMillisMin: countMillis[0],
                      partitions: partitions, createdTable: created, firstFailure: measured.firstFailure,
                      topologyUpdates: topologyUpdates)
    }

    /// The random stream of connection number `c` (in the order connections were opened).
    static func seed(connection c: Int, _ options: Options) -> UInt64 {
        options.seed &+ UInt64(c + 1) &* 0x9E37_79B9_7F4A_7C15
    }

    /// `connectionsPerServer` logged-in pipelined sockets to `server`.
    static func connect(_ server: ServerAddress, _ options: Options, timeoutMillis: Int? = nil)
        throws(ClientConnectionError) -> [WireSocket]
    {
        var opened: [WireSocket] = []
        do {
            for _ in 0..<options.connectionsPerServer {
                opened.append(try WireSocket.connect(server, username: options.username, password: options.password,
                                                     timeoutMillis: timeoutMillis ?? options.timeoutMillis))
            }
        } catch {
            for socket in opened { socket.close() }
            throw error
        }
        return opened
    }

    // MARK: Control connection

    private static func connectControl(_ servers: [ServerAddress], _ options: Options) throws(KVWireBenchmarkError) -> VoltClientConnection {
        do {
            return try FirstReachable.connect(servers, username: options.username, password: options.password,
                                              timeoutMillis: options.timeoutMillis)
        } catch {
            throw KVWireBenchmarkError(error.description)
        }
    }

    /// `call`, on a new connection to the first of `servers` that accepts one when the control
    /// connection fails (its host went away during the run).
    private static func callReconnecting(_ control: inout VoltClientConnection, _ procedure: String, _ parameters: [WireParameter],
                                         servers: [ServerAddress], _ options: Options) throws(KVWireBenchmarkError) -> ClientResponse {
        do {
            return try control.call(procedure, parameters)
        } catch {
            if case .timedOut = error { throw KVWireBenchmarkError("\(procedure) failed: \(error)") }
        }
        control.close()
        control = try connectControl(servers, options)
        return try call(control, procedure, parameters)
    }

    private static func call(_ control: VoltClientConnection, _ procedure: String, _ parameters: [WireParameter])
        throws(KVWireBenchmarkError) -> ClientResponse
    {
        do { return try control.call(procedure, parameters) } catch { throw KVWireBenchmarkError("\(procedure) failed: \(error)") }
    }

    /// Creates STORE unless the catalog lists it; true when it created it.
    static func ensureStore(_ control: VoltClientConnection) throws(KVWireBenchmarkError) -> Bool {
        let tables = try call(control, "@SystemCatalog", [.string("TABLES")])
        if tables.status == .success, let table = tables.tables.first,
           table.rows.contains(where: { table.text($0, "TABLE_NAME")?.uppercased() == "STORE" }) {
            return false
        }
        for statement in [createTable, partitionTable] {
            let response = try call(control, "@AdHoc", [.string(statement)])
            guard response.status == .success else {
                throw KVWireBenchmarkError("creating STORE failed (\(statement)): "
                    + SQLResultFormatter.errorLine(statusCode: response.statusCode, message: response.statusString))
            }
        }
        return true
    }

    /// Partitions from @Statistics PARTITIONCOUNT, else from TOPO; nil when neither answers.
    static func partitionCount(_ control: VoltClientConnection) -> Int? {
        if let response = try? control.call("@Statistics", [.string("PARTITIONCOUNT"), .integer(0)]),
           response.status == .success, let table = response.tables.first, let row = table.rows.first,
           let n = table.integer(row, "PARTITION_COUNT") {
            return Int(n)
        }
        if let response = try? control.call("@Statistics", [.string("TOPO"), .integer(0)]),
           response.status == .success, let table = response.tables.first {
            return table.rows.filter { table.integer($0, "Partition").map { $0 != Int64(ClusterStatus.multiPartitionInitiator) } ?? false }.count
        }
        return nil
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
