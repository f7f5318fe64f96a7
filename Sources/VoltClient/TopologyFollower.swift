// Follows a cluster's topology while a long client run goes on (the wire benchmark): one thread
// with a connection of its own that calls `@Subscribe TOPOLOGY` (docs/PROTOCOL.md §5.2) and, on
// every topology push (§6), re-reads OVERVIEW and TOPO (KVTopology.read) and hands the result to
// `apply` when it differs from the last one. The push's own tables are not used: a push carries no
// addresses, and the read gets the latest state even when several pushes were sent (the server
// coalesces them, §6.2).
//
// The subscription lives on one connection. When that connection fails (its host was killed), or
// its host does not answer a read or a `@Ping` (sent after `pingMillis` of silence) within
// `timeoutMillis` (a stopped host closes nothing), any push sent meanwhile is lost with it: the
// follower subscribes again on the first host that accepts, trying the hosts of the last topology
// (ascending ids) and then the seeds, and reads the topology at once. Until a subscription
// succeeds it tries again every `resubscribePauseMillis`. The same read follows the very first
// subscription, so a change made between the caller's own read and the subscription is not missed.
//
// `apply` and `tick` (called every `tickMillis`, for work such as dialing hosts that could not be
// reached) run on the follower's thread, never concurrently with each other. `stop` returns once
// the thread has finished: after it, neither is called again.

import Foundation
import Synchronization
import VoltModel
import VoltWire

/// Subscribes to topology pushes and reports each changed topology; see the file header.
public final class TopologyFollower: Sendable {
    public struct Settings: Sendable {
        public var seeds: [ServerAddress]
        public var username = ""
        public var password = ""
        /// Bound on connecting and on each call.
        public var timeoutMillis = 2_000
        /// How long one wait for a push lasts; also how soon `stop` is noticed.
        public var pollMillis = 100
        public var tickMillis = 250
        /// After this long without a word from the subscribed host, it must answer `@Ping` within
        /// `timeoutMillis` or the subscription is made again elsewhere.
        public var pingMillis = 2_000
        public var resubscribePauseMillis = 250

        public init(seeds: [ServerAddress]) { self.seeds = seeds }
    }

    public typealias Apply = @Sendable (KVTopology) -> Void

    private let settings: Settings
    private let apply: Apply
    private let tick: @Sendable () -> Void
    private let progress: @Sendable (String) -> Void
    private let current: Mutex<KVTopology>
    private let updates = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    /// `initial` is the topology the caller already acts on; only changes from it are applied.
    public init(_ settings: Settings, initial: KVTopology, apply: @escaping Apply, tick: @escaping @Sendable () -> Void = {},
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.settings = settings
        self.apply = apply
        self.tick = tick
        self.progress = progress
        current = Mutex(initial)
    }

    /// Topology changes handed to `apply` so far.
    public var updatesApplied: Int { updates.load(ordering: .acquiring) }

    /// The last topology read (the initial one until a change).
    public var latest: KVTopology { current.withLock { $0 } }

    public func start() {
        precondition(!started.exchange(true, ordering: .acquiringAndReleasing), "a follower starts once")
        let thread = Thread { [self] in
            follow()
            finished.signal()
        }
        thread.name = "topology-follower"
        thread.start()
    }

    /// Stops following and waits for the thread (at most one call or connection attempt).
    public func stop() {
        stopping.store(true, ordering: .releasing)
        if started.load(ordering: .acquiring) {
            finished.wait()
            finished.signal()
        }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func follow() {
        var connection: VoltClientConnection?
        defer { connection?.close() }
        var needsRead = false
        var lastHeard: UInt64 = 0
        var nextTick = MonotonicClock.nanos()
        while !isStopping {
            let now = MonotonicClock.nanos()
            if now >= nextTick {
                tick()
                nextTick = now + UInt64(settings.tickMillis) * 1_000_000
            }
            guard let subscribed = connection ?? subscribe() else {
                MonotonicClock.sleep(nanos: UInt64(settings.resubscribePauseMillis) * 1_000_000)
                continue
            }
            if connection == nil {
                connection = subscribed
                needsRead = true
                lastHeard = MonotonicClock.nanos()
            }
            do throws(ClientConnectionError) {
                if needsRead {
                    try read(subscribed)
                    needsRead = false
                    lastHeard = MonotonicClock.nanos()
                }
                if MonotonicClock.nanos() - lastHeard >= UInt64(settings.pingMillis) * 1_000_000 {
                    // A host that stopped (rather than died) closes nothing: ask it something.
                    _ = try subscribed.call("@Ping", timeoutMillis: settings.timeoutMillis)
                    lastHeard = MonotonicClock.nanos()
                }
                do {
                    let response = try subscribed.receive(timeoutMillis: settings.pollMillis)
                    lastHeard = MonotonicClock.nanos()
                    if response.handle == ReservedHandle.asyncTopology { needsRead = true }
                } catch {
                    guard case .timedOut = error else { throw error }  // nothing arrived: wait again
                }
            } catch {
                // Also a read or a @Ping that timed out: the host is too slow to follow through.
                progress("lost the topology subscription (\(error)); subscribing again")
                subscribed.close()
                connection = nil
            }
        }
    }

    /// Reads the topology and applies it if it changed.
    private func read(_ connection: VoltClientConnection) throws(ClientConnectionError) {
        guard let topology = try KVTopology.read(connection, timeoutMillis: settings.timeoutMillis) else {
            progress("the topology could not be read after a change; keeping the last one")
            return
        }
        let changed = current.withLock { last -> Bool in
            guard last != topology else { return false }
            last = topology
            return true
        }
        guard changed else { return }
        updates.add(1, ordering: .acquiringAndReleasing)
        apply(topology)
    }

    /// A connection to the first host that accepts `@Subscribe TOPOLOGY`, or nil.
    private func subscribe() -> VoltClientConnection? {
        let known = latest.hosts.compactMap { latest.addresses[$0] }
        var candidates: [ServerAddress] = []
        for address in known + settings.seeds where !candidates.contains(address) { candidates.append(address) }
        for address in candidates where !isStopping {
            guard let connection = try? VoltClientConnection(host: address.host, port: address.port, username: settings.username,
                                                             password: settings.password, timeoutMillis: settings.timeoutMillis)
            else { continue }
            if let answer = try? connection.call("@Subscribe", [.string("TOPOLOGY")]), answer.status == .success {
                progress("following topology changes through host \(connection.login.hostID.rawValue) (\(address))")
                return connection
            }
            connection.close()
        }
        return nil
    }
}
