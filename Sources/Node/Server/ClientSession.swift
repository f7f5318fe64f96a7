// One client connection's protocol: login first, then invocations (docs/PROTOCOL.md
// §2–§4).
//
// States: awaiting login → serving (→ closed). The first frame must be a login request: version 0
// (SHA-1) or 1 (scheme byte: SHA-1 or SHA-256), service "database". With security disabled any
// user and password are accepted (VoltDB's behaviour); with it enabled the user must exist in the
// deployment and the digest must equal the digest of the configured password (plaintext) or the
// configured hex digest (hashed). A refusal is the two-byte failure response, then the connection
// closes once it is sent.
//
// Serving: each frame is decoded with `Invocation.decodeForReply`. A frame whose header (and so
// handle) is readable but whose parameters are not is answered UNEXPECTED_FAILURE for that handle;
// a frame without a readable header closes the connection (logged with the peer address). Each call
// is dispatched by the host and answered from whatever thread completes it, through
// `Connection.write(frame:)`, with the handle echoed; answers may leave out of order.
//
// Bounded memory: `maxInFlightPerConnection` calls may be in flight; reaching it pauses reading
// (the kernel's buffers then push back on the client) and falling to half of it resumes. The pause
// flag is an atomic flipped by compare-and-exchange, so a pause and a resume are each issued once.
// A peer that half-closes is closed once its calls in flight have been answered.
//
// Fairness: of a connection's calls in flight, at most `engineWindow` are at the engine (queued at
// or running on a site) at once; the rest wait here, in arrival order, and each answer lets the
// next one through. One client that pipelines thousands of expensive calls therefore cannot bury
// other clients' calls behind its own in the sites' queues. While the connection has more than
// 4 MiB of unsent answers (a client that does not read), nothing more is let through until it
// drains, so answers cannot pile up without bound either.

import Synchronization
import VoltModel
import VoltWire

/// What the host knows about a logged-in connection; shared with completion threads.
final class SessionRecord: Sendable {
    let connection: Connection
    let admin: Bool
    let user: String
    let permissions: Permissions
    let subscribed = Atomic<Bool>(false)
    let inFlight = Atomic<Int>(0)
    let inFlightRequestBytes = Atomic<Int>(0)
    let readingPaused = Atomic<Bool>(false)
    let inputClosed = Atomic<Bool>(false)
    /// Calls decoded but not yet given to the engine, and how many are at the engine now.
    let admission = Mutex(Admission())

    struct Admission {
        var waiting: [PendingCall] = []
        var head = 0
        var atEngine = 0
        var stalledOnOutput = false
        /// Whether some thread is inside `admit` for this connection, and whether another asked
        /// for a pass meanwhile. A completion can arrive synchronously inside `admit` (a call the
        /// engine refuses at once, e.g. while shutting down); without this it would recurse once
        /// per waiting call and overflow the stack.
        var pumping = false
        var passRequested = false

        var hasWaiting: Bool { head < waiting.count }

        mutating func takeNext() -> PendingCall {
            let call = waiting[head]
            head += 1
            if head > 1024 && head * 2 > waiting.count {
                waiting.removeFirst(head)
                head = 0
            }
            return call
        }
    }

    init(connection: Connection, admin: Bool, user: String, permissions: Permissions) {
        self.connection = connection
        self.admin = admin
        self.user = user
        self.permissions = permissions
    }
}

/// The connection handler of the client and admin ports.
final class ClientSession: ConnectionHandler {
    let host: Host
    let admin: Bool
    private var record: SessionRecord?

    init(host: Host, connection: Connection, admin: Bool) {
        self.host = host
        self.admin = admin
    }

    func onFrame(_ connection: Connection, _ body: ArraySlice<UInt8>) {
        if let record {
            invocation(body, record: record)
        } else {
            login(body, connection: connection)
        }
    }

    func onInputClosed(_ connection: Connection) {
        guard let record else {
            connection.closeAfterFlush()
            return
        }
        record.inputClosed.store(true, ordering: .sequentiallyConsistent)
        if record.inFlight.load(ordering: .sequentiallyConsistent) == 0 { connection.closeAfterFlush() }
    }

    func onClose(_ connection: Connection, reason: CloseReason) {
        if reason.isProtocolViolation { host.log("Closed connection \(connection.id.rawValue) from \(connection.remoteAddress): \(reason)") }
        if record != nil { host.unregister(connection.id) }
        record = nil
    }

    // MARK: Login

    private func login(_ body: ArraySlice<UInt8>, connection: Connection) {
        let request: LoginRequest
        do {
            request = try LoginRequest.decode(body)
        } catch {
            host.log("Refused a login from \(connection.remoteAddress): \(error)")
            refuse(connection, LoginStatus(rejecting: error))
            return
        }
        guard request.service == "database" else {
            host.log("Refused a login from \(connection.remoteAddress): unsupported service \"\(request.service)\"")
            refuse(connection, .serviceUnavailable)
            return
        }
        guard host.authenticate(request) else {
            host.log("Authentication failed for user \"\(request.username)\" from \(connection.remoteAddress)")
            refuse(connection, .authenticationFailed)
            return
        }
        guard let runtime = host.runtime, host.isRunning else {
            refuse(connection, .timeout)
            return
        }
        let record = SessionRecord(connection: connection, admin: admin, user: request.username,
                                   permissions: host.permissions(of: request.username))
        self.record = record
        host.register(record)
        let success = LoginSuccess(hostID: host.hostID, connectionID: connection.id.rawValue,
                                   clusterStartMillis: runtime.startMillis,
                                   leaderAddress: Host.ipv4Integer(runtime.advertisedAddress),
                                   buildString: Host.buildString)
        connection.write(frame: success.encodeFrame())
    }

    private func refuse(_ connection: Connection, _ status: LoginStatus) {
        connection.write(frame: LoginResponse.encodeFailureFrame(status))
        connection.closeAfterFlush()
    }

    // MARK: Invocations

    private func invocation(_ body: ArraySlice<UInt8>, record: SessionRecord) {
        let connection = record.connection
        let invocation: Invocation
        do {
            invocation = try Invocation.decodeForReply(body)
        } catch {
            guard let header = error.header else {
                host.log("Closing connection \(connection.id.rawValue) from \(connection.remoteAddress): unreadable invocation: \(error.error)")
                connection.close()
                return
            }
            let response = ClientResponse(handle: header.handle, status: .unexpectedFailure,
                                          statusString: "Malformed invocation of \(header.procedure): \(error.error)")
            if let frame = try? response.encodeFrame() { connection.write(frame: frame) }
            return
        }
        let bytes = body.count
        let inFlight = record.inFlight.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
        record.inFlightRequestBytes.wrappingAdd(bytes, ordering: .relaxed)
        let cap = host.options.maxInFlightPerConnection
        if inFlight >= cap, record.readingPaused.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged {
            connection.pauseReading()
            ClientSession.resumeIfDrained(record, lowWater: cap / 2)
        }
        record.admission.withLock { $0.waiting.append(PendingCall(invocation: invocation, bytes: bytes, started: Host.monotonicNanos())) }
        ClientSession.admit(record, host: host)
    }

    /// How many of one connection's calls may be at the engine at once.
    static let engineWindow = 64

    /// Unsent answer bytes above which a connection's waiting calls are held back (the network
    /// shell's default low-water mark): a client that does not read costs this much plus one
    /// window of answers.
    static let admissionOutputLimitBytes = 4 << 20

    /// Gives waiting calls to the engine while the connection is under its window and its output
    /// is not backed up; when it is backed up, checks again shortly on the connection's loop.
    static func admit(_ record: SessionRecord, host: Host) {
        let connection = record.connection
        let mine = record.admission.withLock { a -> Bool in
            if a.pumping { a.passRequested = true; return false }
            a.pumping = true
            return true
        }
        guard mine else { return }
        while true {
            // Read the unsent bytes themselves, not the connection's read-pause flag: that flag is
            // only updated around reads, and a connection paused by the in-flight cap is not reading.
            let outputBackedUp = connection.pendingOutputBytes > admissionOutputLimitBytes
            enum Step { case dispatch(PendingCall), dispatchNothing, retryLater, done }
            let step: Step = record.admission.withLock { a in
                func finish() -> Step {
                    // Another thread asked for a pass while this one held the pump: go round again.
                    if a.passRequested { a.passRequested = false; return .dispatchNothing }
                    a.pumping = false
                    return .done
                }
                guard a.hasWaiting, a.atEngine < engineWindow else { return finish() }
                if outputBackedUp && a.atEngine > 0 { return finish() }
                if outputBackedUp {
                    if a.stalledOnOutput { return finish() }
                    a.stalledOnOutput = true
                    a.pumping = false
                    return .retryLater
                }
                a.atEngine += 1
                return .dispatch(a.takeNext())
            }
            switch step {
            case .done:
                return
            case .dispatchNothing:
                continue
            case .retryLater:
                guard connection.isOpen else { return }
                connection.eventLoop.schedule(afterMillis: 5) {
                    record.admission.withLock { $0.stalledOnOutput = false }
                    admit(record, host: host)
                }
                return
            case .dispatch(let call):
                run(call, record: record, host: host)
            }
        }
    }

    private static func run(_ call: PendingCall, record: SessionRecord, host: Host) {
        let connection = record.connection
        let invocation = call.invocation
        let bytes = call.bytes
        let handle = invocation.handle
        let started = call.started
        let cap = host.options.maxInFlightPerConnection
        host.dispatch(invocation, session: record) { result in
            let response = ClientResponse(handle: handle, status: result.status, statusString: result.statusString, tables: result.tables)
            let frame: [UInt8]
            do {
                frame = try response.encodeFrame()
            } catch {
                let failure = ClientResponse(handle: handle, status: .unexpectedFailure,
                                             statusString: "The result of \(invocation.procedure) could not be encoded: \(error)")
                frame = (try? failure.encodeFrame()) ?? []
            }
            if !frame.isEmpty { connection.write(frame: frame) }
            host.stats.recordLatency(nanos: Int(Host.monotonicNanos() - started))
            record.inFlightRequestBytes.wrappingSubtract(bytes, ordering: .relaxed)
            let left = record.inFlight.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue
            if left <= cap / 2 && record.readingPaused.load(ordering: .sequentiallyConsistent) {
                ClientSession.resumeIfDrained(record, lowWater: cap / 2)
            }
            if left == 0 && record.inputClosed.load(ordering: .sequentiallyConsistent) { connection.closeAfterFlush() }
            record.admission.withLock { $0.atEngine -= 1 }
            admit(record, host: host)
        }
    }

    private static func resumeIfDrained(_ record: SessionRecord, lowWater: Int) {
        guard record.inFlight.load(ordering: .sequentiallyConsistent) <= lowWater else { return }
        if record.readingPaused.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged {
            record.connection.resumeReading()
        }
    }
}

extension Host {
    /// Whether a login may proceed: anyone when security is off; otherwise a configured user whose
    /// password digest matches.
    func authenticate(_ request: LoginRequest) -> Bool {
        let deployment = root.deployment
        guard deployment.security.enabled else { return true }
        guard let user = deployment.users.first(where: { $0.name == request.username }) else { return false }
        if user.plaintext { return request.matches(password: user.password) }
        let hex = request.passwordDigest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        return hex == user.password.lowercased()
    }
}

/// A decoded call waiting for its connection's turn at the engine.
struct PendingCall: Sendable {
    let invocation: Invocation
    let bytes: Int
    let started: Int64
}
