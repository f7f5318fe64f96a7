// Why a cluster shape cannot be placed. These are configuration errors found at the edge (start,
// join), so the planner throws them typed; the messages follow VoltDB's `ClusterConfig` and
// `RealVoltDB.getTopology` wording, which operators know, and end with what to do.
//
// The ranges of sitesperhost (1-64) and kfactor (0-15) match the deployment parser's
// (Node/Config/Deployment.swift); they are repeated here because Rebalancer sits below Node.

/// A host / sitesperhost / K combination, or a join request, that has no valid placement.
public enum PlacementError: Error, Sendable, Hashable, CustomStringConvertible {
    case noHosts
    case sitesPerHostOutOfRange(Int)
    case kFactorOutOfRange(Int)
    /// Fewer hosts than K+1: no partition can have K+1 replicas on distinct hosts.
    case notEnoughHosts(hostCount: Int, kFactor: Int)
    /// hosts × sitesperhost is not a multiple of K+1.
    case sitesNotDivisible(hostCount: Int, sitesPerHost: Int, kFactor: Int)
    case duplicateHost(HostID)
    /// A join must bring exactly K+1 hosts.
    case joinHostCount(given: Int, kFactor: Int)
    case joiningHostAlreadyMember(HostID)
    /// A join asked for a sitesperhost or kfactor other than the running cluster's.
    case joinConfigurationMismatch(sitesPerHost: Int, kFactor: Int, clusterSitesPerHost: Int, clusterKFactor: Int)

    public static let sitesPerHostRange = 1...64
    public static let kFactorRange = 0...15

    public var description: String {
        switch self {
        case .noHosts:
            "The number of hosts must be > 0. Start at least one host."
        case .sitesPerHostOutOfRange(let n):
            "The number of sites per host must be between \(Self.sitesPerHostRange.lowerBound) and "
                + "\(Self.sitesPerHostRange.upperBound), not \(n). Fix <cluster sitesperhost> in deployment.xml."
        case .kFactorOutOfRange(let k):
            "The k-factor must be between \(Self.kFactorRange.lowerBound) and \(Self.kFactorRange.upperBound), "
                + "not \(k). Fix <cluster kfactor> in deployment.xml."
        case .notEnoughHosts(let hosts, let k):
            "Not enough nodes to ensure K-Safety: \(k + 1) servers required for K-safety=\(k), \(hosts) given. "
                + "Start more hosts or lower kfactor."
        case .sitesNotDivisible(let hosts, let sph, let k):
            "Total number of sites is not divisible by the number of copies of the database: "
                + "\(hosts) hosts × \(sph) sitesperhost = \(hosts * sph) sites is not a multiple of k-factor+1 = \(k + 1). "
                + "Change the host count or sitesperhost."
        case .duplicateHost(let id):
            "Host id \(id.rawValue) is given more than once. Every host needs its own id."
        case .joinHostCount(let given, let k):
            "A join adds exactly K+1 = \(k + 1) hosts at a time (K-safety=\(k)), not \(given). "
                + "Start \(k + 1) new hosts together."
        case .joiningHostAlreadyMember(let id):
            "Host id \(id.rawValue) is already a member of the cluster and cannot join it. Give the new host a new id."
        case .joinConfigurationMismatch(let sph, let k, let clusterSph, let clusterK):
            "A joining host must match the cluster's configuration: sitesperhost \(sph) and kfactor \(k) were given, "
                + "the cluster runs sitesperhost \(clusterSph) and kfactor \(clusterK). Use the cluster's deployment.xml."
        }
    }
}
