// `--servers` entries: `host`, `host:port`, `[v6addr]:port` or a bare IPv6 address. An entry
// without a port takes the command's default port (21212 for clients, 21211 for admin verbs), as
// sqlcmd and voltadmin do.

/// One server to connect to.
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses one entry; nil when the port is not a number in 1...65535 or the host is empty.
    public init?(parsing text: String, defaultPort: Int) {
        var host = text
        var port = defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":", let p = Int(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    /// Parses every entry; the first bad one is returned as the error.
    public static func parseList(_ entries: [String], defaultPort: Int) -> Result<[ServerAddress], BadServerAddress> {
        var addresses: [ServerAddress] = []
        for entry in entries {
            guard let address = ServerAddress(parsing: entry, defaultPort: defaultPort) else { return .failure(BadServerAddress(entry: entry)) }
            addresses.append(address)
        }
        return .success(addresses)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A `--servers` entry that is not `host[:port]`.
public struct BadServerAddress: Error, Sendable, Equatable {
    public var entry: String
}
