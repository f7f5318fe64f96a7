// The row of `@Statistics REBALANCE`, in one place for the server that answers it and the client
// that reads it (`voltctl status`). The columns, their order and their types are VoltDB's
// (BalancePartitionsStatistics.Rebalance); unlike the other selectors there is no HOST_ID or
// HOSTNAME, only TIMESTAMP. The table has one row while a rebalance runs and none otherwise.
//
// What each figure means is said where it is computed (Rebalancer's RebalanceStatistics); in
// short, every rate is over the whole rebalance so far, from its start to the end of its last
// completed step, and every average is per completed step.

/// One `@Statistics REBALANCE` row.
public struct RebalanceRow: Sendable, Equatable {
    /// The columns, in VoltDB's order, with VoltDB's types.
    public enum Column: String, CaseIterable, Sendable {
        case timestamp = "TIMESTAMP"
        case percentageMoved = "PERCENTAGE_MOVED"
        case movedRows = "MOVED_ROWS"
        case rowsPerSecond = "ROWS_PER_SECOND"
        case estimatedRemaining = "ESTIMATED_REMAINING"
        case megabytesPerSecond = "MEGABYTES_PER_SECOND"
        case callsPerSecond = "CALLS_PER_SECOND"
        case callsLatency = "CALLS_LATENCY"
        case callsTime = "CALLS_TIME"
        case callsTransferTime = "CALLS_TRANSFER_TIME"

        public var type: SQLType {
            switch self {
            case .timestamp, .movedRows, .estimatedRemaining: .bigint
            default: .float
            }
        }
    }

    /// The columns of the REBALANCE table.
    public static let columns = Column.allCases.map { ResultTable.Column($0.rawValue, $0.type) }

    /// ESTIMATED_REMAINING when no estimate can be made yet (VoltDB's value for it).
    public static let unknownRemaining: Int64 = -1

    /// When the row was taken, milliseconds since the epoch.
    public var timestampMillis: Int64
    /// Tokens moved over tokens to move, 0...100.
    public var percentageMoved: Double
    public var movedRows: Int64
    public var rowsPerSecond: Double
    /// Milliseconds left at the rate so far; nil when unknown (`unknownRemaining` in the table).
    public var estimatedRemainingMillis: Int64?
    /// MiB per second, as VoltDB counts a megabyte.
    public var megabytesPerSecond: Double
    public var callsPerSecond: Double
    /// Average milliseconds a step took as its caller waited for it.
    public var callsLatencyMillis: Double
    /// Average milliseconds a step ran.
    public var callsTimeMillis: Double
    /// Average milliseconds of a step spent transferring rows.
    public var callsTransferTimeMillis: Double

    public init(timestampMillis: Int64, percentageMoved: Double, movedRows: Int64, rowsPerSecond: Double,
                estimatedRemainingMillis: Int64?, megabytesPerSecond: Double, callsPerSecond: Double,
                callsLatencyMillis: Double, callsTimeMillis: Double, callsTransferTimeMillis: Double) {
        self.timestampMillis = timestampMillis
        self.percentageMoved = percentageMoved
        self.movedRows = movedRows
        self.rowsPerSecond = rowsPerSecond
        self.estimatedRemainingMillis = estimatedRemainingMillis
        self.megabytesPerSecond = megabytesPerSecond
        self.callsPerSecond = callsPerSecond
        self.callsLatencyMillis = callsLatencyMillis
        self.callsTimeMillis = callsTimeMillis
        self.callsTransferTimeMillis = callsTransferTimeMillis
    }

    /// The cells, in `columns` order.
    public var values: [Value] {
        [.integer(timestampMillis), .float(percentageMoved), .integer(movedRows), .float(rowsPerSecond),
         .integer(estimatedRemainingMillis ?? Self.unknownRemaining), .float(megabytesPerSecond), .float(callsPerSecond),
         .float(callsLatencyMillis), .float(callsTimeMillis), .float(callsTransferTimeMillis)]
    }

    /// The REBALANCE table holding `rows`: none when no rebalance runs.
    public static func table(_ rows: [RebalanceRow]) -> ResultTable {
        ResultTable(columns: columns, rows: rows.map(\.values))
    }
}
