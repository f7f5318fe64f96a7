// `bench kv --servers` following the topology: the affinity map (pure), the routed driver swapping
// maps and connections mid-run against fake servers, the TopologyFollower (pushes, a lost
// subscription), and the whole benchmark against a fake cluster that moves a leader and grows a
// partition while it runs.
import Foundation
import Synchronization
import Testing
import VoltClient
import VoltModel
import VoltWire

/// A cluster of FakeVoltServers sharing one FakeKV, with a topology the test changes: each host
/// answers OVERVIEW and TOPO from it, and `change` pushes the new TOPO to subscribers.
final class FakeCluster: Sendable {
    struct Shape: Sendable {
        var ring: HashRing
        var leaders: [Int32: Int32]
        var hosts: [Int32]
    }

    /// What every host's handler reads.
    private final class State: Sendable {
        let shape: Mutex<Shape>
        let ports = Mutex<[Int32: Int]>([:])
        init(_ shape: Shape) { self.shape = Mutex(shape) }
    }

    let kv: FakeKV
    let servers: [FakeVoltServer]
    private let state: State

    init(hosts: Int, _ shape: Shape) throws {
        let (kv, state) = (FakeKV(), State(shape))
        var servers: [FakeVoltServer] = []
        for id in 0..<Int32(hosts) {
            servers.append(try FakeVoltServer(hostID: id) { invocation in
                FakeCluster.answer(invocation, kv: kv, shape: state.shape.withLock { $0 }, ports: state.ports.withLock { $0 })
            })
        }
        state.ports.withLock { p in for s in servers { p[s.hostID] = s.port } }
        (self.kv, self.servers, self.state) = (kv, servers, state)
    }

    func stop() { for s in servers { s.stop() } }

    func address(_ host: Int32) -> ServerAddress { ServerAddress(host: "127.0.0.1", port: servers[Int(host)].port) }

    /// STORE calls host `host` has answered.
    func storeCalls(_ host: Int32) -> Int { servers[Int(host)].procedures.filter { $0.hasPrefix("STORE.") }.count }

    /// Replaces the topology and pushes TOPO to every subscriber.
    func change(_ shape: Shape) throws {
        state.shape.withLock { $0 = shape }
        let push = ClientResponse(handle: ReservedHandle.asyncTopology, status: .success, tables: Self.topo(shape))
        for server in servers { try server.push(push) }
    }

    static func answer(_ invocation: Invocation, kv: FakeKV, shape: Shape, ports: [Int32: Int]) -> ClientResponse? {
        let first: String? = if case .value(.string(let s), _)? = invocation.parameters.first { s } else { nil }
        switch (invocation.procedure, first) {
        case ("@Subscribe", _): return Canned.success()
        case ("@SystemInformation", _): return Canned.success([overview(shape, ports: ports)])
        case ("@Statistics", "TOPO"): return Canned.success(topo(shape))
        default: return kv.answer(invocation)
        }
    }

    static func overview(_ shape: Shape, ports: [Int32: Int]) -> ResultTable {
        ResultTable(columns: [.init("HOST_ID", .integer), .init("KEY", .varchar), .init("VALUE", .varchar)],
                    rows: shape.hosts.flatMap { id -> [[Value]] in
                        [[.integer(Int64(id)), .string("IPADDRESS"), .string("127.0.0.1")],
                         [.integer(Int64(id)), .string("CLIENTPORT"), .string(String(ports[id] ?? 1))]]
                    })
    }

    static func topo(_ shape: Shape) -> [ResultTable] {
        let partitions = ResultTable(
            columns: [.init("Partition", .integer), .init("Sites", .varchar), .init("Leader", .varchar)],
            rows: shape.leaders.keys.sorted().map { p in
                let leader = "\(shape.leaders[p]!):\(p)"
                return [.integer(Int64(p)), .string(leader), .string(leader)]
            } + [[.integer(16383), .string("0:16383"), .string("0:16383")]])
        let ring = ResultTable(columns: [.init("HASHTYPE", .varchar), .init("HASHCONFIG", .varbinary)],
                               rows: [[.string("ELASTIC"), .bytes(shape.ring.configBlob)]])
        return [partitions, ring]
    }
}

private func topology(_ ring: HashRing, leaders: [Int32: Int32], hosts: [Int32]) -> KVTopology {
    KVTopology(ring: ring, leaders: Dictionary(uniqueKeysWithValues: leaders.map { (PartitionID($0.key), HostID($0.value)) }),
               addresses: Dictionary(uniqueKeysWithValues: hosts.map { (HostID($0), ServerAddress(host: "10.0.0.\($0)", port: 21212)) }))
}

/// Each key's host under `topology`, from the ring directly (the reference the map must match).
private func expectedHosts(_ topology: KVTopology, keys: Int) -> [HostID?] {
    (0..<keys).map { k in
        topology.leaders[topology.ring.partition(forKey: .string(KVWireBenchmark.key(k)), type: .varchar)]
    }
}

/// Each key's host in `affinity`; a key in two lists fails the test.
private func routedHosts(_ affinity: KeyAffinity, keys: Int) -> [HostID?] {
    var hosts = [HostID?](repeating: nil, count: keys)
    for (host, list) in affinity.keysByHost {
        for k in list {
            #expect(hosts[k] == nil, "key \(k) routed to two hosts")
            hosts[k] = host
        }
    }
    return hosts
}

@Suite struct KeyAffinityMaps {
    static let keys = 2_000
    let tokens = KeyAffinity.tokens(keys: keys)

    @Test func topologyIsReadFromOverviewAndTopo() throws {
        let ring = HashRing(partitionCount: 2)
        let shape = FakeCluster.Shape(ring: ring, leaders: [0: 0, 1: 1], hosts: [0, 1])
        var overview = FakeCluster.overview(shape, ports: [0: 21212, 1: 21213])
        // A failed host is listed as MISSING: not a host to connect to.
        overview.rows += [[.integer(2), .string("IPADDRESS"), .string("127.0.0.1")], [.integer(2), .string("CLIENTPORT"), .string("21214")],
                          [.integer(2), .string("NODESTATE"), .string("MISSING")]]
        let topology = try #require(KVTopology(overview: overview, topo: FakeCluster.topo(shape)))
        #expect(topology.ring == ring)
        #expect(topology.leaders == [PartitionID(0): HostID(0), PartitionID(1): HostID(1)])
        #expect(topology.addresses == [HostID(0): ServerAddress(host: "127.0.0.1", port: 21212),
                                       HostID(1): ServerAddress(host: "127.0.0.1", port: 21213)])
        #expect(topology.partitionCount == 2)
        #expect(topology.summary == "2 partitions; host 0 leads 0; host 1 leads 1")
        // No ring blob, or one that does not parse: no topology to route by.
        #expect(KVTopology(overview: overview, topo: [FakeCluster.topo(shape)[0]]) == nil)
        let broken = ResultTable(columns: [.init("HASHTYPE", .varchar), .init("HASHCONFIG", .varbinary)], rows: [[.string("ELASTIC"), .bytes([1, 2])]])
        #expect(KVTopology(overview: overview, topo: [FakeCluster.topo(shape)[0], broken]) == nil)
    }

    @Test func keysGoToTheLeaderOfTheirPartition() {
        let before = topology(HashRing(partitionCount: 3), leaders: [0: 0, 1: 1, 2: 2], hosts: [0, 1, 2])
        let affinity = KeyAffinity(before, tokens: tokens)
        #expect(routedHosts(affinity, keys: Self.keys) == expectedHosts(before, keys: Self.keys))
        #expect(affinity.leadingHosts == 3)
    }

    @Test func aChangedRingAndNewLeadersRouteKeysToTheNewHosts() throws {
        let ring = HashRing(partitionCount: 2)
        let before = topology(ring, leaders: [0: 0, 1: 1], hosts: [0, 1, 2])
        // A cutover step hands a range of partition 0 to partition 1, and both leaders move.
        let moved = try #require(ring.ranges(of: PartitionID(0)).first)
        let after = topology(ring.reassigning(moved, from: PartitionID(0), to: PartitionID(1)), leaders: [0: 1, 1: 2], hosts: [0, 1, 2])
        let old = routedHosts(KeyAffinity(before, tokens: tokens), keys: Self.keys)
        let new = routedHosts(KeyAffinity(after, tokens: tokens), keys: Self.keys)
        #expect(new == expectedHosts(after, keys: Self.keys))
        #expect(!new.contains(HostID(0)), "host 0 leads nothing any more")
        // Keys in the moved range went from partition 0 (host 0) to partition 1 (now host 2).
        let inMovedRange = (0..<Self.keys).filter { moved.contains(tokens[$0]) }
        #expect(!inMovedRange.isEmpty)
        for k in inMovedRange {
            #expect(old[k] == HostID(0) && new[k] == HostID(2))
        }
    }

    @Test func aTopologyWithMorePartitionsRoutesTheNewPartitionToItsHost() {
        let ring = HashRing(partitionCount: 3)
        let before = topology(ring, leaders: [0: 0, 1: 1, 2: 2], hosts: [0, 1, 2])
        let grown = topology(ring.addingPartitions(1), leaders: [0: 0, 1: 1, 2: 2, 3: 3], hosts: [0, 1, 2, 3])
        let old = routedHosts(KeyAffinity(before, tokens: tokens), keys: Self.keys)
        let affinity = KeyAffinity(grown, tokens: tokens)
        let new = routedHosts(affinity, keys: Self.keys)
        #expect(new == expectedHosts(grown, keys: Self.keys))
        #expect(!new.contains(nil), "every key has a host")
        #expect(affinity.leadingHosts == 4)
        // The new host gets the new partition's keys, taken from the old ones; no other key moves.
        #expect(affinity.keys(of: HostID(3)).count > Self.keys / 8)
        for k in 0..<Self.keys where new[k] != HostID(3) { #expect(new[k] == old[k]) }
    }

    @Test func aPartitionWithoutALeaderIsRoutedNowhere() {
        let leaderless = topology(HashRing(partitionCount: 2), leaders: [0: 0], hosts: [0])
        let hosts = routedHosts(KeyAffinity(leaderless, tokens: tokens), keys: Self.keys)
        #expect(hosts == expectedHosts(leaderless, keys: Self.keys))
        #expect(hosts.contains(nil) && hosts.contains(HostID(0)))
    }

    @Test func theRouterSwapsMapsAndSharesTheRate() {
        let three = KeyAffinity(topology(HashRing(partitionCount: 3), leaders: [0: 0, 1: 1, 2: 2], hosts: [0, 1, 2]), tokens: tokens)
        let two = KeyAffinity(topology(HashRing(partitionCount: 3), leaders: [0: 1, 1: 1, 2: 2], hosts: [1, 2]), tokens: tokens)
        let router = KeyRouter(three, totalRate: 1_200, connectionsPerHost: 2)
        let before = router.routing
        #expect(before.generation == 0 && before.ratePerConnection == 200)
        router.swap(two)
        #expect(router.routing.generation == 1 && router.routing.ratePerConnection == 300)
        #expect(router.routing.affinity == two)
        // A sender holding the old map still reads the old map: the swap replaced, not mutated, it.
        #expect(before.affinity == three)
        #expect(KeyRouter(three, totalRate: nil, connectionsPerHost: 2).routing.ratePerConnection == nil)
    }
}

@Suite(.serialized) struct RoutedRunAgainstFakeServers {
    static let keys = 300

    private func driver() -> PipelinedKVDriver {
        PipelinedKVDriver(encoder: KVInvocationEncoder(keys: (0..<Self.keys).map(KVWireBenchmark.key), value: [7]),
                          maxInFlight: 16, timeoutMillis: 5_000)
    }

    private func socket(_ server: FakeVoltServer) throws -> WireSocket {
        try WireSocket.connect(ServerAddress(host: "127.0.0.1", port: server.port), username: "", password: "", timeoutMillis: 5_000)
    }

    private func allKeys(to host: Int32) -> KeyAffinity { KeyAffinity(keysByHost: [HostID(host): Array(0..<Self.keys)]) }

    @Test func aSwapMovesNewCallsToTheNewHostAndLosesNothing() throws {
        let kv = FakeKV()
        let a = try FakeVoltServer(hostID: 0) { kv.answer($0) }
        let b = try FakeVoltServer(hostID: 1) { kv.answer($0) }
        defer { a.stop(); b.stop() }
        let router = KeyRouter(allKeys(to: 0), totalRate: nil, connectionsPerHost: 1)
        let now = MonotonicClock.nanos()
        let run = driver().start(PipelinedKVDriver.Phase(epochNanos: now, sendUntilNanos: now + 1_500_000_000),
                                 recording: CountingRecorder.self)
        run.add(try socket(a), .routed(getRatio: 0.5, host: HostID(0), router: router, seed: 1))
        run.add(try socket(b), .routed(getRatio: 0.5, host: HostID(1), router: router, seed: 2))
        let stores = { (s: FakeVoltServer) in s.procedures.filter { $0.hasPrefix("STORE.") }.count }
        MonotonicClock.sleep(nanos: 300_000_000)
        #expect(stores(a) > 0)
        #expect(stores(b) == 0, "host 1 leads nothing yet: its connection sends nothing")
        #expect(run.liveHosts == [HostID(0), HostID(1)])

        router.swap(allKeys(to: 1))
        MonotonicClock.sleep(nanos: 200_000_000)  // what was in flight on host 0 is answered
        let aAfterSwap = stores(a)
        MonotonicClock.sleep(nanos: 300_000_000)
        #expect(stores(a) == aAfterSwap, "no new call goes to host 0 after the swap")
        #expect(stores(b) > 0)

        let reports = run.wait()
        #expect(reports.allSatisfy { $0.error == nil && $0.sent == $0.answered })
        // Every call sent was answered exactly once, by the host it was sent to.
        #expect(reports[0].sent == stores(a) && reports[1].sent == stores(b))
        #expect(reports.reduce(0) { $0 + $1.latency.count } == stores(a) + stores(b))
    }

    @Test func connectionsJoinAndRetireMidRun() throws {
        let kv = FakeKV()
        let a = try FakeVoltServer(hostID: 0) { kv.answer($0) }
        let b = try FakeVoltServer(hostID: 1) { kv.answer($0) }
        defer { a.stop(); b.stop() }
        let router = KeyRouter(KeyAffinity(keysByHost: [HostID(0): Array(0..<150), HostID(1): Array(150..<300)]),
                               totalRate: nil, connectionsPerHost: 1)
        let now = MonotonicClock.nanos()
        let run = driver().start(PipelinedKVDriver.Phase(epochNanos: now, sendUntilNanos: now + 1_200_000_000),
                                 recording: CountingRecorder.self)
        run.add(try socket(a), .routed(getRatio: 0.5, host: HostID(0), router: router, seed: 1))
        MonotonicClock.sleep(nanos: 200_000_000)
        #expect(run.liveHosts == [HostID(0)])
        run.add(try socket(b), .routed(getRatio: 0.5, host: HostID(1), router: router, seed: 2))
        MonotonicClock.sleep(nanos: 200_000_000)
        #expect(run.liveHosts == [HostID(0), HostID(1)])
        #expect(run.retire(host: HostID(0)) == 1)
        #expect(run.liveHosts == [HostID(1)])
        MonotonicClock.sleep(nanos: 200_000_000)
        let aRetired = a.procedures.count
        MonotonicClock.sleep(nanos: 300_000_000)
        #expect(a.procedures.count == aRetired, "a retired connection sends nothing more")
        let reports = run.wait()
        #expect(reports.count == 2)
        #expect(reports.allSatisfy { $0.error == nil && $0.sent == $0.answered && $0.sent > 0 })
        #expect(run.sockets.count == 2)
    }
}

@Suite(.serialized) struct FollowingTheTopology {
    @Test func aPushIsAppliedAndALostSubscriptionIsMadeAgainElsewhere() throws {
        let ring = HashRing(partitionCount: 2)
        let cluster = try FakeCluster(hosts: 2, .init(ring: ring, leaders: [0: 0, 1: 1], hosts: [0, 1]))
        defer { cluster.stop() }
        let initial = try #require(try KVTopology.read(VoltClientConnection(host: "127.0.0.1", port: cluster.servers[0].port)))
        let applied = Mutex<[KVTopology]>([])
        var settings = TopologyFollower.Settings(seeds: [cluster.address(0)])
        settings.pollMillis = 20
        settings.resubscribePauseMillis = 20
        let follower = TopologyFollower(settings, initial: initial, apply: { t in applied.withLock { $0.append(t) } })
        follower.start()
        defer { follower.stop() }
        func waitFor(_ count: Int) -> Bool {
            let deadline = MonotonicClock.nanos() + 5_000_000_000
            while applied.withLock({ $0.count }) < count && MonotonicClock.nanos() < deadline { MonotonicClock.sleep(nanos: 10_000_000) }
            return applied.withLock { $0.count } >= count
        }
        // Subscribed on host 0 (the seed): an unchanged first read applies nothing.
        MonotonicClock.sleep(nanos: 200_000_000)
        #expect(follower.updatesApplied == 0)

        // A pushed change: partition 0's leader moves to host 1.
        try cluster.change(.init(ring: ring, leaders: [0: 1, 1: 1], hosts: [0, 1]))
        #expect(waitFor(1))
        #expect(applied.withLock { $0.last?.leaders[PartitionID(0)] } == HostID(1))

        // Host 0 dies with the subscription, and the next change is made while nobody hears it:
        // the follower subscribes again on host 1 (known from the last topology) and reads it.
        cluster.servers[0].stop()
        let shrunk = FakeCluster.Shape(ring: ring, leaders: [0: 1, 1: 1], hosts: [1])
        try cluster.change(shrunk)
        #expect(waitFor(2))
        #expect(applied.withLock { $0.last?.hosts } == [HostID(1)])
        #expect(follower.updatesApplied == 2)
        #expect(cluster.servers[1].procedures.contains("@Subscribe"))
    }

    @Test func theBenchmarkFollowsAMovedLeaderAndANewPartition() throws {
        let ring = HashRing(partitionCount: 2)
        // Host 2 is not in the cluster yet: its server runs, but no topology lists it.
        let cluster = try FakeCluster(hosts: 3, .init(ring: ring, leaders: [0: 0, 1: 0], hosts: [0, 1]))
        defer { cluster.stop() }
        var options = KVWireBenchmark.Options(servers: [cluster.address(0)])
        options.keys = 400
        options.valueBytes = 8
        options.durationSeconds = 2.5
        options.warmupSeconds = 0
        options.maxInFlightPerConnection = 16
        options.countRepetitions = 1
        options.timeoutMillis = 5_000
        let lines = Mutex<[String]>([])
        let counts = Mutex<[String: Int]>([:])
        let changes = DispatchGroup()
        let result = try KVWireBenchmark.run(options, recording: CountingRecorder.self) { line in
            lines.withLock { $0.append(line) }
            guard line.hasPrefix("routing each call") else { return }
            // The run has started: move partition 1 to host 1, then add host 2 with a new partition.
            changes.enter()
            Thread {
                defer { changes.leave() }
                MonotonicClock.sleep(nanos: 600_000_000)
                counts.withLock { $0["host 1 before its partition"] = cluster.storeCalls(1) }
                try? cluster.change(.init(ring: ring, leaders: [0: 0, 1: 1], hosts: [0, 1]))
                MonotonicClock.sleep(nanos: 600_000_000)
                counts.withLock { $0["host 2 before it joined"] = cluster.storeCalls(2) }
                try? cluster.change(.init(ring: ring.addingPartitions(1), leaders: [0: 0, 1: 1, 2: 2], hosts: [0, 1, 2]))
            }.start()
        }
        changes.wait()
        let output = lines.withLock { $0 }.joined(separator: "\n")
        #expect(result.topologyUpdates == 2, "\(output)")
        #expect(result.failures == 0 && result.gets + result.puts > 0)
        #expect(result.partitions == 3)
        // Host 1 was connected from the start (it is in the topology) but led nothing until the
        // first change; host 2 was connected when it joined, and took its partition's calls.
        #expect(counts.withLock { $0["host 1 before its partition"] } == 0)
        #expect(counts.withLock { $0["host 2 before it joined"] } == 0)
        #expect(cluster.storeCalls(1) > 0 && cluster.storeCalls(2) > 0, "\(output)")
        #expect(output.contains("connected to host 1 at \(cluster.address(1)) (2 connections)"))
        #expect(output.contains("topology update 1: 2 partitions; host 0 leads 0; host 1 leads 1"))
        #expect(output.contains("connected to host 2 at \(cluster.address(2)) (2 connections)"))
        #expect(output.contains("topology update 2: 3 partitions; host 0 leads 0; host 1 leads 1; host 2 leads 2"))
    }
}
