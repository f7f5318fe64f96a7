// Which ring positions one partition owns: the guard that keeps a single-partition write from
// storing a row that belongs to another partition (VoltDB: "Mispartitioned tuple"). During an
// elastic join the site replaces it as ranges cut over.

/// The tokens owned by `partition` under `ring`.
public struct TokenOwnership: Sendable, Equatable {
    public let ring: HashRing
    public let partition: PartitionID

    public init(ring: HashRing, partition: PartitionID) {
        self.ring = ring
        self.partition = partition
    }

    @inline(__always)
    public func owns(_ token: Token) -> Bool { ring.partition(for: token) == partition }
}
