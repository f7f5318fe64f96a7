// A logged-in client socket that two threads share: one only sends, the other only receives. This
// is what pipelining needs and what `VoltClientConnection` (single-owner, call/receive on one
// thread) does not offer. The socket is non-blocking; every send and receive waits in poll(2) with
// a bound, so a silent server costs a timeout, never a hang. TCP_NODELAY is set: the sender
// already batches many invocations into one write, and Nagle would only delay the last of them.
//
// Login is the same exchange as `VoltClientConnection`'s (SHA-256, the encoders of VoltWire);
// after it the socket carries raw frames. `close` may be called from any thread once; the
// descriptor is closed only after both users have finished with it (the caller joins them first).

import Glibc
import Synchronization
import VoltWire

/// A connected, logged-in socket for one sender thread and one receiver thread.
public final class WireSocket: Sendable {
    public let fd: Int32
    public let login: LoginSuccess
    public let address: ServerAddress
    private let closed = Atomic<Bool>(false)

    private init(fd: Int32, login: LoginSuccess, address: ServerAddress) {
        self.fd = fd
        self.login = login
        self.address = address
    }

    deinit { close() }

    /// Dials `address`, logs in and returns the socket, or throws within `timeoutMillis`.
    public static func connect(_ address: ServerAddress, username: String, password: String,
                               timeoutMillis: Int) throws(ClientConnectionError) -> WireSocket {
        let deadline = MonotonicClock.nanos() + UInt64(timeoutMillis) * 1_000_000
        let fd = try dial(address, deadline: deadline, timeoutMillis: timeoutMillis)
        do throws(ClientConnectionError) {
            let request = LoginRequest(username: username, password: password).encodeFrame()
            try sendAll(fd, request, deadline: deadline, timeoutMillis: timeoutMillis, what: "login")
            var decoder = FrameDecoder(maxFrameBytes: 1 << 20)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let frame: [UInt8]?
                do { frame = try decoder.nextFrame() } catch { throw ClientConnectionError.protocolViolation(error) }
                if let frame {
                    let response: LoginResponse
                    do { response = try LoginResponse.decode(frame) } catch { throw ClientConnectionError.protocolViolation(error) }
                    switch response {
                    case .success(let login): return WireSocket(fd: fd, login: login, address: address)
                    case .failure(let status): throw ClientConnectionError.loginRejected(status: status)
                    }
                }
                let n = try receive(fd, &buffer, at: 0, deadline: deadline, timeoutMillis: timeoutMillis, what: "login")
                buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    public func close() {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) { _ = Glibc.close(fd) }
    }

    /// Ends both directions without releasing the descriptor: wakes a thread blocked on it (its
    /// next call fails), while the descriptor number cannot be reused under it.
    public func shutdown() {
        if !closed.load(ordering: .acquiring) { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Sends every byte, waiting at most until `deadline` (monotonic nanoseconds).
    public func sendAll(_ bytes: [UInt8], deadline: UInt64, timeoutMillis: Int) throws(ClientConnectionError) {
        try Self.sendAll(fd, bytes, deadline: deadline, timeoutMillis: timeoutMillis, what: "send")
    }

    /// Reads what is available into `buffer[offset...]` (at least one byte), waiting at most
    /// until `deadline`; returns 0 when the deadline passed with nothing to read.
    public func receive(into buffer: inout [UInt8], at offset: Int, deadline: UInt64) throws(ClientConnectionError) -> Int {
        do {
            return try Self.receive(fd, &buffer, at: offset, deadline: deadline, timeoutMillis: 0, what: "receive")
        } catch {
            if case .timedOut = error { return 0 }
            throw error
        }
    }

    // MARK: System calls

    static func dial(_ address: ServerAddress, deadline: UInt64, timeoutMillis: Int) throws(ClientConnectionError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address.host, String(address.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .resolve(host: address.host, port: address.port, message: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(first) }
        var lastError = ClientConnectionError.connect(host: address.host, port: address.port, message: "no address")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard fd >= 0 else { lastError = .io(operation: "socket", errno: errno); continue }
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS || errno == EINTR else {
                lastError = .connect(host: address.host, port: address.port, message: String(cString: strerror(errno)))
                _ = Glibc.close(fd)
                continue
            }
            do throws(ClientConnectionError) {
                try wait(fd, events: Int16(POLLOUT), deadline: deadline, timeoutMillis: timeoutMillis, what: "connect to \(address)")
                var soError: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &size)
                guard soError == 0 else {
                    throw ClientConnectionError.connect(host: address.host, port: address.port, message: String(cString: strerror(soError)))
                }
                return fd
            } catch {
                _ = Glibc.close(fd)
                lastError = error
            }
        }
        throw lastError
    }

    static func wait(_ fd: Int32, events: Int16, deadline: UInt64, timeoutMillis: Int, what: String) throws(ClientConnectionError) {
        while true {
            let now = MonotonicClock.nanos()
            guard now < deadline else { throw .timedOut(operation: what, millis: timeoutMillis) }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, Int32(clamping: (deadline - now + 999_999) / 1_000_000))
            if n > 0 { return }
            if n < 0 && errno != EINTR { throw .io(operation: "poll", errno: errno) }
        }
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: UInt64, timeoutMillis: Int, what: String) throws(ClientConnectionError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { sent += n; continue }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK {
                try wait(fd, events: Int16(POLLOUT), deadline: deadline, timeoutMillis: timeoutMillis, what: what)
            } else if code != EINTR {
                throw code == EPIPE || code == ECONNRESET ? .closedByPeer : .io(operation: what, errno: code)
            }
        }
    }

    static func receive(_ fd: Int32, _ buffer: inout [UInt8], at offset: Int, deadline: UInt64, timeoutMillis: Int,
                        what: String) throws(ClientConnectionError) -> Int {
        precondition(offset < buffer.count, "no room to receive: offset \(offset) of \(buffer.count) bytes")
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress! + offset, raw.count - offset, 0) }
            if n > 0 { return n }
            if n == 0 { throw .closedByPeer }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK {
                try wait(fd, events: Int16(POLLIN), deadline: deadline, timeoutMillis: timeoutMillis, what: what)
            } else if code != EINTR {
                throw code == ECONNRESET ? .closedByPeer : .io(operation: what, errno: code)
            }
        }
    }
}

/// Nanoseconds on the monotonic clock, for deadlines and latencies.
public enum MonotonicClock {
    public static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Sleeps for `nanos` nanoseconds (a signal may cut it short).
    public static func sleep(nanos: UInt64) {
        var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
        nanosleep(&request, nil)
    }

    /// Sleeps until `deadline` (monotonic nanoseconds), at most `step` at a time.
    public static func sleep(until deadline: UInt64, step: UInt64 = 100_000_000) {
        while true {
            let now = nanos()
            guard now < deadline else { return }
            sleep(nanos: min(deadline - now, step))
        }
    }
}
