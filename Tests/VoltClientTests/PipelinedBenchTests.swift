import Foundation
import Synchronization
import Testing
import VoltClient
import VoltModel
import VoltWire

/// Counts latencies without bucketing; enough to check what the driver recorded.
struct CountingRecorder: LatencyRecorder {
    var count = 0
    var maxNanos = 0
    init() {}
    mutating func recordNanos(_ nanos: Int, times: Int) {
        count += times
        maxNanos = max(maxNanos, nanos)
    }
    mutating func merge(_ other: CountingRecorder) {
        count += other.count
        maxNanos = max(maxNanos, other.maxNanos)
    }
}

/// A fake KV server: STORE.upsert stores, STORE.select returns the row, the catalog lists STORE
/// once it was created.
final class FakeKV: Sendable {
    let rows = Mutex<[String: [UInt8]]>([:])
    let created = Mutex(false)
    let failSelects: Bool

    init(failSelects: Bool = false) { self.failSelects = failSelects }

    func answer(_ invocation: Invocation) -> ClientResponse? {
        let p = invocation.parameters
        switch invocation.procedure {
        case "STORE.upsert":
            guard case .value(.string(let key), _) = p[0], case .value(.bytes(let value), _) = p[1] else {
                return Canned.failure(.gracefulFailure, "bad parameters")
            }
            rows.withLock { $0[key] = value }
            return Canned.success([.modifiedTuples(1)])
        case "STORE.select":
            if failSelects { return Canned.failure(.gracefulFailure, "select refused") }
            guard case .value(.string(let key), _) = p[0] else { return Canned.failure(.gracefulFailure, "bad key") }
            let value = rows.withLock { $0[key] }
            let table = ResultTable(columns: [.init("KEY", .varchar), .init("VALUE", .varbinary)],
                                    rows: value.map { [[.string(key), .bytes($0)]] } ?? [])
            return Canned.success([table])
        case "@SystemCatalog":
            let exists = created.withLock { $0 }
            return Canned.success([ResultTable(columns: [.init("TABLE_NAME", .varchar)], rows: exists ? [[.string("STORE")]] : [])])
        case "@AdHoc":
            guard case .value(.string(let sql), _) = p[0] else { return Canned.failure(.gracefulFailure, "no sql") }
            if sql.hasPrefix("CREATE") { created.withLock { $0 = true } }
            if sql.hasPrefix("SELECT COUNT") {
                let n = rows.withLock { $0.count }
                return Canned.success([ResultTable(columns: [.init("C1", .bigint)], rows: [[.integer(Int64(n))]])])
            }
            return Canned.success([])
        case "@Statistics":
            return Canned.success([ResultTable(columns: [.init("PARTITION_COUNT", .integer)], rows: [[.integer(8)]])])
        default:
            return Canned.failure(.unexpectedFailure, "Procedure \(invocation.procedure) was not found")
        }
    }
}

@Suite struct KVInvocationEncoding {
    @Test func framesMatchTheGeneralEncoder() throws {
        let encoder = KVInvocationEncoder(keys: ["K000000000", "héllo"], value: [1, 2, 3])
        var buffer: [UInt8] = []
        encoder.append(isGet: true, key: 1, handle: 77, to: &buffer)
        encoder.append(isGet: false, key: 0, handle: 78, to: &buffer)
        let select = try Invocation(procedure: "STORE.select", handle: 77, parameters: [.string("héllo")]).encodeFrame()
        let upsert = try Invocation(procedure: "STORE.upsert", handle: 78,
                                    parameters: [.string("K000000000"), .varbinary([1, 2, 3])]).encodeFrame()
        #expect(buffer == select + upsert)
        #expect(encoder.frameBytesMax >= upsert.count)
    }

    @Test func handlesCarrySendTimeAndKind() {
        let h = BenchHandle.make(elapsedNanos: 123_456_789, isGet: true, sequence: 0x1_8001)
        #expect(h > 0 && h < ReservedHandle.maxClient)
        #expect(BenchHandle.elapsedNanos(h) == 123_456_789)
        #expect(BenchHandle.isGet(h))
        let p = BenchHandle.make(elapsedNanos: BenchHandle.maxElapsedNanos, isGet: false, sequence: 5)
        #expect(p > 0 && p < ReservedHandle.maxClient && !BenchHandle.isGet(p))
        #expect(BenchHandle.elapsedNanos(p) == BenchHandle.maxElapsedNanos)
    }
}

@Suite struct CreditGateBehaviour {
    @Test func creditsAreTakenInBulkAndReturned() {
        let gate = CreditGate(capacity: 4)
        #expect(gate.acquire(upTo: 3, deadline: .max) == .credits(3))
        #expect(gate.acquire(upTo: 3, deadline: .max) == .credits(1))
        #expect(gate.inFlight == 4)
        #expect(gate.acquire(upTo: 1, deadline: MonotonicClock.nanos() + 5_000_000) == .timedOut)
        gate.release(2)
        #expect(gate.acquire(upTo: 8, deadline: .max) == .credits(2))
        gate.close()
        #expect(gate.acquire(upTo: 1, deadline: .max) == .closed)
    }

    @Test func aBlockedSenderWakesWhenCreditsReturn() {
        let gate = CreditGate(capacity: 1)
        #expect(gate.acquire(upTo: 1, deadline: .max) == .credits(1))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.02) { gate.release(1) }
        #expect(gate.acquire(upTo: 1, deadline: MonotonicClock.nanos() + 5_000_000_000) == .credits(1))
    }
}

@Suite(.serialized) struct KVWireBenchmarkAgainstAFakeServer {
    @Test func loadsRunsAndCounts() throws {
        let kv = FakeKV()
        let server = try FakeVoltServer { kv.answer($0) }
        defer { server.stop() }
        var options = KVWireBenchmark.Options(servers: [ServerAddress(host: "127.0.0.1", port: server.port)])
        options.keys = 500
        options.valueBytes = 16
        options.durationSeconds = 0.3
        options.warmupSeconds = 0.1
        options.maxInFlightPerConnection = 32
        options.countRepetitions = 3
        options.timeoutMillis = 5_000
        let result = try KVWireBenchmark.run(options, recording: CountingRecorder.self)
        #expect(result.createdTable)
        #expect(result.rows == 500)
        #expect(result.partitions == 8)
        #expect(result.gets > 0 && result.puts > 0 && result.failures == 0)
        #expect(result.latency.count == result.gets + result.puts)
        #expect(server.procedures.prefix(4) == ["@SystemCatalog", "@AdHoc", "@AdHoc", "@Statistics"])
        // Every key was loaded with the workload's value.
        #expect(kv.rows.withLock { $0["K000000499"]?.count } == 16)

        // A second run finds STORE and does not create it again.
        let again = try KVWireBenchmark.run(options, recording: CountingRecorder.self)
        #expect(!again.createdTable)
    }

    @Test func ratePacesTheSenders() throws {
        let kv = FakeKV()
        let server = try FakeVoltServer { kv.answer($0) }
        defer { server.stop() }
        var options = KVWireBenchmark.Options(servers: [ServerAddress(host: "127.0.0.1", port: server.port)])
        options.keys = 50
        options.durationSeconds = 0.5
        options.warmupSeconds = 0
        options.ratePerSecond = 400
        options.countRepetitions = 1
        let result = try KVWireBenchmark.run(options, recording: CountingRecorder.self)
        // 400 ops/s for 0.5 s is 200 calls; allow for scheduling slack either way.
        #expect((120...260).contains(result.gets + result.puts))
    }

    @Test func failedCallsAreCountedWithTheFirstMessage() throws {
        let kv = FakeKV(failSelects: true)
        let server = try FakeVoltServer { kv.answer($0) }
        defer { server.stop() }
        var options = KVWireBenchmark.Options(servers: [ServerAddress(host: "127.0.0.1", port: server.port)])
        options.keys = 50
        options.durationSeconds = 0.2
        options.warmupSeconds = 0
        options.getRatio = 1
        options.countRepetitions = 1
        let result = try KVWireBenchmark.run(options, recording: CountingRecorder.self)
        #expect(result.failures > 0 && result.gets == 0)
        #expect(result.firstFailure == "GRACEFUL_FAILURE: select refused")
    }

    @Test func aServerThatStopsAnsweringFailsTheRunWithinTheTimeout() throws {
        let kv = FakeKV()
        let server = try FakeVoltServer { invocation in
            invocation.procedure == "STORE.select" ? Canned.silence : kv.answer(invocation)
        }
        defer { server.stop() }
        var options = KVWireBenchmark.Options(servers: [ServerAddress(host: "127.0.0.1", port: server.port)])
        options.keys = 20
        options.durationSeconds = 1
        options.warmupSeconds = 0
        options.getRatio = 1
        options.timeoutMillis = 2_000
        let started = Date()
        let error = #expect(throws: KVWireBenchmarkError.self) { try KVWireBenchmark.run(options, recording: CountingRecorder.self) }
        #expect(error?.message.hasPrefix("the run failed: no response from 127.0.0.1:\(server.port) for 2000 ms") == true)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func aServerThatClosesTheConnectionFailsTheRun() throws {
        let kv = FakeKV()
        let server = try FakeVoltServer { invocation in
            invocation.procedure == "STORE.select" ? nil : kv.answer(invocation)
        }
        defer { server.stop() }
        var options = KVWireBenchmark.Options(servers: [ServerAddress(host: "127.0.0.1", port: server.port)])
        options.keys = 20
        options.durationSeconds = 1
        options.warmupSeconds = 0
        options.getRatio = 1
        let error = #expect(throws: KVWireBenchmarkError.self) { try KVWireBenchmark.run(options, recording: CountingRecorder.self) }
        #expect(error?.message.hasPrefix("the run failed:") == true)
    }

    @Test func noServerIsAClearError() {
        var options = KVWireBenchmark.Options(servers: [ServerAddress(host: "127.0.0.1", port: 1)])
        options.timeoutMillis = 1_000
        #expect(throws: KVWireBenchmarkError("cannot connect to 127.0.0.1:1: Connection refused")) {
            try KVWireBenchmark.run(options, recording: CountingRecorder.self)
        }
    }
}
