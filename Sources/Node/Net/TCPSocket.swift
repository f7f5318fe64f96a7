// Resolving a numeric address and opening a TCP socket for it: the part listening and dialing
// share.

import Glibc

/// A non-blocking, close-on-exec TCP socket of the resolved address's family, and that address.
struct ResolvedSocket {
    let fd: Int32
    var address: sockaddr_storage
    let length: socklen_t

    /// Resolves `host:port` (getaddrinfo with `flags`) and opens a socket for the first result.
    static func open(host: String, port: Int, flags: Int32) throws(NetError) -> ResolvedSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = flags
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let info = list else {
            throw NetError("resolve \(host):\(port) (\(String(cString: gai_strerror(rc))))", errno: EINVAL)
        }
        defer { freeaddrinfo(list) }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(info.pointee.ai_family, type, 0)
        guard fd >= 0 else { throw NetError("socket", errno: errno) }
        var address = sockaddr_storage()
        withUnsafeMutableBytes(of: &address) { $0.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen))) }
        return ResolvedSocket(fd: fd, address: address, length: info.pointee.ai_addrlen)
    }

    /// Calls `body` with the address as a `sockaddr` (for bind and connect).
    mutating func withAddress<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let length = self.length
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }
}
