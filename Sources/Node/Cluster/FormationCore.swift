// Formation's decisions as a pure core: which hosts the start-up coordinator takes, when the
// cluster is complete, which host gets which id, and the initial state; and the check every host
// that asks to be added goes through (formation and `--add` alike). The shell (Host+Cluster.swift)
// holds the connections and answers them; this decides.
//
// Rules. A requester whose deployment (its canonical form without host-local paths, VoltDB's
// config hash) or schema differs from the checker's is refused with a message naming the
// settings that differ. Requests are kept one per internal endpoint (a host that asks again
// replaces its earlier request). The cluster is complete when `expected` other hosts have asked;
// then ids go in endpoint order after the coordinator's 0, and the layout is VoltDB's
// (`planInitialLayout`: partitions = hosts × sitesperhost / (K+1), K+1 replicas on distinct hosts,
// placement groups honoured, leaders spread). Requests after that are not counted.

import Rebalancer
import VoltModel

struct FormationCore: Sendable, Equatable {
    /// Hosts besides the coordinator that must ask.
    let expected: Int
    /// The hosts that asked, by internal endpoint.
    private(set) var requests: [String: HostRequest] = [:]
    private(set) var formed = false

    enum Verdict: Sendable, Equatable {
        case refused(String)
        /// Counted: `have` of the `expected` other hosts have asked.
        case counted(have: Int, of: Int)
        /// This request completed the cluster.
        case complete
    }

    init(expected: Int) {
        precondition(expected >= 0, "a formation expecting \(expected) hosts")
        self.expected = expected
    }

    /// A host asked to form the cluster; `mismatch` is `HostRequest.mismatch` against the coordinator.
    mutating func requested(_ request: HostRequest, mismatch: String?) -> Verdict {
        if let mismatch { return .refused(mismatch) }
        guard !formed else { return .refused("the cluster has already formed") }
        requests[request.member.internalEndpoint] = request
        guard requests.count >= expected else { return .counted(have: requests.count, of: expected) }
        formed = true
        return .complete
    }

    /// The endpoints of the hosts that asked, in the order their ids are given (after the
    /// coordinator's 0).
    var endpointsInIDOrder: [String] { requests.keys.sorted() }

    /// The members of the formed cluster with their ids: the coordinator, then the others by endpoint.
    func members(coordinator: ClusterMember) -> [ClusterMember] {
        var members = [coordinator] + endpointsInIDOrder.map { requests[$0]!.member }
        for i in members.indices { members[i].id = HostID(Int32(i)) }
        return members
    }

    /// The initial state of a cluster of `members`.
    static func initialState(members: [ClusterMember], sitesPerHost: Int, kFactor: Int) throws(PlacementError) -> ClusterState {
        let layout = try planInitialLayout(hosts: members.map { HostSpec(id: $0.id, placementGroup: $0.placementGroup) },
                                           sitesPerHost: sitesPerHost, kFactor: kFactor)
        return ClusterState(layout: layout, members: members)
    }
}

extension HostRequest {
    /// Why this requester cannot be part of the cluster of `checker` (its words for itself in the
    /// message: "the coordinator", "the cluster"), or nil when its deployment and schema match.
    func mismatch(configHash: String, deploymentText: String, schemaHash: String, checker: String) -> String? {
        if self.configHash != configHash {
            return Self.deploymentDifference(checker, deploymentText, requester: self.deploymentText)
        }
        if self.schemaHash != schemaHash {
            return "the schema files differ from the cluster's; initialize every host with the same --schema files"
        }
        return nil
    }

    /// Names the settings that differ between the canonical deployment of `checker` and a
    /// requesting host's.
    static func deploymentDifference(_ checker: String, _ ours: String, requester: String) -> String {
        let mine = ours.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let theirs = requester.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let onlyChecker = mine.filter { !theirs.contains($0) }
        let onlyRequester = theirs.filter { !mine.contains($0) }
        return "the deployment of this host differs from \(checker)'s: \(checker) has "
            + (onlyChecker.isEmpty ? "nothing else" : onlyChecker.joined(separator: " "))
            + " where this host has " + (onlyRequester.isEmpty ? "nothing" : onlyRequester.joined(separator: " "))
            + "; initialize every host with the same deployment.xml"
    }
}
