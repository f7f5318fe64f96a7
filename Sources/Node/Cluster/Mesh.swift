// The full TCP mesh between hosts on the internal port.
//
// Each host dials every other host once and sends only on the connection it dialed; it receives
// on the connections the others dialed. Two one-way connections per pair means no tie-break over
// who dials whom and no duplicate-connection races at start-up, and each direction is FIFO, which
// the replication streams rely on (a partition leader's records reach a replica in the order it
// sent them).
//
// The first frame on a dialed connection is `hello(host id, incarnation)`; everything after it is
// from that host. Every frame received counts as a sign of life (`lastHeardMillis`); the timer
// thread sends a heartbeat on every outbound connection each `heartbeatIntervalMillis` and
// re-dials peers whose connection is down. A connection that closes is reported to the owner
// (`onPeerDisconnected`), which is how a killed host is noticed before its heartbeat times out.
//
// A message sent while the connection to its peer is being (re)established waits in a per-peer
// queue (up to `queuedBytesMax`) and goes out, in order, right after the hello; past that bound,
// or once the peer is forgotten (declared failed), messages are dropped and `send` returns false.
// Callers that need delivery (replication) treat a peer they cannot reach as failing, and the
// failure detector settles it.

import Foundation
import Glibc
import Synchronization
import VoltModel
import VoltWire

final class Mesh: Sendable {
    struct Peer: Sendable {
        var host: String
        var port: Int
    }

    struct Callbacks: Sendable {
        /// A frame from `peer` (after its hello). Runs on a loop thread.
        var onMessage: @Sendable (HostID, PeerMessage) -> Void
        /// `peer`'s inbound connection opened with a hello of this incarnation.
        var onPeerConnected: @Sendable (HostID, UInt64) -> Void
        /// An inbound or outbound connection of `peer` closed.
        var onPeerDisconnected: @Sendable (HostID) -> Void
        /// Called by the timer thread every tick, after heartbeats.
        var onTick: @Sendable () -> Void
    }

    private struct State {
        var peers: [HostID: Peer] = [:]
        var outbound: [HostID: Connection] = [:]
        var dialing: Set<HostID> = []
        var lastHeard: [HostID: Int64] = [:]
        var inboundOpen: [HostID: Int] = [:]
        var queued: [HostID: (frames: [[UInt8]], bytes: Int)] = [:]
        /// The incarnation each peer's inbound connection said hello with.
        var incarnations: [HostID: UInt64] = [:]
        var forgotten: Set<HostID> = []
        var closed = false
    }

    let me: HostID
    let incarnation: UInt64
    /// This host's internal endpoint, "ip:port", announced in every hello.
    let endpoint: String
    let group: EventLoopGroup
    let heartbeatIntervalMillis: Int
    private let callbacks: Mutex<Callbacks?> = Mutex(nil)
    private let state = Mutex(State())
    private let heartbeatEpoch = Atomic<UInt64>(0)
    private let log: @Sendable (String) -> Void
    private let timerStopped = OneShot<Bool>()

    init(me: HostID, incarnation: UInt64, endpoint: String, group: EventLoopGroup, heartbeatIntervalMillis: Int,
         log: @escaping @Sendable (String) -> Void) {
        self.me = me
        self.incarnation = incarnation
        self.endpoint = endpoint
        self.group = group
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.log = log
    }

    /// Starts heartbeats and dialing. `peers` excludes this host.
    func start(peers: [HostID: Peer], callbacks: Callbacks) {
        self.callbacks.withLock { $0 = callbacks }
        let now = Host.monotonicMillis()
        state.withLock { s in
            s.peers = peers
            // A peer counts as heard at start, so that the failure detector gives it a full timeout.
            for id in peers.keys { s.lastHeard[id] = now }
        }
        let thread = Thread { [self] in timerLoop() }
        thread.name = "mesh-timer"
        thread.start()
    }

    func setHeartbeatEpoch(_ epoch: UInt64) { heartbeatEpoch.store(epoch, ordering: .relaxed) }

    /// Sends `message` to `peer` on this host's connection to it. False when that connection is down.
    @discardableResult
    func send(_ message: PeerMessage, to peer: HostID) -> Bool {
        send(frame: message.encodeFrame(), to: peer)
    }

    @discardableResult
    func send(frame: [UInt8], to peer: HostID) -> Bool {
        let connection = state.withLock { s -> Connection? in
            if let c = s.outbound[peer] { return c }
            guard s.peers[peer] != nil, !s.forgotten.contains(peer), !s.closed else { return nil }
            var q = s.queued[peer] ?? ([], 0)
            guard q.bytes + frame.count <= Mesh.queuedBytesMax else { return nil }
            q.frames.append(frame)
            q.bytes += frame.count
            s.queued[peer] = q
            return nil
        }
        guard let connection else { return state.withLock { $0.queued[peer]?.frames.isEmpty == false } }
        return connection.write(frame: frame)
    }

    /// Frames held for a peer whose connection is not up yet, at most.
    static let queuedBytesMax = 64 << 20

    /// Whether this host's connection to every peer in `peers` is up.
    func isConnected(to peers: [HostID]) -> Bool {
        state.withLock { s in peers.allSatisfy { s.outbound[$0] != nil } }
    }

    func outboundConnection(_ peer: HostID) -> Connection? { state.withLock { $0.outbound[peer] } }

    /// The incarnation `peer` said hello with, if it has.
    func incarnation(of peer: HostID) -> UInt64? { state.withLock { $0.incarnations[peer] } }

    /// Milliseconds (monotonic) since `peer` was last heard from; nil for an unknown peer.
    func silenceMillis(_ peer: HostID, now: Int64) -> Int64? {
        state.withLock { s in s.lastHeard[peer].map { now - $0 } }
    }

    /// Whether both directions to `peer` are connected.
    func isConnected(_ peer: HostID) -> Bool {
        state.withLock { s in s.outbound[peer] != nil && (s.inboundOpen[peer] ?? 0) > 0 }
    }

    func close() {
        let connections = state.withLock { s -> [Connection] in
            s.closed = true
            return Array(s.outbound.values)
        }
        for c in connections { c.close() }
        _ = timerStopped.wait(timeoutMillis: 2_000)
    }

    /// Stops talking to `peer` until it reconnects with a new incarnation (a host declared failed).
    func forget(_ peer: HostID) {
        let c = state.withLock { s -> Connection? in
            s.queued[peer] = nil
            s.forgotten.insert(peer)
            return s.outbound.removeValue(forKey: peer)
        }
        c?.close()
    }

    /// `peer` moved to a new endpoint: dial it there from now on.
    func updatePeer(_ peer: HostID, _ endpoint: Peer) {
        let old = state.withLock { s -> Connection? in
            guard let current = s.peers[peer], current.host != endpoint.host || current.port != endpoint.port else { return nil }
            s.peers[peer] = endpoint
            return s.outbound.removeValue(forKey: peer)
        }
        old?.close()
    }

    /// A host that joined the cluster: dial it at `endpoint` from now on (an existing peer keeps
    /// its endpoint; `updatePeer` moves one).
    func addPeer(_ peer: HostID, _ endpoint: Peer) {
        state.withLock { s in
            if s.peers[peer] == nil { s.peers[peer] = endpoint }
            if s.lastHeard[peer] == nil { s.lastHeard[peer] = Host.monotonicMillis() }   // a full timeout from now
            s.forgotten.remove(peer)
        }
    }

    /// Talks to `peer` again (it is rejoining).
    func remember(_ peer: HostID) {
        state.withLock { _ = $0.forgotten.remove(peer) }
    }

    // MARK: Inbound

    /// An inbound mesh connection said hello.
    func inboundOpened(_ peer: HostID, incarnation: UInt64, endpoint: String) {
        if let moved = ClusterNode.endpoint(endpoint) { updatePeer(peer, moved) }
        state.withLock { s in
            s.inboundOpen[peer, default: 0] += 1
            s.lastHeard[peer] = Host.monotonicMillis()
            s.incarnations[peer] = incarnation
            // A peer that comes back (a new process) is talked to again.
            s.forgotten.remove(peer)
        }
        callbacks.withLock { $0 }?.onPeerConnected(peer, incarnation)
    }

    func inboundFrame(_ peer: HostID, _ message: PeerMessage) {
        state.withLock { $0.lastHeard[peer] = Host.monotonicMillis() }
        callbacks.withLock { $0 }?.onMessage(peer, message)
    }

    func inboundClosed(_ peer: HostID) {
        state.withLock { s in s.inboundOpen[peer, default: 1] -= 1 }
        callbacks.withLock { $0 }?.onPeerDisconnected(peer)
    }

    // MARK: Timer

    private func timerLoop() {
        while true {
            let (closed, toDial, outbound) = state.withLock { s -> (Bool, [(HostID, Peer)], [Connection]) in
                let down = s.peers.keys.sorted().filter { s.outbound[$0] == nil && !s.dialing.contains($0) }
                for id in down { s.dialing.insert(id) }
                return (s.closed, down.map { ($0, s.peers[$0]!) }, Array(s.outbound.values))
            }
            if closed { break }
            let beat = PeerMessage.heartbeat(epoch: heartbeatEpoch.load(ordering: .relaxed)).encodeFrame()
            for c in outbound { c.write(frame: beat) }
            for (id, peer) in toDial { dial(id, peer) }
            callbacks.withLock { $0 }?.onTick()
            usleep(UInt32(heartbeatIntervalMillis * 1000))
        }
        timerStopped.set(true)
    }

    /// Dials `peer` on a thread of its own (a connect can take up to its timeout).
    private func dial(_ id: HostID, _ peer: Peer) {
        let thread = Thread { [self] in
            var configuration = NetConfiguration(log: { [log] in log("mesh (to host \(id.rawValue)): \($0)") })
            configuration.maxFrameBytes = 256 << 20
            let connection = try? TCPConnector.connect(
                host: peer.host, port: peer.port, group: group, configuration: configuration, timeoutMillis: 1_000,
                makeHandler: { [self] _ in OutboundHandler(mesh: self, peer: id) })
            var keep = false
            if let connection {
                connection.write(frame: PeerMessage.hello(me, incarnation: incarnation, endpoint: endpoint).encodeFrame())
                keep = state.withLock { s -> Bool in
                    guard !s.closed, s.outbound[id] == nil else { return false }
                    s.outbound[id] = connection
                    // Under the lock, so nothing sent meanwhile overtakes the queued frames.
                    if let q = s.queued.removeValue(forKey: id) { connection.write(frames: q.frames) }
                    return true
                }
                if !keep { connection.close() }
            }
            state.withLock { _ = $0.dialing.remove(id) }
            if connection == nil { usleep(200_000) }
        }
        thread.name = "mesh-dial-\(id.rawValue)"
        thread.start()
    }

    fileprivate func outboundClosed(_ peer: HostID, _ connection: Connection) {
        let removed = state.withLock { s -> Bool in
            guard s.outbound[peer] === connection else { return false }
            s.outbound[peer] = nil
            return true
        }
        if removed { callbacks.withLock { $0 }?.onPeerDisconnected(peer) }
    }
}

/// Our side of a connection we dialed: we only send on it; the peer sends nothing back.
private final class OutboundHandler: ConnectionHandler {
    let mesh: Mesh
    let peer: HostID
    init(mesh: Mesh, peer: HostID) {
        self.mesh = mesh
        self.peer = peer
    }
    func onFrame(_ connection: Connection, _ body: ArraySlice<UInt8>) {}
    func onClose(_ connection: Connection, reason: CloseReason) { mesh.outboundClosed(peer, connection) }
}

/// A connection accepted on the internal port: a host asking to form the cluster (its first
/// frame is `formationRequest`, handed to `onFormationRequest` with the connection for the
/// answer) or for a place in it (`addRequest`, to `onAddRequest`), or a peer's mesh connection
/// (first frame `hello`).
final class InternalPortHandler: ConnectionHandler {
    private let mesh: @Sendable () -> Mesh?
    private let onFormationRequest: @Sendable (Connection, HostRequest) -> Void
    private let onAddRequest: @Sendable (Connection, HostRequest, [HostID]) -> Void
    private let log: @Sendable (String) -> Void
    private var peer: HostID?
    /// Frames of a peer that dialed before this host's mesh existed (it was still forming or
    /// loading its schema). They are delivered, in order, with the first frame that arrives once
    /// the mesh exists; the peer's heartbeats guarantee one comes within its heartbeat interval.
    /// Closing the connection instead would lose whatever the peer had already sent on it.
    private var early: [PeerMessage] = []
    private var helloIncarnation: UInt64 = 0
    private var helloEndpoint = ""
    private var opened = false

    init(mesh: @escaping @Sendable () -> Mesh?, onFormationRequest: @escaping @Sendable (Connection, HostRequest) -> Void,
         onAddRequest: @escaping @Sendable (Connection, HostRequest, [HostID]) -> Void, log: @escaping @Sendable (String) -> Void) {
        self.mesh = mesh
        self.onFormationRequest = onFormationRequest
        self.onAddRequest = onAddRequest
        self.log = log
    }

    func onFrame(_ connection: Connection, _ body: ArraySlice<UInt8>) {
        let message: PeerMessage
        do {
            message = try PeerMessage.decode(body)
        } catch {
            log("Closing internal connection from \(connection.remoteAddress): bad frame (\(error))")
            connection.close()
            return
        }
        if let peer {
            guard let mesh = mesh() else {
                if early.count < 100_000 { early.append(message) } else { connection.close() }
                return
            }
            if !opened {
                opened = true
                mesh.inboundOpened(peer, incarnation: helloIncarnation, endpoint: helloEndpoint)
            }
            for m in early { mesh.inboundFrame(peer, m) }
            early.removeAll()
            mesh.inboundFrame(peer, message)
            return
        }
        switch message {
        case .formationRequest(let request):
            onFormationRequest(connection, request)
        case .addRequest(let request, let unreachable):
            onAddRequest(connection, request, unreachable)
        case .hello(let id, let incarnation, let endpoint):
            peer = id
            helloIncarnation = incarnation
            helloEndpoint = endpoint
            if let mesh = mesh() {
                opened = true
                mesh.inboundOpened(id, incarnation: incarnation, endpoint: endpoint)
            }
        default:
            log("Closing internal connection from \(connection.remoteAddress): it spoke before saying hello")
            connection.close()
        }
    }

    func onClose(_ connection: Connection, reason: CloseReason) {
        if let peer, opened { mesh()?.inboundClosed(peer) }
    }
}

extension Mesh {
    /// Bytes queued and not yet sent on this host's connection to `peer` (pacing of bulk streams).
    func pendingBytes(to peer: HostID) -> Int {
        outboundConnection(peer)?.pendingOutputBytes ?? 0
    }
}
