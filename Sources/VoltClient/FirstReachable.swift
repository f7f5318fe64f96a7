// Connecting to "the cluster" from a `--servers` list: every host of a cluster answers every
// client call (system procedures included), so the client tries the entries in order and keeps
// the first that accepts a login, as sqlcmd does when it needs one connection. When none does,
// the error lists each server's reason.

import VoltWire

public enum FirstReachable {
    /// A logged-in connection to the first server of `servers` that accepts one.
    public static func connect(_ servers: [ServerAddress], username: String, password: String,
                               timeoutMillis: Int) throws(NoServerReachable) -> VoltClientConnection {
        var reasons: [String] = []
        for server in servers {
            do {
                return try VoltClientConnection(host: server.host, port: server.port, username: username,
                                                password: password, timeoutMillis: timeoutMillis)
            } catch {
                let reason = error.description
                reasons.append(reason.contains(server.description) ? reason : "\(server): \(reason)")
            }
        }
        throw NoServerReachable(reasons: reasons)
    }
}

/// No server of the list accepted a connection; one reason per server, in list order.
public struct NoServerReachable: Error, Sendable, Equatable, CustomStringConvertible {
    public var reasons: [String]
    public var description: String {
        reasons.count == 1 ? reasons[0] : "cannot connect to any server: " + reasons.joined(separator: "; ")
    }
}
