// A host: one process serving one engine over the VoltDB client wire protocol on the client port
// and the admin port (docs/PROTOCOL.md §1–§6 and §12).
//
// Life cycle. `init` only records the root directory and options. `start()` creates the engine
// with the deployment's sitesperhost, loads the root's schema files statement by statement (a
// failing statement stops the start with the file, statement number and text), binds the client
// and admin ports (a port in use is an error naming it), builds the topology from the bound ports,
// and is then ready. `stop()` — called by `@Shutdown`, by the start command on SIGTERM/SIGINT, or
// by a test — refuses new calls, closes the listeners, waits (bounded by
// `drainTimeoutMillis`) for calls in flight and for their answers to leave, closes every
// connection and shuts the engine down. `waitForShutdown()` returns once a stop has finished.
// Phases only move forward: created → running → stopping → stopped (or created → failed).
//
// Threads. Connection handlers run on event-loop threads; transaction completions run on site and
// coordinator threads; blocking system work (statistics that visit every site, partition keys)
// runs on a utility queue so no loop thread waits on a site. Shared state is in Mutexes (phase and
// runtime, sessions, paused flag, topology and the last pushed results) and `ServerStats`.
//
// Routing (docs/ARCHITECTURE.md, "The cluster"): a call that touches data has a target, its partition (by the procedure's
// partition parameter through the ring) or multi-partition work. A single host runs it on its
// engine; a cluster host hands it to its `ClusterNode`, which runs it as the partition's leader or
// forwards it to the host that is (Host+Cluster.swift, Node/Cluster).
//
// Pushes (§6) go only to connections that called `@Subscribe TOPOLOGY`: the TOPO tables after
// `updateTopology` changes their bytes (coalesced: at most one push per 100 ms, always the latest
// tables, see PushCoalescer.swift), and the PROCEDURES table after a DDL call changes it.

import Dispatch
import Foundation
import Glibc
import Synchronization
import VoltModel
import VoltWire

/// One host of the database, serving its engine on the client and admin ports.
public final class Host: Sendable {
    /// The version reported in the login response, OVERVIEW and DEPLOYMENT.
    public static let version = "0.1.0"
    public static let buildString = "volt-swift-\(version)"

    public let root: RootDirectory
    public let options: HostOptions
    /// This host's id: 0 for a single host; in a cluster, assigned at formation and kept in the root.
    public var hostID: HostID { HostID(hostIDState.load(ordering: .relaxed)) }
    let hostIDState = Atomic<Int32>(0)
    let meshRef = Mutex<Mesh?>(nil)
    let formationRef = Mutex<Formation?>(nil)
    /// Missing host ids recently given to replacing hosts (monotonic ms), so two at once get two.
    let replacementsGiven = Mutex<[HostID: Int64]>([:])
    /// Set once a rejoin finishes: nil on success, else why it failed.
    let rejoinOutcome = OneShot<String?>()

    enum Phase: Sendable, Equatable { case created, running, stopping, stopped, failed }

    /// What exists only while the host runs.
    final class Runtime: Sendable {
        let engine: Engine
        let group: EventLoopGroup
        let clientListener: TCPListener
        let adminListener: TCPListener
        let startMillis: Int64
        let advertisedAddress: String
        /// Set on a host of a multi-host cluster.
        let cluster: ClusterNode?
        let internalListener: TCPListener?

        init(engine: Engine, group: EventLoopGroup, clientListener: TCPListener, adminListener: TCPListener,
             startMillis: Int64, advertisedAddress: String, cluster: ClusterNode? = nil, internalListener: TCPListener? = nil) {
            self.cluster = cluster
            self.internalListener = internalListener
            self.engine = engine
            self.group = group
            self.clientListener = clientListener
            self.adminListener = adminListener
            self.startMillis = startMillis
            self.advertisedAddress = advertisedAddress
        }
    }

    struct Published: Sendable {
        var topology: Topology?
        var topoBytes: [UInt8] = []
        /// The TOPO tables of the last change, which a delayed push sends.
        var topoTables: [ResultTable] = []
        var topologyPushes = PushCoalescer(intervalMillis: Host.topologyPushIntervalMillis)
        var proceduresBytes: [UInt8] = []
        var catalogVersion: Int64 = -1
    }

    let phase = Mutex<(phase: Phase, runtime: Runtime?)>((.created, nil))
    let sessions = Mutex<[ConnectionID: SessionRecord]>([:])
    let pausedFlag: Atomic<Bool>
    let published = Mutex(Published())
    let stats = ServerStats()
    let partitionKeyCache = Mutex<[SQLType: ResultTable]>([:])
    let utilityQueue = DispatchQueue(label: "host-system-work", attributes: .concurrent)
    private let stoppedSignal = DispatchSemaphore(value: 0)
    private let stopOnce = Mutex(false)

    public init(root: RootDirectory, options: HostOptions = HostOptions()) {
        self.root = root
        self.options = options
        self.pausedFlag = Atomic(options.paused)
    }

    // MARK: Public state

    /// The bound client port (the kernel's choice when 0 was asked); nil before `start()`.
    public var clientPort: Int? { runtime?.clientListener.port }
    /// The bound admin port; nil before `start()`.
    public var adminPort: Int? { runtime?.adminListener.port }
    public var isPaused: Bool { pausedFlag.load(ordering: .acquiring) }
    /// The engine while the host runs (tests and tools inspect the ring and catalog through it).
    public var engine: Engine? { runtime?.engine }
    public var topology: Topology? { published.withLock { $0.topology } }

    var runtime: Runtime? { phase.withLock { $0.runtime } }
    var isRunning: Bool { phase.withLock { $0.phase == .running } }

    func log(_ line: String) { options.log(line) }

    // MARK: Start

    /// Creates the engine, loads the schema, binds both ports. Throws `HostError` with a message
    /// that names the file, statement or port at fault; nothing is left running on failure.
    public func start() throws(HostError) {
        let ok = phase.withLock { state -> Bool in
            guard state.phase == .created else { return false }
            state.phase = .failed   // until the end of this function proves otherwise
            return true
        }
        guard ok else { throw .notStartable("this host was already started") }
        if let cluster = options.cluster {
            try startCluster(cluster)
            return
        }
        let deployment = root.deployment
        log("Starting host \(hostID.rawValue) from \(root.path): sitesperhost \(deployment.cluster.sitesPerHost), kfactor \(deployment.cluster.kFactor)")
        let engine = Engine(configuration: .init(sitesPerHost: deployment.cluster.sitesPerHost))
        do throws(HostError) {
            try loadSchema(into: engine)
        } catch {
            engine.shutdown()
            throw error
        }
        let group: EventLoopGroup
        do {
            group = try EventLoopGroup()
        } catch {
            engine.shutdown()
            throw .notStartable("cannot start the network event loops: \(error)")
        }
        let clientInterface = options.clientInterface ?? options.bindAddress
        let adminInterface = options.adminInterface ?? options.bindAddress
        let clientListener: TCPListener
        let adminListener: TCPListener
        do throws(HostError) {
            clientListener = try listen(name: "client", interface: clientInterface, port: options.clientPort, admin: false, group: group)
            do throws(HostError) {
                adminListener = try listen(name: "admin", interface: adminInterface, port: options.adminPort, admin: true, group: group)
            } catch {
                clientListener.close()
                throw error
            }
        } catch {
            group.shutdown()
            engine.shutdown()
            throw error
        }
        let advertised = Host.advertisedAddress(for: clientInterface)
        let runtime = Runtime(engine: engine, group: group, clientListener: clientListener, adminListener: adminListener,
                              startMillis: Engine.wallClockMicros() / 1000, advertisedAddress: advertised)
        let me = Topology.Host(id: hostID, address: advertised, hostname: Host.hostname(),
                               clientPort: clientListener.port, adminPort: adminListener.port)
        let topology = Topology.singleHost(me, partitions: engine.partitions)
        published.withLock { p in
            p.topology = topology
            p.topoBytes = Host.encodedTables(topology.topoTables(ringBlob: engine.ring.configBlob))
            p.proceduresBytes = Host.encodedTables([SystemCatalogTables.procedures(engine.catalog)])
            p.catalogVersion = engine.catalog.version
        }
        phase.withLock { $0 = (.running, runtime) }
        log("Listening for client connections on \(clientInterface):\(clientListener.port), admin connections on \(adminInterface):\(adminListener.port)")
        if isPaused { log("Started paused: the client port refuses work until @Resume") }
    }

    /// The start time of the cluster in ms since the epoch (login response, OVERVIEW).
    public var clusterStartMillis: Int64 { runtime?.startMillis ?? 0 }

    func listen(name: String, interface: String, port: Int, admin: Bool, group: EventLoopGroup) throws(HostError) -> TCPListener {
        var configuration = NetConfiguration(log: { [options] line in options.log("net (\(name) port): \(line)") })
        configuration.maxConnections = 10_000
        do {
            return try TCPListener(host: interface, port: port, group: group, configuration: configuration,
                                   onRejected: { _ in LoginResponse.encodeFailureFrame(.tooManyConnections) },
                                   makeHandler: { [self] connection in ClientSession(host: self, connection: connection, admin: admin) })
        } catch {
            if error.errno == EADDRINUSE { throw .portInUse(name: name, address: interface, port: port) }
            throw .bind(name: name, address: interface, port: port, reason: error.description)
        }
    }

    /// Runs every schema file's statements in order, one transaction each.
    func loadSchema(into engine: Engine) throws(HostError) {
        for file in root.schemaFiles {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw .schema(file: file, statementNumber: 0, statement: "", message: "the file cannot be read")
            }
            let statements = SQLScript.split(String(decoding: data, as: UTF8.self))
            for (i, statement) in statements.enumerated() {
                let result = engine.adHoc(statement)
                guard result.succeeded else {
                    throw .schema(file: file, statementNumber: i + 1, statement: statement,
                                  message: result.statusString ?? result.status.description)
                }
            }
            log("Loaded schema file \(file): \(statements.count) statements")
        }
    }

    // MARK: Stop

    /// Stops serving and shuts the engine down; see the file header. Safe to call more than once
    /// and from any thread that is not one of the host's event loops; later calls wait for the first.
    public func stop() {
        let first = stopOnce.withLock { started -> Bool in
            defer { started = true }
            return !started
        }
        guard first else {
            stoppedSignal.wait()
            stoppedSignal.signal()
            return
        }
        let runtime = phase.withLock { state -> Runtime? in
            if state.phase == .running { state.phase = .stopping }
            return state.runtime
        }
        if let runtime {
            log("Shutting down: closing the client and admin ports")
            runtime.clientListener.close()
            runtime.adminListener.close()
            runtime.internalListener?.close()
            runtime.cluster?.stop()
            let deadline = Host.monotonicMillis() + Int64(options.drainTimeoutMillis)
            while Host.monotonicMillis() < deadline {
                let busy = sessions.withLock { s in
                    s.values.contains { $0.inFlight.load(ordering: .relaxed) > 0 || $0.connection.pendingOutputBytes > 0 }
                }
                if !busy { break }
                usleep(5_000)
            }
            runtime.group.shutdown()
            runtime.engine.shutdown()
            sessions.withLock { $0.removeAll() }
            log("Host \(hostID.rawValue) stopped")
        }
        phase.withLock { $0.phase = .stopped }
        stoppedSignal.signal()
    }

    /// Blocks until a stop has finished (after `@Shutdown`, a signal handled by the caller, or
    /// `stop()`). With a timeout, returns false if it passed first.
    @discardableResult
    public func waitForShutdown(timeoutMillis: Int? = nil) -> Bool {
        if let timeoutMillis {
            guard stoppedSignal.wait(timeout: .now() + .milliseconds(timeoutMillis)) == .success else { return false }
        } else {
            stoppedSignal.wait()
        }
        stoppedSignal.signal()
        return true
    }

    /// Asks for a stop from a thread of its own (used by `@Shutdown`, which runs on a loop thread
    /// that `stop()` must not block).
    func stopInBackground() {
        let thread = Thread { [self] in stop() }
        thread.name = "host-shutdown"
        thread.start()
    }

    // MARK: Sessions

    func register(_ record: SessionRecord) {
        sessions.withLock { $0[record.connection.id] = record }
    }

    func unregister(_ id: ConnectionID) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// Open, logged-in sessions by connection id.
    var sessionList: [SessionRecord] {
        sessions.withLock { s in s.keys.sorted().map { s[$0]! } }
    }

    // MARK: Pushes

    /// The least time between two topology pushes (PushCoalescer): a burst of changes, such as
    /// the token-range cutovers of an elastic join, reaches each subscriber as one push per interval
    /// carrying the latest state, and never loses the last change.
    public static let topologyPushIntervalMillis: Int64 = 100
    /// How long a cluster host waits before pushing a topology change it applied (clusterStateChanged).
    static let clusterPushSettleMillis = 50

    /// Replaces the topology. When its `@Statistics TOPO` result changes, every subscribed
    /// connection gets it as an ASYNC_TOPO_HANDLE push, no sooner than `pushDelayMillis` from now
    /// and at most one per `topologyPushIntervalMillis` (PushCoalescer). Returns whether TOPO changed.
    @discardableResult
    public func updateTopology(_ topology: Topology, pushDelayMillis: Int = 0) -> Bool {
        guard let runtime else { return false }
        let tables = topology.topoTables(ringBlob: runtime.engine.ring.configBlob)
        let bytes = Host.encodedTables(tables)
        let now = Host.monotonicMillis()
        // Reads of TOPO see the new topology at once; the push follows the coalescer's decision.
        let decision = published.withLock { p -> PushCoalescer.Decision? in
            p.topology = topology
            guard p.topoBytes != bytes else { return nil }
            p.topoBytes = bytes
            p.topoTables = tables
            return p.topologyPushes.changed(at: now, settleMillis: Int64(pushDelayMillis))
        }
        guard let decision else { return false }
        act(on: decision, tables: tables)
        return true
    }

    /// Pushes the latest TOPO tables if `decision` says so, and schedules the wake-up it asks for.
    private func act(on decision: PushCoalescer.Decision, tables: [ResultTable]) {
        if decision.push { push(handle: ReservedHandle.asyncTopology, tables: tables) }
        guard let wakeAt = decision.wakeAt else { return }
        let delay = max(0, wakeAt - Host.monotonicMillis())
        utilityQueue.asyncAfter(deadline: .now() + .milliseconds(Int(delay))) { [self] in
            let (decision, latest) = published.withLock { p in
                (p.topologyPushes.woke(at: Host.monotonicMillis()), p.topoTables)
            }
            act(on: decision, tables: latest)
        }
    }

    /// After a DDL call: pushes the PROCEDURES table to subscribers if it changed.
    func publishCatalogIfChanged(_ engine: Engine) {
        let catalog = engine.catalog
        let table = SystemCatalogTables.procedures(catalog)
        let bytes = Host.encodedTables([table])
        let changed = published.withLock { p -> Bool in
            guard p.catalogVersion != catalog.version else { return false }
            p.catalogVersion = catalog.version
            guard p.proceduresBytes != bytes else { return false }
            p.proceduresBytes = bytes
            return true
        }
        if changed { push(handle: ReservedHandle.asyncProcedures, tables: [table]) }
    }

    private func push(handle: Int64, tables: [ResultTable]) {
        guard let frame = try? ClientResponse(handle: handle, status: .success, tables: tables).encodeFrame() else { return }
        for session in sessionList where session.subscribed.load(ordering: .acquiring) {
            session.connection.write(frame: frame)
        }
    }

    static func encodedTables(_ tables: [ResultTable]) -> [UInt8] {
        (try? ClientResponse(handle: 0, status: .success, tables: tables).encodeFrame()) ?? []
    }

    // MARK: Addresses

    /// The address clients should dial for a listener bound to `interface`: the interface itself
    /// unless it is a wildcard, then the first non-loopback IPv4 address, else 127.0.0.1.
    static func advertisedAddress(for interface: String) -> String {
        guard interface == "0.0.0.0" || interface == "::" || interface.isEmpty else { return interface }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return "127.0.0.1" }
        defer { freeifaddrs(first) }
        var candidates: [String] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let ifa = cursor {
            cursor = ifa.pointee.ifa_next
            guard let addr = ifa.pointee.ifa_addr, Int32(addr.pointee.sa_family) == AF_INET else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let ok = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 -> Bool in
                var a = v4.pointee.sin_addr
                return inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) != nil
            }
            guard ok else { continue }
            let s = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !s.hasPrefix("127.") { candidates.append(s) }
        }
        return candidates.sorted().first ?? "127.0.0.1"
    }

    /// An IPv4 address as the big-endian integer of the login response; 0 when not IPv4.
    static func ipv4Integer(_ address: String) -> Int32 {
        var a = in_addr()
        guard inet_pton(AF_INET, address, &a) == 1 else { return 0 }
        return Int32(bitPattern: UInt32(bigEndian: a.s_addr))
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func monotonicMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
