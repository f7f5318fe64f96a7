// Counters behind `@Statistics PROCEDURE` and `LATENCY` (docs/PROTOCOL.md §12.8).
//
// PROCEDURE keeps one entry per (procedure, partition): invocations, failures (any status other
// than SUCCESS and USER_ABORT), aborts (USER_ABORT), and min/max/total execution time measured from
// dispatch to completion. Multi-partition work counts under partition 16383. LATENCY is one
// histogram of every call's time from decode to answer. All counters are cumulative since start;
// VoltDB's "interval" flag (delta since the last call) is accepted and ignored.
//
// One Mutex guards both: a call records twice, under a lock held for a few dictionary and
// histogram updates, which is cheap next to the transaction itself.

import Synchronization
import VoltModel

final class ServerStats: Sendable {
    struct ProcedureKey: Hashable, Comparable, Sendable {
        var procedure: String
        var partition: PartitionID
        static func < (a: ProcedureKey, b: ProcedureKey) -> Bool { (a.procedure, a.partition) < (b.procedure, b.partition) }
    }

    struct ProcedureCounters: Sendable {
        var invocations: Int64 = 0
        var failures: Int64 = 0
        var aborts: Int64 = 0
        var minNanos: Int64 = .max
        var maxNanos: Int64 = 0
        var totalNanos: Int64 = 0
    }

    private struct State: Sendable {
        var procedures: [ProcedureKey: ProcedureCounters] = [:]
        var latency = LatencyHistogram()
    }

    private let state = Mutex(State())

    func recordProcedure(_ name: String, partition: PartitionID, status: ClientStatus, nanos: Int64) {
        state.withLock { s in
            var c = s.procedures[ProcedureKey(procedure: name, partition: partition), default: ProcedureCounters()]
            c.invocations += 1
            if status == .userAbort { c.aborts += 1 } else if status != .success { c.failures += 1 }
            c.minNanos = min(c.minNanos, nanos)
            c.maxNanos = max(c.maxNanos, nanos)
            c.totalNanos += nanos
            s.procedures[ProcedureKey(procedure: name, partition: partition)] = c
        }
    }

    func recordLatency(nanos: Int) {
        state.withLock { $0.latency.recordNanos(max(0, nanos)) }
    }

    /// Every procedure's counters, sorted by procedure name then partition.
    var procedures: [(key: ProcedureKey, counters: ProcedureCounters)] {
        state.withLock { s in s.procedures.keys.sorted().map { ($0, s.procedures[$0]!) } }
    }

    var latency: LatencyHistogram { state.withLock { $0.latency } }
}
