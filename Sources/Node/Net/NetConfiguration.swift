// Limits and hooks shared by a listener and every connection it accepts. The defaults suit a
// client port: VoltDB's 50 MiB frame limit, 8 MiB of unsent responses before a connection stops
// reading (see Connection.swift, "Back-pressure"), and a connection cap far below the process's
// file-descriptor limit.
import Glibc
import VoltWire

/// Limits of a `TCPListener` and its connections.
public struct NetConfiguration: Sendable {
    /// Largest frame body accepted; a longer (or negative) length prefix closes the connection.
    public var maxFrameBytes: Int
    /// When a connection's unsent output exceeds this, it stops reading requests.
    public var outputHighWaterBytes: Int
    /// A connection paused by `outputHighWaterBytes` reads again once its output drops to this.
    public var outputLowWaterBytes: Int
    /// Connections open at once; one more is accepted, told (`TCPListener`'s `onRejected`) and closed.
    public var maxConnections: Int
    /// The `listen(2)` backlog.
    public var listenBacklog: Int32
    /// Where the shell reports what it does on its own: closes for a protocol violation, accept
    /// failures, running out of file descriptors. Called on loop threads; must not block.
    public var log: @Sendable (String) -> Void

    public init(
        maxFrameBytes: Int = FrameDecoder.defaultMaxFrameBytes,
        outputHighWaterBytes: Int = 8 * 1024 * 1024,
        outputLowWaterBytes: Int = 4 * 1024 * 1024,
        maxConnections: Int = 10_000,
        listenBacklog: Int32 = 1024,
        log: @escaping @Sendable (String) -> Void = NetConfiguration.logToStandardError
    ) {
        precondition(maxFrameBytes >= 0 && maxFrameBytes <= Int(Int32.max),
                     "maxFrameBytes must be within 0...\(Int32.max), got \(maxFrameBytes)")
        precondition(outputLowWaterBytes >= 0 && outputLowWaterBytes <= outputHighWaterBytes,
                     "need 0 <= outputLowWaterBytes (\(outputLowWaterBytes)) <= outputHighWaterBytes (\(outputHighWaterBytes))")
        precondition(maxConnections >= 0, "maxConnections must not be negative, got \(maxConnections)")
        self.maxFrameBytes = maxFrameBytes
        self.outputHighWaterBytes = outputHighWaterBytes
        self.outputLowWaterBytes = outputLowWaterBytes
        self.maxConnections = maxConnections
        self.listenBacklog = listenBacklog
        self.log = log
    }

    /// The default log sink: one line on standard error.
    public static let logToStandardError: @Sendable (String) -> Void = { line in
        let text = Array("net: \(line)\n".utf8)
        _ = text.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
