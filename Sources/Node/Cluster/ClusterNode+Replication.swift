// Replication of one partition by deterministic re-execution (DESIGN.md §4).
//
// The leader of a partition orders its calls: under the partition's lock it takes the next
// sequence number, stamps the transaction id and timestamp, sends `replicate` to every other live
// replica (and to a rejoining host, which buffers), and queues the call on its own site, so the
// site order and the stream order are the same. It answers the client once its own site has run
// the call and every replica it was sent to has acknowledged it, or has been declared failed.
// Reads go through the stream too: a leader cut off from its replicas cannot answer anything, so
// a stale leader never serves stale data.
//
// A replica runs the records in sequence order, exactly as received (the mesh connection from the
// leader is FIFO), and acknowledges each with its status and determinism hash; the leader compares
// them with its own and logs a mismatch loudly. A record that skips a sequence number means the
// stream lost something: the replica cannot vouch for its copy any more and stops the host.
//
// On failover the promoted replica continues the sequence from the last record it received; with
// K=1 it is the only survivor, so there is nothing to reconcile. Not handled yet: with K >= 2, a
// record the old leader sent to one surviving replica but not to another is not re-sent by the new
// leader (VoltDB's repair step); the replicas could diverge on that record.

import Synchronization
import VoltModel
import VoltWire

final class PartitionStream: Sendable {
    struct Pending {
        var awaiting: Set<HostID>
        var local: InvocationResult?
        var reply: @Sendable (InvocationResult) -> Void
        var mismatch: String?
    }

    struct State {
        /// The last sequence number issued (leader) or received (replica).
        var lastSeq: Int64 = 0
        var pending: [Int64: Pending] = [:]
        /// Leader: hosts that receive this partition's records while they rejoin (not awaited).
        var rejoiners: Set<HostID> = []
        /// Multi-partition transactions already sequenced into this stream.
        var seenMulti: Set<Int64> = []
        /// Replica while rejoining: records held until the snapshot is loaded.
        var buffered: [(seq: Int64, context: ExecutionContext, record: StreamRecord, from: HostID)]?
    }

    let partition: PartitionID
    let state = Mutex(State())

    init(partition: PartitionID) { self.partition = partition }
}

extension ClusterNode {
    static func transactionID(_ partition: PartitionID, _ seq: Int64) -> Int64 {
        Int64(partition.rawValue) << 44 | seq
    }

    /// This host leads `p`: sequence, replicate, run.
    func lead(_ p: PartitionID, _ invocation: Invocation, reply: @escaping @Sendable (InvocationResult) -> Void) {
        guard let stream = streams[Int(p.rawValue)] else {
            reply(InvocationResult(status: .unexpectedFailure, statusString: "\(p) has no replica on this host"))
            return
        }
        let bytes = Self.encode(invocation)
        let live = state.partition(p)?.live ?? []
        stream.state.withLock { s in
            s.lastSeq += 1
            let seq = s.lastSeq
            let context = ExecutionContext(transactionID: Self.transactionID(p, seq), timestampMicros: Engine.wallClockMicros())
            let awaited = Set(live.filter { $0 != me })
            s.pending[seq] = PartitionStream.Pending(awaiting: awaited, local: nil, reply: reply)
            let frame = PeerMessage.replicate(partition: p, seq: seq, transactionID: context.transactionID,
                                              timestampMicros: context.timestampMicros, record: .call(bytes)).encodeFrame()
            for host in awaited.union(s.rejoiners).sorted() {
                if !mesh.send(frame: frame, to: host) {
                    // Unreachable: the failure detector will declare it failed, which releases the wait.
                    log("Replica host \(host.rawValue) of partition \(p.rawValue) is unreachable; waiting for the failure detector")
                }
            }
            services.executeCall(invocation, options: CallOptions(context: context)) { [self] result in
                localDone(stream, seq, result)
            }
        }
    }

    private func localDone(_ stream: PartitionStream, _ seq: Int64, _ result: InvocationResult) {
        let done = stream.state.withLock { s -> (Pending: PartitionStream.Pending, InvocationResult)? in
            guard var pending = s.pending[seq] else { return nil }
            pending.local = result
            if pending.awaiting.isEmpty {
                s.pending[seq] = nil
                return (pending, result)
            }
            s.pending[seq] = pending
            return nil
        }
        if let (pending, result) = done { pending.reply(result) }
    }

    func acknowledged(_ p: PartitionID, seq: Int64, status: Int8, hash: UInt64, from peer: HostID) {
        guard let stream = streams[Int(p.rawValue)] else { return }
        let done = stream.state.withLock { s -> (PartitionStream.Pending, InvocationResult)? in
            guard var pending = s.pending[seq], pending.awaiting.remove(peer) != nil else { return nil }
            if let local = pending.local, local.determinismHash != hash || local.status.rawValue != status {
                log("DETERMINISM MISMATCH on partition \(p.rawValue), sequence \(seq): this leader got status "
                    + "\(local.status.rawValue) hash \(String(local.determinismHash, radix: 16)), host \(peer.rawValue) got "
                    + "status \(status) hash \(String(hash, radix: 16)); the replicas have diverged")
            }
            if pending.awaiting.isEmpty, let local = pending.local {
                s.pending[seq] = nil
                return (pending, local)
            }
            s.pending[seq] = pending
            return nil
        }
        if let (pending, result) = done { pending.reply(result) }
    }

    /// After a failure: stop waiting for acknowledgements from hosts that are no longer live replicas.
    func releaseAcknowledgements(_ state: ClusterState) {
        for stream in streams.compactMap({ $0 }) {
            let live = Set(state.partition(stream.partition)?.live ?? [])
            let done = stream.state.withLock { s -> [(PartitionStream.Pending, InvocationResult)] in
                s.rejoiners = s.rejoiners.filter { state.member($0)?.state == .rejoining }
                var out: [(PartitionStream.Pending, InvocationResult)] = []
                for seq in s.pending.keys.sorted() {
                    var pending = s.pending[seq]!
                    pending.awaiting = pending.awaiting.intersection(live)
                    if pending.awaiting.isEmpty, let local = pending.local {
                        s.pending[seq] = nil
                        out.append((pending, local))
                    } else {
                        s.pending[seq] = pending
                    }
                }
                return out
            }
            for (pending, result) in done { pending.reply(result) }
        }
    }

    /// A record of `p`'s stream from its leader.
    func replicated(_ p: PartitionID, seq: Int64, context: ExecutionContext, record: StreamRecord, from peer: HostID) {
        guard let stream = streams[Int(p.rawValue)] else {
            log("Dropping a record of partition \(p.rawValue) from host \(peer.rawValue): this host holds no replica of it")
            return
        }
        if state.member(peer)?.state == .failed {
            log("Dropping a record of partition \(p.rawValue) from host \(peer.rawValue), which was declared failed")
            return
        }
        stream.state.withLock { s in
            if s.buffered != nil {
                s.buffered!.append((seq, context, record, peer))
                return
            }
            guard seq > s.lastSeq else { return }   // a duplicate (re-sent after a failover)
            guard seq == s.lastSeq + 1 else {
                die("the replication stream of partition \(p.rawValue) from host \(peer.rawValue) skipped from sequence "
                    + "\(s.lastSeq) to \(seq); this replica is no longer complete")
                return
            }
            s.lastSeq = seq
            run(p, seq: seq, context: context, record: record, leader: peer, seen: &s.seenMulti)
        }
    }

    /// Runs one stream record on this host (called under the stream's lock, so records queue on
    /// the site in stream order).
    func run(_ p: PartitionID, seq: Int64, context: ExecutionContext, record: StreamRecord, leader: HostID, seen: inout Set<Int64>) {
        switch record {
        case .call(let bytes):
            guard let invocation = try? Invocation.decode(bytes) else {
                preconditionFailure("partition \(p.rawValue) record \(seq) from host \(leader.rawValue) does not decode")
            }
            services.executeCall(invocation, options: CallOptions(context: context)) { [mesh] result in
                mesh.send(.ack(partition: p, seq: seq, status: result.status.rawValue, hash: result.determinismHash), to: leader)
            }
        case .multi(let bytes):
            seen.insert(context.transactionID)
            multiArrived(p, context: context, invocation: bytes)
        }
    }
}
