// epoll, eventfd and accept4 for Swift, through the header-only C target `CLinux`: the toolchain's
// Glibc module does not include <sys/epoll.h> or <sys/eventfd.h>, nor declare the GNU `accept4`.
// The event layout (packed on x86_64) stays on the C side: `wait` hands Swift two plain arrays.
import CLinux
import Glibc

/// The Linux calls that Glibc's Swift module lacks, and their constants.
enum LinuxCalls {
    static let readable = UInt32(EPOLLIN.rawValue)
    static let writable = UInt32(EPOLLOUT.rawValue)
    static let error = UInt32(EPOLLERR.rawValue)
    static let hangUp = UInt32(EPOLLHUP.rawValue)

    static let add = EPOLL_CTL_ADD
    static let remove = EPOLL_CTL_DEL
    static let modify = EPOLL_CTL_MOD

    /// Always true: the calls are linked, not looked up. Kept so callers need not change.
    static var isAvailable: Bool { true }

    /// `epoll_create1(EPOLL_CLOEXEC)`.
    static func create() -> Int32 { clinux_epoll_create_cloexec() }

    static func control(_ epollFD: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        clinux_epoll_ctl(epollFD, operation, fd, events, data)
    }

    /// Reusable buffers for `epoll_wait`, owned by one loop thread.
    struct EventBuffer: ~Copyable {
        let capacity: Int
        fileprivate let scratch: UnsafeMutableRawPointer
        let events: UnsafeMutablePointer<UInt32>
        let data: UnsafeMutablePointer<UInt64>

        init(capacity: Int) {
            self.capacity = capacity
            scratch = .allocate(byteCount: Int(clinux_epoll_event_size()) * capacity, alignment: 8)
            events = .allocate(capacity: capacity)
            data = .allocate(capacity: capacity)
        }

        deinit {
            scratch.deallocate()
            events.deallocate()
            data.deallocate()
        }
    }

    /// `epoll_wait` into `buffer`; returns the number of ready events, or -1 with errno.
    static func wait(_ epollFD: Int32, _ buffer: borrowing EventBuffer, timeoutMillis: Int32) -> Int32 {
        clinux_epoll_wait(epollFD, buffer.scratch.assumingMemoryBound(to: epoll_event.self),
                          buffer.events, buffer.data, Int32(buffer.capacity), timeoutMillis)
    }

    /// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`.
    static func makeEventFD() -> Int32 { clinux_eventfd_nonblocking() }

    /// `accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC)`: the accepted socket is
    /// non-blocking and close-on-exec from its first instant.
    static func acceptNonBlocking(_ fd: Int32, _ address: UnsafeMutableRawPointer, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        clinux_accept4(fd, address, length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
    }
}
