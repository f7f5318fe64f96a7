// What the wire server implements to receive a connection's events, and why a connection closed.
//
// A handler belongs to one connection and lives on that connection's loop thread: it is created
// there by the listener's factory, and every method below is called there, one at a time, so it
// needs no locks and need not be Sendable. Work it hands to other threads (sites) answers through
// `Connection.write(frame:)`, which any thread may call.
//
// Order of calls: `onOpen` once, then `onFrame` for each frame in arrival order (never while reading
// is paused), then at most one `onInputClosed` (the peer shut down its sending side), then exactly
// one `onClose`. After `onClose` the connection never calls its handler again and drops it.

/// Receives one connection's events on its loop thread.
public protocol ConnectionHandler: AnyObject {
    /// The connection is registered and will start reading. Default: nothing.
    func onOpen(_ connection: Connection)

    /// One complete frame body (the length prefix removed). The slice shares the connection's read
    /// buffer: keep it only as long as the call, or copy it (`Array(body)`), otherwise the next read
    /// copies the whole buffer.
    func onFrame(_ connection: Connection, _ body: ArraySlice<UInt8>)

    /// The peer shut down its sending side (read returned end-of-file); no more frames will come,
    /// but the peer may still be reading. Default: `connection.closeAfterFlush()`, which sends what
    /// is queued and closes. A server with calls still in flight overrides this to close once they
    /// have been answered.
    func onInputClosed(_ connection: Connection)

    /// The connection is closed: its socket is closed, unsent output was dropped, later writes are
    /// dropped and counted.
    func onClose(_ connection: Connection, reason: CloseReason)
}

extension ConnectionHandler {
    public func onOpen(_ connection: Connection) {}
    public func onInputClosed(_ connection: Connection) { connection.closeAfterFlush() }
}

/// Why a connection closed.
public enum CloseReason: Sendable, Hashable, CustomStringConvertible {
    /// The peer closed (end-of-file, then the close the handler asked for; or a hang-up).
    case peerClosed
    /// `close()` or `closeAfterFlush()` was called while the peer was still connected.
    case closedLocally
    /// A frame length prefix above the configured maximum. Nothing was allocated for it.
    case frameTooLarge(lengthBytes: Int, maxBytes: Int)
    /// A negative frame length prefix.
    case negativeFrameLength(Int32)
    /// A socket call failed (reset by the peer, broken pipe, ...).
    case ioError(operation: String, errno: Int32)
    /// The connection's event loop shut down.
    case eventLoopShutdown

    /// Whether the peer broke the framing protocol (the server may want to log the peer address).
    public var isProtocolViolation: Bool {
        switch self {
        case .frameTooLarge, .negativeFrameLength: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .peerClosed: return "closed by the peer"
        case .closedLocally: return "closed by the server"
        case let .frameTooLarge(length, maxBytes):
            return "frame of \(length) bytes exceeds the maximum of \(maxBytes) bytes"
        case .negativeFrameLength(let n): return "negative frame length \(n)"
        case let .ioError(operation, code): return "\(operation) failed: \(describeErrno(code)) (errno \(code))"
        case .eventLoopShutdown: return "the event loop shut down"
        }
    }
}

/// A connection's id: unique within its `EventLoopGroup`, increasing in accept order. The wire
/// server reports it as the login response's connection id.
public struct ConnectionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (a: ConnectionID, b: ConnectionID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "connection \(rawValue)" }
}
