// The wire benchmark's run-phase connections while the cluster changes under it (elastic join,
// failover, rejoin). It owns the KeyRouter the routed senders read and a TopologyFollower, and
// acts on each topology the follower reports, on the follower's thread:
//
// 1. swap in the new key affinity (KeyRouter: from the next batch on; calls in flight keep the
//    host they were sent to, nothing is sent twice or dropped);
// 2. retire the connections of hosts that left the topology (they stop sending; what is in flight
//    on them is still answered and counted);
// 3. connect to every host of the topology without a live connection: a host that joined, one that
//    rejoined, one whose connections were lost while it stayed in the cluster. The address is
//    OVERVIEW's IPADDRESS and CLIENTPORT. A host that cannot be reached is tried again on the
//    follower's tick, backing off from 250 ms to 8 s, and at once on the next topology change.
//
// Until then a partition whose leader has no live connection is not sent to: its keys sit in the
// leader's list, and no live connection draws from it. That is the case between a kill and the
// failover (the topology still names the dead leader); survivors could only refuse those calls.

import Synchronization
import VoltModel
import VoltWire

/// The run phase's connections, following the topology; see the file header.
final class FollowingConnections<Recorder: LatencyRecorder>: Sendable {
    /// Bound on connecting to a host found in the topology (and on the follower's calls), so that
    /// a dead host costs the follower little time.
    static var redialTimeoutMillis: Int { 2_000 }
    static var firstRetryMillis: Int { 250 }
    static var lastRetryMillis: Int { 8_000 }

    private struct Retry {
        var atNanos: UInt64
        var delayMillis: Int
    }

    private struct State {
        var topology: KVTopology
        var updates = 0
        var opened = 0
        var retries: [HostID: Retry] = [:]
        /// Hosts whose departure was reported (and whose connections were retired).
        var departed: Set<HostID> = []
    }

    private let run: PipelinedKVDriver.Run<Recorder>
    private let router: KeyRouter
    private let tokens: [Token]
    private let options: KVWireBenchmark.Options
    private let progress: @Sendable (String) -> Void
    private let state: Mutex<State>

    init(run: PipelinedKVDriver.Run<Recorder>, topology: KVTopology, options: KVWireBenchmark.Options,
         progress: @escaping @Sendable (String) -> Void) {
        self.run = run
        tokens = KeyAffinity.tokens(keys: options.keys)
        router = KeyRouter(KeyAffinity(topology, tokens: tokens), totalRate: options.ratePerSecond,
                           connectionsPerHost: options.connectionsPerServer)
        self.options = options
        self.progress = progress
        state = Mutex(State(topology: topology))
    }

    /// Topology changes applied so far.
    var updatesApplied: Int { state.withLock { $0.updates } }

    /// The topology in force.
    var latest: KVTopology { state.withLock { $0.topology } }

    /// Starts routed work on `socket` (its host is the one it logged in to).
    func add(_ socket: WireSocket) {
        let index = state.withLock { s in
            defer { s.opened += 1 }
            return s.opened
        }
        run.add(socket, .routed(getRatio: options.getRatio, host: socket.login.hostID, router: router,
                                seed: KVWireBenchmark.seed(connection: index, options)))
    }

    /// Connects to the topology's hosts that have no connection, follows the topology until
    /// `deadline` (monotonic nanoseconds), then stops following: once this returns nothing is
    /// added to the run any more.
    func follow(until deadline: UInt64) {
        connectMissing()
        var settings = TopologyFollower.Settings(seeds: options.servers)
        settings.username = options.username
        settings.password = options.password
        settings.timeoutMillis = min(options.timeoutMillis, Self.redialTimeoutMillis)
        let follower = TopologyFollower(settings, initial: latest, apply: { [self] in apply($0) },
                                        tick: { [self] in connectMissing() }, progress: progress)
        follower.start()
        MonotonicClock.sleep(until: deadline)
        follower.stop()
    }

    /// A changed topology: new map, departures, connections to hosts without one.
    func apply(_ topology: KVTopology) {
        router.swap(KeyAffinity(topology, tokens: tokens))
        let (update, departing, sameSummary) = state.withLock { s -> (Int, [HostID], Bool) in
            s.updates += 1
            // An elastic join moves the ring many times without changing hosts or leaders: those
            // updates are counted, and reported only when the summary changes.
            let same = s.topology.summary == topology.summary
            s.topology = topology
            s.retries = [:]
            s.departed.subtract(topology.hosts)
            let gone = Set(run.sockets.map(\.login.hostID)).subtracting(topology.hosts).subtracting(s.departed)
            s.departed.formUnion(gone)
            return (s.updates, gone.sorted(), same)
        }
        if !sameSummary { progress("topology update \(update): \(topology.summary)") }
        for host in departing {
            let stopped = run.retire(host: host)
            progress("host \(host.rawValue) left the topology; "
                     + (stopped > 0 ? "no more calls on its \(stopped) live connection\(stopped == 1 ? "" : "s")" : "it had no live connection"))
        }
        connectMissing()
    }

    /// Connects to each host of the topology that has no live connection and is due for a try.
    func connectMissing() {
        let topology = latest
        let live = run.liveHosts
        let now = MonotonicClock.nanos()
        for host in topology.hosts where !live.contains(host) {
            guard let address = topology.addresses[host] else { continue }
            let retry = state.withLock { $0.retries[host] }
            if let retry, now < retry.atNanos { continue }
            do {
                let sockets = try KVWireBenchmark.connect(address, options,
                                                          timeoutMillis: min(options.timeoutMillis, Self.redialTimeoutMillis))
                for socket in sockets { add(socket) }
                state.withLock { _ = $0.retries.removeValue(forKey: host) }
                progress("connected to host \(host.rawValue) at \(address) (\(sockets.count) connection\(sockets.count == 1 ? "" : "s"))")
            } catch {
                let delay = retry.map { min($0.delayMillis * 2, Self.lastRetryMillis) } ?? Self.firstRetryMillis
                state.withLock { $0.retries[host] = Retry(atNanos: now + UInt64(delay) * 1_000_000, delayMillis: delay) }
                if retry == nil { progress("cannot connect to host \(host.rawValue) at \(address) (\(error)); trying again") }
            }
        }
    }
}
