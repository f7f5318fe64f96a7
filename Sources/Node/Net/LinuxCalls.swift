// epoll, eventfd and accept4 for Swift. The toolchain's Glibc module does not include <sys/epoll.h>
// or <sys/eventfd.h>, nor declare the GNU `accept4`, and this target has no C shim module, so these
// calls are resolved once with
// `dlsym` and called through `@convention(c)` pointers: the C calling convention, exactly as a C
// caller would. The constants and the event layout are the Linux ABI (stable since 2.6.27); the
// kernel's `struct epoll_event` is packed on x86_64 (12 bytes) and naturally aligned elsewhere.
// A C shim target (as SwiftNIO's CNIOLinux) would replace this file without touching its callers.
import Glibc

/// The Linux calls that Glibc's Swift module lacks, and their constants.
enum LinuxCalls {
    static let readable: UInt32 = 0x001  // EPOLLIN
    static let writable: UInt32 = 0x004  // EPOLLOUT
    static let error: UInt32 = 0x008  // EPOLLERR
    static let hangUp: UInt32 = 0x010  // EPOLLHUP

    static let add: Int32 = 1  // EPOLL_CTL_ADD
    static let remove: Int32 = 2  // EPOLL_CTL_DEL
    static let modify: Int32 = 3  // EPOLL_CTL_MOD

    /// One `struct epoll_event`.
    struct Event {
        #if arch(x86_64)
        // Packed: events, then the 64-bit data as two 32-bit halves (little-endian).
        var events: UInt32
        private var dataLow: UInt32
        private var dataHigh: UInt32
        init(events: UInt32 = 0, data: UInt64 = 0) {
            self.events = events
            self.dataLow = UInt32(truncatingIfNeeded: data)
            self.dataHigh = UInt32(truncatingIfNeeded: data >> 32)
        }
        var data: UInt64 { UInt64(dataHigh) << 32 | UInt64(dataLow) }
        #else
        var events: UInt32
        private var padding: UInt32 = 0
        var data: UInt64
        init(events: UInt32 = 0, data: UInt64 = 0) {
            self.events = events
            self.data = data
        }
        #endif
    }

    private typealias CreateCall = @convention(c) (Int32) -> Int32
    private typealias ControlCall = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias WaitCall = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    private typealias EventFDCall = @convention(c) (UInt32, Int32) -> Int32
    private typealias AcceptCall = @convention(c) (Int32, UnsafeMutableRawPointer?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32

    private struct Calls: @unchecked Sendable {
        // SAFETY: immutable after the one-time resolution; C function pointers capture nothing.
        let create: CreateCall
        let control: ControlCall
        let wait: WaitCall
        let eventfd: EventFDCall
        let accept4: AcceptCall
    }

    private static let calls: Calls? = {
        #if arch(x86_64)
        precondition(MemoryLayout<Event>.stride == 12, "struct epoll_event is 12 packed bytes on x86_64")
        #else
        precondition(MemoryLayout<Event>.stride == 16, "struct epoll_event is 16 bytes outside x86_64")
        #endif
        guard let libc = dlopen(nil, RTLD_NOW) else { return nil }
        func resolve<T>(_ name: String, as type: T.Type) -> T? {
            guard let symbol = dlsym(libc, name) else { return nil }
            return unsafeBitCast(symbol, to: type)
        }
        guard let create = resolve("epoll_create1", as: CreateCall.self),
              let control = resolve("epoll_ctl", as: ControlCall.self),
              let wait = resolve("epoll_wait", as: WaitCall.self),
              let eventfd = resolve("eventfd", as: EventFDCall.self),
              let accept4 = resolve("accept4", as: AcceptCall.self)
        else { return nil }
        return Calls(create: create, control: control, wait: wait, eventfd: eventfd, accept4: accept4)
    }()

    /// Whether the calls were found (they are in every dynamically linked glibc program).
    static var isAvailable: Bool { calls != nil }

    /// `epoll_create1(EPOLL_CLOEXEC)`.
    static func create() -> Int32 {
        calls!.create(O_CLOEXEC)
    }

    static func control(_ epollFD: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        var event = Event(events: events, data: data)
        return calls!.control(epollFD, operation, fd, &event)
    }

    static func wait(_ epollFD: Int32, _ events: UnsafeMutablePointer<Event>, capacity: Int32, timeoutMillis: Int32) -> Int32 {
        calls!.wait(epollFD, events, capacity, timeoutMillis)
    }

    /// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`.
    static func makeEventFD() -> Int32 {
        calls!.eventfd(0, O_CLOEXEC | O_NONBLOCK)
    }

    /// `accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC)`: the accepted socket is
    /// non-blocking and close-on-exec from its first instant.
    static func acceptNonBlocking(_ fd: Int32, _ address: UnsafeMutableRawPointer, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        calls!.accept4(fd, address, length, O_NONBLOCK | O_CLOEXEC)
    }
}
