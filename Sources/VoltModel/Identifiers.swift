// Typed identifiers shared by every layer. A bare Int never crosses an API boundary:
// mixing up a host id and a partition id is a class of bug the compiler can rule out.

/// A server process in the cluster. Stable for the life of the host's root directory.
public struct HostID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static func < (a: HostID, b: HostID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "host \(rawValue)" }
}

/// A partition of the hash ring. VoltDB numbers them 0..<P; 16383 is the multi-partition initiator.
public struct PartitionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static func < (a: PartitionID, b: PartitionID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "partition \(rawValue)" }
    /// VoltDB's pseudo-partition of the multi-partition initiator (MP_INIT_PID).
    public static let multiPartitionInitiator = PartitionID(16383)
}

/// One execution site: a single thread owning one partition replica.
public struct SiteID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static func < (a: SiteID, b: SiteID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "site \(rawValue)" }
}

/// A version of the cluster metadata. Strictly increasing.
public struct Epoch: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: Epoch, b: Epoch) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "epoch \(rawValue)" }
}

/// A position on the elastic hash ring: the signed upper 32 bits of MurmurHash3's h1.
public struct Token: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static func < (a: Token, b: Token) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
    public static let min = Token(Int32.min)
}

/// A half-open interval of tokens `[start, endExclusive)`. The end is 64-bit so that a range can
/// run through `Int32.max` inclusive (`endExclusive == 2^31`).
public struct TokenRange: Hashable, Sendable, CustomStringConvertible {
    public let start: Int64
    public let endExclusive: Int64

    public init(start: Int64, endExclusive: Int64) {
        precondition(start >= Int64(Int32.min) && endExclusive <= Int64(Int32.max) + 1 && start < endExclusive,
                     "token range [\(start), \(endExclusive)) is empty or leaves the ring")
        self.start = start
        self.endExclusive = endExclusive
    }

    /// The whole ring.
    public static let all = TokenRange(start: Int64(Int32.min), endExclusive: Int64(Int32.max) + 1)

    public func contains(_ token: Token) -> Bool {
        let t = Int64(token.rawValue)
        return t >= start && t < endExclusive
    }

    public var description: String { "[\(start), \(endExclusive))" }
}
