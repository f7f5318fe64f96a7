// Starting a host of a multi-host cluster, and what the cluster asks of its host.
//
// Formation (docs/PROTOCOL.md §12.2). Every host gets the same `--host` list and
// `--count`. The first endpoint in sorted order is the start-up coordinator: it takes host id 0,
// waits on its internal port for `count - 1` other hosts to ask to form the cluster with it
// (`formationRequest`), refuses any whose deployment (the canonical deployment without host-local
// paths, as VoltDB's config hash) or schema differs, with a message naming the difference, then
// assigns ids in endpoint order, plans the layout (partitions = hosts × sitesperhost / (K+1), K+1
// replicas on distinct hosts, placement groups, leaders spread) and sends every host its id and
// the initial cluster state (`welcome`). Each host records its id and that state in `D/cluster/`
// and starts its sites, its mesh and its metadata log from it.
//
// Restart. A host whose root already holds `D/cluster/identity` was part of the cluster: it comes
// back with the same id, its metadata log from disk and a new incarnation, and rejoins (receives
// its replicas from the leaders) before it accepts clients (ClusterNode+Rejoin.swift).
//
// Replacement and join. A fresh host started with `--add` asks any live host for a place in the
// cluster (`addRequest`), about once a second. If the cluster is missing a host, the fresh host
// takes its place: it gets the missing host's id and the cluster's states (`replace`), records them
// and rejoins as that host restarted would. Otherwise it joins (ClusterNode+Join.swift): the
// metadata coordinator parks it in the join buffer (`joinWaiting`, which names the coordinator so
// the next ask goes there) until K+1 have arrived, admits them together and answers `joinWelcome`
// with its id and the state that admitted it. The joiner records both (`D/cluster/admission` holds
// its partitions for a later restart), builds its sites from that state (partitions, ring,
// participants), loads the schema files and replays the cluster's schema changes, follows the
// metadata log as a learner from its start, and reports its sites ready; the rebalance then moves
// ranges to it while it serves.
//
// The client and admin ports are bound first (the cluster publishes them), but calls are refused
// until the host has formed or rejoined.

import Consensus
import Foundation
import Glibc
import Rebalancer
import Synchronization
import VoltModel
import VoltWire

/// The start-up coordinator's collection of the hosts that asked to form the cluster with it.
final class Formation: Sendable {
    /// The decisions (FormationCore.swift) and the connection of each host that asked, to answer.
    let state: Mutex<(core: FormationCore, connections: [String: Connection])>
    let complete = OneShot<Bool>()

    /// `expected`: hosts besides the coordinator.
    init(expected: Int) { state = Mutex((FormationCore(expected: expected), [:])) }
}

extension Host {
    static let clusterDirectoryName = "cluster"

    var clusterDirectory: String { root.path + "/" + Host.clusterDirectoryName }

    /// SHA-256 of the schema files, in order, as formation and replacement compare them.
    var schemaHash: String {
        var bytes: [UInt8] = []
        for file in root.schemaFiles { bytes += Array(FileManager.default.contents(atPath: file) ?? Data()) }
        return SHA256.hex(bytes)
    }

    var deploymentText: String { root.deployment.canonicalXML(includingPaths: false) }

    // MARK: Start

    func startCluster(_ cluster: ClusterOptions) throws(HostError) {
        let deployment = root.deployment
        let group: EventLoopGroup
        do { group = try EventLoopGroup() } catch { throw .notStartable("cannot start the network event loops: \(error)") }
        let clientInterface = options.clientInterface ?? options.bindAddress
        let adminInterface = options.adminInterface ?? options.bindAddress
        let internalInterface = cluster.internalInterface ?? options.bindAddress
        var listeners: [TCPListener] = []
        func fail(_ error: HostError) -> HostError {
            for l in listeners { l.close() }
            group.shutdown()
            return error
        }
        let clientListener: TCPListener, adminListener: TCPListener, internalListener: TCPListener
        do throws(HostError) {
            clientListener = try listen(name: "client", interface: clientInterface, port: options.clientPort, admin: false, group: group)
            listeners.append(clientListener)
            adminListener = try listen(name: "admin", interface: adminInterface, port: options.adminPort, admin: true, group: group)
            listeners.append(adminListener)
            internalListener = try listenInternal(interface: internalInterface, port: options.internalPort, group: group)
            listeners.append(internalListener)
        } catch {
            throw fail(error)
        }
        let advertised = Host.advertisedAddress(for: clientInterface)
        let internalAddress = Host.advertisedAddress(for: internalInterface)
        let myEndpoint = "\(internalAddress):\(internalListener.port)"
        var incarnationSource = SystemRandomNumberGenerator()
        let incarnation = incarnationSource.next() as UInt64
        let startedMillis = Engine.wallClockMicros() / 1000
        var member = ClusterMember(id: HostID(-1), internalEndpoint: myEndpoint, address: advertised, hostname: Host.hostname(),
                                   clientPort: clientListener.port, adminPort: adminListener.port,
                                   placementGroup: cluster.placementGroup ?? "0", incarnation: incarnation, startedMillis: startedMillis)
        log("Starting cluster host from \(root.path): internal endpoint \(myEndpoint), incarnation \(incarnation), "
            + "sitesperhost \(deployment.cluster.sitesPerHost), kfactor \(deployment.cluster.kFactor), \(cluster.count) hosts")

        let bootstrap: ClusterState
        let restarting: Bool
        var endpoints: ClusterState?
        var joined = false
        do throws(HostError) {
            if let (id, saved, admission) = try loadIdentity() {
                member.id = id
                bootstrap = saved
                endpoints = admission
                restarting = true
                log("This host was host \(id.rawValue) of the cluster: rejoining")
            } else if cluster.add {
                switch try askForPlace(cluster, me: member) {
                case .replacement(let id, let saved, let current, let term):
                    member.id = id
                    bootstrap = saved
                    endpoints = current
                    restarting = true
                    try saveIdentity(id, saved)
                    try seedMetadataLog(term: term, me: id)
                    log("This host takes the place of missing host \(id.rawValue): rejoining")
                case .join(let id, let saved, let current):
                    member.id = id
                    bootstrap = saved
                    endpoints = current
                    restarting = false
                    joined = true
                    try saveIdentity(id, saved, admission: current)
                    try startMetadataLogEmpty()
                    log("This host joins the cluster as host \(id.rawValue), with partitions "
                        + current.slots(of: id).map { String($0.rawValue) }.joined(separator: ", "))
                }
            } else {
                (member.id, bootstrap) = try form(cluster, me: member)
                restarting = false
                try saveIdentity(member.id, bootstrap)
            }
        } catch {
            throw fail(error)
        }
        hostIDState.store(member.id.rawValue, ordering: .relaxed)

        // A joiner's partitions, ring and participants are the current state's (its admission);
        // every other host's partitions are the layout's at formation (a join adds partitions
        // only on the joiners).
        let layout = (joined || bootstrap.member(member.id) == nil ? endpoints : nil) ?? bootstrap
        let slots = layout.slots(of: member.id)
        guard !slots.isEmpty else { throw fail(.notStartable("the layout gives host \(member.id.rawValue) no partitions")) }
        let engine = joined
            ? Engine(configuration: .init(partitions: slots, ring: layout.ring, participants: layout.participants))
            : Engine(configuration: .init(partitions: slots, partitionCount: layout.partitionCount))
        if !restarting {
            do throws(HostError) {
                try loadSchema(into: engine)
                if joined { try replaySchemaChanges(layout.ddl, into: engine) }
            } catch {
                engine.shutdown()
                throw fail(error)
            }
        }
        let mesh = Mesh(me: member.id, incarnation: incarnation, endpoint: myEndpoint, group: group,
                        heartbeatIntervalMillis: cluster.heartbeatIntervalMillis, log: { [self] in log($0) })
        let node = ClusterNode(me: member.id, incarnation: incarnation, engine: engine, mesh: mesh, bootstrap: bootstrap,
                               holding: layout, heartbeatTimeoutMillis: deployment.heartbeat.timeoutSeconds * 1000,
                               pacing: Host.pacing(deployment), restarted: restarting, services: self)
        let metadata: MetadataLog
        do throws(HostError) {
            metadata = try MetadataLog(me: member.id, bootstrap: bootstrap, path: clusterDirectory + "/raft.log", seed: incarnation,
                                       sendRaft: { [mesh] peer, bytes in mesh.send(.raft(bytes), to: peer) },
                                       onApply: { [node] state, command in node.applied(state, command) },
                                       log: { [self] in log($0) })
        } catch {
            engine.shutdown()
            throw fail(error)
        }
        node.attach(metadata)
        let runtime = Runtime(engine: engine, group: group, clientListener: clientListener, adminListener: adminListener,
                              startMillis: startedMillis, advertisedAddress: advertised, cluster: node,
                              internalListener: internalListener)
        phase.withLock { $0.runtime = runtime }
        if restarting {
            var rejoiner = member
            rejoiner.state = .rejoining
            node.needsRejoin(as: rejoiner)
        }
        node.start(endpoints: endpoints)
        // Only now do inbound mesh frames reach the node: its callbacks are in place.
        meshRef.withLock { $0 = mesh }
        if restarting {
            log("Waiting to rejoin: the cluster streams this host's replicas from their leaders")
            guard let outcome = rejoinOutcome.wait(timeoutMillis: cluster.formationTimeoutMillis) else {
                node.stop()
                engine.shutdown()
                throw fail(.notStartable("the rejoin did not finish within \(cluster.formationTimeoutMillis / 1000) s"))
            }
            if let reason = outcome {
                node.stop()
                engine.shutdown()
                throw fail(.notStartable("the rejoin failed: \(reason)"))
            }
            log("Rejoin complete: this host holds live replicas of \(slots.count) partitions")
        }
        if joined {
            // Serve once the metadata log has caught up to this host's admission, so routing and
            // the topology it publishes are the cluster's.
            node.joinerSitesReady()
            let deadline = Host.monotonicMillis() + Int64(cluster.formationTimeoutMillis)
            while node.state.member(member.id) == nil && Host.monotonicMillis() < deadline { usleep(20_000) }
            guard node.state.member(member.id) != nil else {
                node.stop()
                engine.shutdown()
                throw fail(.notStartable("the metadata log did not reach this host's admission within "
                    + "\(cluster.formationTimeoutMillis / 1000) s"))
            }
            log("Joined: the metadata log has caught up; this host's sites are ready for the rebalance")
        }
        let state = node.state
        // Serve once this host can reach every live peer, so its first calls find their replicas.
        let peers = state.liveMembers.filter { $0 != member.id }
        let meshDeadline = Host.monotonicMillis() + 10_000
        while !mesh.isConnected(to: peers) && Host.monotonicMillis() < meshDeadline { usleep(20_000) }
        publish(state, engine: engine)
        phase.withLock { $0.phase = .running }
        log("Cluster of \(state.members.count) hosts: this is host \(member.id.rawValue), replicas of partitions "
            + "\(slots.map { String($0.rawValue) }.joined(separator: ", ")); listening for clients on "
            + "\(clientInterface):\(clientListener.port), admin on \(adminInterface):\(adminListener.port)")
    }

    private func publish(_ state: ClusterState, engine: Engine) {
        let topology = state.topology
        published.withLock { p in
            p.topology = topology
            p.topoBytes = Host.encodedTables(topology.topoTables(ringBlob: engine.ring.configBlob))
            p.proceduresBytes = Host.encodedTables([SystemCatalogTables.procedures(engine.catalog)])
            p.catalogVersion = engine.catalog.version
        }
    }

    private func listenInternal(interface: String, port: Int, group: EventLoopGroup) throws(HostError) -> TCPListener {
        var configuration = NetConfiguration(log: { [options] line in options.log("net (internal port): \(line)") })
        configuration.maxFrameBytes = 256 << 20
        do {
            return try TCPListener(host: interface, port: port, group: group, configuration: configuration,
                                   onRejected: { _ in [] },
                                   makeHandler: { [self] _ in
                                       InternalPortHandler(mesh: { [self] in meshRef.withLock { $0 } },
                                                           onFormationRequest: { [self] c, r in formationRequested(c, r) },
                                                           onAddRequest: { [self] c, r, u in addRequested(c, r, unreachable: u) },
                                                           log: { [self] in log($0) })
                                   })
        } catch {
            if error.errno == EADDRINUSE { throw .portInUse(name: "internal", address: interface, port: port) }
            throw .bind(name: "internal", address: interface, port: port, reason: error.description)
        }
    }

    // MARK: Formation

    /// Forms the cluster (as its start-up coordinator, or with it); returns this host's id and the
    /// initial state.
    private func form(_ cluster: ClusterOptions, me: ClusterMember) throws(HostError) -> (HostID, ClusterState) {
        let endpoints = cluster.hosts.compactMap(ClusterOptions.parseEndpoint).sorted { ($0.host, $0.port) < ($1.host, $1.port) }
        guard let coordinator = endpoints.first else { throw .notStartable("--host names no valid host:port") }
        let myPort = ClusterMember.port(of: me.internalEndpoint)
        let isCoordinator = coordinator.port == myPort && Host.isLocal(coordinator.host, endpoint: me.internalEndpoint)
        if !isCoordinator { return try formWith(coordinator: coordinator, cluster, me: me) }
        if cluster.count == 1 {
            return (HostID(0), try initialState(FormationCore(expected: 0).members(coordinator: me)))
        }
        let formation = Formation(expected: cluster.count - 1)
        formationRef.withLock { $0 = formation }
        log("This host coordinates start-up: waiting on port \(myPort) for \(cluster.count - 1) more hosts to ask to form the cluster")
        guard formation.complete.wait(timeoutMillis: cluster.formationTimeoutMillis) != nil else {
            let have = formation.state.withLock { $0.core.requests.count }
            throw .notStartable("only \(have + 1) of \(cluster.count) hosts arrived to form the cluster within "
                + "\(cluster.formationTimeoutMillis / 1000) s")
        }
        let (members, connections) = formation.state.withLock { f in
            (f.core.members(coordinator: me), f.core.endpointsInIDOrder.compactMap { f.connections[$0] })
        }
        let state: ClusterState
        do throws(HostError) {
            state = try initialState(members)
        } catch {
            for connection in connections {
                connection.write(frame: PeerMessage.refused(error.description).encodeFrame())
                connection.closeAfterFlush()
            }
            throw error
        }
        let bytes = state.encoded()
        for (i, connection) in connections.enumerated() {
            connection.write(frame: PeerMessage.welcome(members[i + 1].id, bytes).encodeFrame())
        }
        return (HostID(0), state)
    }

    private func initialState(_ members: [ClusterMember]) throws(HostError) -> ClusterState {
        let deployment = root.deployment
        do {
            let state = try FormationCore.initialState(members: members, sitesPerHost: deployment.cluster.sitesPerHost,
                                                       kFactor: deployment.cluster.kFactor)
            log("Formed a cluster of \(members.count) hosts: \(state.partitionCount) partitions, K=\(state.kFactor); "
                + members.map { "host \($0.id.rawValue) at \($0.internalEndpoint)" }.joined(separator: ", "))
            return state
        } catch {
            throw .notStartable("cannot lay out the cluster: \(error)")
        }
    }

    /// Answers a host's formation or add request with `refused`, and closes the connection.
    private func refuse(_ connection: Connection, _ request: HostRequest, _ why: String) {
        log("Refusing host \(request.member.internalEndpoint): \(why)")
        connection.write(frame: PeerMessage.refused(why).encodeFrame())
        connection.closeAfterFlush()
    }

    /// Start-up coordinator: a host asks to form the cluster with it (on a loop thread).
    func formationRequested(_ connection: Connection, _ request: HostRequest) {
        guard let formation = formationRef.withLock({ $0 }) else {
            if runtime?.cluster != nil {
                refuse(connection, request, "the cluster has already formed; restart a failed host with its own root directory to rejoin it")
            } else {
                // Still starting: its internal port accepts before it has set up formation. No
                // answer, so the requester asks again shortly (a host that is not the start-up
                // coordinator at all is never ready, and the requester's formation times out
                // naming the coordinator it expected).
                log("Host at \(request.member.internalEndpoint) asked to form the cluster before this host was ready; it will ask again")
                connection.close()
            }
            return
        }
        let verdict = formation.state.withLock { f -> FormationCore.Verdict in
            let verdict = f.core.requested(request, mismatch: configurationMismatch(request, checker: "the coordinator"))
            // Counted requests are answered once the cluster has formed, on their own connection.
            if case .refused = verdict {} else { f.connections[request.member.internalEndpoint] = connection }
            return verdict
        }
        switch verdict {
        case .refused(let why):
            refuse(connection, request, why)
        case .counted(let have, let expected):
            log("Host at \(request.member.internalEndpoint) asked to form the cluster (\(have) of \(expected) more hosts)")
        case .complete:
            log("Host at \(request.member.internalEndpoint) asked to form the cluster: every host is here")
            formation.complete.set(true)
        }
    }

    /// Any host of a running cluster (on a loop thread): a fresh host started with `--add` asks for
    /// a place. A replacement when the cluster is missing a host: it gets the lowest failed host
    /// id, the cluster's initial and current state and the metadata log's term, and then rejoins
    /// exactly as that host restarted would. Otherwise it joins: the metadata coordinator parks it
    /// in the join buffer (`joinWaiting`) until K+1 have arrived and then admits it (`joinWelcome`).
    func addRequested(_ connection: Connection, _ request: HostRequest, unreachable: [HostID]) {
        guard let node = runtime?.cluster, let metadata = node.metadata, isRunning else {
            refuse(connection, request, "this host is not serving a running cluster yet")
            return
        }
        if let why = configurationMismatch(request, checker: "the cluster") {
            refuse(connection, request, why)
            return
        }
        let state = node.state
        let reserved = replacementsGiven.withLock { given -> HostID? in
            let now = Host.monotonicMillis()
            given = given.filter { now - $0.value < 60_000 }
            guard let id = state.members.filter({ $0.state == .failed && given[$0.id] == nil }).map(\.id).min() else { return nil }
            given[id] = now
            return id
        }
        guard let id = reserved else {
            connection.write(frame: node.joinAsked(request, unreachable: unreachable).encodeFrame())
            connection.closeAfterFlush()
            return
        }
        log("Host at \(request.member.internalEndpoint) takes the place of missing host \(id.rawValue)")
        connection.write(frame: PeerMessage.replace(id, bootstrap: node.bootstrap.encoded(), current: state.encoded(),
                                                    term: metadata.term).encodeFrame())
    }

    /// What `--add` was given.
    enum Place {
        /// A missing host's place: its id, the cluster's initial and current states, the log's term.
        case replacement(HostID, bootstrap: ClusterState, current: ClusterState, term: UInt64)
        /// A new host of the cluster, admitted by an elastic join: its id, the initial state and the
        /// current one (which holds its admission).
        case join(HostID, bootstrap: ClusterState, current: ClusterState)
    }

    /// `--add`: asks the running cluster (any --host that answers, then the metadata coordinator it
    /// names) for a place, about once a second, for as long as it is parked in the join buffer.
    /// Gives up only when no host answers for the formation timeout.
    private func askForPlace(_ cluster: ClusterOptions, me: ClusterMember) throws(HostError) -> Place {
        let given = cluster.hosts.compactMap(ClusterOptions.parseEndpoint)
        let request = hostRequest(me)
        var deadline = Host.monotonicMillis() + Int64(min(cluster.formationTimeoutMillis, 120_000))
        var lastProblem = "no host in --host answered"
        var coordinator: (host: String, port: Int)?
        var members: [ClusterMember] = []
        var lastStatus = ""
        while Host.monotonicMillis() < deadline {
            let unreachable = Host.unreachable(members.filter { $0.internalEndpoint != me.internalEndpoint })
            for endpoint in (coordinator.map { [$0] } ?? []) + given {
                func decode(_ bytes: [UInt8]) throws(HostError) -> ClusterState {
                    guard let state = try? ClusterState.decode(bytes) else { throw .notStartable("the cluster sent an undecodable state") }
                    return state
                }
                switch Host.ask(endpoint, .addRequest(request, unreachable: unreachable)) {
                case .answered(.replace(let id, let bootstrap, let current, let term)?):
                    return .replacement(id, bootstrap: try decode(bootstrap), current: try decode(current), term: term)
                case .answered(.joinWelcome(let id, let bootstrap, let current)?):
                    return .join(id, bootstrap: try decode(bootstrap), current: try decode(current))
                case .answered(.joinWaiting(let status, let named, let current)?):
                    // Parked: the cluster answers, so keep asking for as long as it takes.
                    deadline = Host.monotonicMillis() + Int64(min(cluster.formationTimeoutMillis, 120_000))
                    if let state = try? ClusterState.decode(current) { members = state.members.filter { $0.state != .failed } }
                    coordinator = named.isEmpty ? nil : ClusterNode.endpoint(named).map { ($0.host, $0.port) }
                    if status != lastStatus && status != "asking the metadata coordinator" {
                        log("Joining the cluster: \(status)")
                        lastStatus = status
                    }
                    if named.isEmpty || status != "asking the metadata coordinator" { break }
                    continue   // ask the coordinator it named right away
                case .answered(.refused(let why)?):
                    throw .notStartable("\(endpoint.host):\(endpoint.port) refused to add this host: \(why)")
                default:
                    lastProblem = "\(endpoint.host):\(endpoint.port) did not answer"
                    if coordinator.map({ $0 == endpoint }) == true { coordinator = nil }
                    continue
                }
                break
            }
            usleep(1_000_000)
        }
        throw .notStartable("cannot add this host to the cluster: \(lastProblem)")
    }

    /// The members whose internal port this host cannot connect to (each tried for up to 1 s).
    static func unreachable(_ members: [ClusterMember]) -> [HostID] {
        guard !members.isEmpty, let group = try? EventLoopGroup(loopCount: 1) else { return [] }
        defer { group.shutdown() }
        var missing: [HostID] = []
        for m in members {
            guard let peer = ClusterNode.endpoint(m.internalEndpoint),
                  let connection = try? TCPConnector.connect(host: peer.host, port: peer.port, group: group,
                                                             configuration: NetConfiguration(log: { _ in }), timeoutMillis: 1_000,
                                                             makeHandler: { _ in ReplyHandler(OneShot<PeerMessage?>()) }) else {
                missing.append(m.id)
                continue
            }
            connection.close()
        }
        return missing.sorted()
    }

    enum AskOutcome {
        /// No connection could be made.
        case unreachable
        /// The first frame back (nil: the connection closed, or nothing came in time).
        case answered(PeerMessage?)
    }

    /// Sends one message to `endpoint` on a connection of its own and waits, at most
    /// `timeoutMillis`, for the first frame back. `sent` runs once the message is on its way.
    static func ask(_ endpoint: (host: String, port: Int), _ message: PeerMessage, timeoutMillis: Int = 5_000,
                    sent: () -> Void = {}) -> AskOutcome {
        guard let group = try? EventLoopGroup(loopCount: 1) else { return .unreachable }
        defer { group.shutdown() }
        var configuration = NetConfiguration(log: { _ in })
        configuration.maxFrameBytes = 256 << 20
        let reply = OneShot<PeerMessage?>()
        guard let connection = try? TCPConnector.connect(host: endpoint.host, port: endpoint.port, group: group,
                                                         configuration: configuration, timeoutMillis: 1_000,
                                                         makeHandler: { _ in ReplyHandler(reply) }) else { return .unreachable }
        defer { connection.close() }
        connection.write(frame: message.encodeFrame())
        sent()
        return .answered(reply.wait(timeoutMillis: timeoutMillis) ?? nil)
    }

    /// A replacing host starts its metadata log at the cluster's term, having voted for itself in
    /// it: its seat was the missing host's, which may have voted in this term already, and a
    /// second vote in one term could elect two coordinators.
    private func seedMetadataLog(term: UInt64, me: HostID) throws(HostError) {
        let record = RaftDiskRecord.encodeFramed(.hardState(HardState(currentTerm: Term(term), votedFor: me)))
        do {
            try Data(record).write(to: URL(fileURLWithPath: clusterDirectory + "/raft.log"), options: .atomic)
        } catch {
            throw .notStartable("cannot write \(clusterDirectory)/raft.log: \(error)")
        }
    }

    /// A joiner starts its metadata log empty: the coordinator sends it the whole log, and it
    /// never voted in any term (it was in no configuration).
    private func startMetadataLogEmpty() throws(HostError) {
        do {
            try Data().write(to: URL(fileURLWithPath: clusterDirectory + "/raft.log"), options: .atomic)
        } catch {
            throw .notStartable("cannot write \(clusterDirectory)/raft.log: \(error)")
        }
    }

    /// A joiner's catalog: its schema files (the same as the cluster's, checked), then every
    /// schema change the cluster made since, in order.
    private func replaySchemaChanges(_ ddl: [String], into engine: Engine) throws(HostError) {
        for (i, text) in ddl.enumerated() {
            let result = engine.adHoc(text)
            guard result.succeeded else {
                throw .notStartable("cannot apply the cluster's schema change \(i + 1) of \(ddl.count): "
                    + (result.statusString ?? result.status.description))
            }
        }
        if !ddl.isEmpty { log("Applied the cluster's \(ddl.count) schema changes since it formed") }
    }

    /// The rebalance pace `<systemsettings><elastic duration throughput>` asks for (throughput 0:
    /// full speed).
    static func pacing(_ deployment: Deployment) -> RebalancePacing {
        RebalancePacing(stepMillis: deployment.systemSettings.elasticDurationMillis,
                        megabytesPerSecond: deployment.systemSettings.elasticThroughputMBPerSecond)
    }

    /// What this host asks with: its member record, deployment and schema.
    private func hostRequest(_ me: ClusterMember) -> HostRequest {
        HostRequest(member: me, configHash: root.deployment.configHash, deploymentText: deploymentText, schemaHash: schemaHash)
    }

    /// Why a requesting host's deployment or schema does not match this host's (`checker`, as the
    /// message names it), or nil when both do.
    private func configurationMismatch(_ request: HostRequest, checker: String) -> String? {
        request.mismatch(configHash: root.deployment.configHash, deploymentText: deploymentText, schemaHash: schemaHash,
                         checker: checker)
    }

    /// Asks the start-up coordinator at `coordinator` to form the cluster with this host; retries
    /// the connection until the deadline.
    private func formWith(coordinator: (host: String, port: Int), _ cluster: ClusterOptions, me: ClusterMember) throws(HostError)
        -> (HostID, ClusterState) {
        let deadline = Host.monotonicMillis() + Int64(cluster.formationTimeoutMillis)
        let request = hostRequest(me)
        var reported = false
        while Host.monotonicMillis() < deadline {
            let remaining = Int(deadline - Host.monotonicMillis())
            let outcome = Host.ask(coordinator, .formationRequest(request), timeoutMillis: max(1, remaining)) { [self] in
                log("Asked the start-up coordinator at \(coordinator.host):\(coordinator.port) to form the cluster; "
                    + "waiting for \(cluster.count) hosts")
            }
            switch outcome {
            case .unreachable:
                if !reported {
                    log("Waiting for the start-up coordinator at \(coordinator.host):\(coordinator.port)")
                    reported = true
                }
                usleep(300_000)
            case .answered(.refused(let why)?):
                throw .notStartable("the start-up coordinator at \(coordinator.host):\(coordinator.port) refused this host: \(why)")
            case .answered(.welcome(let id, let bytes)?):
                do {
                    return (id, try ClusterState.decode(bytes))
                } catch {
                    throw .notStartable("the start-up coordinator sent an undecodable cluster state: \(error)")
                }
            case .answered:
                usleep(300_000)   // the coordinator went away before answering; try again
            }
        }
        throw .notStartable("the cluster did not form within \(cluster.formationTimeoutMillis / 1000) s "
            + "(start-up coordinator \(coordinator.host):\(coordinator.port))")
    }

    static func isLocal(_ host: String, endpoint: String) -> Bool {
        host.hasPrefix("127.") || host == "::1" || endpoint.hasPrefix(host + ":") || host == Host.advertisedAddress(for: "0.0.0.0")
    }

    // MARK: Identity

    /// This host's id, the cluster's initial state and, for a host that joined, the state that
    /// admitted it (which holds its partitions).
    private func loadIdentity() throws(HostError) -> (HostID, ClusterState, ClusterState?)? {
        let identity = clusterDirectory + "/identity"
        guard let text = try? String(contentsOfFile: identity, encoding: .utf8) else { return nil }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("hostid=") }),
              let id = Int32(line.dropFirst("hostid=".count)) else {
            throw .notStartable("\(identity) is damaged; re-initialize this host with voltctl init --force")
        }
        guard let data = FileManager.default.contents(atPath: clusterDirectory + "/bootstrap"),
              let state = try? ClusterState.decode(Array(data)) else {
            throw .notStartable("\(clusterDirectory)/bootstrap is missing or damaged; re-initialize this host with voltctl init --force")
        }
        var admission: ClusterState?
        if let data = FileManager.default.contents(atPath: clusterDirectory + "/admission") {
            guard let state = try? ClusterState.decode(Array(data)) else {
                throw .notStartable("\(clusterDirectory)/admission is damaged; re-initialize this host with voltctl init --force")
            }
            admission = state
        }
        return (HostID(id), state, admission)
    }

    private func saveIdentity(_ id: HostID, _ state: ClusterState, admission: ClusterState? = nil) throws(HostError) {
        do {
            try FileManager.default.createDirectory(atPath: clusterDirectory, withIntermediateDirectories: true)
            try Data(state.encoded()).write(to: URL(fileURLWithPath: clusterDirectory + "/bootstrap"), options: .atomic)
            if let admission {
                try Data(admission.encoded()).write(to: URL(fileURLWithPath: clusterDirectory + "/admission"), options: .atomic)
            }
            try Data("hostid=\(id.rawValue)\n".utf8).write(to: URL(fileURLWithPath: clusterDirectory + "/identity"), options: .atomic)
        } catch {
            throw .notStartable("cannot record the cluster identity in \(clusterDirectory): \(error)")
        }
    }
}

/// Waits for the first frame on a connection this host dialed (the answer to a formation or add
/// request).
private final class ReplyHandler: ConnectionHandler {
    let reply: OneShot<PeerMessage?>
    var answered = false
    init(_ reply: OneShot<PeerMessage?>) { self.reply = reply }
    func onFrame(_ connection: Connection, _ body: ArraySlice<UInt8>) {
        guard !answered else { return }
        answered = true
        reply.set(try? PeerMessage.decode(body))
    }
    func onClose(_ connection: Connection, reason: CloseReason) {
        if !answered {
            answered = true
            reply.set(nil)
        }
    }
}

extension ClusterMember {
    static func port(of endpoint: String) -> Int {
        endpoint.lastIndex(of: ":").flatMap { Int(endpoint[endpoint.index(after: $0)...]) } ?? 0
    }
}

// MARK: Services

extension Host: ClusterHostServices {
    func executeCall(_ invocation: Invocation, options: CallOptions, completion: @escaping @Sendable (InvocationResult) -> Void) {
        guard let runtime else {
            completion(InvocationResult(status: .serverUnavailable, statusString: "the host is stopping"))
            return
        }
        executeCall(invocation, options: options, runtime: runtime, completion: completion)
    }

    func dataTarget(_ invocation: Invocation) -> CallTarget {
        guard let runtime else { return .anywhere }
        let engine = runtime.engine
        let p = invocation.parameters
        switch invocation.procedure.lowercased() {
        case "@adhoc":
            guard let sql = Host.stringParameter(p, 0),
                  let values = try? WireParameter.engineValues(Array(p.dropFirst()), procedure: "@AdHoc") else { return .anywhere }
            return engine.adHocTarget(sql, params: values)
        case "@loadmultipartitiontable", "@placementchange":
            return .multi
        case "@loadsinglepartitiontable":
            return loadSinglePartitionTarget(p, runtime: runtime)
        default:
            guard let procedure = engine.procedure(named: invocation.procedure),
                  let values = try? WireParameter.engineValues(p, procedure: invocation.procedure) else { return .anywhere }
            return partition(of: procedure, values, engine: engine).map { .partition($0) } ?? .multi
        }
    }

    func clusterStateChanged(_ state: ClusterState) {
        guard isRunning else { return }
        // A subscribed client answers a push by re-reading the topology from any host; delaying the
        // push a moment lets the other hosts apply the same entry first, so that read is not older
        // than the push. A burst of entries is coalesced (PushCoalescer).
        updateTopology(state.topology, pushDelayMillis: Host.clusterPushSettleMillis)
    }

    func clusterFatal(_ reason: String) {
        rejoinOutcome.setIfUnset(reason)
        if let onFatal = options.onFatal {
            onFatal(reason)
        } else {
            stopInBackground()
        }
    }

    func rejoinCompleted() {
        rejoinOutcome.setIfUnset(nil)
    }

    func localStatistics(_ selector: String) -> ResultTable? {
        guard let runtime else { return nil }
        let now = Engine.wallClockMicros() / 1000
        switch selector {
        case "TABLE": return tableStatistics(runtime, now: now)
        case "MEMORY": return memoryStatistics(runtime, now: now)
        case "REBALANCE": return rebalanceStatistics(runtime, now: now)
        case "JOINERS": return joinerStatistics(runtime, now: now)
        default: return nil
        }
    }
}
