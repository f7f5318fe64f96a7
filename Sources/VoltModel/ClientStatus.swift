/// The status byte of a client response: one registry shared by the engine, the wire server and
/// `voltctl` (docs/PROTOCOL.md §4.2). Clients only test for `success`; the others
/// tell an operator what kind of failure happened.
public enum ClientStatus: Int8, Sendable, Hashable, CustomStringConvertible {
    case success = 1
    /// The procedure aborted itself and was rolled back.
    case userAbort = -1
    /// Rejected or failed and rolled back with no side effects: SQL errors, constraint violations, bad parameters.
    case gracefulFailure = -2
    /// Unknown procedure, malformed invocation, internal error.
    case unexpectedFailure = -3
    case connectionLost = -4
    /// Shutting down, paused, or the transaction could not be created.
    case serverUnavailable = -5
    case connectionTimeout = -6
    /// The transaction was dropped during a leader failover; its outcome is unknown.
    case responseUnknown = -7
    case txnRestart = -8
    case operationalFailure = -9
    /// Internal: the partition that ran the call no longer owns its key (a range moved away), so
    /// nothing ran; the server sends the call to the owner. Never sent to clients.
    case txnMispartitioned = -10

    public var name: String {
        switch self {
        case .success: "SUCCESS"
        case .userAbort: "USER_ABORT"
        case .gracefulFailure: "GRACEFUL_FAILURE"
        case .unexpectedFailure: "UNEXPECTED_FAILURE"
        case .connectionLost: "CONNECTION_LOST"
        case .serverUnavailable: "SERVER_UNAVAILABLE"
        case .connectionTimeout: "CONNECTION_TIMEOUT"
        case .responseUnknown: "RESPONSE_UNKNOWN"
        case .txnRestart: "TXN_RESTART"
        case .operationalFailure: "OPERATIONAL_FAILURE"
        case .txnMispartitioned: "TXN_MISPARTITIONED"
        }
    }

    public var description: String { "\(name) (\(rawValue))" }
}
