// Helpers for the network shell's tests: a server on 127.0.0.1 (port 0) whose handler records every
// open and close, raw blocking client sockets (so the tests control exactly how bytes are split on
// the wire), bounded waits, and a seeded generator. Every wait has a deadline and every socket is
// closed on every path (clients close in deinit; servers are shut down with `defer`).
import Foundation
import Glibc
import Node
import Synchronization
import Testing

struct NetTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func netMonotonicMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Waits until `condition` holds, checking every millisecond, for at most `timeoutMillis`.
func netWaitUntil(_ what: String, timeoutMillis: Int64 = 10_000, _ condition: () -> Bool) throws {
    let deadline = netMonotonicMillis() + timeoutMillis
    while !condition() {
        if netMonotonicMillis() > deadline { throw NetTestError("timed out after \(timeoutMillis) ms waiting for \(what)") }
        usleep(1000)
    }
}

/// A frame: big-endian int32 body length, then the body.
func netFrame(_ body: some Collection<UInt8>) -> [UInt8] {
    let n = UInt32(body.count)
    return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + Array(body)
}

/// SplitMix64, a small seeded generator, so a failing run can be repeated.
struct NetRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Records what the server's handlers saw.
final class NetRecorder: Sendable {
    struct Closed: Sendable {
        let id: ConnectionID
        let remoteAddress: String
        let reason: CloseReason
    }
    private struct State {
        var connections: [Connection] = []
        var closes: [Closed] = []
        var logLines: [String] = []
        var framesReceived = 0
    }
    private let state = Mutex(State())

    func opened(_ c: Connection) { state.withLock { $0.connections.append(c) } }
    func closed(_ c: Connection, _ reason: CloseReason) {
        state.withLock { $0.closes.append(Closed(id: c.id, remoteAddress: c.remoteAddress, reason: reason)) }
    }
    func log(_ line: String) { state.withLock { $0.logLines.append(line) } }
    func countFrame() { state.withLock { $0.framesReceived += 1 } }

    var connections: [Connection] { state.withLock { $0.connections } }
    var closes: [Closed] { state.withLock { $0.closes } }
    var logLines: [String] { state.withLock { $0.logLines } }
    var framesReceived: Int { state.withLock { $0.framesReceived } }

    func connection(clientPort: Int) -> Connection? {
        connections.first { $0.remoteAddress == "127.0.0.1:\(clientPort)" }
    }

    func closeReason(clientPort: Int) -> CloseReason? {
        closes.first { $0.remoteAddress == "127.0.0.1:\(clientPort)" }?.reason
    }
}

typealias NetFrameAction = @Sendable (Connection, ArraySlice<UInt8>) -> Void

final class NetRecordingHandler: ConnectionHandler {
    let recorder: NetRecorder
    let action: NetFrameAction
    init(recorder: NetRecorder, action: @escaping NetFrameAction) {
        self.recorder = recorder
        self.action = action
    }
    func onOpen(_ connection: Connection) { recorder.opened(connection) }
    func onFrame(_ connection: Connection, _ body: ArraySlice<UInt8>) {
        recorder.countFrame()
        action(connection, body)
    }
    func onClose(_ connection: Connection, reason: CloseReason) { recorder.closed(connection, reason) }
}

/// Answers every frame with the same body, on the loop thread.
let netEchoOnLoop: NetFrameAction = { connection, body in connection.write(frame: netFrame(body)) }

/// A listener on 127.0.0.1:0 with a recording handler.
final class NetTestServer: Sendable {
    let group: EventLoopGroup
    let listener: TCPListener
    let recorder: NetRecorder

    init(loops: Int = 2,
         configure: (inout NetConfiguration) -> Void = { _ in },
         onRejected: @escaping @Sendable (String) -> [UInt8] = { _ in [] },
         onFrame: @escaping NetFrameAction = netEchoOnLoop) throws {
        let recorder = NetRecorder()
        var configuration = NetConfiguration(log: { line in recorder.log(line) })
        configure(&configuration)
        let group = try EventLoopGroup(loopCount: loops)
        do {
            listener = try TCPListener(host: "127.0.0.1", port: 0, group: group, configuration: configuration,
                                       onRejected: onRejected) { _ in
                NetRecordingHandler(recorder: recorder, action: onFrame)
            }
        } catch {
            group.shutdown()
            throw error
        }
        self.group = group
        self.recorder = recorder
    }

    var port: Int { listener.port }
    func shutdown() { group.shutdown() }
}

/// A blocking client socket; reads are bounded by poll timeouts.
final class NetRawClient: @unchecked Sendable {
    // SAFETY: used by one thread at a time, except that a test may read on one thread while another
    // only calls `send`/`sendWithoutBlocking`, which touch nothing but the (immutable) fd.
    let fd: Int32
    let localPort: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var chunk = [UInt8](repeating: 0, count: 65536)
    private var closed = false

    init(port: Int, receiveBufferBytes: Int32? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NetTestError("socket: errno \(errno)") }
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw NetTestError("connect to 127.0.0.1:\(port): errno \(e)")
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.localPort = Int(UInt16(bigEndian: local.sin_port))
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw NetTestError("send failed: errno \(errno)") }
            sent += n
        }
    }

    /// Sends `bytes` in random pieces of 1...maxChunk bytes, one system call each.
    func sendInRandomChunks(_ bytes: [UInt8], maxChunk: Int, using rng: inout NetRandom) throws {
        var offset = 0
        while offset < bytes.count {
            let size = min(bytes.count - offset, Int.random(in: 1...maxChunk, using: &rng))
            try send(Array(bytes[offset..<offset + size]))
            offset += size
        }
    }

    /// Sends without blocking; returns the bytes taken (0 when the socket buffer is full).
    func sendWithoutBlocking(_ bytes: [UInt8]) throws -> Int {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
            throw NetTestError("send failed: errno \(errno)")
        }
        return n
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Receives into the buffer; false on end-of-file or reset.
    private func fill(deadline: Int64) throws -> Bool {
        let remaining = deadline - netMonotonicMillis()
        guard remaining > 0 else { throw NetTestError("client read timed out") }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&p, 1, Int32(min(remaining, 1000)))
        if ready == 0 { return true }
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            if start > 0 && start * 2 >= buffer.count {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            buffer.append(contentsOf: chunk[..<n])
            return true
        }
        if n == 0 || errno == ECONNRESET { return false }
        if errno == EINTR || errno == EAGAIN { return true }
        throw NetTestError("recv failed: errno \(errno)")
    }

    /// The next frame body from the server.
    func readFrame(timeoutMillis: Int64 = 10_000) throws -> [UInt8] {
        let deadline = netMonotonicMillis() + timeoutMillis
        while true {
            if let body = takeBufferedFrame() { return body }
            guard try fill(deadline: deadline) else { throw NetTestError("server closed the connection while a frame was expected") }
        }
    }

    /// A complete frame body already received, if any.
    func takeBufferedFrame() -> [UInt8]? {
        guard buffer.count - start >= 4 else { return nil }
        let n = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard buffer.count - start >= 4 + n else { return nil }
        let body = Array(buffer[start + 4..<start + 4 + n])
        start += 4 + n
        return body
    }

    /// Waits for at least one frame, then returns how many complete frames arrived (discarding them).
    func readAvailableFrames(timeoutMillis: Int64 = 10_000) throws -> Int {
        let deadline = netMonotonicMillis() + timeoutMillis
        var count = 0
        while count == 0 {
            while takeBufferedFrame() != nil { count += 1 }
            if count == 0 {
                guard try fill(deadline: deadline) else { throw NetTestError("server closed the connection while frames were expected") }
            }
        }
        return count
    }

    /// Waits for the server to close; returns the bytes that arrived before the close.
    func readUntilClosed(timeoutMillis: Int64 = 10_000) throws -> [UInt8] {
        let deadline = netMonotonicMillis() + timeoutMillis
        while try fill(deadline: deadline) {}
        defer {
            buffer = []
            start = 0
        }
        return Array(buffer[start...])
    }

    /// One request, one answer.
    func roundTrip(_ body: [UInt8], timeoutMillis: Int64 = 10_000) throws -> [UInt8] {
        try send(netFrame(body))
        return try readFrame(timeoutMillis: timeoutMillis)
    }
}

/// Runs `body(0..<count)` on `count` threads and waits for all of them (bounded); rethrows the
/// first error.
func netOnThreads(_ count: Int, timeoutMillis: Int64 = 60_000, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let failures = Mutex<[String]>([])
    let done = DispatchSemaphore(value: 0)
    for i in 0..<count {
        let thread = Thread {
            do { try body(i) } catch { failures.withLock { $0.append("thread \(i): \(error)") } }
            done.signal()
        }
        thread.start()
    }
    let deadline = DispatchTime.now() + .milliseconds(Int(timeoutMillis))
    for _ in 0..<count {
        guard done.wait(timeout: deadline) == .success else {
            throw NetTestError("a client thread did not finish within \(timeoutMillis) ms")
        }
    }
    if let first = failures.withLock({ $0.first }) { throw NetTestError(first) }
}
