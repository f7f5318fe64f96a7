// `@Statistics selector interval` (docs/PROTOCOL.md §12.8; column lists from VoltDB's
// statistics sources and regression suites): TOPO, PARTITIONCOUNT, TABLE, MEMORY, PROCEDURE,
// LATENCY, LIVECLIENTS, KSAFETY and REBALANCE. Every selector answers cumulative figures; the interval flag is
// accepted (Java requires it) and only TOPO gives it a meaning (0 = binary hash config, the only
// form offered). Memory figures are in KiB and execution times in nanoseconds, latencies in
// microseconds, as in VoltDB.
//
// JOINERS is ours: the hosts waiting in the join buffer, from the coordinator (`voltctl status`
// lists them). REBALANCE has VoltDB's columns (VoltModel's RebalanceRow, which `voltctl status` reads too) and
// one row while an elastic join runs, from the host that coordinates it (gathered from every host
// like TABLE); no row otherwise.
//
// Rows are in a fixed order: TABLE by partition then table name, PROCEDURE by procedure name then
// partition, LIVECLIENTS by connection id.

import Foundation
import Glibc
import VoltModel
import VoltWire

extension Host {
    static let statisticsSelectors = ["JOINERS", "KSAFETY", "LATENCY", "LIVECLIENTS", "MEMORY", "PARTITIONCOUNT",
                                      "PROCEDURE", "REBALANCE", "TABLE", "TOPO"]

    func statistics(_ p: [WireParameter], runtime: Runtime, reply: @escaping Reply) {
        guard (1...2).contains(p.count), let selector = Host.stringParameter(p, 0)?.uppercased() else {
            reply(InvocationResult(status: .gracefulFailure,
                statusString: "Incorrect number of arguments to @Statistics (expects 2, received \(p.count)): "
                    + "a selector (\(Host.statisticsSelectors.joined(separator: ", "))) and an interval flag, 0 or 1"))
            return
        }
        let now = Engine.wallClockMicros() / 1000
        switch selector {
        case "TOPO":
            let tables = topology?.topoTables(ringBlob: runtime.engine.ring.configBlob) ?? []
            reply(InvocationResult(status: .success, tables: tables))
        case "PARTITIONCOUNT":
            let table = ResultTable(columns: hostColumns + [.init("PARTITION_COUNT", .integer)],
                                    rows: [hostCells(now) + [.integer(Int64(runtime.engine.ring.partitionCount))]])
            reply(InvocationResult(status: .success, tables: [table]))
        case "TABLE":
            utilityQueue.async { [self] in
                let local = tableStatistics(runtime, now: now)
                reply(InvocationResult(status: .success, tables: [runtime.cluster?.gatherStatistics("TABLE", local: local) ?? local]))
            }
        case "MEMORY":
            utilityQueue.async { [self] in
                let local = memoryStatistics(runtime, now: now)
                reply(InvocationResult(status: .success, tables: [runtime.cluster?.gatherStatistics("MEMORY", local: local) ?? local]))
            }
        case "KSAFETY":
            reply(InvocationResult(status: .success, tables: [kSafetyStatistics(runtime, now: now)]))
        case "PROCEDURE":
            reply(InvocationResult(status: .success, tables: [procedureStatistics(now: now)]))
        case "LATENCY":
            reply(InvocationResult(status: .success, tables: [latencyStatistics(runtime, now: now)]))
        case "REBALANCE":
            utilityQueue.async { [self] in
                let local = rebalanceStatistics(runtime, now: now)
                reply(InvocationResult(status: .success, tables: [runtime.cluster?.gatherStatistics("REBALANCE", local: local) ?? local]))
            }
        case "JOINERS":
            utilityQueue.async { [self] in
                let local = joinerStatistics(runtime, now: now)
                reply(InvocationResult(status: .success, tables: [runtime.cluster?.gatherStatistics("JOINERS", local: local) ?? local]))
            }
        case "LIVECLIENTS":
            reply(InvocationResult(status: .success, tables: liveClientsStatistics(runtime, now: now)))
        default:
            reply(InvocationResult(status: .gracefulFailure,
                statusString: "Invalid @Statistics selector \(selector): use one of \(Host.statisticsSelectors.joined(separator: ", "))"))
        }
    }

    /// VoltDB's REBALANCE: one row, from the host that coordinates a join while it runs; none
    /// otherwise.
    func rebalanceStatistics(_ runtime: Runtime, now: Int64) -> ResultTable {
        RebalanceRow.table(runtime.cluster?.joinStatistics.map { [$0.row(timestampMillis: now)] } ?? [])
    }

    /// Ours (VoltDB has no such selector): the hosts waiting in the join buffer, one row each, from
    /// the host that coordinates the metadata log; none elsewhere.
    func joinerStatistics(_ runtime: Runtime, now: Int64) -> ResultTable {
        let columns = hostColumns + [.init("ENDPOINT", .varchar), .init("PLACEMENT_GROUP", .varchar),
                                     .init("WAITING_MILLIS", .bigint), .init("STATUS", .varchar)]
        return ResultTable(columns: columns, rows: (runtime.cluster?.waitingJoiners(nowMillis: now) ?? []).map { w in
            hostCells(now) + [.string(w.joiner.request.endpoint), .string(w.joiner.request.placementGroup),
                              .integer(max(0, now - w.joiner.arrivedMillis)), .string(w.verdict.description)]
        })
    }

    /// VoltDB's KSAFETY: one row per partition with the replicas it is missing (K+1 minus the
    /// live ones). A single host has K = 0 and misses nothing.
    func kSafetyStatistics(_ runtime: Runtime, now: Int64) -> ResultTable {
        let columns = hostColumns + [.init("PARTITION_ID", .integer), .init("MISSING_REPLICA", .integer)]
        guard let state = runtime.cluster?.state else {
            return ResultTable(columns: columns, rows: runtime.engine.partitions.map { hostCells(now) + [.integer(Int64($0.rawValue)), .integer(0)] })
        }
        return ResultTable(columns: columns, rows: state.partitions.map { p in
            hostCells(now) + [.integer(Int64(p.id.rawValue)), .integer(Int64(state.kFactor + 1 - p.live.count))]
        })
    }

    private var hostColumns: [ResultTable.Column] {
        [.init("TIMESTAMP", .bigint), .init("HOST_ID", .integer), .init("HOSTNAME", .varchar)]
    }

    private func hostCells(_ now: Int64) -> [Value] {
        [.integer(now), .integer(Int64(hostID.rawValue)), .string(Host.hostname())]
    }

    private func siteID(of partition: PartitionID) -> Int64 {
        Int64(topology?.partitions.first { $0.id == partition }?.replicas.first { $0.host == hostID }?.site.rawValue ?? partition.rawValue)
    }

    private struct TableFigures: Sendable {
        var name: String
        var rows: Int
        var memoryBytes: Int
    }

    func tableStatistics(_ runtime: Runtime, now: Int64) -> ResultTable {
        let engine = runtime.engine
        let catalog = engine.catalog
        let perSite = engine.onEverySite { partition, store in
            (partition, store.tableNames.compactMap { name in
                store.table(named: name).map { TableFigures(name: name, rows: $0.rowCount, memoryBytes: $0.memoryBytes) }
            })
        }
        let columns = hostColumns + [
            .init("SITE_ID", .integer), .init("PARTITION_ID", .bigint), .init("TABLE_NAME", .varchar),
            .init("TABLE_TYPE", .varchar), .init("TUPLE_COUNT", .bigint), .init("TUPLE_ALLOCATED_MEMORY", .bigint),
            .init("TUPLE_DATA_MEMORY", .bigint), .init("STRING_DATA_MEMORY", .bigint), .init("TUPLE_LIMIT", .integer),
            .init("PERCENT_FULL", .integer), .init("DR", .varchar), .init("EXPORT", .varchar),
        ]
        var rows: [[Value]] = []
        for (partition, tables) in perSite {
            for t in tables {
                let limit = catalog.table(named: t.name)?.limitPartitionRows
                let percent: Value = limit.map { .integer(Int64($0 > 0 ? min(100, t.rows * 100 / $0) : 0)) } ?? .integer(0)
                rows.append(hostCells(now) + [
                    .integer(siteID(of: partition)), .integer(Int64(partition.rawValue)), .string(t.name),
                    .string("PersistentTable"), .integer(Int64(t.rows)), .integer(Int64(t.memoryBytes / 1024)),
                    .integer(Int64(t.memoryBytes / 1024)), .integer(0), limit.map { .integer(Int64($0)) } ?? .null,
                    percent, .string("DISABLED"), .string("FALSE"),
                ])
            }
        }
        return ResultTable(columns: columns, rows: rows)
    }

    func memoryStatistics(_ runtime: Runtime, now: Int64) -> ResultTable {
        let figures = runtime.engine.onEverySite { _, store in (store.rowCount, store.memoryBytes) }
        let tuples = figures.reduce(0) { $0 + $1.0 }
        let bytes = figures.reduce(0) { $0 + $1.1 }
        let columns = hostColumns + [
            .init("RSS", .integer), .init("JAVAUSED", .integer), .init("JAVAUNUSED", .integer), .init("TUPLEDATA", .bigint),
            .init("TUPLEALLOCATED", .bigint), .init("INDEXMEMORY", .bigint), .init("STRINGMEMORY", .bigint),
            .init("TUPLECOUNT", .bigint), .init("POOLEDMEMORY", .bigint), .init("PHYSICALMEMORY", .bigint),
            .init("JAVAMAXHEAP", .integer),
        ]
        let row = hostCells(now) + [
            .integer(Int64(min(Host.residentKiB(), Int(Int32.max)))), .integer(0), .integer(0), .integer(Int64(bytes / 1024)),
            .integer(Int64(bytes / 1024)), .integer(0), .integer(0), .integer(Int64(tuples)), .integer(0),
            .integer(Int64(ProcessInfo.processInfo.physicalMemory / 1024)), .integer(0),
        ]
        return ResultTable(columns: columns, rows: [row])
    }

    /// Resident set size of this process in KiB, from /proc/self/statm.
    static func residentKiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }

    func procedureStatistics(now: Int64) -> ResultTable {
        let columns = hostColumns + [
            .init("SITE_ID", .integer), .init("PARTITION_ID", .integer), .init("PROCEDURE", .varchar),
            .init("INVOCATIONS", .bigint), .init("TIMED_INVOCATIONS", .bigint), .init("MIN_EXECUTION_TIME", .bigint),
            .init("MAX_EXECUTION_TIME", .bigint), .init("AVG_EXECUTION_TIME", .bigint), .init("MIN_RESULT_SIZE", .integer),
            .init("MAX_RESULT_SIZE", .integer), .init("AVG_RESULT_SIZE", .integer), .init("MIN_PARAMETER_SET_SIZE", .integer),
            .init("MAX_PARAMETER_SET_SIZE", .integer), .init("AVG_PARAMETER_SET_SIZE", .integer), .init("ABORTS", .bigint),
            .init("FAILURES", .bigint), .init("TRANSACTIONAL", .tinyint), .init("COMPOUND", .tinyint),
        ]
        let rows: [[Value]] = stats.procedures.map { key, c in
            let site: Int64 = key.partition == .multiPartitionInitiator
                ? Int64(topology?.multiPartitionLeader.site.rawValue ?? 0) : siteID(of: key.partition)
            return hostCells(now) + [
                .integer(site), .integer(Int64(key.partition.rawValue)), .string(key.procedure),
                .integer(c.invocations), .integer(c.invocations), .integer(c.invocations > 0 ? c.minNanos : 0),
                .integer(c.maxNanos), .integer(c.invocations > 0 ? c.totalNanos / c.invocations : 0),
                .integer(0), .integer(0), .integer(0), .integer(0), .integer(0), .integer(0),
                .integer(c.aborts), .integer(c.failures), .integer(1), .integer(0),
            ]
        }
        return ResultTable(columns: columns, rows: rows)
    }

    func latencyStatistics(_ runtime: Runtime, now: Int64) -> ResultTable {
        let h = stats.latency
        let elapsedMillis = max(1, now - runtime.startMillis)
        func micros(_ p: Double) -> Value { .integer(Int64(h.count == 0 ? 0 : h.percentileNanos(p) / 1000)) }
        let columns = hostColumns + [
            .init("INTERVAL", .integer), .init("COUNT", .integer), .init("TPS", .integer), .init("P50", .bigint),
            .init("P95", .bigint), .init("P99", .bigint), .init("P99.9", .bigint), .init("P99.99", .bigint),
            .init("P99.999", .bigint), .init("MAX", .bigint),
        ]
        let count = Int64(min(h.count, Int(Int32.max)))
        let row = hostCells(now) + [
            .integer(min(elapsedMillis, Int64(Int32.max))), .integer(count), .integer(min(Int64(Int32.max), count * 1000 / elapsedMillis)),
            micros(50), micros(95), micros(99), micros(99.9), micros(99.99), micros(99.999), .integer(Int64(h.maxNanos / 1000)),
        ]
        return ResultTable(columns: columns, rows: [row])
    }

    func liveClientsStatistics(_ runtime: Runtime, now: Int64) -> [ResultTable] {
        let sessions = sessionList
        let columns = hostColumns + [
            .init("CONNECTION_ID", .bigint), .init("CLIENT_HOSTNAME", .varchar), .init("ADMIN", .tinyint),
            .init("OUTSTANDING_REQUEST_BYTES", .bigint), .init("OUTSTANDING_RESPONSE_MESSAGES", .bigint),
            .init("OUTSTANDING_TRANSACTIONS", .bigint),
        ]
        let rows: [[Value]] = sessions.map { s in
            hostCells(now) + [
                .integer(s.connection.id.rawValue), .string(s.connection.remoteAddress), .integer(s.admin ? 1 : 0),
                .integer(Int64(s.inFlightRequestBytes.load(ordering: .relaxed))), .integer(0),
                .integer(Int64(s.inFlight.load(ordering: .relaxed))),
            ]
        }
        let limitColumns = hostColumns + [
            .init("FILE_DESCRIPTORS_LIMIT", .integer), .init("FILE_DESCRIPTORS_OPEN", .integer),
            .init("CLIENT_CONNECTIONS_LIMIT", .integer), .init("CLIENT_CONNECTIONS_OPEN", .integer),
            .init("ACCEPTED_CONNECTIONS", .integer), .init("DROPPED_CONNECTIONS", .integer),
        ]
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let openFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        let open = runtime.clientListener.connectionCount + runtime.adminListener.connectionCount
        let dropped = runtime.clientListener.rejectedConnectionCount + runtime.adminListener.rejectedConnectionCount
        let limits = ResultTable(columns: limitColumns, rows: [hostCells(now) + [
            .integer(Int64(min(UInt64(Int32.max), UInt64(limit.rlim_cur)))), .integer(Int64(openFiles)),
            .integer(Int64(runtime.clientListener.configuration.maxConnections)), .integer(Int64(open)),
            .integer(Int64(sessions.count)), .integer(Int64(dropped)),
        ]])
        return [ResultTable(columns: columns, rows: rows), limits]
    }
}
