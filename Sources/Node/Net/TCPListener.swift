// A listening TCP socket on one loop of a group. It accepts non-blockingly on readable events
// (up to 64 per event, then yields), sets TCP_NODELAY on each accepted socket (responses are
// small and latency-bound; we batch ourselves with writev), and hands the socket to the next loop
// of the group, where the connection registers and the handler is made by `makeHandler`.
//
// Connection limit. The listener counts open connections (up at accept, down when a connection
// closes). An accept beyond `maxConnections` is still accepted, so the client gets an answer
// rather than a hanging connect: `onRejected` returns the bytes to send (the wire server's "too
// many connections" login response), the listener sends them without blocking, shuts down its
// sending side, discards what the client already sent (closing with unread input would send a
// reset, which can make the client discard our answer) and closes.
//
// Running out of file descriptors (EMFILE, ENFILE) or memory makes every accept fail while the
// socket stays readable; with level-triggered epoll that would spin, so the listener stops watching
// for 100 ms and logs it.
import Glibc
import Synchronization

/// Listens on host:port and hands accepted connections to an `EventLoopGroup`.
public final class TCPListener: @unchecked Sendable {
    // SAFETY: the `let`s and atomics may be used from any thread. `fd`, `token`, `state` and
    // `acceptPaused` are owned by `eventLoop`'s thread (set by `start`, used by `handleEvents`,
    // the resume timer and `closeNow`, which all run there); init sets `fd` before publishing self.

    public let host: String
    /// The bound port (the kernel's choice when 0 was asked).
    public let port: Int
    public let group: EventLoopGroup
    /// The loop that accepts.
    public let eventLoop: EventLoop
    public let configuration: NetConfiguration
    private let makeHandler: @Sendable (Connection) -> any ConnectionHandler
    private let onRejected: @Sendable (_ remoteAddress: String) -> [UInt8]
    private let openCount = Atomic<Int>(0)
    private let rejectedCount = Atomic<Int>(0)
    private let listening = Atomic<Bool>(true)

    private enum State { case created, open, closed }
    private var state = State.created
    private var fd: Int32
    private var token: UInt64 = 0
    private var acceptPaused = false

    private static let acceptsPerEventMax = 64
    private static let acceptPauseMillis: Int64 = 100

    /// Binds and listens now (errors are thrown here), then starts accepting on a loop of `group`.
    /// - Parameters:
    ///   - host: a numeric address to bind, e.g. "127.0.0.1", "0.0.0.0" or "::".
    ///   - port: 0 lets the kernel choose; read `port` afterwards.
    ///   - onRejected: called on the accepting loop for a connection over `maxConnections`; returns
    ///     the bytes to send before closing it (may be empty).
    ///   - makeHandler: called on the connection's loop to make its handler.
    public init(
        host: String,
        port: Int,
        group: EventLoopGroup,
        configuration: NetConfiguration = NetConfiguration(),
        onRejected: @escaping @Sendable (_ remoteAddress: String) -> [UInt8] = { _ in [] },
        makeHandler: @escaping @Sendable (Connection) -> any ConnectionHandler
    ) throws(NetError) {
        let fd = try TCPListener.makeListeningSocket(host: host, port: port, backlog: configuration.listenBacklog)
        guard let boundPort = localPort(of: fd) else {
            let e = errno
            Glibc.close(fd)
            throw NetError("getsockname", errno: e)
        }
        self.fd = fd
        self.host = host
        self.port = boundPort
        self.group = group
        self.eventLoop = group.loops[0]
        self.configuration = configuration
        self.onRejected = onRejected
        self.makeHandler = makeHandler
        guard eventLoop.execute({ self.start() }) else {
            Glibc.close(fd)
            throw NetError("listen on \(host):\(port): the event loop group is shut down", errno: ESHUTDOWN)
        }
    }

    /// Connections accepted and not yet closed.
    public var connectionCount: Int { openCount.load(ordering: .relaxed) }
    /// Connections turned away by `maxConnections`.
    public var rejectedConnectionCount: Int { rejectedCount.load(ordering: .relaxed) }
    /// False once `close()` ran on the loop (or the loop shut down).
    public var isListening: Bool { listening.load(ordering: .acquiring) }

    /// Stops accepting and closes the listening socket, on the loop (at once when called there).
    /// Open connections stay open.
    public func close() {
        if eventLoop.inEventLoop {
            closeNow()
        } else {
            eventLoop.execute { self.closeNow() }
        }
    }

    private static func makeListeningSocket(host: String, port: Int, backlog: Int32) throws(NetError) -> Int32 {
        guard (0...65535).contains(port) else { throw NetError("listen on \(host):\(port): port out of range", errno: EINVAL) }
        var resolved = try ResolvedSocket.open(host: host, port: port, flags: AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV)
        let fd = resolved.fd
        var one: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw NetError("setsockopt SO_REUSEADDR", errno: e)
        }
        guard resolved.withAddress({ bind(fd, $0, $1) }) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw NetError("bind \(host):\(port)", errno: e)
        }
        guard listen(fd, backlog) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw NetError("listen \(host):\(port)", errno: e)
        }
        return fd
    }

    // MARK: Loop thread

    private func start() {
        guard state == .created else { return }
        guard let token = eventLoop.register(self, fd: fd, events: LinuxCalls.readable) else {
            // The loop is stopping.
            state = .open
            closeNow()
            return
        }
        self.token = token
        state = .open
    }

    private func closeNow() {
        guard state != .closed else { return }
        if token != 0 { eventLoop.deregister(fd: fd, token: token) }
        state = .closed
        Glibc.close(fd)
        fd = -1
        listening.store(false, ordering: .releasing)
    }

    private func acceptConnections() {
        for _ in 0..<TCPListener.acceptsPerEventMax {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted = withUnsafeMutableBytes(of: &address) {
                LinuxCalls.acceptNonBlocking(fd, $0.baseAddress!, &length)
            }
            if accepted < 0 {
                let e = errno
                switch e {
                case EAGAIN, EWOULDBLOCK:
                    return
                case EINTR, ECONNABORTED, EPROTO:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    configuration.log("accept on \(host):\(port) failed: \(describeErrno(e)); not accepting for \(TCPListener.acceptPauseMillis) ms")
                    pauseAccepting()
                    return
                default:
                    configuration.log("accept on \(host):\(port) failed: \(describeErrno(e)) (errno \(e))")
                    return
                }
            }
            let remote = formatAddress(&address)
            let admitted = openCount.wrappingAdd(1, ordering: .relaxed).newValue
            if admitted > configuration.maxConnections {
                openCount.wrappingSubtract(1, ordering: .relaxed)
                reject(accepted, remoteAddress: remote)
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(accepted, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let loop = group.next()
            let connection = Connection(
                fd: accepted, id: group.nextConnectionID(), remoteAddress: remote, eventLoop: loop,
                configuration: configuration, onFinalClose: { self.openCount.wrappingSubtract(1, ordering: .relaxed) })
            let makeHandler = self.makeHandler
            if loop === eventLoop {
                connection.start(makeHandler)
            } else if !loop.execute({ connection.start(makeHandler) }) {
                connection.abandon()
            }
        }
    }

    private func reject(_ socket: Int32, remoteAddress: String) {
        rejectedCount.wrappingAdd(1, ordering: .relaxed)
        let answer = onRejected(remoteAddress)
        if !answer.isEmpty {
            _ = answer.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        }
        Glibc.shutdown(socket, Int32(SHUT_WR))
        let buffer = eventLoop.readBuffer
        for _ in 0..<4 where recv(socket, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT)) > 0 {}
        Glibc.close(socket)
    }

    private func pauseAccepting() {
        guard !acceptPaused, eventLoop.reregister(fd: fd, token: token, events: 0) else { return }
        acceptPaused = true
        eventLoop.schedule(afterMillis: TCPListener.acceptPauseMillis) { self.resumeAccepting() }
    }

    private func resumeAccepting() {
        guard state == .open, acceptPaused else { return }
        acceptPaused = false
        _ = eventLoop.reregister(fd: fd, token: token, events: LinuxCalls.readable)
    }
}

extension TCPListener: Selectable {
    func handleEvents(_ events: UInt32) {
        guard state == .open, !acceptPaused else { return }
        acceptConnections()
    }

    func closeForShutdown() {
        closeNow()
    }
}

/// The port a socket is bound to.
func localPort(of fd: Int32) -> Int? {
    var address = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard rc == 0 else { return nil }
    return addressParts(&address)?.port
}

/// "host:port" ("[v6]:port") of a socket address.
func formatAddress(_ address: inout sockaddr_storage) -> String {
    guard let (host, port) = addressParts(&address) else { return "unknown" }
    return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}

private func addressParts(_ address: inout sockaddr_storage) -> (host: String, port: Int)? {
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    switch Int32(address.ss_family) {
    case AF_INET:
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 -> (String, Int)? in
                var addr = v4.pointee.sin_addr
                guard inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil else { return nil }
                return (cStringText(text), Int(UInt16(bigEndian: v4.pointee.sin_port)))
            }
        }
    case AF_INET6:
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 -> (String, Int)? in
                var addr = v6.pointee.sin6_addr
                guard inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count)) != nil else { return nil }
                return (cStringText(text), Int(UInt16(bigEndian: v6.pointee.sin6_port)))
            }
        }
    default:
        return nil
    }
}

private func cStringText(_ text: [CChar]) -> String {
    String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
