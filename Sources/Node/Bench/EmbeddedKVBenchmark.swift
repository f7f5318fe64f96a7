import Foundation
import Synchronization

/// A voltkv-style workload against an in-process `Engine`: a STORE(key VARCHAR PRIMARY KEY,
/// value VARBINARY) table partitioned on key, driven through the default `STORE.select` and
/// `STORE.upsert` procedures, resolved once (prepared).
///
/// Load model: closed loop. `inFlightPerSite × sites` calls are outstanding at all times; each
/// completion records its latency and immediately issues the next call for a random key (routed
/// to whichever site owns it). Each outstanding call belongs to a slot, which keeps its own random
/// generator and a completion closure built once; latency runs from the moment a call is issued
/// to the moment its completion runs (one clock reading serves as one call's end and the next
/// call's start, since the next call is issued immediately). Completions run on site threads, and
/// each thread records into its own lane (histogram and counts), so recording shares nothing
/// between threads; lanes are merged at the end. Every call is still an ordinary
/// `Engine.invoke` of a prepared default procedure, with its own parameters and transaction.
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
                            slots: options.inFlightPerSite * options.sites, seed: options.seed)
        // The driver outlives every completion: `done` is set by the last one, and the slots'
        // completions refer to the driver without retaining it (see Driver).
        withExtendedLifetime(driver) {
            driver.start()
            _ = driver.done.wait()
        }

        var latency = LatencyHistogram()
        var gets = 0, puts = 0, failures = 0
        for lane in driver.lanes.all() {
            latency.merge(lane.state.pointee.histogram)
            gets += lane.state.pointee.gets
            puts += lane.state.pointee.puts
            failures += lane.state.pointee.failures
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

    /// What one thread that runs completions has recorded. Each thread gets its own lane, so
    /// recording needs no lock and touches no cache line another thread writes.
    final class Lane: @unchecked Sendable {
        // SAFETY: a lane is written only by the thread it belongs to (see `ThreadLanes`), and read
        // by the benchmark thread after `Driver.done` is set, which every completion's writes
        // happen before (each completion that stops decrements `outstanding` with release
        // ordering; the last one, acquiring, sets `done`).
        // The counters sit behind a pointer rather than in stored `var`s, so recording pays no
        // dynamic exclusivity checks; ownership by one thread already rules out overlap.
        let state: UnsafeMutablePointer<LaneState>

        init() {
            state = .allocate(capacity: 1)
            state.initialize(to: LaneState())
        }

        deinit {
            state.deinitialize(count: 1)
            state.deallocate()
        }
    }

    struct LaneState {
        var histogram = LatencyHistogram()
        var gets = 0
        var puts = 0
        var failures = 0
    }

    /// One lane per thread, found through a pthread key.
    final class ThreadLanes: @unchecked Sendable {
        // SAFETY: `key` is written once in init; `registered` is behind its mutex. Each thread
        // reads and writes only its own key value.
        private var key = pthread_key_t()
        private let registered = Mutex<[Lane]>([])

        init() {
            precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        }

        deinit { pthread_key_delete(key) }

        /// Runs `body` with the calling thread's lane, created on its first use. `registered`
        /// keeps every lane alive, so the lane is lent without retaining it.
        @inline(__always)
        func withCurrent<R>(_ body: (Lane) -> R) -> R {
            if let p = pthread_getspecific(key) { return Unmanaged<Lane>.fromOpaque(p)._withUnsafeGuaranteedRef(body) }
            let lane = Lane()
            registered.withLock { $0.append(lane) }
            pthread_setspecific(key, Unmanaged.passUnretained(lane).toOpaque())
            return body(lane)
        }

        func all() -> [Lane] { registered.withLock { $0 } }
    }

    /// One outstanding call of the closed loop: at most one call per slot is in flight at a time,
    /// and the slot's completion issues the slot's next call.
    final class Slot: @unchecked Sendable {
        // SAFETY: between issuing a call and its completion nothing touches a slot; the completion
        // runs on the site thread after the site queue's mutex handed it the call, which orders it
        // after the issuing thread's writes. So exactly one thread uses a slot at any time.
        /// Behind a pointer, like `Lane.state`, to avoid dynamic exclusivity checks.
        let state: UnsafeMutablePointer<SlotState>
        /// The slot's own copy of the PUT value: a buffer shared by every slot would have its
        /// reference count changed by both site threads on every PUT.
        let value: Value
        /// Built once; issuing a call hands the engine this closure, not a new one.
        var completion: (@Sendable (InvocationResult) -> Void)?

        init(rng: SplitMix64, value: [UInt8]) {
            state = .allocate(capacity: 1)
            state.initialize(to: SlotState(rng: rng))
            // A fresh buffer, not a reference to the caller's.
            self.value = .bytes(value.withUnsafeBufferPointer { Array($0) })
        }

        deinit {
            state.deinitialize(count: 1)
            state.deallocate()
        }
    }

    struct SlotState {
        var rng: SplitMix64
        var isGet = false
        var started: UInt64 = 0
    }

    /// An unretained reference for the completions (see `Driver.init`).
    struct Unretained<Object: AnyObject>: @unchecked Sendable {
        // SAFETY: the referenced object outlives every use (see `Driver.init`), and the objects
        // used this way are themselves safe to use from the threads that run completions.
        let reference: Unmanaged<Object>
        init(_ object: Object) { reference = .passUnretained(object) }
    }

    final class Driver: Sendable {
        let engine: Engine
        let select: CompiledProcedure
        let upsert: CompiledProcedure
        let keys: [Value]
        let getRatio: Double
        let warmupEnd: UInt64
        let end: UInt64
        let slots: [Slot]
        let lanes = ThreadLanes()
        let outstanding: Atomic<Int>
        let done = OneShot<Bool>()

        init(engine: Engine, select: CompiledProcedure, upsert: CompiledProcedure, keys: [Value], value: [UInt8],
             getRatio: Double, warmupEnd: UInt64, end: UInt64, slots: Int, seed: UInt64) {
            self.engine = engine
            self.select = select
            self.upsert = upsert
            self.keys = keys
            self.getRatio = getRatio
            self.warmupEnd = warmupEnd
            self.end = end
            self.slots = (0..<slots).map { Slot(rng: SplitMix64(seed: seed &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15), value: value) }
            outstanding = Atomic(slots)
            for slot in self.slots {
                // SAFETY: unretained: the benchmark keeps the driver alive until `done`, which the
                // last completion sets, and the driver keeps its slots; so neither is freed while
                // a completion can run. Retaining them per call would bounce their reference
                // counts between the site threads.
                let driver = Unretained(self), me = Unretained(slot)
                slot.completion = { result in
                    driver.reference._withUnsafeGuaranteedRef { d in
                        me.reference._withUnsafeGuaranteedRef { s in d.complete(s, result) }
                    }
                }
            }
        }

        /// Issues every slot's first call.
        func start() {
            for slot in slots { issue(slot, at: monotonicNanos()) }
        }

        /// Issues the slot's next call: a random key over the whole key space, a GET with
        /// probability `getRatio`, timed from `now`.
        @inline(__always)
        private func issue(_ slot: Slot, at now: UInt64) {
            let state = slot.state
            let r = state.pointee.rng.next()
            let isGet = Double(r >> 11) / Double(1 << 53) < getRatio
            let key = keys[Int(state.pointee.rng.next() % UInt64(keys.count))]
            state.pointee.isGet = isGet
            state.pointee.started = now
            if isGet {
                engine.invoke(select, [key], completion: slot.completion!)
            } else {
                engine.invoke(upsert, [key, slot.value], completion: slot.completion!)
            }
        }

        /// Records the call's latency (submission to completion) and issues the next one. The
        /// completion time doubles as the next call's submission time: it is issued right away.
        private func complete(_ slot: Slot, _ result: InvocationResult) {
            let now = monotonicNanos()
            let started = slot.state.pointee.started
            if started >= warmupEnd && now <= end {
                lanes.withCurrent { lane in
                    let counts = lane.state
                    counts.pointee.histogram.recordNanos(Int(now - started))
                    if !result.succeeded {
                        counts.pointee.failures += 1
                    } else if slot.state.pointee.isGet {
                        counts.pointee.gets += 1
                    } else {
                        counts.pointee.puts += 1
                    }
                }
            }
            if now < end {
                issue(slot, at: now)
            } else if outstanding.wrappingSubtract(1, ordering: .acquiringAndReleasing).oldValue == 1 {
                done.set(true)
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
