// The elastic join as the metadata log records it (the model is in ClusterState.swift's header).
//
// Life of a join, one committed command per step:
//   joinAdmitted      K+1 joiners become `joining` members; sitesperhost new partitions, K+1
//                     replicas each on the joiners only, are added, not on the ring; the plan is
//                     fixed: the moves from the fresh ring of the old partitions to the fresh ring
//                     of all of them (`planMoves`), each at its start.
//   joinerReady       once per joiner, when it has its sites, schema and streams.
//   joinParticipating once every joiner that has not failed is ready and the replicated tables were
//                     copied: joiners are live, the new partitions take part in multi-partition
//                     work, and range moves may start.
//   rangeMoved        after each move step commits: the move has reached `upTo`.
//   joinCompleted     once every move is complete.
// A command that does not fit (a second admission, a step backwards, a completion before the last
// move) changes nothing, like every metadata command: a coordinator that took over may propose a
// fact again.

import Rebalancer
import Synchronization
import VoltModel

/// The joiners and the new partitions one admission brings in.
public struct JoinAdmission: Sendable, Equatable {
    /// The joiners, ascending by id, with the ids the coordinator gave them.
    public var members: [ClusterMember]
    /// The new partitions, ascending by id, placed on the joiners only.
    public var partitions: [PartitionState]
    /// Wall-clock ms of the admission (the rebalance's elapsed time counts from it).
    public var startedMillis: Int64

    public init(members: [ClusterMember], partitions: [PartitionState], startedMillis: Int64) {
        self.members = members.sorted { $0.id < $1.id }
        self.partitions = partitions.sorted { $0.id < $1.id }
        self.startedMillis = startedMillis
    }
}

/// An elastic join in progress.
public struct JoinState: Sendable, Equatable {
    public enum Phase: UInt8, Sendable, Equatable {
        /// Joiners are building their sites; the ring has not changed.
        case admitted = 0
        /// The new partitions take part in multi-partition work; ranges are moving.
        case moving = 1
    }

    public var joiners: [HostID]
    public var newPartitions: [PartitionID]
    /// Joiners that have their sites, ascending.
    public var ready: [HostID]
    public var phase: Phase
    /// For each move of `moves(partitionCount:)`, the token below which it has moved (its start
    /// when nothing has moved, its end when it is complete).
    public var progress: [Int64]
    public var startedMillis: Int64

    public init(joiners: [HostID], newPartitions: [PartitionID], ready: [HostID], phase: Phase, progress: [Int64],
                startedMillis: Int64) {
        self.joiners = joiners.sorted()
        self.newPartitions = newPartitions.sorted()
        self.ready = ready.sorted()
        self.phase = phase
        self.progress = progress
        self.startedMillis = startedMillis
    }
}

extension ClusterState {
    /// The ring routing follows: see the header of ClusterState.swift.
    public var ring: HashRing {
        guard let join else { return Self.freshRing(partitionCount) }
        let plan = Self.joinPlan(oldPartitions: partitionCount - join.newPartitions.count, newPartitions: join.newPartitions.count)
        var ring = plan.old
        for (move, upTo) in zip(plan.moves, join.progress) where upTo > move.range.start {
            ring = ring.applying(RangeMove(range: TokenRange(start: move.range.start, endExclusive: upTo),
                                           source: move.source, destination: move.destination))
        }
        return ring
    }

    /// The moves of the join in progress (empty without one).
    public var joinMoves: [RangeMove] {
        guard let join else { return [] }
        return Self.joinPlan(oldPartitions: partitionCount - join.newPartitions.count, newPartitions: join.newPartitions.count).moves
    }

    /// The partitions that take part in multi-partition transactions: all of them, except those a
    /// join added until the replicated tables reach them.
    public var participants: [PartitionID] {
        let waiting = join.map { $0.phase == .admitted ? Set($0.newPartitions) : [] } ?? []
        return partitions.map(\.id).filter { !waiting.contains($0) }
    }

    /// The fresh ring of the old partitions and the moves that turn it into the fresh ring of all.
    /// Pure, and asked for on every check of a state with a join, so kept once computed (a handful
    /// of cluster sizes per process).
    static func joinPlan(oldPartitions: Int, newPartitions: Int) -> (old: HashRing, moves: [RangeMove]) {
        let key = [oldPartitions, newPartitions]
        if let plan = joinPlans.withLock({ $0[key] }) { return plan }
        let old = freshRing(oldPartitions)
        let plan = (old, planMoves(from: old, to: freshRing(oldPartitions + newPartitions)))
        joinPlans.withLock { $0[key] = plan }
        return plan
    }

    /// VoltDB's ring of `partitions` partitions, kept once built.
    static func freshRing(_ partitions: Int) -> HashRing {
        if let ring = freshRings.withLock({ $0[partitions] }) { return ring }
        let ring = HashRing(partitionCount: partitions)
        freshRings.withLock { $0[partitions] = ring }
        return ring
    }

    private static let joinPlans = Mutex<[[Int]: (old: HashRing, moves: [RangeMove])]>([:])
    private static let freshRings = Mutex<[Int: HashRing]>([:])

    /// Why the cluster cannot admit a join now, or nil when it can.
    public var joinBlocker: String? {
        if let stoppedReason { return "the cluster has stopped: \(stoppedReason)" }
        if join != nil { return "a join is already in progress" }
        if let rejoining { return "host \(rejoining.rawValue) is rejoining" }
        if let missing = members.first(where: { $0.state == .failed }) {
            return "host \(missing.id.rawValue) is missing; an added host takes its place first"
        }
        return nil
    }

    /// The id the next added host gets: one above every id the cluster has used.
    public var nextHostID: HostID { HostID((members.map(\.id.rawValue).max() ?? -1) + 1) }

    /// The admission of `joiners` (K+1 of them, ids already given) into this cluster: their new
    /// partitions as `planJoin` places them (K+1 replicas on the joiners only, placement groups
    /// honoured, leaders spread).
    public func admission(of joiners: [ClusterMember], startedMillis: Int64) throws(PlacementError) -> JoinAdmission {
        let layout = ClusterLayout(kFactor: kFactor, sitesPerHost: sitesPerHost,
                                   hosts: members.map { HostPlacement(id: $0.id, placementGroup: $0.placementGroup, siteCount: sitesPerHost) },
                                   partitions: partitions.map { PartitionPlacement(id: $0.id, leader: $0.leader, replicas: $0.replicas) })
        let planned = try planJoin(layout: layout, newHosts: joiners.map { HostSpec(id: $0.id, placementGroup: $0.placementGroup) },
                                   sitesPerHost: sitesPerHost, kFactor: kFactor)
        let added = planned.partitions.filter { Int($0.id.rawValue) >= partitionCount }.map {
            PartitionState(id: $0.id, replicas: $0.replicas, live: $0.replicas, leader: $0.leader)
        }
        return JoinAdmission(members: joiners, partitions: added, startedMillis: startedMillis)
    }

    /// Applies a join command to `self`; false when it does not fit (nothing changed).
    mutating func applyJoin(_ command: MetadataCommand) -> Bool {
        switch command {
        case .joinAdmitted(let admission):
            guard joinBlocker == nil, admission.members.count == kFactor + 1,
                  admission.partitions.count == sitesPerHost else { return false }
            let ids = admission.members.map(\.id)
            guard Set(ids).count == ids.count, ids.allSatisfy({ member($0) == nil }) else { return false }
            let expected = (partitionCount..<(partitionCount + sitesPerHost)).map { PartitionID(Int32($0)) }
            guard admission.partitions.map(\.id) == expected, admission.partitions.allSatisfy({ p in
                p.replicas.count == kFactor + 1 && Set(p.replicas).isSubset(of: ids) && p.live == p.replicas
                    && p.replicas.contains(p.leader)
            }) else { return false }
            for var m in admission.members {
                m.state = .joining
                members.append(m)
            }
            members.sort { $0.id < $1.id }
            partitions += admission.partitions
            let oldCount = partitionCount
            partitionCount += sitesPerHost
            let moves = Self.joinPlan(oldPartitions: oldCount, newPartitions: sitesPerHost).moves
            join = JoinState(joiners: ids, newPartitions: expected, ready: [], phase: .admitted,
                             progress: moves.map(\.range.start), startedMillis: admission.startedMillis)
        case .joinerReady(let host):
            guard var j = join, j.phase == .admitted, j.joiners.contains(host), !j.ready.contains(host),
                  member(host)?.state == .joining else { return false }
            j.ready = (j.ready + [host]).sorted()
            join = j
        case .joinParticipating:
            guard var j = join, j.phase == .admitted,
                  j.joiners.allSatisfy({ j.ready.contains($0) || member($0)?.state == .failed }) else { return false }
            j.phase = .moving
            join = j
            for i in members.indices where members[i].state == .joining { members[i].state = .live }
        case .rangeMoved(let index, let upTo):
            guard var j = join, j.phase == .moving else { return false }
            let moves = joinMoves
            guard moves.indices.contains(index), upTo > j.progress[index], upTo <= moves[index].range.endExclusive else { return false }
            let old = Self.freshRing(partitionCount - j.newPartitions.count)
            guard old.isAligned(TokenRange(start: moves[index].range.start, endExclusive: upTo)) else { return false }
            j.progress[index] = upTo
            join = j
        case .joinCompleted:
            guard let j = join, j.phase == .moving,
                  zip(joinMoves, j.progress).allSatisfy({ $0.range.endExclusive == $1 }) else { return false }
            join = nil
        default:
            return false
        }
        return true
    }

    /// The join's share of `violations()`.
    func joinViolations() -> [String] {
        var found: [String] = []
        if partitions.count != partitionCount { found.append("partition count: \(partitions.count) partitions, count \(partitionCount)") }
        let joining = members.filter { $0.state == .joining }.map(\.id)
        guard let join else {
            if !joining.isEmpty { found.append("joining only during a join: \(joining)") }
            return found
        }
        if join.phase == .moving && !joining.isEmpty { found.append("joiners live once moving: \(joining) still joining") }
        if !Set(joining).isSubset(of: join.joiners) { found.append("joining members are joiners: \(joining) of \(join.joiners)") }
        let moves = joinMoves
        if moves.count != join.progress.count {
            found.append("one progress mark per move: \(join.progress.count) marks, \(moves.count) moves")
        } else {
            for (i, (move, upTo)) in zip(moves, join.progress).enumerated()
            where upTo < move.range.start || upTo > move.range.endExclusive {
                found.append("progress within its move: move \(i) \(move) at \(upTo)")
            }
        }
        if join.phase == .admitted && zip(join.progress, moves).contains(where: { $0 != $1.range.start }) {
            found.append("no move before the joiners take part: \(join.progress)")
        }
        return found
    }
}
