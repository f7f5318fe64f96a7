// Drives the key-value workload over pipelined connections: per connection one sender thread and
// one receiver thread, with up to `maxInFlight` calls unanswered between them (CreditGate).
//
// Sender: takes as many credits as are free (up to a batch size, and up to what the rate allows),
// encodes that many invocations into one reused buffer (KVInvocationEncoder), and writes them with
// one send(2). With a target rate it paces by schedule: call i of a connection is due at
// start + i / rate, and whatever is due goes out as one batch. A load phase sends every key of its
// share once and stops; a timed phase sends random GETs and PUTs until its end time.
//
// Receiver: reads large chunks (256 KiB, grown for a bigger frame), cuts frames in place, reads
// only what it needs from each response (handle and status; the status string of the first
// failure), records latency (receive time minus the send time carried in the handle, see
// BenchHandle) when the call was sent after the warm-up and answered before the end, and returns
// the credits of a whole chunk at once.
//
// Latency is measured from the moment the batch holding the call was encoded to the moment the
// chunk holding its response was read, so it includes client queueing inside one batch. With a
// target rate it is measured from the actual send, not the scheduled one: a server that falls
// behind shows up as a lower rate, not as higher latency (no coordinated-omission correction).
//
// A phase ends when the sender is done and every call it sent is answered. A connection that
// breaks, or goes `timeoutMillis` with calls in flight and no response, fails the phase: the
// receiver closes the gate (stopping the sender) and shuts the socket down (waking a blocked send).
//
// A timed phase can change while it runs (`Run`): connections join it (a host that joined the
// cluster), connections are retired (their host left the topology: the sender stops, the calls in
// flight are still answered and counted), and a routed sender (`Work.routed`) draws each batch's
// keys from the KeyRouter's current map, so a new map applies from the next batch. A routed
// sender whose host leads nothing sends nothing until a map gives it keys; with a target rate it
// paces at its share of the current map (KeyRouter), its schedule restarting at every new map.

import Foundation
import Synchronization
import VoltModel
import VoltWire

/// Where latencies go: `LatencyHistogram` in voltctl, anything with the same shape in tests.
public protocol LatencyRecorder: Sendable {
    init()
    mutating func recordNanos(_ nanos: Int, times: Int)
    mutating func merge(_ other: Self)
}

/// Runs phases of the KV workload over a set of logged-in sockets.
public struct PipelinedKVDriver: Sendable {
    /// What one connection sends in a phase.
    public enum Work: Sendable {
        /// Upserts of keys `first`, `first + stride`, … below `keyCount`.
        case load(first: Int, stride: Int, keyCount: Int)
        /// Random GETs (a `getRatio` share) and PUTs of keys below `keyCount` until the phase's end.
        case random(getRatio: Double, keyCount: Int, seed: UInt64)
        /// The same, drawn only from the keys `router`'s current map gives `host` (those whose
        /// partition it leads), re-read every batch.
        case routed(getRatio: Double, host: HostID, router: KeyRouter, seed: UInt64)
    }

    /// What one phase measures: calls sent at or after `measureFromNanos` and answered at or
    /// before `measureUntilNanos` are counted; a timed phase stops sending at `sendUntilNanos`.
    public struct Phase: Sendable {
        public var epochNanos: UInt64
        public var sendUntilNanos: UInt64
        public var measureFromNanos: UInt64
        public var measureUntilNanos: UInt64
        /// Target calls per second of each connection; nil sends as fast as the window allows.
        public var ratePerConnection: Double?

        public init(epochNanos: UInt64, sendUntilNanos: UInt64 = .max, measureFromNanos: UInt64 = 0,
                    measureUntilNanos: UInt64 = .max, ratePerConnection: Double? = nil) {
            self.epochNanos = epochNanos
            self.sendUntilNanos = sendUntilNanos
            self.measureFromNanos = measureFromNanos
            self.measureUntilNanos = measureUntilNanos
            self.ratePerConnection = ratePerConnection
        }
    }

    /// What one connection did in a phase.
    public struct Report<Recorder: LatencyRecorder>: Sendable {
        public var gets = 0
        public var puts = 0
        public var failures = 0
        public var latency = Recorder()
        public var sent = 0
        public var answered = 0
        /// `STATUS_NAME: message` of the first failed call.
        public var firstFailure: String?
        /// Why the connection failed, if it did.
        public var error: String?

        public init() {}

        public mutating func merge(_ other: Report) {
            gets += other.gets
            puts += other.puts
            failures += other.failures
            latency.merge(other.latency)
            sent += other.sent
            answered += other.answered
            firstFailure = firstFailure ?? other.firstFailure
            error = error ?? other.error
        }
    }

    /// How long a routed sender with no keys sleeps before looking at the map again.
    static let idlePauseNanos: UInt64 = 5_000_000

    public var encoder: KVInvocationEncoder
    public var maxInFlight: Int
    /// Calls written with one send(2), at most.
    public var batchCallsMax: Int
    public var timeoutMillis: Int

    public init(encoder: KVInvocationEncoder, maxInFlight: Int, batchCallsMax: Int = 256, timeoutMillis: Int = 10_000) {
        precondition(maxInFlight > 0 && batchCallsMax > 0 && timeoutMillis > 0, "bad driver limits")
        self.encoder = encoder
        self.maxInFlight = maxInFlight
        self.batchCallsMax = batchCallsMax
        self.timeoutMillis = timeoutMillis
    }

    /// Runs one phase on every socket (socket i does `work[i]`) and waits for all of them.
    public func run<Recorder: LatencyRecorder>(_ phase: Phase, sockets: [WireSocket], work: [Work],
                                               recording: Recorder.Type = Recorder.self) -> [Report<Recorder>] {
        precondition(sockets.count == work.count, "\(sockets.count) sockets for \(work.count) work items")
        let run = start(phase, recording: Recorder.self)
        for (socket, work) in zip(sockets, work) { run.add(socket, work) }
        return run.wait()
    }

    /// Starts a phase with no connections; `add` gives it some.
    public func start<Recorder: LatencyRecorder>(_ phase: Phase, recording: Recorder.Type = Recorder.self) -> Run<Recorder> {
        Run(driver: self, phase: phase)
    }

    /// A phase in progress, whose connections can change until it is waited for.
    public final class Run<Recorder: LatencyRecorder>: Sendable {
        let driver: PipelinedKVDriver
        let phase: Phase
        private let group = DispatchGroup()
        private let channels = Mutex<[Channel<Recorder>]>([])

        init(driver: PipelinedKVDriver, phase: Phase) {
            self.driver = driver
            self.phase = phase
        }

        /// Starts `work` on `socket` (a sender and a receiver thread). Not after `wait` began.
        public func add(_ socket: WireSocket, _ work: Work) {
            let channel = Channel<Recorder>(socket: socket, window: driver.maxInFlight)
            channels.withLock { $0.append(channel) }
            let (driver, phase, group) = (driver, phase, group)
            group.enter()
            Thread {
                driver.send(work, phase: phase, channel: channel)
                group.leave()
            }.start()
            group.enter()
            Thread {
                driver.receive(phase: phase, channel: channel)
                group.leave()
            }.start()
        }

        /// Stops sending on every connection to `host`; the calls in flight on them are still
        /// answered and counted. Returns how many of them were live (neither broken nor retired).
        @discardableResult
        public func retire(host: HostID) -> Int {
            channels.withLock { list in
                list.filter { channel in
                    guard channel.socket.login.hostID == host else { return false }
                    let wasLive = channel.isLive
                    channel.retired.store(true, ordering: .releasing)
                    return wasLive
                }.count
            }
        }

        /// Hosts with at least one connection that is neither broken nor retired.
        public var liveHosts: Set<HostID> {
            channels.withLock { list in Set(list.filter(\.isLive).map(\.socket.login.hostID)) }
        }

        /// Every socket added so far, in the order added.
        public var sockets: [WireSocket] { channels.withLock { $0.map(\.socket) } }

        /// Waits for every connection to finish and returns their reports, in the order added.
        public func wait() -> [Report<Recorder>] {
            group.wait()
            return channels.withLock { $0 }.map { channel in
                var report = channel.report.withLock { $0 }
                report.sent = channel.sentTotal.load(ordering: .acquiring)
                report.error = report.error ?? channel.senderError.withLock { $0 }
                return report
            }
        }
    }

    // MARK: Per connection

    final class Channel<Recorder: LatencyRecorder>: Sendable {
        let socket: WireSocket
        let gate: CreditGate
        let sentTotal = Atomic<Int>(0)
        let senderDone = Atomic<Bool>(false)
        let senderError = Mutex<String?>(nil)
        let report = Mutex(Report<Recorder>())
        /// Set when the connection failed (either side).
        let broken = Atomic<Bool>(false)
        /// Set when the connection's host left the topology: the sender stops.
        let retired = Atomic<Bool>(false)

        var isLive: Bool { !broken.load(ordering: .acquiring) && !retired.load(ordering: .acquiring) }

        init(socket: WireSocket, window: Int) {
            self.socket = socket
            gate = CreditGate(capacity: window)
        }
    }

    private func send<Recorder>(_ work: Work, phase: Phase, channel: Channel<Recorder>) {
        defer { channel.senderDone.store(true, ordering: .releasing) }
        let batchMax = max(1, min(batchCallsMax, (256 * 1024) / max(1, encoder.frameBytesMax)))
        var buffer: [UInt8] = []
        buffer.reserveCapacity(batchMax * encoder.frameBytesMax)
        var rng = SplitMix64(seed: 0)
        var getRatio = 0.0
        var keyCount = 0
        var nextLoadKey = 0
        var loadStride = 1
        var isLoad = false
        var among: [Int] = []
        var router: KeyRouter?
        var host = HostID(0)
        var generation = -1
        var rate = phase.ratePerConnection
        switch work {
        case let .load(first, stride, count):
            isLoad = true
            nextLoadKey = first
            loadStride = stride
            keyCount = count
        case let .random(ratio, count, seed):
            rng = SplitMix64(seed: seed)
            getRatio = ratio
            keyCount = count
        case let .routed(ratio, routedHost, keyRouter, seed):
            rng = SplitMix64(seed: seed)
            getRatio = ratio
            router = keyRouter
            host = routedHost
        }
        // Pacing: call i after `scheduleStart` is due at scheduleStart + i / rate.
        var scheduleStart = MonotonicClock.nanos()
        var scheduled = 0
        var sent = 0
        var sequence: UInt64 = 0
        while true {
            let now = MonotonicClock.nanos()
            var allowance = batchMax
            if isLoad {
                guard nextLoadKey < keyCount else { return }
                allowance = min(allowance, (keyCount - nextLoadKey + loadStride - 1) / loadStride)
            } else if now >= phase.sendUntilNanos || channel.retired.load(ordering: .acquiring) {
                return
            }
            if let router {
                let routing = router.routing
                if routing.generation != generation {
                    generation = routing.generation
                    among = routing.affinity.keys(of: host)
                    if phase.ratePerConnection != nil { rate = routing.ratePerConnection }
                    scheduleStart = now
                    scheduled = 0
                }
                if among.isEmpty {
                    // This host leads no partition under the current map: wait for another map.
                    MonotonicClock.sleep(nanos: min(phase.sendUntilNanos - now, Self.idlePauseNanos))
                    continue
                }
            }
            if let rate {
                let due = Int(Double(now - scheduleStart) * rate / 1e9) + 1 - scheduled
                if due <= 0 {
                    let nextDue = scheduleStart + UInt64(Double(scheduled) * 1e9 / rate)
                    let pause = min(nextDue > now ? nextDue - now : 0, 1_000_000)
                    MonotonicClock.sleep(nanos: max(pause, 10_000))
                    continue
                }
                allowance = min(allowance, due)
            }
            let count: Int
            switch channel.gate.acquire(upTo: allowance, deadline: now + UInt64(timeoutMillis) * 1_000_000) {
            case .closed:
                return
            case .timedOut:
                channel.senderError.withLock { $0 = $0 ?? "no response from \(channel.socket.address) for \(timeoutMillis) ms with \(maxInFlight) calls in flight" }
                channel.broken.store(true, ordering: .releasing)
                channel.gate.close()
                return
            case .credits(let n):
                count = n
            }
            buffer.removeAll(keepingCapacity: true)
            let elapsed = MonotonicClock.nanos() - phase.epochNanos
            for _ in 0..<count {
                let isGet: Bool
                let key: Int
                if isLoad {
                    isGet = false
                    key = nextLoadKey
                    nextLoadKey += loadStride
                } else {
                    isGet = Double(rng.next() >> 11) / Double(1 << 53) < getRatio
                    key = among.isEmpty ? Int(rng.next() % UInt64(keyCount)) : among[Int(rng.next() % UInt64(among.count))]
                }
                sequence &+= 1
                encoder.append(isGet: isGet, key: key,
                               handle: BenchHandle.make(elapsedNanos: elapsed, isGet: isGet, sequence: sequence), to: &buffer)
            }
            do {
                try channel.socket.sendAll(buffer, deadline: MonotonicClock.nanos() + UInt64(timeoutMillis) * 1_000_000,
                                           timeoutMillis: timeoutMillis)
            } catch {
                channel.senderError.withLock { $0 = $0 ?? "sending to \(channel.socket.address): \(error)" }
                channel.broken.store(true, ordering: .releasing)
                channel.gate.close()
                channel.socket.shutdown()
                return
            }
            sent += count
            scheduled += count
            channel.sentTotal.store(sent, ordering: .releasing)
        }
    }

    private func receive<Recorder>(phase: Phase, channel: Channel<Recorder>) {
        var report = Report<Recorder>()
        defer {
            let finished = report
            channel.report.withLock { $0 = finished }
        }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var filled = 0
        var lastProgress = MonotonicClock.nanos()
        let timeoutNanos = UInt64(timeoutMillis) * 1_000_000
        while true {
            if channel.senderDone.load(ordering: .acquiring) && report.answered == channel.sentTotal.load(ordering: .acquiring) {
                return
            }
            let n: Int
            do {
                n = try channel.socket.receive(into: &buffer, at: filled, deadline: MonotonicClock.nanos() + 50_000_000)
            } catch {
                if !channel.senderDone.load(ordering: .acquiring) || report.answered < channel.sentTotal.load(ordering: .acquiring) {
                    fail(&report, channel, "receiving from \(channel.socket.address): \(error)")
                }
                return
            }
            let now = MonotonicClock.nanos()
            guard n > 0 else {
                let inFlight = channel.sentTotal.load(ordering: .acquiring) - report.answered
                if inFlight > 0 && now - lastProgress > timeoutNanos {
                    fail(&report, channel, "no response from \(channel.socket.address) for \(timeoutMillis) ms with \(inFlight) calls in flight")
                    return
                }
                if inFlight == 0 { lastProgress = now }
                continue
            }
            filled += n
            lastProgress = now
            var consumed = 0
            var answered = 0
            var malformed: String?
            buffer.withUnsafeBytes { raw in
                while filled - consumed >= 4 {
                    let length = Int(Self.int32(raw, at: consumed))
                    guard length >= 11 else {
                        malformed = "malformed response from \(channel.socket.address): frame of \(length) bytes"
                        return
                    }
                    guard filled - consumed - 4 >= length else { break }
                    record(raw, body: consumed + 4, length: length, now: now, phase: phase, into: &report)
                    consumed += 4 + length
                    answered += 1
                }
            }
            if let malformed {
                fail(&report, channel, malformed)
                return
            }
            report.answered += answered
            channel.gate.release(answered)
            if consumed > 0 {
                if consumed < filled {
                    buffer.withUnsafeMutableBytes { raw in
                        raw.baseAddress!.copyMemory(from: raw.baseAddress! + consumed, byteCount: filled - consumed)
                    }
                }
                filled -= consumed
            }
            if filled >= 4 {
                // A frame larger than the buffer (a GET of a big value): grow to hold it whole.
                let needed = 4 + Int(buffer.withUnsafeBytes { Self.int32($0, at: 0) })
                if needed > buffer.count { buffer.append(contentsOf: repeatElement(0, count: needed - buffer.count)) }
            }
        }
    }

    private func fail<Recorder>(_ report: inout Report<Recorder>, _ channel: Channel<Recorder>, _ message: String) {
        report.error = report.error ?? message
        channel.broken.store(true, ordering: .releasing)
        channel.gate.close()
        channel.socket.shutdown()
    }

    @inline(__always)
    private func record<Recorder: LatencyRecorder>(_ raw: UnsafeRawBufferPointer, body: Int, length: Int, now: UInt64,
                                                   phase: Phase, into report: inout Report<Recorder>) {
        let handle = Int64(bitPattern: UInt64(UInt32(bitPattern: Self.int32(raw, at: body + 1))) << 32
                                       | UInt64(UInt32(bitPattern: Self.int32(raw, at: body + 5))))
        let status = Int8(bitPattern: raw[body + 10])
        let sentAt = phase.epochNanos + BenchHandle.elapsedNanos(handle)
        guard sentAt >= phase.measureFromNanos && now <= phase.measureUntilNanos else { return }
        guard status == ClientStatus.success.rawValue else {
            report.failures += 1
            if report.firstFailure == nil { report.firstFailure = Self.failureText(raw, body: body, length: length, status: status) }
            return
        }
        report.latency.recordNanos(Int(now &- sentAt), times: 1)
        if BenchHandle.isGet(handle) { report.gets += 1 } else { report.puts += 1 }
    }

    /// `STATUS_NAME: status string` of a failed response.
    static func failureText(_ raw: UnsafeRawBufferPointer, body: Int, length: Int, status: Int8) -> String {
        let name = ClientStatus(rawValue: status)?.name ?? "status \(status)"
        let present = raw[body + 9]
        guard present & 0x20 != 0, length >= 15 else { return name }
        let textLength = Int(int32(raw, at: body + 11))
        guard textLength >= 0, 15 + textLength <= length else { return name }
        let bytes = UnsafeRawBufferPointer(rebasing: raw[(body + 15)..<(body + 15 + textLength)])
        return name + ": " + String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always)
    static func int32(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int32 {
        Int32(bitPattern: UInt32(raw[offset]) << 24 | UInt32(raw[offset + 1]) << 16 | UInt32(raw[offset + 2]) << 8 | UInt32(raw[offset + 3]))
    }
}
