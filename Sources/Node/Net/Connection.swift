// One accepted TCP connection, owned by one event loop.
//
// Input. When epoll reports the socket readable, the loop reads into its shared 64 KiB buffer (at
// most 4 reads per wake-up, so one busy client cannot starve the others; level-triggered epoll
// reports the rest next time) and appends to the connection's `FrameDecoder`. Every complete frame
// is handed to the handler's `onFrame` at once, in order, on the loop thread. A length prefix above
// `maxFrameBytes` or below zero closes the connection with that reason (logged); the decoder never
// allocates from a prefix, so a forged 2 GB length costs nothing; answers already queued for the
// valid frames before the bad one are sent first if the socket takes them at once. Frames already
// in the decoder are delivered only while reading is allowed, so a paused connection gets no new
// requests at all.
//
// Output. `write(frame:)` may be called from any thread (sites answer on their own threads). It
// appends the frame to a Mutex-protected queue and, if no flush is pending, asks the loop for one:
// directly when called on the loop thread (the loop flushes after the current step, so all
// responses produced by one read leave together) or through `execute`. The loop swaps the queue
// into its own and writes it with `sendmsg` (a `writev` with MSG_NOSIGNAL, so a closed peer is an
// EPIPE rather than a SIGPIPE) of up to 1024 frames per call. A partial write keeps its position;
// EAGAIN (or 16 writes in a row) registers EPOLLOUT and the writable event resumes the flush. While
// EPOLLOUT is armed the flush stays marked pending, so writers do not wake the loop for nothing.
//
// Back-pressure. `pendingOutputBytes` counts bytes accepted by `write` and not yet taken by the
// kernel. Above `outputHighWaterBytes` the connection stops reading (EPOLLIN removed) and stops
// delivering buffered frames, checked before every read and after every frame; it resumes when a
// flush brings the count to `outputLowWaterBytes`. So a client that never reads its responses holds
// at most the high-water mark plus the responses to one frame (when answered on the loop), while
// the loop keeps serving everyone else. The server's own cap on calls in flight uses
// `pauseReading()` / `resumeReading()`, independent of the output pause: reading needs both clear.
//
// Close. A connection closes once, on its loop thread: it deregisters, closes its fd (the only
// place that closes it), drops unsent output, refuses later writes (counted in
// `droppedFrameCount`), and calls `onClose` exactly once. `close()` and `closeAfterFlush()` may be
// called from any thread. End-of-file from the peer (a half-close) stops reading and calls
// `onInputClosed`; the default closes after the queued output is sent, and a server with calls in
// flight can instead close when they are answered. A hang-up while not reading closes at once.
import Glibc
import Synchronization
import VoltWire

/// A non-blocking TCP connection on one event loop. See the file header for its rules.
public final class Connection: @unchecked Sendable {
    // SAFETY: `shared` (a Mutex) and the atomics are the only state other threads touch; `id`,
    // `remoteAddress`, `eventLoop`, `configuration` and `onFinalClose` are immutable. Every other
    // stored property is owned by `eventLoop`'s thread: it is touched by `start`, `handleEvents`,
    // the flush, and the closures that `close`, `pauseReading` and friends run through `onLoop`.
    // The one exception is `abandon()`, called by the listener when the loop refused the
    // connection, so the loop never saw it.

    /// Unique in its group, increasing in accept order.
    public let id: ConnectionID
    /// The peer, e.g. "127.0.0.1:50123" or "[::1]:50123".
    public let remoteAddress: String
    /// The loop that owns the socket and calls the handler.
    public let eventLoop: EventLoop
    let configuration: NetConfiguration
    private let onFinalClose: @Sendable () -> Void

    private struct Shared {
        var queue: [[UInt8]] = []
        var isClosed = false
        /// A flush is requested or EPOLLOUT is armed: writers need not wake the loop.
        var flushScheduled = false
        var peakPendingBytes = 0
        var droppedFrames = 0
    }
    private let shared = Mutex(Shared())
    private let pendingBytes = Atomic<Int>(0)
    private let pausedForOutputFlag = Atomic<Bool>(false)

    // Loop thread only.
    private enum State { case accepted, open, closed }
    private var state = State.accepted
    private var fd: Int32
    private var token: UInt64 = 0
    private var handler: (any ConnectionHandler)?
    private var decoder: FrameDecoder
    private var interest: UInt32 = 0
    private var pausedByServer = false
    private var pausedForOutput = false
    private var inputClosed = false
    private var closeRequested = false
    private var isDelivering = false
    private var writableArmed = false
    private var outgoing = OutputQueue()

    /// Flushes in a row before yielding to other connections (the writable event resumes).
    private static let writesPerFlushMax = 16
    /// Reads per readable event before yielding to other connections.
    private static let readsPerEventMax = 4

    init(fd: Int32, id: ConnectionID, remoteAddress: String, eventLoop: EventLoop,
         configuration: NetConfiguration, onFinalClose: @escaping @Sendable () -> Void) {
        self.fd = fd
        self.id = id
        self.remoteAddress = remoteAddress
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.onFinalClose = onFinalClose
        self.decoder = FrameDecoder(maxFrameBytes: configuration.maxFrameBytes)
    }

    // MARK: Public API (any thread)

    /// Queues one complete frame (length prefix included, as `encodeFrame` makes it) for sending.
    /// Returns false, and drops it, if the connection is closed.
    @discardableResult
    public func write(frame: [UInt8]) -> Bool {
        Connection.checkFrame(frame)
        return enqueue(bytes: frame.count, frameCount: 1) { $0.append(frame) }
    }

    /// Queues several complete frames, in order, as one batch (one lock, at most one wake-up).
    @discardableResult
    public func write(frames: [[UInt8]]) -> Bool {
        var bytes = 0
        for frame in frames {
            Connection.checkFrame(frame)
            bytes += frame.count
        }
        return enqueue(bytes: bytes, frameCount: frames.count) { $0.append(contentsOf: frames) }
    }

    /// Closes now: unsent output is dropped; later writes are refused from the moment this returns.
    public func close() {
        shared.withLock { $0.isClosed = true }
        onLoop { $0.closeNow(.closedLocally) }
    }

    /// Stops reading, sends what is queued, then closes. Writes keep being accepted until the queue
    /// is found empty (so answers to calls still in flight go out if they arrive before that). It
    /// waits as long as the peer takes to read; bound it with `eventLoop.schedule` and `close()`.
    public func closeAfterFlush() {
        onLoop { c in
            guard c.state == .open else { return }
            c.closeRequested = true
            c.updateInterest()
            c.flushFromLoop()
        }
    }

    /// Stops reading and delivering frames (for a cap on calls in flight). Calls from other threads
    /// take effect on the loop, in the order they were made.
    public func pauseReading() {
        onLoop { c in
            c.pausedByServer = true
            c.updateInterest()
        }
    }

    /// Undoes `pauseReading()`: delivers frames already received, then reads again (unless the
    /// output back-pressure still holds reading).
    public func resumeReading() {
        onLoop { c in
            guard c.pausedByServer else { return }
            c.pausedByServer = false
            c.deliverFrames()
            c.updateInterest()
        }
    }

    /// False once the connection is closed or `close()` was called.
    public var isOpen: Bool { !shared.withLock { $0.isClosed } }
    /// Bytes accepted by `write` and not yet taken by the kernel.
    public var pendingOutputBytes: Int { pendingBytes.load(ordering: .relaxed) }
    /// The largest `pendingOutputBytes` seen after a write.
    public var peakPendingOutputBytes: Int { shared.withLock { $0.peakPendingBytes } }
    /// Frames refused because the connection was closed, plus frames dropped unsent by the close.
    public var droppedFrameCount: Int { shared.withLock { $0.droppedFrames } }
    /// Whether reading is stopped because the output exceeded the high-water mark.
    public var isReadingPausedForOutput: Bool { pausedForOutputFlag.load(ordering: .relaxed) }

    // MARK: Loop plumbing

    private func onLoop(_ body: @escaping @Sendable (Connection) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            // Refused only by a stopped loop, which closed this connection already.
            eventLoop.execute { body(self) }
        }
    }

    private static func checkFrame(_ frame: [UInt8]) {
        precondition(frame.count >= 4, "a frame needs a 4-byte length prefix, got \(frame.count) bytes")
        let declared = Int(frame[0]) << 24 | Int(frame[1]) << 16 | Int(frame[2]) << 8 | Int(frame[3])
        precondition(declared == frame.count - 4,
                     "frame prefix says \(declared) body bytes but \(frame.count - 4) follow: pass encodeFrame(body)")
    }

    /// Registers the socket and creates the handler. Runs on the loop (the listener's hand-over).
    func start(_ makeHandler: @Sendable (Connection) -> any ConnectionHandler) {
        eventLoop.assertInEventLoop("Connection.start")
        guard state == .accepted else { return }
        guard let token = eventLoop.register(self, fd: fd, events: LinuxCalls.readable) else {
            abandon()
            return
        }
        self.token = token
        interest = LinuxCalls.readable
        state = .open
        let handler = makeHandler(self)
        self.handler = handler
        handler.onOpen(self)
    }

    /// Closes a connection that was never registered (its loop refused it). No handler exists.
    func abandon() {
        guard state == .accepted else { return }
        state = .closed
        shared.withLock { $0.isClosed = true }
        Glibc.close(fd)
        fd = -1
        onFinalClose()
    }

    private var readingWanted: Bool {
        state == .open && !inputClosed && !pausedByServer && !pausedForOutput && !closeRequested
    }

    private var deliveryAllowed: Bool {
        state == .open && !pausedByServer && !pausedForOutput && !closeRequested
    }

    /// Makes the epoll interest set match the state.
    private func updateInterest() {
        guard state == .open else { return }
        var wanted: UInt32 = 0
        if readingWanted { wanted |= LinuxCalls.readable }
        if writableArmed { wanted |= LinuxCalls.writable }
        guard wanted != interest else { return }
        if eventLoop.reregister(fd: fd, token: token, events: wanted) {
            interest = wanted
        } else {
            closeNow(.ioError(operation: "epoll_ctl", errno: errno))
        }
    }

    private func setPausedForOutput(_ paused: Bool) {
        pausedForOutput = paused
        pausedForOutputFlag.store(paused, ordering: .relaxed)
    }

    // MARK: Input (loop thread)

    private func readFromSocket() {
        let buffer = eventLoop.readBuffer
        for _ in 0..<Connection.readsPerEventMax {
            guard readingWanted else { break }
            if pendingBytes.load(ordering: .relaxed) > configuration.outputHighWaterBytes {
                setPausedForOutput(true)
                break
            }
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 {
                decoder.append(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n))
                deliverFrames()
                if n < buffer.count { break }  // drained: the next read would say EAGAIN
            } else if n == 0 {
                inputClosed = true
                updateInterest()
                handler?.onInputClosed(self)
                return
            } else {
                let e = errno
                if e == EINTR { continue }
                if e == EAGAIN || e == EWOULDBLOCK { break }
                closeNow(.ioError(operation: "read", errno: e))
                return
            }
        }
        updateInterest()
    }

    /// Hands complete frames to the handler while delivery is allowed. Not re-entrant: a handler
    /// that resumes reading inside `onFrame` just lets this loop go on.
    private func deliverFrames() {
        guard !isDelivering, let handler else { return }
        isDelivering = true
        defer { isDelivering = false }
        while deliveryAllowed {
            do {
                let delivered: Bool? = try decoder.withNextFrame { body in
                    handler.onFrame(self, body)
                    return true
                }
                guard delivered != nil else { break }
            } catch {
                // Answers to the valid frames before the bad one still go out if the kernel takes them now.
                flushWithoutWaiting()
                closeNow(Connection.closeReason(for: error))
                break
            }
            if pendingBytes.load(ordering: .relaxed) > configuration.outputHighWaterBytes {
                setPausedForOutput(true)
            }
        }
        if state == .closed { decoder = FrameDecoder(maxFrameBytes: 0) }
    }

    private static func closeReason(for error: WireError) -> CloseReason {
        switch error.kind {
        case let .frameTooLarge(length, maxBytes): return .frameTooLarge(lengthBytes: length, maxBytes: maxBytes)
        case .negativeFrameLength(let n): return .negativeFrameLength(n)
        default: preconditionFailure("FrameDecoder threw \(error), which is not a framing error")
        }
    }

    // MARK: Output (loop thread except `enqueue`)

    private func enqueue(bytes: Int, frameCount: Int, _ append: (inout [[UInt8]]) -> Void) -> Bool {
        guard frameCount > 0 else { return isOpen }
        let (accepted, requestFlush) = shared.withLock { s -> (Bool, Bool) in
            if s.isClosed {
                s.droppedFrames += frameCount
                return (false, false)
            }
            append(&s.queue)
            let pending = pendingBytes.wrappingAdd(bytes, ordering: .relaxed).newValue
            s.peakPendingBytes = max(s.peakPendingBytes, pending)
            if s.flushScheduled { return (true, false) }
            s.flushScheduled = true
            return (true, true)
        }
        if requestFlush {
            if eventLoop.inEventLoop {
                eventLoop.scheduleFlush(self)
            } else {
                eventLoop.execute { self.flushFromLoop() }
            }
        }
        return accepted
    }

    /// Writes queued output until done, EAGAIN, or the per-flush limit.
    func flushFromLoop() {
        guard state == .open else { return }
        shared.withLock { s in
            s.flushScheduled = false
            outgoing.takeAll(from: &s.queue)
        }
        var writes = 0
        var mustWaitForWritable = false
        while !outgoing.isEmpty {
            let (count, bytes) = outgoing.fill(eventLoop.iovecs, capacity: EventLoop.iovecCapacity, byteLimit: 1 << 30)
            var message = msghdr()
            message.msg_iov = eventLoop.iovecs
            message.msg_iovlen = count
            let n = sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            if n >= 0 {
                outgoing.advance(by: n)
                pendingBytes.wrappingSubtract(n, ordering: .relaxed)
                writes += 1
                // A short write means the socket buffer is full: the next call would say EAGAIN.
                if n < bytes || writes >= Connection.writesPerFlushMax {
                    mustWaitForWritable = !outgoing.isEmpty
                    break
                }
            } else {
                let e = errno
                if e == EINTR { continue }
                if e == EAGAIN || e == EWOULDBLOCK {
                    mustWaitForWritable = true
                    break
                }
                closeNow(inputClosed && (e == EPIPE || e == ECONNRESET)
                         ? .peerClosed : .ioError(operation: "writev", errno: e))
                return
            }
        }
        if mustWaitForWritable {
            shared.withLock { $0.flushScheduled = true }
        } else if closeRequested && finishCloseIfDrained() {
            return
        }
        writableArmed = mustWaitForWritable
        updateBackPressure()
        updateInterest()
    }

    /// Sends what the socket takes now, without waiting or changing any state but the output.
    private func flushWithoutWaiting() {
        shared.withLock { s in outgoing.takeAll(from: &s.queue) }
        while !outgoing.isEmpty {
            let (count, bytes) = outgoing.fill(eventLoop.iovecs, capacity: EventLoop.iovecCapacity, byteLimit: 1 << 30)
            var message = msghdr()
            message.msg_iov = eventLoop.iovecs
            message.msg_iovlen = count
            let n = sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            outgoing.advance(by: n)
            pendingBytes.wrappingSubtract(n, ordering: .relaxed)
            if n < bytes { return }
        }
    }

    /// After `closeAfterFlush`, closes if nothing is left to send; refuses writes from then on.
    private func finishCloseIfDrained() -> Bool {
        let drained = shared.withLock { s -> Bool in
            guard s.queue.isEmpty else { return false }
            s.isClosed = true
            return true
        }
        guard drained else { return false }  // a writer queued more and requested another flush
        closeNow(inputClosed ? .peerClosed : .closedLocally)
        return true
    }

    private func updateBackPressure() {
        let pending = pendingBytes.load(ordering: .relaxed)
        if pausedForOutput {
            if pending <= configuration.outputLowWaterBytes {
                setPausedForOutput(false)
                deliverFrames()
            }
        } else if pending > configuration.outputHighWaterBytes {
            setPausedForOutput(true)
        }
    }

    // MARK: Close (loop thread)

    func closeNow(_ reason: CloseReason) {
        eventLoop.assertInEventLoop("Connection.closeNow")
        guard state == .open else {
            if state == .accepted { abandon() }
            return
        }
        state = .closed
        let droppedLocally = outgoing.removeAll()
        shared.withLock { s in
            s.isClosed = true
            s.droppedFrames += s.queue.count + droppedLocally
            s.queue = []
        }
        pendingBytes.store(0, ordering: .relaxed)
        setPausedForOutput(false)
        eventLoop.deregister(fd: fd, token: token)
        Glibc.close(fd)
        fd = -1
        if !isDelivering { decoder = FrameDecoder(maxFrameBytes: 0) }
        if reason.isProtocolViolation {
            configuration.log("\(id) from \(remoteAddress) closed: \(reason)")
        }
        onFinalClose()
        let handler = self.handler
        self.handler = nil
        handler?.onClose(self, reason: reason)
    }
}

extension Connection: Selectable {
    func handleEvents(_ events: UInt32) {
        guard state == .open else { return }
        if events & LinuxCalls.error != 0 {
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            closeNow(code == ECONNRESET && inputClosed ? .peerClosed : .ioError(operation: "socket", errno: code))
            return
        }
        if events & LinuxCalls.writable != 0 {
            flushFromLoop()
            guard state == .open else { return }
        }
        if events & LinuxCalls.readable != 0 && readingWanted {
            readFromSocket()
        } else if events & LinuxCalls.hangUp != 0 {
            // Hung up both ways while we are not reading: nobody is left to read an answer.
            closeNow(.peerClosed)
        }
    }

    func closeForShutdown() {
        closeNow(.eventLoopShutdown)
    }
}
