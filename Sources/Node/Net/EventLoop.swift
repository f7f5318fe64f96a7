// One thread running epoll: socket readiness, tasks submitted from any thread, and timers.
//
// Iteration. The thread blocks in `epoll_wait` until a socket is ready, another thread wakes it,
// or the next timer is due. It then (1) dispatches every ready socket to its owner (a `Connection`
// or a `TCPListener`), (2) runs due timers, (3) runs every task queued so far, taken in one swap of
// the Mutex-protected queue, and after each step flushes the connections that were written to on
// this thread during it, so that all responses produced by one read leave in one `writev`.
//
// Level-triggered epoll. A ready socket is reported again on every `epoll_wait` until it is
// drained, so a connection may stop after a bounded number of reads (fairness: one fast client
// cannot starve the others) and pick up where it left off on the next iteration, and pausing a
// connection is just removing EPOLLIN from its interest set. Edge-triggered epoll would save a few
// `epoll_wait` reports but would oblige every owner to read until EAGAIN or remember readiness
// itself across pauses, which is where lost-wake-up bugs live. EPOLLOUT is registered only while a
// connection has output the kernel refused (EAGAIN), so writable sockets do not spin the loop.
//
// Wake-ups. `execute` appends to the queue and writes the eventfd only when the queue was empty, so
// a burst of submissions costs one wake-up; the loop reads the eventfd before it swaps the queue,
// so a task appended after the swap always finds the queue empty and writes the eventfd again. The
// eventfd write happens under the queue's lock, so it can never race with `shutdown()` closing it.
//
// Registrations are keyed by a token that is never reused (not by fd): an event reported for a
// socket closed earlier in the same batch finds no owner and is ignored, even if the kernel already
// handed its fd number to a new socket.
//
// Timers are a binary min-heap on the loop thread, ordered by (deadline, sequence), on the
// monotonic clock. A cancelled timer stays in the heap and is skipped when due, so a timer that is
// re-armed on every event (an idle timeout) should rather be one periodic check.
//
// Shutdown. `shutdown()` marks the loop stopping and wakes it. The loop closes every registered
// socket (connections tell their handlers `.eventLoopShutdown`), then runs the tasks still queued
// until the queue is empty and marks itself stopped under the same lock: a task accepted by
// `execute` (which returned true) always runs; later ones are refused (false). Registering on a
// stopping loop fails, so a socket handed over during shutdown is closed by its owner. The caller
// joins the thread and closes the epoll and event fds, each exactly once.
import Glibc
import Synchronization

/// An owner of a registered file descriptor. All methods run on the loop thread.
protocol Selectable: AnyObject {
    /// The epoll event bits reported for the owner's descriptor.
    func handleEvents(_ events: UInt32)
    /// The loop is shutting down: close the descriptor (deregistering it) now.
    func closeForShutdown()
}

/// A cancellable timer returned by `EventLoop.schedule(afterMillis:_:)`.
public final class ScheduledTimer: Sendable {
    private let cancelled = Atomic<Bool>(false)
    init() {}
    /// The task will not run if it has not started yet. Callable from any thread.
    public func cancel() { cancelled.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}

/// One epoll thread. See the file header for its iteration, wake-up and shutdown rules.
public final class EventLoop: @unchecked Sendable {
    // SAFETY: state is split by owner. `epollFD`, `eventFD`, `readBuffer` and `iovecs` are set in
    // init; the fds are closed only by `shutdown()` after the thread is joined, and the buffers are
    // used only on the loop thread. `shared` (a Mutex) and `loopThread`/`joinedThread` (atomics) are
    // the only state touched by other threads. Every other stored property is used only on the loop
    // thread (the owner's `handleEvents`, timers and tasks all run there).

    /// Bytes one `read` may fill: shared by all connections of this loop.
    static let readBufferBytes = 64 * 1024
    /// iovecs in one `writev`, at most IOV_MAX.
    static let iovecCapacity = 1024

    let epollFD: Int32
    private let eventFD: Int32
    let readBuffer: UnsafeMutableRawBufferPointer
    let iovecs: UnsafeMutablePointer<iovec>
    private let loopThread = Atomic<UInt>(0)
    private let joinedThread = Atomic<Bool>(false)

    private enum RunState { case running, stopping, stopped }
    private struct Shared {
        var tasks: [@Sendable () -> Void] = []
        var state: RunState = .running
    }
    private let shared = Mutex(Shared())

    // Loop thread only.
    private var registrations: [UInt64: any Selectable] = [:]
    private var nextToken: UInt64 = 1
    private var isStopping = false
    private var timers = TimerHeap()
    private var nextTimerSequence: UInt64 = 0
    private var flushList: [Connection] = []
    private var spareTasks: [@Sendable () -> Void] = []

    /// Creates the epoll instance and the eventfd, and starts the thread.
    public init() throws(NetError) {
        let ep = LinuxCalls.create()
        guard ep >= 0 else { throw NetError("epoll_create1", errno: errno) }
        let ev = LinuxCalls.makeEventFD()
        guard ev >= 0 else {
            let e = errno
            Glibc.close(ep)
            throw NetError("eventfd", errno: e)
        }
        // Token 0: the wake-up eventfd.
        guard LinuxCalls.control(ep, LinuxCalls.add, ev, events: LinuxCalls.readable, data: 0) == 0 else {
            let e = errno
            Glibc.close(ev)
            Glibc.close(ep)
            throw NetError("epoll_ctl add eventfd", errno: e)
        }
        epollFD = ep
        eventFD = ev
        readBuffer = .allocate(byteCount: EventLoop.readBufferBytes, alignment: 16)
        iovecs = .allocate(capacity: EventLoop.iovecCapacity)

        // The thread holds a reference until `run` returns, so the loop outlives its thread.
        let retained = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { argument in
            let loop = Unmanaged<EventLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, retained.toOpaque())
        guard rc == 0 else {
            retained.release()
            Glibc.close(ev)
            Glibc.close(ep)
            throw NetError("pthread_create", errno: rc)
        }
        // Nothing runs on the loop before another thread submits work, which it can only do after
        // init returns; the queue's lock orders this store before any load on the loop thread.
        loopThread.store(UInt(thread), ordering: .releasing)
    }

    deinit {
        readBuffer.deallocate()
        iovecs.deallocate()
    }

    /// Whether the caller is this loop's thread.
    public var inEventLoop: Bool {
        pthread_equal(pthread_self(), pthread_t(loopThread.load(ordering: .acquiring))) != 0
    }

    func assertInEventLoop(_ what: @autoclosure () -> String) {
        precondition(inEventLoop, "\(what()) must run on its event loop thread")
    }

    // MARK: Tasks

    /// Runs `task` on the loop thread, after the tasks submitted before it (FIFO per submitter).
    /// Returns false, and drops the task, if the loop has stopped.
    @discardableResult
    public func execute(_ task: @escaping @Sendable () -> Void) -> Bool {
        shared.withLock { s in
            guard s.state != .stopped else { return false }
            let wasEmpty = s.tasks.isEmpty
            s.tasks.append(task)
            if wasEmpty { wake() }
            return true
        }
    }

    /// Writes the eventfd. Called with the queue's lock held, so the fd is still open.
    private func wake() {
        var one: UInt64 = 1
        let n = Glibc.write(eventFD, &one, 8)
        // EAGAIN means the counter is saturated: the loop is awake anyway.
        precondition(n == 8 || errno == EAGAIN, "eventfd write failed: errno \(errno)")
    }

    /// Runs the tasks queued now; returns whether shutdown was requested.
    private func runQueuedTasks() -> Bool {
        let stopping = shared.withLock { s in
            swap(&s.tasks, &spareTasks)
            return s.state != .running
        }
        for task in spareTasks { task() }
        spareTasks.removeAll(keepingCapacity: true)
        return stopping
    }

    // MARK: Timers

    /// Runs `task` on the loop thread once `afterMillis` have passed on the monotonic clock
    /// (measured from this call). Callable from any thread. A timer still pending at shutdown never
    /// runs.
    @discardableResult
    public func schedule(afterMillis: Int64, _ task: @escaping @Sendable () -> Void) -> ScheduledTimer {
        let timer = ScheduledTimer()
        let deadline = EventLoop.monotonicNanos() &+ UInt64(max(0, afterMillis)) &* 1_000_000
        if inEventLoop {
            addTimer(deadline: deadline, timer: timer, task: task)
        } else {
            execute { self.addTimer(deadline: deadline, timer: timer, task: task) }
        }
        return timer
    }

    private func addTimer(deadline: UInt64, timer: ScheduledTimer, task: @escaping @Sendable () -> Void) {
        guard !isStopping else { return }
        nextTimerSequence += 1
        timers.push(TimerHeap.Entry(deadlineNanos: deadline, sequence: nextTimerSequence, timer: timer, task: task))
    }

    /// Runs the timers due now. Timers they add are due at the earliest on the next iteration.
    private func runDueTimers() {
        let now = EventLoop.monotonicNanos()
        var due: [TimerHeap.Entry] = []
        while let entry = timers.popDue(nowNanos: now) { due.append(entry) }
        for entry in due where !entry.timer.isCancelled { entry.task() }
    }

    /// The epoll_wait timeout: until the next timer, or forever.
    private func waitTimeoutMillis() -> Int32 {
        guard let next = timers.nextDeadlineNanos else { return -1 }
        let now = EventLoop.monotonicNanos()
        guard next > now else { return 0 }
        let millis = (next - now + 999_999) / 1_000_000
        return Int32(min(millis, UInt64(Int32.max)))
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    // MARK: Registrations (loop thread)

    /// Adds `fd` to epoll on behalf of `owner`. Nil when the loop is stopping or epoll refuses.
    func register(_ owner: any Selectable, fd: Int32, events: UInt32) -> UInt64? {
        assertInEventLoop("register")
        guard !isStopping else { return nil }
        let token = nextToken
        nextToken += 1
        guard LinuxCalls.control(epollFD, LinuxCalls.add, fd, events: events, data: token) == 0 else { return nil }
        registrations[token] = owner
        return token
    }

    /// Changes the interest set of a registered descriptor; false (with errno) if epoll refuses.
    func reregister(fd: Int32, token: UInt64, events: UInt32) -> Bool {
        assertInEventLoop("reregister")
        return LinuxCalls.control(epollFD, LinuxCalls.modify, fd, events: events, data: token) == 0
    }

    /// Removes a descriptor from epoll; call before closing it.
    func deregister(fd: Int32, token: UInt64) {
        assertInEventLoop("deregister")
        _ = LinuxCalls.control(epollFD, LinuxCalls.remove, fd, events: 0, data: 0)
        registrations[token] = nil
    }

    /// Flushes `connection` after the current step (it was written to on this thread).
    func scheduleFlush(_ connection: Connection) {
        flushList.append(connection)
    }

    private func flushScheduledConnections() {
        while !flushList.isEmpty {
            let list = flushList
            flushList = []
            for connection in list { connection.flushFromLoop() }
        }
    }

    // MARK: The loop

    private func run() {
        let buffer = LinuxCalls.EventBuffer(capacity: 256)
        while true {
            let n = LinuxCalls.wait(epollFD, buffer, timeoutMillis: waitTimeoutMillis())
            if n < 0 {
                precondition(errno == EINTR, "epoll_wait failed: errno \(errno)")
                continue
            }
            for i in 0..<Int(n) {
                let token = buffer.data[i]
                if token == 0 {
                    var counter: UInt64 = 0
                    _ = Glibc.read(eventFD, &counter, 8)
                } else {
                    registrations[token]?.handleEvents(buffer.events[i])
                }
            }
            flushScheduledConnections()
            runDueTimers()
            flushScheduledConnections()
            let stopping = runQueuedTasks()
            flushScheduledConnections()
            if stopping { break }
        }
        closeEverythingAndStop()
    }

    private func closeEverythingAndStop() {
        isStopping = true
        timers = TimerHeap()
        // Sorted so that handlers see closes in registration order, not in hash order.
        for token in registrations.keys.sorted() {
            registrations[token]?.closeForShutdown()
        }
        registrations.removeAll()
        while true {
            let more = shared.withLock { s -> Bool in
                if s.tasks.isEmpty {
                    s.state = .stopped
                    return false
                }
                swap(&s.tasks, &spareTasks)
                return true
            }
            guard more else { break }
            for task in spareTasks { task() }
            spareTasks.removeAll(keepingCapacity: true)
            flushScheduledConnections()
        }
        flushList = []
    }

    /// Stops the loop: closes every socket registered on it, runs the tasks already accepted, joins
    /// the thread and closes its fds. Call from any thread but the loop's own. Idempotent: later
    /// calls return at once.
    public func shutdown() {
        precondition(!inEventLoop, "EventLoop.shutdown() called on its own thread would join itself")
        let first = shared.withLock { s -> Bool in
            guard s.state == .running else { return false }
            s.state = .stopping
            wake()
            return true
        }
        guard first else { return }
        let thread = pthread_t(loopThread.load(ordering: .acquiring))
        let rc = pthread_join(thread, nil)
        precondition(rc == 0, "pthread_join failed: \(rc)")
        joinedThread.store(true, ordering: .releasing)
        Glibc.close(epollFD)
        // Writers of the eventfd hold the lock and see `.stopped`, so none is in flight.
        _ = shared.withLock { _ in Glibc.close(eventFD) }
    }

    /// Whether `shutdown()` has finished.
    public var isShutDown: Bool { joinedThread.load(ordering: .acquiring) }
}

/// A min-heap of timers by (deadline, sequence).
struct TimerHeap {
    struct Entry {
        var deadlineNanos: UInt64
        var sequence: UInt64
        var timer: ScheduledTimer
        var task: @Sendable () -> Void

        func precedes(_ other: Entry) -> Bool {
            (deadlineNanos, sequence) < (other.deadlineNanos, other.sequence)
        }
    }

    private var entries: [Entry] = []

    var count: Int { entries.count }
    var nextDeadlineNanos: UInt64? { entries.first?.deadlineNanos }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest entry if it is due at `nowNanos`.
    mutating func popDue(nowNanos: UInt64) -> Entry? {
        guard let first = entries.first, first.deadlineNanos <= nowNanos else { return nil }
        entries.swapAt(0, entries.count - 1)
        entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].precedes(entries[smallest]) { smallest = left }
            if right < entries.count && entries[right].precedes(entries[smallest]) { smallest = right }
            guard smallest != parent else { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
