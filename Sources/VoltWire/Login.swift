// Login, the first frame in each direction (docs/PROTOCOL.md §2.2–2.3).
//
// Request body: int8 version; int8 hash scheme only when version >= 1 (0 SHA-1, 1 SHA-256;
// version 0 implies SHA-1); string service; string username; then the raw password digest, which
// must be exactly the rest of the body (20 bytes for SHA-1, 32 for SHA-256). The Python client
// always sends version 1, scheme 1, service "database".
//
// Success response body: int8 version 0 (2 would switch the Python client into Kerberos mode),
// int8 status 0, int32 host id, int64 connection id, int64 cluster start ms, int32 leader IPv4,
// string build (length must be >= 0: the Python parser crashes on -1). Failure: version 0 and a
// non-zero status byte, nothing else; the server closes afterwards.
//
// Departure from Java: a version above 1 is accepted and read like version 1 (the reference says
// "version >= 1 → read scheme byte"); negative versions are rejected.

import VoltModel

/// The password hash a login digest was made with.
public enum LoginHashScheme: Int8, Sendable, Hashable {
    case sha1 = 0
    case sha256 = 1

    public var digestByteCount: Int {
        switch self {
        case .sha1: SHA1.digestByteCount
        case .sha256: SHA256.digestByteCount
        }
    }

    public func digest(password: String) -> [UInt8] {
        switch self {
        case .sha1: SHA1.digest(password)
        case .sha256: SHA256.digest(password)
        }
    }
}

/// The status byte of a login response (Java `Constants`; §2.3).
public enum LoginStatus: Int8, Sendable, Hashable {
    case success = 0
    case authenticationFailed = -1
    case tooManyConnections = 1
    case timeout = 2
    case wireProtocolViolation = 3
    case rejoining = 4
    case serviceUnavailable = 5
    case tlsRequired = 6
    case clientCertificateRequired = 7
    case certificateRevoked = 8

    /// The status to answer a login request that failed to decode with: Java answers a bad hash
    /// scheme or version as a format violation and a digest of the wrong size as a failed login.
    public init(rejecting error: WireError) {
        switch error.kind {
        case .invalidDigestLength: self = .authenticationFailed
        default: self = .wireProtocolViolation
        }
    }
}

/// A client's login request.
public struct LoginRequest: Sendable, Hashable {
    public var version: Int8
    public var scheme: LoginHashScheme
    public var service: String
    public var username: String
    public var passwordDigest: [UInt8]

    public init(version: Int8 = 1, scheme: LoginHashScheme, service: String = "database", username: String, passwordDigest: [UInt8]) {
        precondition(version >= 1 || scheme == .sha1, "login version 0 implies SHA-1")
        precondition(passwordDigest.count == scheme.digestByteCount,
                     "a \(scheme) digest is \(scheme.digestByteCount) bytes, got \(passwordDigest.count)")
        self.version = version
        self.scheme = scheme
        self.service = service
        self.username = username
        self.passwordDigest = passwordDigest
    }

    /// What the Python client sends: version 1, SHA-256 of the UTF-8 password.
    public init(username: String, password: String, service: String = "database") {
        self.init(version: 1, scheme: .sha256, service: service, username: username,
                  passwordDigest: SHA256.digest(password))
    }

    /// Whether the digest is that of `password` under the request's scheme.
    public func matches(password: String) -> Bool {
        digestsEqual(passwordDigest, scheme.digest(password: password))
    }

    /// Decodes a login request frame body.
    public static func decode(_ body: ArraySlice<UInt8>) throws(WireError) -> LoginRequest {
        var r = WireReader(body)
        let versionAt = r.offset
        let version = try r.readInt8("login version")
        guard version >= 0 else { throw WireError(.unsupportedVersion(version), what: "login request", offset: versionAt) }
        var scheme = LoginHashScheme.sha1
        if version >= 1 {
            let at = r.offset
            let raw = try r.readInt8("login hash scheme")
            guard let s = LoginHashScheme(rawValue: raw) else {
                throw WireError(.unknownHashScheme(raw), what: "login request", offset: at)
            }
            scheme = s
        }
        let service = try r.readNonNullString("login service")
        let username = try r.readNonNullString("login username")
        let digestAt = r.offset
        guard r.remaining == scheme.digestByteCount else {
            throw WireError(.invalidDigestLength(r.remaining), what: "login password digest", offset: digestAt)
        }
        let digest = try r.readRawBytes(r.remaining, "login password digest")
        return LoginRequest(version: version, scheme: scheme, service: service, username: username, passwordDigest: digest)
    }

    public static func decode(_ body: [UInt8]) throws(WireError) -> LoginRequest { try decode(body[...]) }

    public func encode(into w: inout WireWriter) {
        let frame = w.beginFrame()
        w.writeInt8(version)
        if version >= 1 { w.writeInt8(scheme.rawValue) }
        w.writeString(service)
        w.writeString(username)
        w.writeRaw(passwordDigest)
        w.endFrame(frame)
    }

    /// The complete frame, length prefix included.
    public func encodeFrame() -> [UInt8] {
        var w = WireWriter(reservingCapacity: 64 + username.utf8.count + service.utf8.count)
        encode(into: &w)
        return w.take()
    }
}

/// What a successful login tells the client about the node it reached.
public struct LoginSuccess: Sendable, Hashable {
    /// Must equal the node's id in `@Statistics TOPO` and `@SystemInformation OVERVIEW`: the
    /// Python client routes by it.
    public var hostID: HostID
    public var connectionID: Int64
    public var clusterStartMillis: Int64
    /// IPv4 address of the cluster coordinator, as a big-endian integer (127.0.0.1 = 0x7f000001).
    public var leaderAddress: Int32
    public var buildString: String

    public init(hostID: HostID, connectionID: Int64, clusterStartMillis: Int64, leaderAddress: Int32, buildString: String) {
        self.hostID = hostID
        self.connectionID = connectionID
        self.clusterStartMillis = clusterStartMillis
        self.leaderAddress = leaderAddress
        self.buildString = buildString
    }

    public func encode(into w: inout WireWriter) {
        let frame = w.beginFrame()
        w.writeInt8(0)
        w.writeInt8(LoginStatus.success.rawValue)
        w.writeInt32(hostID.rawValue)
        w.writeInt64(connectionID)
        w.writeInt64(clusterStartMillis)
        w.writeInt32(leaderAddress)
        w.writeString(buildString)
        w.endFrame(frame)
    }

    public func encodeFrame() -> [UInt8] {
        var w = WireWriter(reservingCapacity: 34 + buildString.utf8.count)
        encode(into: &w)
        return w.take()
    }
}

/// A login response as the client reads it.
public enum LoginResponse: Sendable, Hashable {
    case success(LoginSuccess)
    /// A non-zero status; `LoginStatus(rawValue:)` names the known ones.
    case failure(status: Int8)

    /// The frame `[len 2][version 0][status]` that refuses a login.
    public static func encodeFailureFrame(_ status: LoginStatus = .authenticationFailed) -> [UInt8] {
        precondition(status != .success, "a login failure needs a non-zero status")
        return [0, 0, 0, 2, 0, UInt8(bitPattern: status.rawValue)]
    }

    public static func decode(_ body: ArraySlice<UInt8>) throws(WireError) -> LoginResponse {
        var r = WireReader(body)
        let versionAt = r.offset
        let version = try r.readInt8("login response version")
        // Version 2 is the Kerberos handshake, which this codec does not speak.
        guard version != 2 else { throw WireError(.unsupportedVersion(version), what: "login response", offset: versionAt) }
        let status = try r.readInt8("login response status")
        guard status == 0 else { return .failure(status: status) }
        let host = try r.readInt32("login response host id")
        let connection = try r.readInt64("login response connection id")
        let start = try r.readInt64("login response cluster start timestamp")
        let leader = try r.readInt32("login response leader address")
        let build = try r.readNonNullString("login response build string")
        try r.expectEnd("login response")
        return .success(LoginSuccess(hostID: HostID(host), connectionID: connection, clusterStartMillis: start,
                                     leaderAddress: leader, buildString: build))
    }

    public static func decode(_ body: [UInt8]) throws(WireError) -> LoginResponse { try decode(body[...]) }
}
