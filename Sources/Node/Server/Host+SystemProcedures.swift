// The system procedures the VoltDB clients and tools call (docs/PROTOCOL.md §5):
// @Ping, @AdHoc, @SystemInformation, @Statistics, @SystemCatalog, @GetPartitionKeys, @Subscribe,
// @Pause, @Resume, @Shutdown, and the bulk loaders (Host+BulkLoad.swift). Any other name starting
// with "@" is UNEXPECTED_FAILURE "Procedure @X was not found", as in Java.
//
// Selectors are case-insensitive. A missing or wrong selector, or a parameter of the wrong kind, is
// GRACEFUL_FAILURE with a message that lists what is accepted. Work that visits every site
// (TABLE and MEMORY statistics) or is CPU-heavy the first time (@GetPartitionKeys) runs on the
// host's utility queue, never on the connection's event loop.

import Dispatch
import Foundation
import VoltModel
import VoltWire

extension Host {
    /// The permission a system procedure call needs, or nil for the read-only ones anyone may call.
    static func permissionNeeded(_ name: String, _ p: [WireParameter]) -> Permissions? {
        switch name.lowercased() {
        case "@pause", "@resume", "@shutdown": return .admin
        case "@loadsinglepartitiontable", "@loadmultipartitiontable": return .defaultProcedures
        case "@adhoc":
            let statements = SQLScript.split(stringParameter(p, 0) ?? "")
            return statements.contains(where: SQLScript.isDDL) ? .admin : .sql
        default: return nil
        }
    }

    func runSystemProcedure(_ name: String, _ invocation: Invocation, session: SessionRecord, runtime: Runtime,
                            reply: @escaping Reply) {
        let p = invocation.parameters
        if let needed = Host.permissionNeeded(name, p), !session.permissions.contains(needed) {
            reply(Permissions.refusal(user: session.user, needed: needed, what: name))
            return
        }
        switch name.lowercased() {
        case "@ping":
            reply(InvocationResult(status: .success, tables: [Host.statusTable]))
        case "@adhoc":
            adHoc(invocation, session: session, runtime: runtime, reply: reply)
        case "@systeminformation":
            let selector = (p.isEmpty ? "OVERVIEW" : Host.stringParameter(p, 0) ?? "").uppercased()
            switch selector {
            case "OVERVIEW": reply(InvocationResult(status: .success, tables: [overviewTable(runtime)]))
            case "DEPLOYMENT": reply(InvocationResult(status: .success, tables: [deploymentTable(runtime)]))
            default: reply(Host.badSelector("@SystemInformation", p, accepted: ["OVERVIEW", "DEPLOYMENT"]))
            }
        case "@statistics":
            statistics(p, runtime: runtime, reply: reply)
        case "@systemcatalog":
            guard let selector = Host.stringParameter(p, 0)?.uppercased(),
                  let table = SystemCatalogTables.table(selector, runtime.engine.catalog) else {
                reply(Host.badSelector("@SystemCatalog", p, accepted: SystemCatalogTables.selectors))
                return
            }
            reply(InvocationResult(status: .success, tables: [table]))
        case "@getpartitionkeys":
            getPartitionKeys(p, runtime: runtime, reply: reply)
        case "@subscribe":
            guard p.count == 1, Host.stringParameter(p, 0)?.uppercased() == "TOPOLOGY" else {
                reply(InvocationResult(status: .gracefulFailure,
                    statusString: "@Subscribe takes one parameter, the subscription: TOPOLOGY (got \(Host.describe(p)))"))
                return
            }
            session.subscribed.store(true, ordering: .releasing)
            reply(InvocationResult(status: .success))
        case "@pause":
            if !pausedFlag.exchange(true, ordering: .acquiringAndReleasing) {
                log("Paused by connection \(session.connection.id.rawValue): the client port refuses work until @Resume")
            }
            reply(InvocationResult(status: .success, tables: [Host.statusTable]))
        case "@resume":
            if pausedFlag.exchange(false, ordering: .acquiringAndReleasing) {
                log("Resumed by connection \(session.connection.id.rawValue)")
            }
            reply(InvocationResult(status: .success, tables: [Host.statusTable]))
        case "@shutdown":
            log("@Shutdown called by connection \(session.connection.id.rawValue) from \(session.connection.remoteAddress)")
            reply(InvocationResult(status: .success, tables: [Host.statusTable]))
            stopInBackground()
        case "@loadsinglepartitiontable":
            if refusesWorkWhilePaused(session) { reply(InvocationResult(status: .serverUnavailable, statusString: Host.pausedMessage)); return }
            loadSinglePartitionTable(p, runtime: runtime, invocation: invocation, reply: reply)
        case "@loadmultipartitiontable":
            if refusesWorkWhilePaused(session) { reply(InvocationResult(status: .serverUnavailable, statusString: Host.pausedMessage)); return }
            loadMultiPartitionTable(p, runtime: runtime, invocation: invocation, reply: reply)
        default:
            reply(InvocationResult(status: .unexpectedFailure, statusString: "Procedure \(name) was not found"))
        }
    }

    /// VoltDB's one-row `STATUS BIGINT 0` table of administrative procedures.
    static let statusTable = ResultTable(columns: [.init("STATUS", .bigint)], rows: [[.integer(0)]])

    static func stringParameter(_ p: [WireParameter], _ i: Int) -> String? {
        guard i < p.count, case .value(.string(let s), _) = p[i] else { return nil }
        return s
    }

    static func describe(_ p: [WireParameter]) -> String {
        p.isEmpty ? "no parameters" : p.map { param -> String in
            if case .value(let v, _) = param { return v.isNull ? "NULL" : "\"\(v)\"" }
            return "a \(param.wireType.name) parameter"
        }.joined(separator: ", ")
    }

    static func badSelector(_ procedure: String, _ p: [WireParameter], accepted: [String]) -> InvocationResult {
        InvocationResult(status: .gracefulFailure,
            statusString: "Invalid \(procedure) selector (got \(describe(p))): use one of \(accepted.joined(separator: ", "))")
    }

    // MARK: @AdHoc

    private func adHoc(_ invocation: Invocation, session: SessionRecord, runtime: Runtime, reply: @escaping Reply) {
        let p = invocation.parameters
        if refusesWorkWhilePaused(session) {
            reply(InvocationResult(status: .serverUnavailable, statusString: Host.pausedMessage))
            return
        }
        guard let sql = Host.stringParameter(p, 0) else {
            reply(InvocationResult(status: .gracefulFailure,
                statusString: "@AdHoc takes the SQL text as its first parameter, a STRING (got \(Host.describe(p)))"))
            return
        }
        let values: [Value]
        do {
            values = try WireParameter.engineValues(Array(p.dropFirst()), procedure: "@AdHoc")
        } catch {
            reply(InvocationResult(status: .gracefulFailure, statusString: error.description))
            return
        }
        let engine = runtime.engine
        let started = Host.monotonicNanos()
        let stats = self.stats
        let recorded: Reply = { [self] result in
            stats.recordProcedure("@AdHoc", partition: .multiPartitionInitiator, status: result.status,
                                  nanos: Host.monotonicNanos() - started)
            reply(result)
            if result.succeeded { publishCatalogIfChanged(engine) }
        }
        runData(invocation, target: engine.adHocTarget(sql, params: values), runtime: runtime, reply: recorded) { options, done in
            engine.adHoc(sql, params: values, options: options, completion: done)
        }
    }

    // MARK: @GetPartitionKeys

    private func getPartitionKeys(_ p: [WireParameter], runtime: Runtime, reply: @escaping Reply) {
        let requested = Host.stringParameter(p, 0)?.uppercased()
        let type: SQLType? = switch requested {
        case "INTEGER": .integer
        case "STRING", "VARCHAR": .varchar
        case "VARBINARY": .varbinary
        default: nil
        }
        guard p.count == 1, let type else {
            reply(InvocationResult(status: .gracefulFailure,
                statusString: "Type \(Host.describe(p)) is not a supported type of partition key: "
                    + "@GetPartitionKeys takes INTEGER, STRING (or VARCHAR) or VARBINARY"))
            return
        }
        if let cached = partitionKeyCache.withLock({ $0[type] }) {
            reply(InvocationResult(status: .success, tables: [cached]))
            return
        }
        let ring = runtime.engine.ring
        utilityQueue.async { [self] in
            let rows: [[Value]] = ring.partitionKeys(for: type).map { [.integer(Int64($0.partition.rawValue)), $0.key] }
            let table = ResultTable(columns: [.init("PARTITION_ID", .integer), .init("PARTITION_KEY", type)], rows: rows)
            partitionKeyCache.withLock { $0[type] = table }
            reply(InvocationResult(status: .success, tables: [table]))
        }
    }

    // MARK: @SystemInformation

    func overviewTable(_ runtime: Runtime) -> ResultTable {
        let topology = self.topology
        let deployment = root.deployment
        var rows: [[Value]] = []
        // In a cluster every member is listed, failed and rejoining ones with their state, so that
        // operators see what is missing; a single host lists itself.
        let clusterState = runtime.cluster?.state
        let listed: [(host: Topology.Host, nodeState: String?, startedMillis: Int64?)] = clusterState.map { state in
            state.members.map { m in
                let live = state.partitions.filter { $0.replicas.contains(m.id) && $0.live.contains(m.id) }.count
                let nodeState = switch m.state {
                case .live: "RUNNING"
                case .failed: "MISSING"
                case .rejoining: "REJOINING (\(live) of \(state.slots(of: m.id).count) partitions)"
                case .joining: "JOINING"
                }
                return (Topology.Host(id: m.id, address: m.address, hostname: m.hostname, clientPort: m.clientPort, adminPort: m.adminPort),
                        nodeState, m.state == .live ? m.startedMillis : nil)
            }
        } ?? (topology?.hosts ?? []).map { ($0, nil, nil) }
        for (host, nodeState, startedMillis) in listed {
            func add(_ key: String, _ value: String) { rows.append([.integer(Int64(host.id.rawValue)), .string(key), .string(value)]) }
            add("IPADDRESS", host.address)
            add("HOSTNAME", host.hostname)
            add("CLIENTINTERFACE", options.clientInterface ?? "")
            add("CLIENTPORT", String(host.clientPort))
            add("ADMININTERFACE", options.adminInterface ?? "")
            add("ADMINPORT", String(host.adminPort))
            if let nodeState { add("NODESTATE", nodeState) }
            guard host.id == hostID else {
                if let startedMillis { add("UPTIME", Host.uptimeText(millis: Engine.wallClockMicros() / 1000 - startedMillis)) }
                continue
            }
            add("HTTPINTERFACE", "")
            add("HTTPPORT", String(options.httpPort))
            add("INTERNALINTERFACE", "")
            add("INTERNALPORT", String(options.internalPort))
            add("PUBLICINTERFACE", "")
            add("BUILDSTRING", Host.buildString)
            add("VERSION", Host.version)
            add("DEPLOYMENT", root.deploymentFile)
            add("CLUSTERSTATE", isPaused ? "PAUSED" : "RUNNING")
            add("CLUSTERSAFETY", "FULL")
            add("INITIALIZED", "true")
            add("REPLICATIONROLE", "NONE")
            add("STARTTIME", String(runtime.startMillis))
            add("UPTIME", Host.uptimeText(millis: Engine.wallClockMicros() / 1000 - runtime.startMillis))
            add("KFACTOR", String(deployment.cluster.kFactor))
            add("SITESPERHOST", String(deployment.cluster.sitesPerHost))
            add("FULLCLUSTERSIZE", String(clusterState?.members.count ?? topology?.hosts.count ?? 1))
            add("PLACEMENTGROUP", options.cluster?.placementGroup ?? "0")
            add("VOLTDBROOT", root.path)
            add("CPUCORES", String(ProcessInfo.processInfo.activeProcessorCount))
            add("MEMORY", String(ProcessInfo.processInfo.physicalMemory / 1024))
        }
        return ResultTable(columns: [.init("HOST_ID", .integer), .init("KEY", .varchar), .init("VALUE", .varchar)], rows: rows)
    }

    /// VoltDB's "D days HH:MM:SS.mmm".
    static func uptimeText(millis: Int64) -> String {
        let ms = max(0, millis)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let frac = ms % 1000
        let fracText = frac < 10 ? "00\(frac)" : (frac < 100 ? "0\(frac)" : "\(frac)")
        let s = ms / 1000
        return "\(s / 86_400) days \(two(s / 3600 % 24)):\(two(s / 60 % 60)):\(two(s % 60)).\(fracText)"
    }

    func deploymentTable(_ runtime: Runtime) -> ResultTable {
        let d = root.deployment
        let rows: [(String, String)] = [
            ("voltdbroot", root.path),
            ("hostcount", String(topology?.hosts.count ?? 1)),
            ("kfactor", String(d.cluster.kFactor)),
            ("sitesperhost", String(d.cluster.sitesPerHost)),
            ("httpenabled", String(d.httpd.enabled)),
            ("httpport", String(options.httpPort)),
            ("jsonenabled", String(d.httpd.jsonAPIEnabled)),
            ("snapshotpath", root.resolve(d.paths.snapshots)),
            ("snapshotenabled", String(d.snapshot.enabled)),
            ("snapshotfrequency", d.snapshot.frequency.description),
            ("snapshotprefix", d.snapshot.prefix),
            ("snapshotretain", String(d.snapshot.retain)),
            ("exportoverflowpath", root.resolve(d.paths.exportOverflow)),
            ("droverflowpath", root.resolve(d.paths.drOverflow)),
            ("largequeryswappath", root.resolve(d.paths.largeQuerySwap)),
            ("partitiondetection", String(d.partitionDetection.enabled)),
            ("heartbeattimeout", String(d.heartbeat.timeoutSeconds)),
            ("adminport", String(runtime.adminListener.port)),
            ("commandlogenabled", String(d.commandLog.enabled)),
            ("commandlogmode", d.commandLog.synchronous ? "sync" : "async"),
            ("commandlogfreqtime", String(d.commandLog.frequencyTimeMillis)),
            ("commandlogfreqtxns", String(d.commandLog.frequencyTransactions)),
            ("commandlogpath", root.resolve(d.paths.commandLog)),
            ("commandlogsnapshotpath", root.resolve(d.paths.commandLogSnapshot)),
            ("users", d.users.map(\.name).joined(separator: ",")),
            ("securityenabled", String(d.security.enabled)),
            ("elasticduration", String(d.systemSettings.elasticDurationMillis)),
            ("elasticthroughput", String(d.systemSettings.elasticThroughputMBPerSecond)),
            ("snapshotpriority", String(d.systemSettings.snapshotPriority)),
            ("temptablesmaxsize", String(d.systemSettings.tempTablesMaxSizeMB)),
            ("querytimeout", String(d.systemSettings.queryTimeoutMillis)),
        ]
        return ResultTable(columns: [.init("PROPERTY", .varchar), .init("VALUE", .varchar)],
                           rows: rows.map { [.string($0.0), .string($0.1)] })
    }
}
