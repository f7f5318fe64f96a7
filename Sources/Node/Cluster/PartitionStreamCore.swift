// The replication of one partition on one host, as a pure state machine: replication by
// deterministic re-execution (docs/ARCHITECTURE.md, "The cluster"), failover repair, and the rejoin catch-up.
//
// The shell (ClusterNode+Replication.swift) owns one core per partition the host holds, feeds it
// inputs and carries out the returned actions in order. It never reads a clock or a socket; the
// transaction id and timestamp of a new call are given to `submit`.
//
// Leader. `submit` numbers a call (`lastSeq + 1`), sends the entry to every other live replica
// and to hosts rejoining the partition, and asks the shell to run it locally. The client is
// answered (`reply`) once the local run is done (`localDone`) and every replica the entry was
// sent to has acknowledged it (`acked`) or left the live set (`membership`). Acknowledgements
// carry the replica's status and determinism hash; a difference is reported (`mismatch`).
//
// Replica. `received` runs entries strictly in sequence order and acknowledges each to its
// sender. A duplicate (sequence already applied) is ignored; a gap means the stream lost an
// entry and the replica can no longer vouch for its copy (`fatal`).
//
// Failover repair. When `membership` makes this host the leader of a partition with other live
// replicas, it first asks each of them for the entries it lacks (`repairQuery`, answered from the
// bounded `recent` log), runs those, and sends every replica whatever it lacks, so that all
// surviving replicas hold the same prefix before anything new is numbered. Calls submitted
// meanwhile wait. The union of the survivors' entries is kept, so an entry that reached any
// surviving replica is never dropped and never numbered twice (VoltDB's repair step).
//
// Fencing. A replica may hear the new leader's repair query before it applies the metadata that
// deposed the old leader, and the old leader (cut off from the coordinator but not from this
// replica) may still be numbering entries. An entry it ran after answering would be one the new
// leader never learned of, and the two would number the same sequence differently (the cluster
// simulator found this). So a repair query carries the metadata epoch of the promotion, and a
// replica that answers one from a newer epoch than it has applied accepts entries only from that
// host until it applies metadata at least that new. A stale query (an older epoch) fences nothing.
//
// Rejoin. A restarted host ignores entries until its rejoin begins (`startBuffering`), then
// buffers what its leader sends until the snapshot taken at `startSeq` is loaded
// (`snapshotLoaded`), runs the buffered entries after `startSeq` in order, acknowledging each, and
// tells the leader where it stands (`rejoinerLoaded`). The leader adds the host to its recipients
// and asks the shell for a snapshot taken right after its last numbered entry (`rejoinRequested`).
// From the first sign that the host has loaded, the leader waits for its acknowledgement of every
// new entry; once the host has acknowledged everything before that point, the leader reports it
// caught up (`replicaCaughtUp`) and the shell proposes it as a live replica. So when the metadata
// says the host is live, every entry answered to a client since is on it too: a leader that dies
// right after cannot take an acknowledged write with it.
//
// Invariants: `lastSeq` never decreases; entries run in strictly increasing sequence order; a
// client is answered at most once per call.

import VoltModel

/// One numbered record of a partition's stream.
public struct StreamEntry: Sendable, Equatable {
    public var seq: Int64
    public var transactionID: Int64
    public var timestampMicros: Int64
    public var record: StreamRecord

    public init(seq: Int64, transactionID: Int64, timestampMicros: Int64, record: StreamRecord) {
        self.seq = seq
        self.transactionID = transactionID
        self.timestampMicros = timestampMicros
        self.record = record
    }
}

/// What running an entry produced: its status code and determinism hash.
public struct StreamOutcome: Sendable, Equatable {
    public var status: Int8
    public var hash: UInt64
    public init(status: Int8, hash: UInt64) {
        self.status = status
        self.hash = hash
    }
}

struct PartitionStreamCore: Sendable {
    /// Who hears about a local run's outcome.
    enum Report: Sendable, Equatable {
        /// This host leads: feed the outcome to `localDone`.
        case leader
        /// Acknowledge to this host (the entry's sender).
        case ackTo(HostID)
        /// Nobody (multi-partition entries, entries run during repair).
        case none
    }

    enum Action: Sendable, Equatable {
        case send(HostID, StreamEntry)
        case execute(StreamEntry, Report)
        case reply(call: Int64, seq: Int64)
        case repairQuery(HostID, after: Int64, epoch: UInt64)
        case repairAnswer(HostID, lastSeq: Int64, entries: [StreamEntry])
        case snapshot(for: HostID, startSeq: Int64)
        /// The rejoining host holds every entry and is awaited for new ones: propose it live.
        case replicaCaughtUp(HostID)
        /// This rejoining replica's leader changed before it became live: its copy may hold entries
        /// the new leader never had. Discard the copy and ask the new leader for a snapshot.
        case resnapshot
        case mismatch(String)
        case fatal(String)
    }

    struct RejoinerProgress: Sendable, Equatable {
        /// The first sequence number awaited from the host; nil until it has loaded its snapshot.
        var awaitedFrom: Int64?
        /// The highest sequence number it acknowledged.
        var acknowledged: Int64 = 0
    }

    struct Pending: Sendable, Equatable {
        var awaiting: Set<HostID>
        var local: StreamOutcome?
        var call: Int64?
    }

    let partition: PartitionID
    let me: HostID
    /// Entries kept for repair, at most.
    let recentMax: Int

    private(set) var lastSeq: Int64 = 0
    private(set) var leader: HostID?
    private(set) var live: Set<HostID> = []
    /// The live replicas other than this one, as a set and in host order (kept with `live`, so the
    /// hot path of `submit` allocates nothing for them).
    private var others: Set<HostID> = []
    private var othersInOrder: [HostID] = []
    /// Leader: hosts receiving this partition while they rejoin, with their progress.
    private(set) var rejoiners: [HostID: RejoinerProgress] = [:]
    private(set) var seenMulti: Set<Int64> = []
    private(set) var pending: [Int64: Pending] = [:]
    private(set) var buffered: [(entry: StreamEntry, from: HostID)]?
    /// A restarted host's stream before its rejoin begins: what arrives is not for this incarnation.
    private(set) var ignoring = false
    private(set) var recent: [StreamEntry] = []
    /// While repairing after a promotion: the replicas still to answer, and what each holds.
    private(set) var repairing: [HostID: Int64?]?
    /// The metadata epoch of the last `membership` input.
    private(set) var appliedEpoch: UInt64 = 0
    /// Set by a repair query from a newer epoch than applied: only this host's entries are taken.
    private(set) var fence: Fence?
    struct Fence: Sendable, Equatable {
        var host: HostID
        var epoch: UInt64
    }
    private(set) var queued: [(call: Int64?, record: StreamRecord, transactionID: Int64?, timestampMicros: Int64)] = []

    init(partition: PartitionID, me: HostID, restarted: Bool = false, recentMax: Int = 20_000) {
        precondition(recentMax > 0, "recentMax must be positive")
        self.partition = partition
        self.me = me
        self.recentMax = recentMax
        self.ignoring = restarted
    }

    /// Whether this replica orders the partition. A restarted or rejoining replica never does, even
    /// while the metadata still names it (its previous life's failure is not yet agreed): it holds
    /// nothing yet, and must neither number entries nor hand out snapshots.
    var isLeader: Bool { leader == me && !ignoring && buffered == nil }
    var isRepairing: Bool { repairing != nil }
    var isBuffering: Bool { buffered != nil }

    static func transactionID(_ partition: PartitionID, _ seq: Int64) -> Int64 {
        Int64(partition.rawValue) << 44 | seq
    }

    // MARK: Leader

    /// Numbers a call (or a multi-partition transaction reaching this partition, which has its own
    /// transaction id and no `call`) and sends it out. A multi-partition transaction already in the
    /// stream is skipped.
    mutating func submit(call: Int64?, record: StreamRecord, transactionID: Int64?, timestampMicros: Int64) -> [Action] {
        precondition(isLeader, "host \(me.rawValue) numbers an entry of \(partition) it does not lead (leader \(String(describing: leader)))")
        if case .multi = record, let txn = transactionID, seenMulti.contains(txn) { return [] }
        if repairing != nil {
            queued.append((call, record, transactionID, timestampMicros))
            return []
        }
        lastSeq += 1
        let entry = StreamEntry(seq: lastSeq, transactionID: transactionID ?? Self.transactionID(partition, lastSeq),
                                timestampMicros: timestampMicros, record: record)
        remember(entry)
        var actions: [Action] = []
        actions.reserveCapacity(othersInOrder.count + rejoiners.count + 1)
        let awaited: Set<HostID>
        if rejoiners.isEmpty {
            awaited = others
            for host in othersInOrder { actions.append(.send(host, entry)) }
        } else {
            awaited = others.union(rejoiners.filter { $0.value.awaitedFrom != nil }.keys)
            for host in others.union(rejoiners.keys).sorted() { actions.append(.send(host, entry)) }
        }
        if case .multi = record {
            seenMulti.insert(entry.transactionID)
            actions.append(.execute(entry, .none))
        } else {
            pending[entry.seq] = Pending(awaiting: awaited, local: nil, call: call)
            actions.append(.execute(entry, .leader))
        }
        return actions
    }

    mutating func localDone(seq: Int64, _ outcome: StreamOutcome) -> [Action] {
        guard var p = pending[seq] else { return [] }
        p.local = outcome
        pending[seq] = p
        return settle(seq)
    }

    mutating func acked(from host: HostID, seq: Int64, _ outcome: StreamOutcome) -> [Action] {
        var actions: [Action] = []
        if rejoiners[host] != nil {
            rejoiners[host]!.acknowledged = max(rejoiners[host]!.acknowledged, seq)
            actions += rejoinerProgress(host)
        }
        guard var p = pending[seq], p.awaiting.remove(host) != nil else { return actions }
        pending[seq] = p
        if let local = p.local, local != outcome {
            actions.append(.mismatch("partition \(partition.rawValue), sequence \(seq): leader host \(me.rawValue) got status "
                + "\(local.status) hash \(String(local.hash, radix: 16)), host \(host.rawValue) got status \(outcome.status) "
                + "hash \(String(outcome.hash, radix: 16)); the replicas have diverged"))
        }
        return actions + settle(seq)
    }

    private mutating func settle(_ seq: Int64) -> [Action] {
        guard let p = pending[seq], p.awaiting.isEmpty, p.local != nil else { return [] }
        pending[seq] = nil
        return p.call.map { [.reply(call: $0, seq: seq)] } ?? []
    }

    /// The applied metadata changed: the partition's leader and live replicas, and the hosts
    /// rejoining the cluster.
    mutating func membership(leader newLeader: HostID, live newLive: [HostID], rejoining: Set<HostID>, epoch: UInt64 = 0) -> [Action] {
        appliedEpoch = max(appliedEpoch, epoch)
        if let f = fence, f.epoch <= appliedEpoch { fence = nil }
        let promoted = newLeader == me && leader != nil && leader != me && !ignoring && buffered == nil
        let rejoinerLostItsLeader = leader != nil && leader != newLeader && !ignoring && !newLive.contains(me)
            && (buffered != nil || !live.contains(me))
        leader = newLeader
        live = Set(newLive)
        others = live.subtracting([me])
        othersInOrder = others.sorted()
        // A rejoiner that became live is an ordinary replica now; one that failed is gone.
        rejoiners = rejoiners.filter { rejoining.contains($0.key) && !live.contains($0.key) }
        var actions: [Action] = []
        let stillAwaited = live.union(rejoiners.keys)
        for seq in pending.keys.sorted() {
            pending[seq]!.awaiting.formIntersection(stillAwaited)
            actions += settle(seq)
        }
        if let r = repairing {
            // A replica that left while we waited for its answer will not answer.
            repairing = r.filter { live.contains($0.key) }
            actions += finishRepairIfAnswered()
        }
        if rejoinerLostItsLeader {
            buffered = []
            recent = []
            actions.append(.resnapshot)
        }
        if promoted {
            let others = live.subtracting([me]).sorted()
            if !others.isEmpty {
                repairing = Dictionary(uniqueKeysWithValues: others.map { ($0, nil) })
                actions += others.map { .repairQuery($0, after: lastSeq, epoch: appliedEpoch) }
            }
        }
        return actions
    }

    // MARK: Repair

    /// Another replica's new leader, promoted at `epoch`, asks what this replica holds after
    /// `after`. From a newer epoch than this replica has applied, it fences the old leader out.
    mutating func repairQueried(by host: HostID, after: Int64, epoch: UInt64 = 0) -> [Action] {
        if epoch > appliedEpoch && epoch > (fence?.epoch ?? 0) { fence = Fence(host: host, epoch: epoch) }
        return [.repairAnswer(host, lastSeq: lastSeq, entries: recent.filter { $0.seq > after })]
    }

    /// A replica answered the repair query: run what it has and we lack, in order.
    mutating func repairAnswered(by host: HostID, lastSeq theirs: Int64, entries: [StreamEntry]) -> [Action] {
        guard let waiting = repairing, waiting.keys.contains(host) else { return [] }
        var actions: [Action] = []
        for entry in entries.sorted(by: { $0.seq < $1.seq }) where entry.seq > lastSeq {
            guard entry.seq == lastSeq + 1 else {
                return [.fatal("repair of partition \(partition.rawValue): host \(host.rawValue) holds sequence \(entry.seq) "
                    + "but this new leader stops at \(lastSeq), and the entries between are gone")]
            }
            lastSeq = entry.seq
            remember(entry)
            if case .multi(_) = entry.record { seenMulti.insert(entry.transactionID) }
            actions.append(.execute(entry, .none))
        }
        repairing?[host] = .some(theirs)
        return actions + finishRepairIfAnswered()
    }

    /// Once every surviving replica answered: send each what it lacks, then number queued calls.
    private mutating func finishRepairIfAnswered() -> [Action] {
        guard let r = repairing, r.values.allSatisfy({ $0 != nil }) else { return [] }
        repairing = nil
        var actions: [Action] = []
        for (host, held) in r.sorted(by: { $0.key < $1.key }) {
            let from = held!
            guard from < lastSeq else { continue }
            let missing = recent.filter { $0.seq > from }
            guard missing.first?.seq == from + 1 else {
                actions.append(.fatal("repair of partition \(partition.rawValue): host \(host.rawValue) is behind past what "
                    + "this leader keeps (\(recentMax) entries)"))
                continue
            }
            actions += missing.map { .send(host, $0) }
        }
        let waiting = queued
        queued = []
        for q in waiting {
            actions += submit(call: q.call, record: q.record, transactionID: q.transactionID, timestampMicros: q.timestampMicros)
        }
        return actions
    }

    // MARK: Replica

    mutating func received(_ entry: StreamEntry, from sender: HostID) -> [Action] {
        if ignoring { return [] }
        if buffered != nil {
            buffered!.append((entry, sender))
            return []
        }
        if let fence, sender != fence.host { return [] }
        guard entry.seq > lastSeq else { return [] }
        guard entry.seq == lastSeq + 1 else {
            return [.fatal("the replication stream of partition \(partition.rawValue) from host \(sender.rawValue) skipped "
                + "from sequence \(lastSeq) to \(entry.seq); this replica is no longer complete")]
        }
        return [run(entry, from: sender)]
    }

    private mutating func run(_ entry: StreamEntry, from sender: HostID) -> Action {
        lastSeq = entry.seq
        remember(entry)
        if case .multi = entry.record {
            seenMulti.insert(entry.transactionID)
            return .execute(entry, .none)
        }
        return .execute(entry, sender == me ? .none : .ackTo(sender))
    }

    /// Keeps at least the last `recentMax` entries. Trimmed in halves, so an append costs O(1)
    /// amortized (trimming one entry per append would move the whole log every call).
    private mutating func remember(_ entry: StreamEntry) {
        recent.append(entry)
        if recent.count >= 2 * recentMax { recent.removeFirst(recent.count - recentMax) }
    }

    // MARK: Rejoin

    /// Leader: `host` asks for this partition. Add it to the recipients and take a snapshot right
    /// after the last numbered entry. A repeated request changes nothing.
    mutating func rejoinRequested(by host: HostID) -> [Action] {
        guard isLeader, rejoiners[host] == nil, !live.contains(host) else { return [] }
        rejoiners[host] = RejoinerProgress()
        return [.snapshot(for: host, startSeq: lastSeq)]
    }

    /// Leader: the rejoining host has loaded its snapshot and run everything up to `lastSeq`.
    mutating func rejoinerLoaded(_ host: HostID, lastSeq theirs: Int64) -> [Action] {
        guard isLeader, rejoiners[host] != nil else { return [] }
        if rejoiners[host]!.awaitedFrom == nil { rejoiners[host]!.awaitedFrom = lastSeq + 1 }
        rejoiners[host]!.acknowledged = max(rejoiners[host]!.acknowledged, theirs)
        return rejoinerProgress(host)
    }

    /// Reports a rejoiner caught up once it acknowledged everything numbered before it was awaited.
    private func rejoinerProgress(_ host: HostID) -> [Action] {
        guard let progress = rejoiners[host], let from = progress.awaitedFrom, progress.acknowledged >= from - 1 else { return [] }
        return [.replicaCaughtUp(host)]
    }

    /// Rejoining host: hold entries until the snapshot is loaded.
    mutating func startBuffering() {
        ignoring = false
        buffered = buffered ?? []
    }

    /// Rejoining host: the snapshot taken at `startSeq` is loaded; run what came after it.
    mutating func snapshotLoaded(startSeq: Int64) -> [Action] {
        let held = buffered ?? []
        buffered = nil
        lastSeq = startSeq
        recent = []
        var actions: [Action] = []
        for (entry, sender) in held where entry.seq > lastSeq {
            guard entry.seq == lastSeq + 1 else {
                return actions + [.fatal("rejoin of partition \(partition.rawValue): buffered entries jump from \(lastSeq) to \(entry.seq)")]
            }
            actions.append(run(entry, from: sender))
        }
        return actions
    }
}
