// The operating errors of the network shell: a system call that failed, with its errno. They
// surface only where a caller can act on them (creating a loop, binding a listener); failures on
// an established connection become a `CloseReason` handed to the connection's handler instead.
import Glibc

/// A failed system call at the network edge (socket, bind, listen, epoll, eventfd, thread).
public struct NetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call that failed and what it was for, e.g. "bind 127.0.0.1:21212".
    public var operation: String
    /// The `errno` it set (or the return code of calls such as `getaddrinfo`).
    public var errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(operation) failed: \(describeErrno(errno)) (errno \(errno))"
    }
}

/// The text of an errno value. glibc's `strerror` returns static strings for known values.
func describeErrno(_ code: Int32) -> String {
    String(cString: strerror(code))
}
