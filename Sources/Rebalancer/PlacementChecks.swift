// The named invariants of a placement layout. The planner's layouts pass all of them; the tests
// run them over every valid shape, and the metadata log can run them before it commits a layout.
//
//   kSafety                every partition has exactly K+1 replicas (fewer is "K-safety
//                          compromised", more wastes sites)
//   distinctHosts          no host appears twice among one partition's replicas
//   replicasOnKnownHosts   every replica and every leader is on a host of the layout
//   leaderIsReplica        each partition's leader is one of its replicas
//   sitesPerHost           every host holds exactly its site count of replicas
//   leaderBalance          no host leads more than ceil(partitions / hosts) partitions
//   groupSpreading         when placement groups are balanced (each holds the same number of
//                          sites), every partition spans min(groups, K+1) groups and no group holds
//                          more than ceil((K+1) / groups) of its replicas; with at least K+1 groups
//                          that means no two replicas share a group. Unbalanced groups cannot always
//                          be spread (VoltDB warns about them at startup), so the check does not
//                          bind there.
//   partitionIDsContiguous partitions are numbered 0..<P with no gaps, as the hash ring needs
//
// A check reports every offender it finds, each with the state that broke it; the list comes out
// in check order, then partition or host order.

/// The named checks of a placement layout; see the header of this file.
public enum PlacementCheck: String, Sendable, Hashable, CaseIterable {
    case kSafety
    case distinctHosts
    case replicasOnKnownHosts
    case leaderIsReplica
    case sitesPerHost
    case leaderBalance
    case groupSpreading
    case partitionIDsContiguous
}

/// One failed check, with the state that broke it.
public struct PlacementViolation: Sendable, Hashable, CustomStringConvertible {
    public let check: PlacementCheck
    public let detail: String

    public init(_ check: PlacementCheck, _ detail: String) {
        self.check = check
        self.detail = detail
    }

    public var description: String { "\(check.rawValue): \(detail)" }
}

/// Runs `checks` (all of them by default) on `layout`; empty means sound.
public func verify(layout: ClusterLayout,
                   checks: Set<PlacementCheck> = Set(PlacementCheck.allCases)) -> [PlacementViolation] {
    var out: [PlacementViolation] = []
    let known = Set(layout.hostIDs)
    for check in PlacementCheck.allCases where checks.contains(check) {
        switch check {
        case .kSafety:
            for p in layout.partitions where p.replicas.count != layout.replicationFactor {
                out.append(.init(check, "\(p.id) has \(p.replicas.count) replicas, K+1 = \(layout.replicationFactor)"))
            }
        case .distinctHosts:
            for p in layout.partitions where Set(p.replicas).count != p.replicas.count {
                out.append(.init(check, "\(p.id) repeats a host: \(p)"))
            }
        case .replicasOnKnownHosts:
            for p in layout.partitions {
                let unknown = Set(p.replicas + [p.leader]).subtracting(known).sorted()
                if !unknown.isEmpty { out.append(.init(check, "\(p.id) uses unknown hosts \(unknown)")) }
            }
        case .leaderIsReplica:
            for p in layout.partitions where !p.replicas.contains(p.leader) {
                out.append(.init(check, "\(p.id) is led by \(p.leader), not one of its replicas"))
            }
        case .sitesPerHost:
            var held: [HostID: Int] = [:]
            for p in layout.partitions { for h in p.replicas { held[h, default: 0] += 1 } }
            for h in layout.hosts where held[h.id, default: 0] != h.siteCount {
                out.append(.init(check, "\(h.id) holds \(held[h.id, default: 0]) replicas, has \(h.siteCount) sites"))
            }
        case .leaderBalance:
            let limit = layout.leaderLimitPerHost
            for h in layout.hosts {
                let led = layout.partitionsLed(by: h.id).count
                if led > limit { out.append(.init(check, "\(h.id) leads \(led) partitions, at most \(limit) allowed")) }
            }
        case .groupSpreading:
            out += groupSpreadingViolations(layout)
        case .partitionIDsContiguous:
            for (i, p) in layout.partitions.enumerated() where p.id.rawValue != Int32(i) {
                out.append(.init(check, "\(p.id) is at position \(i); partitions must be numbered 0..<\(layout.partitions.count)"))
                break
            }
        }
    }
    return out
}

private func groupSpreadingViolations(_ layout: ClusterLayout) -> [PlacementViolation] {
    var groupSites: [String: Int] = [:]
    var groupOf: [HostID: String] = [:]
    for h in layout.hosts {
        groupSites[h.placementGroup, default: 0] += h.siteCount
        groupOf[h.id] = h.placementGroup
    }
    guard Set(groupSites.values).count <= 1 else { return [] }
    let groups = groupSites.count
    let wantGroups = min(groups, layout.replicationFactor)
    let maxPerGroup = (layout.replicationFactor + groups - 1) / max(groups, 1)
    var out: [PlacementViolation] = []
    for p in layout.partitions {
        var perGroup: [String: Int] = [:]
        for h in p.replicas { if let g = groupOf[h] { perGroup[g, default: 0] += 1 } }
        let crowded = perGroup.values.max() ?? 0
        if perGroup.count < min(wantGroups, p.replicas.count) || crowded > maxPerGroup {
            let spread = perGroup.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
            out.append(.init(.groupSpreading,
                             "\(p.id) spans groups [\(spread)]; wanted \(wantGroups) groups, at most \(maxPerGroup) each"))
        }
    }
    return out
}
