import Foundation
import Synchronization

/// A voltkv-style workload against an in-process `Engine`: a STORE(key VARCHAR PRIMARY KEY,
/// value VARBINARY) table partitioned on key, driven through the default `STORE.select` and
/// `STORE.upsert` procedures, resolved once (prepared).
///
/// Load model: closed loop. `inFlightPerSite × sites` calls are outstanding at all times; each
/// completion records its latency and immediately issues the next call for a random key (routed
/// to whichever site owns it). Completions run on site threads, so each site keeps its own
/// generator and histogram and nothing is shared on the hot path; they are merged at the end.
/// After the timed run it measures a multi-partition `SELECT COUNT(*) FROM STORE` several times.
public enum EmbeddedKVBenchmark {
    public struct Options: Sendable {
        public var keys: Int = 100_000
        public var valueBytes: Int = 100
        public var getRatio: Double = 0.5
        public var durationSeconds: Double = 10
        public var warmupSeconds: Double = 2
        public var sites: Int = 2
        public var inFlightPerSite: Int = 512
        public var countRepetitions: Int = 21
        public var seed: UInt64 = 0x5EED
        public init() {}
    }

    public struct Result: Sendable {
        public var operations: Int
        public var gets: Int
        public var puts: Int
        public var failures: Int
        public var seconds: Double
        public var opsPerSecond: Double
        public var latency: LatencyHistogram
        public var loadSeconds: Double
        public var rows: Int
        /// Medians and minimum of the multi-partition COUNT(*) runs, in milliseconds.
        public var countMillisMedian: Double
        public var countMillisMin: Double
    }

    public static let schema = """
        CREATE TABLE STORE (KEY VARCHAR(250) NOT NULL, VALUE VARBINARY(1048576) NOT NULL, PRIMARY KEY (KEY));
        PARTITION TABLE STORE ON COLUMN KEY;
        """

    public static func key(_ i: Int) -> String {
        let digits = String(i)
        return "K" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits
    }

    /// Runs the whole benchmark. `progress` receives short human-readable lines (load, warm-up, run).
    public static func run(_ options: Options, progress: @Sendable (String) -> Void = { _ in }) throws -> Result {
        precondition(options.keys > 0 && options.sites > 0 && options.valueBytes >= 0)
        let engine = Engine(configuration: .init(sitesPerHost: options.sites))
        defer { engine.shutdown() }
        let ddl = engine.adHoc(schema)
        guard ddl.succeeded else { throw BenchmarkError(message: "creating STORE failed: \(ddl.statusString ?? "")") }
        guard let select = engine.procedure(named: "STORE.select"), let upsert = engine.procedure(named: "STORE.upsert") else {
            throw BenchmarkError(message: "the default procedures STORE.select and STORE.upsert are missing")
        }

        var rng = SplitMix64(seed: options.seed)
        let value: [UInt8] = (0..<options.valueBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let keys = (0..<options.keys).map { Value.string(key($0)) }

        // Load: pipelined upserts, a bounded number in flight.
        progress("loading \(options.keys) keys of \(options.valueBytes) bytes into \(options.sites) sites")
        let loadStart = monotonicNanos()
        let loadWindow = DispatchSemaphore(value: 4096)
        let loadFailures = Atomic<Int>(0)
        let loadGroup = DispatchGroup()
        for k in keys {
            loadWindow.wait()
            loadGroup.enter()
            engine.invoke(upsert, [k, .bytes(value)]) { r in
                if !r.succeeded { loadFailures.add(1, ordering: .relaxed) }
                loadWindow.signal()
                loadGroup.leave()
            }
        }
        loadGroup.wait()
        let loadSeconds = Double(monotonicNanos() - loadStart) / 1e9
        guard loadFailures.load(ordering: .relaxed) == 0 else {
            throw BenchmarkError(message: "\(loadFailures.load(ordering: .relaxed)) upserts failed while loading")
        }

        // Timed run.
        let start = monotonicNanos()
        let warmupEnd = start + UInt64(options.warmupSeconds * 1e9)
        let end = warmupEnd + UInt64(options.durationSeconds * 1e9)
        progress(String(format: "warming up %.0fs, then measuring %.0fs", options.warmupSeconds, options.durationSeconds))
        let driver = Driver(engine: engine, select: select, upsert: upsert, keys: keys, value: value,
                            getRatio: options.getRatio, warmupEnd: warmupEnd, end: end,
                            sites: options.sites, seed: options.seed)
        let initial = driver.initialCalls(count: options.inFlightPerSite * options.sites)
        driver.outstanding.store(initial.count, ordering: .relaxed)
        for call in initial { driver.issue(call) }
        _ = driver.done.wait()

        var latency = LatencyHistogram()
        var gets = 0, puts = 0, failures = 0
        for lane in driver.lanes {
            let s = lane.state.withLock { $0 }
            latency.merge(s.histogram)
            gets += s.gets
            puts += s.puts
            failures += s.failures
        }
        let seconds = options.durationSeconds
        let ops = gets + puts

        // Multi-partition COUNT(*): the barrier across every site plus the merge.
        var countMillis: [Double] = []
        var rows = 0
        for _ in 0..<options.countRepetitions {
            let t0 = monotonicNanos()
            let r = engine.adHoc("SELECT COUNT(*) FROM STORE")
            countMillis.append(Double(monotonicNanos() - t0) / 1e6)
            guard r.succeeded, case .integer(let n)? = r.tables.first?.scalar else {
                throw BenchmarkError(message: "SELECT COUNT(*) failed: \(r.statusString ?? "")")
            }
            rows = Int(n)
        }
        countMillis.sort()
        return Result(operations: ops, gets: gets, puts: puts, failures: failures, seconds: seconds,
                      opsPerSecond: Double(ops) / seconds, latency: latency, loadSeconds: loadSeconds, rows: rows,
                      countMillisMedian: countMillis[countMillis.count / 2], countMillisMin: countMillis[0])
    }

    public struct BenchmarkError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Per-lane state: touched only by the thread whose completion runs for that lane.
    struct LaneState: Sendable {
        var rng: SplitMix64
        var histogram = LatencyHistogram()
        var gets = 0
        var puts = 0
        var failures = 0
    }

    final class Lane: Sendable {
        let state: Mutex<LaneState>
        init(_ initial: LaneState) { state = Mutex(initial) }
    }

    struct Call: Sendable {
        var isGet: Bool
        var key: Value
        var lane: Int
    }

    final class Driver: Sendable {
        let engine: Engine
        let select: CompiledProcedure
        let upsert: CompiledProcedure
        let keys: [Value]
        let value: Value
        let getRatio: Double
        let warmupEnd: UInt64
        let end: UInt64
        // Calls are spread over lanes; a lane's lock is rarely contended, so it costs one atomic pair.
        let lanes: [Lane]
        let outstanding = Atomic<Int>(0)
        let done = OneShot<Bool>()

        init(engine: Engine, select: CompiledProcedure, upsert: CompiledProcedure, keys: [Value], value: [UInt8],
             getRatio: Double, warmupEnd: UInt64, end: UInt64, sites: Int, seed: UInt64) {
            self.engine = engine
            self.select = select
            self.upsert = upsert
            self.keys = keys
            self.value = .bytes(value)
            self.getRatio = getRatio
            self.warmupEnd = warmupEnd
            self.end = end
            lanes = (0..<sites * 4).map { Lane(LaneState(rng: SplitMix64(seed: seed &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15))) }
        }

        func initialCalls(count: Int) -> [Call] {
            (0..<count).map { i in
                let lane = i % lanes.count
                return lanes[lane].state.withLock { next(lane: lane, rng: &$0.rng) }
            }
        }

        private func next(lane: Int, rng: inout SplitMix64) -> Call {
            let r = rng.next()
            let isGet = Double(r >> 11) / Double(1 << 53) < getRatio
            return Call(isGet: isGet, key: keys[Int(rng.next() % UInt64(keys.count))], lane: lane)
        }

        func issue(_ call: Call) {
            let started = monotonicNanos()
            let completion: @Sendable (InvocationResult) -> Void = { [self] result in
                let now = monotonicNanos()
                let following: Call? = lanes[call.lane].state.withLock { s in
                    if started >= warmupEnd && now <= end {
                        s.histogram.recordNanos(Int(now - started))
                        if !result.succeeded { s.failures += 1 } else if call.isGet { s.gets += 1 } else { s.puts += 1 }
                    }
                    return now < end ? next(lane: call.lane, rng: &s.rng) : nil
                }
                if let following {
                    issue(following)
                } else if outstanding.wrappingSubtract(1, ordering: .acquiringAndReleasing).oldValue == 1 {
                    done.set(true)
                }
            }
            if call.isGet {
                engine.invoke(select, [call.key], completion: completion)
            } else {
                engine.invoke(upsert, [call.key, value], completion: completion)
            }
        }
    }
}

/// Nanoseconds on the monotonic clock: for measuring, never for anything a transaction sees.
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
