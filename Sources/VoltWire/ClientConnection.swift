// A blocking VoltDB client connection over a TCP socket, for voltctl and tests: the only file of
// this target that does I/O. It is single-owner (not Sendable): one thread dials, logs in, and
// either calls synchronously (`call`) or pipelines (`send` many, then `receive` as many).
//
// Every wait is bounded: the socket is non-blocking and each connect, write and read waits in
// poll(2) for at most what remains of the operation's deadline (monotonic clock), so a silent
// server costs the timeout, never a hang. TCP_NODELAY is set because invocations are small and
// latency-bound, SO_KEEPALIVE as the Python `VoltClient` does.
//
// Responses are matched by handle. `call` waits for its own handle and keeps any other response
// (a pipelined one, or a server push) for `receive`, in arrival order. After an I/O or protocol
// error the socket is closed and every later operation throws `notConnected`; a timeout leaves the
// connection usable (the late response will be kept for `receive`).
//
// Handles start at 1 and increase, like the Python `VoltClient`'s.

import Glibc
import VoltModel

/// Why a client connection operation failed.
public enum ClientConnectionError: Error, Sendable, Hashable, CustomStringConvertible {
    case resolve(host: String, port: Int, message: String)
    case connect(host: String, port: Int, message: String)
    case timedOut(operation: String, millis: Int)
    case closedByPeer
    case io(operation: String, errno: Int32)
    case protocolViolation(WireError)
    /// A parameter could not be encoded as its wire type; nothing was sent.
    case invalidParameter(WireError)
    case loginRejected(status: Int8)
    case notConnected

    public var description: String {
        switch self {
        case let .resolve(host, port, message): "cannot resolve \(host):\(port): \(message)"
        case let .connect(host, port, message): "cannot connect to \(host):\(port): \(message)"
        case let .timedOut(operation, millis): "\(operation) timed out after \(millis) ms"
        case .closedByPeer: "the server closed the connection"
        case let .io(operation, code): "\(operation) failed: \(String(cString: strerror(code)))"
        case .protocolViolation(let e): "malformed message from the server: \(e)"
        case .invalidParameter(let e): "cannot send the call: \(e)"
        case .loginRejected(let status):
            "login rejected with status \(status)" + (LoginStatus(rawValue: status).map { " (\($0))" } ?? "")
        case .notConnected: "the connection is closed"
        }
    }
}

/// A blocking, single-owner connection to one VoltDB-protocol server.
public final class VoltClientConnection {
    /// What the server said about itself at login.
    public let login: LoginSuccess
    /// Default bound for `call` and `receive`.
    public var timeoutMillis: Int

    private var fd: Int32
    private var decoder: FrameDecoder
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var writer = WireWriter(reservingCapacity: 4096)
    private var kept: [ClientResponse] = []
    private var keptHead = 0
    private var nextHandle: Int64 = 1

    /// Connects to `host:port` and logs in with SHA-256, as the Python client does.
    public init(host: String, port: Int, username: String = "", password: String = "",
                timeoutMillis: Int = 8_000, maxFrameBytes: Int = FrameDecoder.defaultMaxFrameBytes) throws(ClientConnectionError) {
        let deadline = Deadline(millis: timeoutMillis)
        let fd = try Self.dial(host: host, port: port, deadline: deadline)
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        var buffer = [UInt8](repeating: 0, count: 4096)
        do throws(ClientConnectionError) {
            try Self.writeAll(fd, LoginRequest(username: username, password: password).encodeFrame(), deadline: deadline, what: "login")
            let body = try Self.readFrame(fd, &decoder, &buffer, deadline: deadline, what: "login")
            switch try Self.wire({ () throws(WireError) in try LoginResponse.decode(body) }) {
            case .success(let s): login = s
            case .failure(let status): throw ClientConnectionError.loginRejected(status: status)
            }
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        self.fd = fd
        self.decoder = decoder
        self.timeoutMillis = timeoutMillis
    }

    deinit { close() }

    public var isOpen: Bool { fd >= 0 }

    public func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    /// Invokes `procedure` and waits for its response. Responses to other handles that arrive
    /// meanwhile are kept for `receive`.
    public func call(_ procedure: String, _ parameters: [WireParameter] = [], timeoutMillis: Int? = nil) throws(ClientConnectionError) -> ClientResponse {
        let deadline = Deadline(millis: timeoutMillis ?? self.timeoutMillis)
        let handle = try send(procedure, parameters, deadline: deadline)
        while true {
            let response = try readResponse(deadline: deadline, what: "call \(procedure)")
            if response.handle == handle { return response }
            kept.append(response)
        }
    }

    /// Sends an invocation without waiting for its response; returns its handle.
    @discardableResult
    public func send(_ procedure: String, _ parameters: [WireParameter] = [], timeoutMillis: Int? = nil) throws(ClientConnectionError) -> Int64 {
        try send(procedure, parameters, deadline: Deadline(millis: timeoutMillis ?? self.timeoutMillis))
    }

    /// Sends an invocation that the caller built (any version, any handle).
    public func send(_ invocation: Invocation, timeoutMillis: Int? = nil) throws(ClientConnectionError) {
        guard fd >= 0 else { throw .notConnected }
        writer.removeAll()
        try Self.encode(invocation, into: &writer)
        try checked { () throws(ClientConnectionError) in
            try Self.writeAll(fd, writer.bytes, deadline: Deadline(millis: timeoutMillis ?? self.timeoutMillis), what: "send \(invocation.procedure)")
        }
    }

    /// The next response in arrival order (kept ones first).
    public func receive(timeoutMillis: Int? = nil) throws(ClientConnectionError) -> ClientResponse {
        if keptHead < kept.count {
            let r = kept[keptHead]
            keptHead += 1
            if keptHead == kept.count { kept.removeAll(keepingCapacity: true); keptHead = 0 }
            return r
        }
        return try readResponse(deadline: Deadline(millis: timeoutMillis ?? self.timeoutMillis), what: "receive")
    }

    // MARK: - Internals

    private func send(_ procedure: String, _ parameters: [WireParameter], deadline: Deadline) throws(ClientConnectionError) -> Int64 {
        guard fd >= 0 else { throw .notConnected }
        let handle = nextHandle
        nextHandle += 1
        writer.removeAll()
        let invocation = Invocation(procedure: procedure, handle: handle, parameters: parameters)
        try Self.encode(invocation, into: &writer)
        try checked { () throws(ClientConnectionError) in
            try Self.writeAll(fd, writer.bytes, deadline: deadline, what: "send \(procedure)")
        }
        return handle
    }

    private func readResponse(deadline: Deadline, what: String) throws(ClientConnectionError) -> ClientResponse {
        guard fd >= 0 else { throw .notConnected }
        return try checked { () throws(ClientConnectionError) in
            let body = try Self.readFrame(fd, &decoder, &readBuffer, deadline: deadline, what: what)
            return try Self.wire { () throws(WireError) in try ClientResponse.decode(body) }
        }
    }

    /// Runs `body`; on any error but a timeout the connection is unusable and gets closed.
    private func checked<R>(_ body: () throws(ClientConnectionError) -> R) throws(ClientConnectionError) -> R {
        do {
            return try body()
        } catch {
            if case .timedOut = error {} else { close() }
            throw error
        }
    }

    private static func encode(_ invocation: Invocation, into writer: inout WireWriter) throws(ClientConnectionError) {
        do { try invocation.encode(into: &writer) } catch { throw .invalidParameter(error) }
    }

    private static func wire<R>(_ body: () throws(WireError) -> R) throws(ClientConnectionError) -> R {
        do { return try body() } catch { throw .protocolViolation(error) }
    }

    private static func dial(host: String, port: Int, deadline: Deadline) throws(ClientConnectionError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .resolve(host: host, port: port, message: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(first) }
        var lastError = ClientConnectionError.connect(host: host, port: port, message: "no address")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard fd >= 0 else { lastError = .io(operation: "socket", errno: errno); continue }
            do {
                try connectWithin(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen, deadline: deadline, host: host, port: port)
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            } catch {
                _ = Glibc.close(fd)
                lastError = error
            }
        }
        throw lastError
    }

    private static func connectWithin(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: socklen_t,
                                      deadline: Deadline, host: String, port: Int) throws(ClientConnectionError) {
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0 else { throw .io(operation: "fcntl", errno: errno) }
        if connect(fd, address, length) == 0 { return }
        guard errno == EINPROGRESS || errno == EINTR else {
            throw .connect(host: host, port: port, message: String(cString: strerror(errno)))
        }
        try wait(fd, events: Int16(POLLOUT), deadline: deadline, what: "connect to \(host):\(port)")
        var soError: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &size) == 0 else { throw .io(operation: "getsockopt", errno: errno) }
        guard soError == 0 else { throw .connect(host: host, port: port, message: String(cString: strerror(soError))) }
    }

    /// Waits until `fd` is ready for `events` or the deadline passes.
    private static func wait(_ fd: Int32, events: Int16, deadline: Deadline, what: String) throws(ClientConnectionError) {
        while true {
            let left = deadline.remainingMillis
            guard left > 0 else { throw .timedOut(operation: what, millis: deadline.totalMillis) }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, Int32(clamping: left))
            if n > 0 { return }
            if n < 0 && errno != EINTR { throw .io(operation: "poll", errno: errno) }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: Deadline, what: String) throws(ClientConnectionError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { sent += n; continue }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK {
                try wait(fd, events: Int16(POLLOUT), deadline: deadline, what: what)
            } else if code != EINTR {
                throw code == EPIPE || code == ECONNRESET ? .closedByPeer : .io(operation: what, errno: code)
            }
        }
    }

    private static func readFrame(_ fd: Int32, _ decoder: inout FrameDecoder, _ buffer: inout [UInt8],
                                  deadline: Deadline, what: String) throws(ClientConnectionError) -> [UInt8] {
        while true {
            if let frame = try wire({ () throws(WireError) in try decoder.nextFrame() }) { return frame }
            try wait(fd, events: Int16(POLLIN), deadline: deadline, what: what)
            let n = buffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress, raw.count, 0) }
            if n > 0 {
                buffer.withUnsafeBytes { raw in decoder.append(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
            } else if n == 0 {
                throw .closedByPeer
            } else {
                let code = errno
                if code != EAGAIN && code != EWOULDBLOCK && code != EINTR {
                    throw code == ECONNRESET ? .closedByPeer : .io(operation: what, errno: code)
                }
            }
        }
    }
}

/// A point on the monotonic clock some milliseconds from now.
private struct Deadline {
    let totalMillis: Int
    private let endNanos: UInt64

    init(millis: Int) {
        totalMillis = millis
        endNanos = Deadline.nowNanos() &+ UInt64(max(0, millis)) &* 1_000_000
    }

    var remainingMillis: Int {
        let now = Deadline.nowNanos()
        guard now < endNanos else { return 0 }
        return Int((endNanos - now + 999_999) / 1_000_000)
    }

    static func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
