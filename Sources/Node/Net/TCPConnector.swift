// Outbound connections: the mesh dials the other hosts' internal ports with these. The connect
// itself blocks the calling thread (never a loop thread) for at most `timeoutMillis`; the
// established socket is then handed to a loop of the group and behaves exactly like an accepted
// connection (same handler contract, same back-pressure).

import Glibc

public enum TCPConnector {
    /// Connects to `host:port` (numeric IPv4 or IPv6), then starts the connection on one of
    /// `group`'s loops with the handler `makeHandler` creates there.
    public static func connect(host: String, port: Int, group: EventLoopGroup, configuration: NetConfiguration,
                               timeoutMillis: Int,
                               makeHandler: @escaping @Sendable (Connection) -> any ConnectionHandler) throws(NetError) -> Connection {
        var resolved = try ResolvedSocket.open(host: host, port: port, flags: AI_NUMERICSERV)
        let fd = resolved.fd
        func fail(_ operation: String, _ code: Int32) -> NetError {
            Glibc.close(fd)
            return NetError(operation, errno: code)
        }
        if resolved.withAddress({ Glibc.connect(fd, $0, $1) }) != 0 {
            guard errno == EINPROGRESS else { throw fail("connect \(host):\(port)", errno) }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pfd, 1, Int32(timeoutMillis))
            guard ready > 0 else { throw fail("connect \(host):\(port) (timed out after \(timeoutMillis) ms)", ready == 0 ? ETIMEDOUT : errno) }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            guard soError == 0 else { throw fail("connect \(host):\(port)", soError) }
        }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let loop = group.next()
        let connection = Connection(fd: fd, id: group.nextConnectionID(), remoteAddress: "\(host):\(port)", eventLoop: loop,
                                    configuration: configuration, onFinalClose: {})
        guard loop.execute({ connection.start(makeHandler) }) else {
            connection.abandon()
            throw NetError("connect \(host):\(port): the event loop is shut down", errno: ESHUTDOWN)
        }
        return connection
    }
}
