// The rejoining host's side of a live rejoin, as a pure core: when to ask the coordinator to begin
// the rejoin, which partitions to ask their leaders for, when to remind a leader that this host
// has loaded its partition, and when to propose the end of the rejoin. The shell
// (ClusterNode+Rejoin.swift) moves the bytes: it receives the snapshot chunks, loads them on the
// sites and tells the driver where each partition stands; the cluster simulator runs the same
// driver over its simulated snapshots. The protocol is described in ClusterNode+Rejoin.swift.
//
// Per partition this host holds a replica of: asked for (nothing arrived yet) -> receiving
// (chunks arriving) -> loading (the whole snapshot is here) -> caught up (loaded and running the
// stream; the leader proposes it live once it has acknowledged everything since). A leader change
// before the partition is live sends it back to the start (`refetch`), as does a snapshot from a
// leader that no longer leads (`loadDropped`).
//
// Time is an input. Until the rejoin has begun the driver asks for it every `askIntervalMillis`;
// after, on the same beat, it asks again for partitions nothing has arrived for (a leader that had
// not yet applied the rejoin ignored the first request) and reminds leaders of partitions caught
// up but not yet live, and proposes the end once every replica is live.

import VoltModel

struct RejoinDriver: Sendable, Equatable {
    enum Action: Sendable, Equatable {
        case propose(MetadataCommand)
        /// Buffer what the partition's leader sends until its snapshot is loaded.
        case startBuffering(PartitionID)
        /// Ask `leader` for the partition's snapshot (and to add this host to its stream).
        case requestSnapshot(PartitionID, leader: HostID)
        /// Tell `leader` this host has loaded the partition and run its stream so far.
        case tellLoaded(PartitionID, leader: HostID)
        case log(String)
    }

    let me: HostID
    let askIntervalMillis: Int64
    /// This incarnation, as it asks to rejoin; nil for a host that formed the cluster this run.
    let member: ClusterMember?
    private(set) var begun = false
    private(set) var done = false
    private(set) var receiving: Set<PartitionID> = []
    private(set) var loading: Set<PartitionID> = []
    private(set) var caughtUp: Set<PartitionID> = []
    private var toldWaiting = false
    private var lastAskMillis: Int64?

    init(me: HostID, askIntervalMillis: Int64, restartedAs member: ClusterMember?) {
        self.me = me
        self.askIntervalMillis = askIntervalMillis
        self.member = member
    }

    /// Whether this host must still rejoin before it serves.
    var isRejoining: Bool { member != nil && !done }

    /// A beat of the host's timer.
    mutating func tick(nowMillis: Int64, state: ClusterState) -> [Action] {
        guard let member, !done else { return [] }
        if let last = lastAskMillis, nowMillis - last < askIntervalMillis { return [] }
        lastAskMillis = nowMillis
        guard begun else {
            var actions: [Action] = []
            if let other = state.rejoining, other != me, !toldWaiting {
                toldWaiting = true
                actions.append(.log("Waiting to rejoin: host \(other.rawValue) is rejoining, and hosts rejoin one at a time"))
            }
            return actions + [.propose(.rejoinBegin(member))]
        }
        var actions: [Action] = []
        let slots = state.slots(of: me)
        for p in slots where !receiving.contains(p) && !loading.contains(p) && !caughtUp.contains(p) {
            if let leader = state.partition(p)?.leader { actions.append(.requestSnapshot(p, leader: leader)) }
        }
        for p in slots where caughtUp.contains(p) && !isLive(p, state) {
            if let leader = state.partition(p)?.leader { actions.append(.tellLoaded(p, leader: leader)) }
        }
        if slots.allSatisfy({ isLive($0, state) }) { actions.append(.propose(.rejoinEnd(me))) }
        return actions
    }

    /// The metadata log applied `rejoinBegin` for this incarnation.
    mutating func begin(state: ClusterState) -> [Action] {
        guard member != nil, !begun else { return [] }
        begun = true
        let slots = state.slots(of: me)
        var actions: [Action] = [.log("Rejoining: receiving \(slots.count) partition replicas from their leaders")]
        for p in slots {
            actions.append(.startBuffering(p))
            if let leader = state.partition(p)?.leader { actions.append(.requestSnapshot(p, leader: leader)) }
        }
        return actions
    }

    /// The first chunk of `p`'s snapshot arrived.
    mutating func receivingSnapshot(_ p: PartitionID) {
        receiving.insert(p)
    }

    /// The whole snapshot of `p` is here and is being loaded.
    mutating func snapshotArrived(_ p: PartitionID) {
        receiving.remove(p)
        loading.insert(p)
    }

    /// The snapshot came from a host that no longer leads `p`: ask again.
    mutating func loadDropped(_ p: PartitionID) {
        loading.remove(p)
    }

    /// `p` is loaded and runs its stream: tell its leader now, and on every beat until it is live.
    mutating func loaded(_ p: PartitionID, state: ClusterState) -> [Action] {
        loading.remove(p)
        caughtUp.insert(p)
        lastAskMillis = nil
        return state.partition(p).map { [.tellLoaded(p, leader: $0.leader)] } ?? []
    }

    /// `p`'s leader changed before this replica was live: its copy is being discarded; fetch again.
    mutating func refetch(_ p: PartitionID) {
        receiving.remove(p)
        loading.remove(p)
        caughtUp.remove(p)
        lastAskMillis = nil
    }

    /// The metadata log made one of this host's replicas live: the end may be near.
    func progressed(state: ClusterState) -> [Action] {
        guard begun, !done, state.slots(of: me).allSatisfy({ isLive($0, state) }) else { return [] }
        return [.propose(.rejoinEnd(me))]
    }

    /// The metadata log applied `rejoinEnd` for this incarnation.
    mutating func finished() {
        done = true
    }

    private func isLive(_ p: PartitionID, _ state: ClusterState) -> Bool {
        state.partition(p)?.live.contains(me) ?? false
    }
}
