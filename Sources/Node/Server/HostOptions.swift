// How one host is started: the ports and interfaces it serves on, whether it starts paused, and
// where its log goes. `voltctl start` parses its command line into this value; tests build it
// directly with port 0 (the kernel picks a free port; `Host` reports the bound ports).
//
// Ports follow VoltDB's defaults (docs/PROTOCOL.md §12.2). The internal (mesh) port is
// bound by a cluster host (`cluster` set); the HTTP port is recorded and reported in
// `@SystemInformation OVERVIEW` but not bound, as there is no HTTP API yet.

import Glibc

/// Start-up settings of a `Host`.
public struct HostOptions: Sendable {
    public static let defaultClientPort = 21212
    public static let defaultAdminPort = 21211
    public static let defaultInternalPort = 3021
    public static let defaultHTTPPort = 8080

    /// The interface both listeners bind unless overridden; "0.0.0.0" means every IPv4 interface.
    public var bindAddress: String
    /// Interface of the client port (VoltDB `--client ip:port`); nil = `bindAddress`.
    public var clientInterface: String?
    /// Interface of the admin port; nil = `bindAddress`.
    public var adminInterface: String?
    public var clientPort: Int
    public var adminPort: Int
    public var internalPort: Int
    public var httpPort: Int
    /// Start in admin mode (VoltDB `--pause`): the client port refuses work until `@Resume`.
    public var paused: Bool
    /// Calls one connection may have in flight before the server stops reading from it.
    public var maxInFlightPerConnection: Int
    /// How long `stop()` waits for calls in flight before closing connections.
    public var drainTimeoutMillis: Int
    /// Where log lines go (already formatted with a timestamp). Called from any thread.
    public var log: @Sendable (String) -> Void
    /// Set for a host of a multi-host cluster (`voltctl start --host ... --count N`).
    public var cluster: ClusterOptions?
    /// Called once when the cluster requires this host to stop at once (minority side of a
    /// network split, declared failed, cluster stopped). `voltctl start` prints the reason and
    /// exits; the default stops the host.
    public var onFatal: (@Sendable (String) -> Void)?

    public init(bindAddress: String = "0.0.0.0", clientInterface: String? = nil, adminInterface: String? = nil,
                clientPort: Int = HostOptions.defaultClientPort, adminPort: Int = HostOptions.defaultAdminPort,
                internalPort: Int = HostOptions.defaultInternalPort, httpPort: Int = HostOptions.defaultHTTPPort,
                paused: Bool = false, maxInFlightPerConnection: Int = 10_000, drainTimeoutMillis: Int = 5_000,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        precondition(maxInFlightPerConnection >= 2, "maxInFlightPerConnection must be at least 2, got \(maxInFlightPerConnection)")
        self.bindAddress = bindAddress
        self.clientInterface = clientInterface
        self.adminInterface = adminInterface
        self.clientPort = clientPort
        self.adminPort = adminPort
        self.internalPort = internalPort
        self.httpPort = httpPort
        self.paused = paused
        self.maxInFlightPerConnection = maxInFlightPerConnection
        self.drainTimeoutMillis = drainTimeoutMillis
        self.log = log
    }
}

/// How a host finds and forms its cluster.
public struct ClusterOptions: Sendable {
    /// `--host`: internal endpoints ("host:port", port 3021 when omitted). The first in sorted
    /// order coordinates start-up.
    public var hosts: [String]
    /// `--count`: hosts in the full cluster.
    public var count: Int
    /// The interface the internal port binds (nil: `HostOptions.bindAddress`).
    public var internalInterface: String?
    /// `--placement-group`: hosts of one group (a rack) get different replicas of a partition when
    /// possible.
    public var placementGroup: String?
    /// Heartbeats and the metadata log tick at this period.
    public var heartbeatIntervalMillis: Int
    /// How long `start()` waits for the cluster to form (every host there) or for a rejoin.
    public var formationTimeoutMillis: Int
    /// `--add`: a fresh host that takes the place of a host the running cluster is missing.
    public var add: Bool

    public init(hosts: [String], count: Int, internalInterface: String? = nil, placementGroup: String? = nil,
                heartbeatIntervalMillis: Int = 100, formationTimeoutMillis: Int = 600_000, add: Bool = false) {
        self.add = add
        self.hosts = hosts
        self.count = count
        self.internalInterface = internalInterface
        self.placementGroup = placementGroup
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.formationTimeoutMillis = formationTimeoutMillis
    }

    /// "host:port" → (host, port), default port 3021.
    public static func parseEndpoint(_ text: String) -> (host: String, port: Int)? {
        var host = Substring(text)
        var port = HostOptions.defaultInternalPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") { guard let p = Int(rest.dropFirst()) else { return nil }; port = p }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            guard let p = Int(text[text.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return (host == "localhost" ? "127.0.0.1" : String(host), port)
    }
}

/// A log that appends timestamped lines to a file and, optionally, to standard error.
public final class HostLog: Sendable {
    private let fd: Int32
    private let echo: Bool

    /// Opens (creating or appending) `path`. Throws a readable message when it cannot.
    public init(path: String, echoToStandardError: Bool) throws(HostError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HostError.log(path: path, reason: String(cString: strerror(errno))) }
        self.fd = fd
        self.echo = echoToStandardError
    }

    deinit { close(fd) }

    /// Writes one line: "2024-05-01T12:00:00.123Z message".
    public func write(_ message: String) {
        let bytes = Array("\(HostLog.timestamp()) \(message)\n".utf8)
        bytes.withUnsafeBytes { raw in
            _ = Glibc.write(fd, raw.baseAddress, raw.count)
            if echo { _ = Glibc.write(STDERR_FILENO, raw.baseAddress, raw.count) }
        }
    }

    /// UTC wall-clock time with milliseconds, ISO 8601.
    public static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}

/// Why a host could not start (or its log could not open). Each message names the file, port or
/// statement concerned.
public enum HostError: Error, Sendable, Equatable, CustomStringConvertible {
    case portInUse(name: String, address: String, port: Int)
    case bind(name: String, address: String, port: Int, reason: String)
    case schema(file: String, statementNumber: Int, statement: String, message: String)
    case log(path: String, reason: String)
    case notStartable(String)

    public var description: String {
        switch self {
        case let .portInUse(name, address, port):
            return "the \(name) port \(port) on \(address) is already in use; stop the process using it or choose another port with --\(name)"
        case let .bind(name, address, port, reason):
            return "cannot listen on the \(name) port \(address):\(port): \(reason)"
        case let .schema(file, number, statement, message):
            let shown = statement.count > 200 ? String(statement.prefix(200)) + "…" : statement
            return "schema file \(file), statement \(number) failed: \(message)\n  statement: \(shown)"
        case let .log(path, reason):
            return "cannot open the log file \(path): \(reason)"
        case .notStartable(let why):
            return why
        }
    }
}
