// The shell of partition replication: one `PartitionStreamCore` (PartitionStreamCore.swift, which
// explains the protocol) per partition this host holds, fed from client calls, mesh messages,
// local completions and metadata changes.
//
// Ordering. Actions that must keep the stream's order (sending entries, queuing a run on the
// site, queuing a snapshot on the site) are carried out while the partition's lock is held, so
// two calls numbered 7 and 8 reach the site and every replica as 7 then 8. Everything that does
// not need the order (answering clients, stopping the host) runs after the lock is released.

import Dispatch
import Foundation
import Glibc
import Synchronization
import VoltModel
import VoltWire

final class PartitionStream: Sendable {
    struct State {
        var core: PartitionStreamCore
        var nextCall: Int64 = 1
        var replies: [Int64: @Sendable (InvocationResult) -> Void] = [:]
        /// The leader's own result of each numbered call, until the client is answered.
        var results: [Int64: InvocationResult] = [:]
        /// When this leader last proposed a caught-up rejoiner live (monotonic ms), to pace it.
        var lastCaughtUpProposal: [HostID: Int64] = [:]
        /// The leader's decoded invocation of the call being numbered in this step, so running it
        /// does not decode the bytes just encoded for the replicas.
        var numbering: Invocation?
    }

    let partition: PartitionID
    let state: Mutex<State>

    init(partition: PartitionID, me: HostID, restarted: Bool) {
        self.partition = partition
        state = Mutex(State(core: PartitionStreamCore(partition: partition, me: me, restarted: restarted)))
    }
}

extension ClusterNode {
    /// This host's replication stream of `p`; nil where it holds no replica (a partition added by a
    /// join lives only on the hosts that joined).
    func stream(for p: PartitionID) -> PartitionStream? {
        let i = Int(p.rawValue)
        return i >= 0 && i < streams.count ? streams[i] : nil
    }

    /// This host leads `p`: number the call, replicate it, run it. A call whose key has moved to
    /// another partition by the time its turn comes runs nowhere here (on no replica either) and
    /// is routed again, to the owner the site named.
    func lead(_ p: PartitionID, _ invocation: Invocation, reply: @escaping @Sendable (InvocationResult) -> Void) {
        guard let stream = stream(for: p) else {
            reply(InvocationResult(status: .unexpectedFailure, statusString: "\(p) has no replica on this host"))
            return
        }
        let bytes = Self.encode(invocation)
        step(stream) { s in
            guard s.core.isLeader else { return nil }
            let call = s.nextCall
            s.nextCall += 1
            s.replies[call] = reply
            s.numbering = invocation
            defer { s.numbering = nil }
            return s.core.submit(call: call, record: .call(bytes), transactionID: nil, timestampMicros: Engine.wallClockMicros())
        } otherwise: {
            // The leadership moved between routing and numbering: route again, unless the applied
            // state still names this host (the stream learns a change a moment after the state).
            if state.partition(p)?.leader == me {
                reply(InvocationResult(status: .serverUnavailable, statusString: "the leadership of partition \(p.rawValue) is moving; retry"))
            } else {
                submit(invocation, target: .partition(p), reply: reply)
            }
        }
    }

    /// Feeds one input to `stream`'s core under its lock, carries out the ordered actions there and
    /// the rest after. `input` returns nil to refuse (then `otherwise` runs, outside the lock).
    func step(_ stream: PartitionStream, _ input: (inout PartitionStream.State) -> [PartitionStreamCore.Action]?,
              otherwise: () -> Void = {}) {
        var deferred: [() -> Void] = []
        let accepted = stream.state.withLock { s -> Bool in
            guard let actions = input(&s) else { return false }
            for action in actions { perform(action, stream, &s, deferred: &deferred) }
            return true
        }
        if !accepted { otherwise() }
        for work in deferred { work() }
    }

    private func perform(_ action: PartitionStreamCore.Action, _ stream: PartitionStream, _ s: inout PartitionStream.State,
                         deferred: inout [() -> Void]) {
        let p = stream.partition
        switch action {
        case .send(let host, let entry):
            if !mesh.send(.replicate(partition: p, entry: entry), to: host) {
                // Unreachable: the failure detector will declare it failed, which releases the wait.
                log("Replica host \(host.rawValue) of partition \(p.rawValue) is unreachable; waiting for the failure detector")
            }
        case .execute(let entry, let report):
            let decoded = report == .leader ? s.numbering : nil
            s.numbering = nil
            execute(entry, on: stream, report: report, decoded: decoded)
        case .reply(let call, let seq):
            guard let reply = s.replies.removeValue(forKey: call), let result = s.results.removeValue(forKey: seq) else { break }
            if result.status == .txnMispartitioned, let owner = result.owner,
               let entry = s.core.recent.last(where: { $0.seq == seq }), case .call(let bytes) = entry.record,
               let invocation = try? Invocation.decode(bytes) {
                // Its key moved before its turn came: nothing ran here or on a replica; route it
                // again, to the owner the site named.
                deferred.append { [self] in submit(invocation, target: .partition(owner), reply: reply) }
            } else {
                deferred.append { reply(result) }
            }
        case .repairQuery(let host, let after, let epoch):
            mesh.send(.repairQuery(partition: p, after: after, epoch: epoch), to: host)
        case .repairAnswer(let host, let lastSeq, let entries):
            mesh.send(.repairAnswer(partition: p, lastSeq: lastSeq, entries: entries), to: host)
        case .snapshot(let host, let startSeq):
            // Queued behind every entry numbered so far: a consistent cut at `startSeq`.
            _ = engine.onSite(p) { [self] store, catalog in
                let payload = Self.snapshot(store)
                let ddl = catalog.ddlHistory
                let thread = Thread { [self] in streamSnapshot(p, to: host, startSeq: startSeq, ddl: ddl, payload: payload) }
                thread.name = "rejoin-stream-\(p.rawValue)"
                thread.start()
            }
        case .replicaCaughtUp(let host):
            if s.lastCaughtUpProposal[host].map({ Host.monotonicMillis() - $0 >= 500 }) ?? true {
                s.lastCaughtUpProposal[host] = Host.monotonicMillis()
                deferred.append { [self] in propose(.replicaReady(host, p, leader: me)) }
            }
        case .resnapshot:
            // Queued before anything the new leader sends, so the new snapshot loads into empty tables.
            _ = engine.onSite(p) { store, _ in store.removeAllRows() }
            deferred.append { [self] in
                log("Rejoin: the leader of partition \(p.rawValue) changed before this replica caught up; fetching it again")
                rejoin.withLock { r in
                    r.chunks[p] = nil
                    r.driver?.refetch(p)
                }
            }
        case .mismatch(let text):
            log("DETERMINISM MISMATCH: \(text)")
        case .fatal(let text):
            deferred.append { [self] in die(text) }
        }
    }

    /// Queues an entry on this host's site (called under the stream's lock).
    private func execute(_ entry: StreamEntry, on stream: PartitionStream, report: PartitionStreamCore.Report, decoded: Invocation?) {
        let p = stream.partition
        let context = ExecutionContext(transactionID: entry.transactionID, timestampMicros: entry.timestampMicros)
        switch entry.record {
        case .multi(let bytes):
            multiArrived(p, context: context, invocation: bytes)
        case .call(let bytes):
            guard let invocation = decoded ?? (try? Invocation.decode(bytes)) else {
                preconditionFailure("partition \(p.rawValue) entry \(entry.seq) does not decode")
            }
            let seq = entry.seq
            let queued = QueuedFlag()
            defer { queued.set() }
            services.executeCall(invocation, options: CallOptions(context: context, partition: p)) { [self] result in
                let outcome = StreamOutcome(status: result.status.rawValue, hash: result.determinismHash)
                switch report {
                case .leader:
                    let done: @Sendable () -> Void = { [self] in
                        step(stream) { s in
                            s.results[seq] = result
                            return s.core.localDone(seq: seq, outcome)
                        }
                    }
                    // A call the engine refuses at once (shutdown, wrong arity) completes before
                    // `executeCall` returns, on this thread, inside the step whose lock is held.
                    if queued.completingSynchronously {
                        DispatchQueue.global().async(execute: done)
                    } else {
                        done()
                    }
                case .ackTo(let leader):
                    mesh.send(.ack(partition: p, seq: seq, status: outcome.status, hash: outcome.hash), to: leader)
                case .none:
                    break
                }
            }
        }
    }

    func acknowledged(_ p: PartitionID, seq: Int64, status: Int8, hash: UInt64, from peer: HostID) {
        guard let stream = stream(for: p) else { return }
        step(stream) { $0.core.acked(from: peer, seq: seq, StreamOutcome(status: status, hash: hash)) }
    }

    /// An entry of `p`'s stream from its leader.
    func replicated(_ p: PartitionID, _ entry: StreamEntry, from peer: HostID) {
        guard let stream = stream(for: p) else {
            log("Dropping an entry of partition \(p.rawValue) from host \(peer.rawValue): this host holds no replica of it")
            return
        }
        if anyFailed.load(ordering: .relaxed), current.withLock({ $0.member(peer)?.state == .failed }) {
            log("Dropping an entry of partition \(p.rawValue) from host \(peer.rawValue), which was declared failed")
            return
        }
        step(stream) { $0.core.received(entry, from: peer) }
    }

    /// The applied metadata changed: every stream learns its leader and live replicas.
    func updateStreams(_ state: ClusterState) {
        let rejoining = Set(state.members.filter { $0.state == .rejoining }.map(\.id))
        for stream in streams.compactMap({ $0 }) {
            guard let p = state.partition(stream.partition) else { continue }
            step(stream) { $0.core.membership(leader: p.leader, live: p.live, rejoining: rejoining, epoch: state.epoch.rawValue) }
        }
    }

    /// Leader: a rejoining host has loaded `p` and run everything up to `lastSeq`.
    func rejoinLoaded(_ p: PartitionID, lastSeq: Int64, by peer: HostID) {
        guard let stream = stream(for: p) else { return }
        step(stream) { $0.core.rejoinerLoaded(peer, lastSeq: lastSeq) }
    }

    func repairQueried(_ p: PartitionID, after: Int64, epoch: UInt64, by peer: HostID) {
        guard let stream = stream(for: p) else { return }
        step(stream) { $0.core.repairQueried(by: peer, after: after, epoch: epoch) }
    }

    func repairAnswered(_ p: PartitionID, lastSeq: Int64, entries: [StreamEntry], by peer: HostID) {
        guard let stream = stream(for: p) else { return }
        step(stream) { $0.core.repairAnswered(by: peer, lastSeq: lastSeq, entries: entries) }
    }
}

/// Tells a completion whether it runs synchronously inside the `executeCall` that queued it (on
/// the caller's thread, before it returned, so under the caller's lock). A completion on a site
/// thread, however early, is not synchronous: it may simply wait for the lock.
final class QueuedFlag: Sendable {
    private let returned = Atomic<Bool>(false)
    private let caller = pthread_self()
    func set() { returned.store(true, ordering: .releasing) }
    var completingSynchronously: Bool {
        !returned.load(ordering: .acquiring) && pthread_equal(pthread_self(), caller) != 0
    }
}
