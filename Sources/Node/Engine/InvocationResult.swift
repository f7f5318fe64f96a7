/// What a transaction returns to its caller: VoltDB's ClientResponse without the wire framing.
public struct InvocationResult: Sendable {
    public var status: ClientStatus
    public var statusString: String?
    public var tables: [ResultTable]
    /// The fold of every write the transaction made, in order; replicas compare it to detect
    /// non-determinism. Zero for a transaction that wrote nothing.
    public var determinismHash: UInt64
    public var transactionID: Int64
    /// With `txnMispartitioned`: the partition that owns the call's key now, as the site that
    /// refused it knows (the call goes there next).
    public var owner: PartitionID?

    public init(status: ClientStatus, statusString: String? = nil, tables: [ResultTable] = [],
                determinismHash: UInt64 = 0, transactionID: Int64 = 0, owner: PartitionID? = nil) {
        self.status = status
        self.statusString = statusString
        self.tables = tables
        self.determinismHash = determinismHash
        self.transactionID = transactionID
        self.owner = owner
    }

    public var succeeded: Bool { status == .success }

    /// Nothing ran: `partition` no longer owns the key; `owner` does.
    static func mispartitioned(_ partition: PartitionID, owner: PartitionID, transactionID: Int64) -> InvocationResult {
        InvocationResult(status: .txnMispartitioned,
                         statusString: "partition \(partition.rawValue) no longer owns this key; partition \(owner.rawValue) does",
                         transactionID: transactionID, owner: owner)
    }

    static func failure(_ error: SQLError, transactionID: Int64 = 0) -> InvocationResult {
        InvocationResult(status: error.clientStatus, statusString: error.message, transactionID: transactionID)
    }
}

extension SQLError {
    /// The client status VoltDB reports for this kind of failure (docs/PROTOCOL.md §4.2, §5.13).
    public var clientStatus: ClientStatus {
        switch kind {
        case .userAbort: .userAbort
        case .unknownProcedure, .internalError: .unexpectedFailure
        default: .gracefulFailure
        }
    }
}
