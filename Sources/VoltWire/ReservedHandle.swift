// Client handles with a fixed meaning (docs/PROTOCOL.md §6.1). Clients use small
// positive handles for calls; the top of the Int64 range is reserved for health checks and server
// pushes. The server echoes every handle verbatim and only ever originates the push handles, and
// only on connections that called `@Subscribe TOPOLOGY`.

/// Reserved client handles.
public enum ReservedHandle {
    /// `@Ping` health checks, request and response: 2^63-1.
    public static let ping: Int64 = .max
    /// Server push of a new `@Statistics TOPO 0` result: 2^63-2.
    public static let asyncTopology: Int64 = .max - 1
    /// Server push of a new `@SystemCatalog PROCEDURES` result: 2^63-3.
    public static let asyncProcedures: Int64 = .max - 2
    /// Every handle above this one is a push to the Python client: 2^63-65.
    public static let maxClient: Int64 = .max - 64

    /// Whether the Python client treats a response with this handle as a server push (it also
    /// treats -2^63, which its reader turns into None, that way).
    public static func isServerPush(_ handle: Int64) -> Bool {
        handle > maxClient && handle != ping || handle == .min
    }
}
