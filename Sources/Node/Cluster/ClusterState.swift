// The cluster metadata: the state machine that the metadata log replicates.
//
// Every host applies the same committed `MetadataCommand`s in the same order to the same initial
// state (the layout the start-up coordinator created), so every host holds the same
// `ClusterState` at the same log position; routing, replication targets and client pushes all
// follow it. `applying` is pure and total: a command that does not fit the state (a failure of a
// host already failed, a replica-ready from a host that is not rejoining) changes nothing, because
// two coordinators in succession may both propose the same fact.
//
// Members move live -> failed -> rejoining -> live. A partition lists its replica slots (the hosts
// the layout placed it on, failed ones included, so a restarted host knows what to rebuild) and
// the subset that is live (up to date, counted for acknowledgements). Its leader is always live.
//
// Failure (VoltDB's rule, docs/PROTOCOL.md §12.6): each partition the failed host led is
// led by the surviving replica that leads the fewest partitions, lowest host id on ties,
// partitions in id order; the rule itself is Rebalancer's `planLeaderFailover`. A partition with no live replica left
// stops the cluster: `stoppedReason` says which, and every host stops serving.
//
// Elastic join (ClusterState+Join.swift). One command admits K+1 joiners together with
// sitesperhost new partitions placed on them; the joiners are `joining` members until the
// replicated tables have been copied to their partitions (`joinParticipating`), then live. The
// ring is not stored: it is the fresh ring of the partitions that existed before the join, with
// each planned move applied up to the token the rebalance has recorded (`rangeMoved`); once every
// move is complete (`joinCompleted`) it is the fresh ring of all partitions (VoltDB's expansion
// gives exactly that ring). A rejoin waits while a join runs, and a join is admitted only into a
// complete cluster with no rejoin in progress.
//
// Invariants (checked by `violations`): epochs only grow (by one per state change); every leader
// is a live replica of its partition on a live or joining member; every live replica is a live,
// joining or rejoining member; replica slots are distinct hosts, K+1 per partition; at most one
// host rejoins at a time; joining members exist only while a join waits for its copy of the
// replicated tables; a join's progress lies within its moves.

import Rebalancer
import VoltModel
import VoltWire

/// One host as the cluster knows it.
public struct ClusterMember: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        /// `joining`: admitted by an elastic join; holds its new partitions' replicas and follows
        /// the streams, but takes no part in multi-partition work until the join copies the
        /// replicated tables to it.
        case live, failed, rejoining, joining
    }

    public var id: HostID
    /// The internal (mesh) endpoint, "ip:port".
    public var internalEndpoint: String
    /// The address clients dial.
    public var address: String
    public var hostname: String
    public var clientPort: Int
    public var adminPort: Int
    public var placementGroup: String
    public var state: State
    /// Changes every time the host's process starts, so a restarted host is told apart from its
    /// previous life (whose messages may still be in flight).
    public var incarnation: UInt64
    /// Wall-clock ms when this incarnation started (uptime in status).
    public var startedMillis: Int64

    public init(id: HostID, internalEndpoint: String, address: String, hostname: String, clientPort: Int, adminPort: Int,
                placementGroup: String = "0", state: State = .live, incarnation: UInt64, startedMillis: Int64) {
        self.id = id
        self.internalEndpoint = internalEndpoint
        self.address = address
        self.hostname = hostname
        self.clientPort = clientPort
        self.adminPort = adminPort
        self.placementGroup = placementGroup
        self.state = state
        self.incarnation = incarnation
        self.startedMillis = startedMillis
    }
}

/// One partition's replica slots, the live ones, and its leader.
public struct PartitionState: Sendable, Equatable {
    public var id: PartitionID
    /// Every host the layout placed a replica on, ascending.
    public var replicas: [HostID]
    /// The replicas that are up to date, ascending; the leader is one of them.
    public var live: [HostID]
    public var leader: HostID

    public init(id: PartitionID, replicas: [HostID], live: [HostID], leader: HostID) {
        self.id = id
        self.replicas = replicas.sorted()
        self.live = live.sorted()
        self.leader = leader
    }

    public var missing: Int { replicas.count - live.count }
}

/// A change to the cluster metadata, proposed by the coordinator and applied by every host.
public enum MetadataCommand: Sendable, Equatable {
    /// The host stopped answering (or its connections closed) and the surviving majority agreed.
    case hostFailed(HostID, reason: String)
    /// A failed host came back (a new incarnation); it will receive its replicas.
    case rejoinBegin(ClusterMember)
    /// The rejoining host has caught up on `partition` and now counts as a live replica, as its
    /// leader `leader` found. It applies only while `leader` still leads the partition: after a
    /// leader change the rejoiner refetches its copy, and a readiness proposed by the old leader
    /// must not count it live meanwhile (found by the cluster simulator). Nil in entries written
    /// before the leader was recorded.
    case replicaReady(HostID, PartitionID, leader: HostID?)
    /// The rejoining host holds all its replicas and serves clients.
    case rejoinEnd(HostID)
    /// A schema change committed on every host (catalog version after it, DDL text).
    case schema(version: Int64, ddl: String)
    /// K+1 joiners admitted together, with the new partitions placed on them (not on the ring yet).
    case joinAdmitted(JoinAdmission)
    /// A joiner has built its sites (schema installed, streams started) for its new partitions.
    case joinerReady(HostID)
    /// The replicated tables were copied to the new partitions: the joiners are live members and
    /// their partitions take part in multi-partition transactions; range moves may start.
    case joinParticipating
    /// Move `move` of the join's plan has moved every token below `upTo` (a ring-entry boundary).
    case rangeMoved(move: Int, upTo: Int64)
    /// Every move is complete: the ring is the fresh ring of all partitions.
    case joinCompleted
}

/// The replicated cluster metadata.
public struct ClusterState: Sendable, Equatable {
    public private(set) var epoch: Epoch
    public let kFactor: Int
    public let sitesPerHost: Int
    public internal(set) var partitionCount: Int
    /// By id.
    public internal(set) var members: [ClusterMember]
    /// By id.
    public internal(set) var partitions: [PartitionState]
    public private(set) var rejoining: HostID?
    /// Set when a partition lost every replica: the cluster must stop.
    public private(set) var stoppedReason: String?
    public private(set) var catalogVersion: Int64
    public private(set) var ddl: [String]
    /// The elastic join in progress, if any.
    public internal(set) var join: JoinState?

    /// The state right after start-up: every member live, the layout's replicas all live.
    public init(layout: ClusterLayout, members: [ClusterMember]) {
        precondition(Set(layout.hostIDs) == Set(members.map(\.id)),
                     "layout hosts \(layout.hostIDs) differ from members \(members.map(\.id))")
        epoch = Epoch(1)
        kFactor = layout.kFactor
        sitesPerHost = layout.sitesPerHost
        partitionCount = layout.partitions.count
        self.members = members.sorted { $0.id < $1.id }
        partitions = layout.partitions.map { PartitionState(id: $0.id, replicas: $0.replicas, live: $0.replicas, leader: $0.leader) }
            .sorted { $0.id < $1.id }
        rejoining = nil
        stoppedReason = nil
        catalogVersion = 0
        ddl = []
        join = nil
    }

    init(epoch: Epoch, kFactor: Int, sitesPerHost: Int, partitionCount: Int, members: [ClusterMember],
         partitions: [PartitionState], rejoining: HostID?, stoppedReason: String?, catalogVersion: Int64, ddl: [String],
         join: JoinState? = nil) {
        self.join = join
        self.epoch = epoch
        self.kFactor = kFactor
        self.sitesPerHost = sitesPerHost
        self.partitionCount = partitionCount
        self.members = members
        self.partitions = partitions
        self.rejoining = rejoining
        self.stoppedReason = stoppedReason
        self.catalogVersion = catalogVersion
        self.ddl = ddl
    }

    // MARK: Queries

    public func member(_ id: HostID) -> ClusterMember? { members.first { $0.id == id } }
    public func partition(_ id: PartitionID) -> PartitionState? { partitions.first { $0.id == id } }
    public var liveMembers: [HostID] { members.filter { $0.state == .live }.map(\.id) }
    public var memberIDs: [HostID] { members.map(\.id) }

    /// The partitions whose replica slots include `host`, ascending: its sites, in site order.
    public func slots(of host: HostID) -> [PartitionID] {
        partitions.filter { $0.replicas.contains(host) }.map(\.id)
    }

    /// The site index of `host`'s replica of `partition`.
    public func site(of host: HostID, for partition: PartitionID) -> SiteID? {
        slots(of: host).firstIndex(of: partition).map { SiteID(Int32($0)) }
    }

    /// Where multi-partition work is coordinated: the lowest live host.
    public var multiPartitionHost: HostID? { liveMembers.first }

    /// Replicas a partition is short of, summed over partitions.
    public var missingReplicas: Int { partitions.reduce(0) { $0 + $1.missing } }

    // MARK: Transitions

    /// The state after `command`; unchanged (same epoch) when the command does not apply.
    public func applying(_ command: MetadataCommand) -> ClusterState {
        var next = self
        switch command {
        case .hostFailed(let host, let reason):
            guard let i = members.firstIndex(where: { $0.id == host }), members[i].state != .failed else { return self }
            next.members[i].state = .failed
            if next.rejoining == host { next.rejoining = nil }
            next.failOver(host, reason: reason)
        case .rejoinBegin(let member):
            guard rejoining == nil, join == nil, let i = members.firstIndex(where: { $0.id == member.id }), members[i].state == .failed,
                  stoppedReason == nil else { return self }
            var updated = member
            updated.state = .rejoining
            updated.placementGroup = members[i].placementGroup
            next.members[i] = updated
            next.rejoining = member.id
        case .replicaReady(let host, let partition, let leader):
            guard rejoining == host, let p = partitions.firstIndex(where: { $0.id == partition }),
                  partitions[p].replicas.contains(host), !partitions[p].live.contains(host),
                  leader == nil || partitions[p].leader == leader else { return self }
            next.partitions[p].live = (partitions[p].live + [host]).sorted()
        case .rejoinEnd(let host):
            guard rejoining == host, let i = members.firstIndex(where: { $0.id == host }),
                  partitions.allSatisfy({ !$0.replicas.contains(host) || $0.live.contains(host) }) else { return self }
            next.members[i].state = .live
            next.rejoining = nil
        case .schema(let version, let text):
            guard version > catalogVersion else { return self }
            next.catalogVersion = version
            next.ddl.append(text)
        case .joinAdmitted, .joinerReady, .joinParticipating, .rangeMoved, .joinCompleted:
            guard next.applyJoin(command) else { return self }
        }
        next.epoch = Epoch(epoch.rawValue + 1)
        return next
    }

    /// Removes `host` from every live set and moves its leaderships by VoltDB's fewest-leaders rule
    /// (Rebalancer `planLeaderFailover`); only replicas on live members may lead.
    private mutating func failOver(_ host: HostID, reason: String) {
        let layout = ClusterLayout(kFactor: kFactor, sitesPerHost: sitesPerHost, hosts: [], partitions: partitions.map { p in
            PartitionPlacement(id: p.id, leader: p.leader, replicas: p.live.filter {
                $0 == host || member($0)?.state == .live || member($0)?.state == .joining
            })
        })
        let plan = planLeaderFailover(layout: layout, failedHosts: [host])
        for i in partitions.indices { partitions[i].live.removeAll { $0 == host } }
        for promotion in plan.promotions {
            guard let i = partitions.firstIndex(where: { $0.id == promotion.partition }) else { continue }
            partitions[i].leader = promotion.to
        }
        let lost = plan.lostPartitions
        if !lost.isEmpty && stoppedReason == nil {
            stoppedReason = "partition\(lost.count == 1 ? "" : "s") \(lost.map { String($0.rawValue) }.joined(separator: ", ")) "
                + "lost every replica when host \(host.rawValue) failed (\(reason)); the cluster cannot continue without that data"
        }
    }

    // MARK: Invariants

    /// Broken invariants, by name; empty when the state is consistent.
    public func violations() -> [String] {
        var found: [String] = []
        let state = Dictionary(uniqueKeysWithValues: members.map { ($0.id, $0.state) })
        for p in partitions {
            if Set(p.replicas).count != p.replicas.count { found.append("distinct replicas: \(p.id) has \(p.replicas)") }
            if !Set(p.live).isSubset(of: p.replicas) { found.append("live within replicas: \(p.id) live \(p.live) of \(p.replicas)") }
            for h in p.live where state[h] == .failed { found.append("live replica on failed host: \(p.id) on \(h)") }
            if p.replicas.count != kFactor + 1 { found.append("K+1 replicas: \(p.id) has \(p.replicas)") }
            if stoppedReason == nil {
                if !p.live.contains(p.leader) { found.append("leader is live replica: \(p.id) leader \(p.leader) live \(p.live)") }
                if state[p.leader] != .live && state[p.leader] != .joining { found.append("leader on live host: \(p.id) leader \(p.leader)") }
            }
        }
        let rejoiningCount = members.filter { $0.state == .rejoining }.count
        if rejoiningCount > 1 || (rejoiningCount == 1) != (rejoining != nil) {
            found.append("one rejoin at a time: \(rejoiningCount) rejoining, marker \(String(describing: rejoining))")
        }
        found += joinViolations()
        return found
    }
}

// MARK: Topology

extension ClusterState {
    /// What clients see: live hosts, and each partition's live replicas and leader.
    public var topology: Topology {
        let hosts = members.filter { $0.state == .live }.map {
            Topology.Host(id: $0.id, address: $0.address, hostname: $0.hostname, clientPort: $0.clientPort, adminPort: $0.adminPort)
        }
        // A join's new partitions appear once their hosts are live (they take part in
        // multi-partition work from then on, and ranges start moving to them).
        let parts = partitions.filter {
            (stoppedReason == nil || $0.live.contains($0.leader)) && member($0.leader)?.state != .joining
        }.map { p in
            let replicas = p.live.filter { member($0)?.state == .live }.map { Topology.Replica(host: $0, site: site(of: $0, for: p.id)!) }
            return Topology.Partition(id: p.id, replicas: replicas,
                                      leader: Topology.Replica(host: p.leader, site: site(of: p.leader, for: p.id)!))
        }
        let mpHost = multiPartitionHost ?? members[0].id
        return Topology(hosts: hosts, partitions: parts,
                        multiPartitionLeader: Topology.Replica(host: mpHost, site: SiteID(Int32(sitesPerHost))))
    }
}
