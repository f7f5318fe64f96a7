// Login against wire-vectors.json (`login`, `login_anonymous`, `login_failure_response`), the
// SHA-1/SHA-256 implementations against the standard test vectors, and the request edge cases a
// server must answer with a status instead of crashing.
import Foundation
import Testing
import VoltModel
import VoltWire

@Suite("Wire login")
struct LoginTests {
    @Test("the alice/secret request decodes and our encoder reproduces it byte for byte")
    func aliceRequest() throws {
        let login = try WireVectors.section("login")
        let (frame, body) = try WireVectors.frame(login, "request_hex")
        let request = try LoginRequest.decode(body)
        #expect(request.version == 1)
        #expect(request.scheme == .sha256)
        #expect(request.service == "database")
        #expect(request.username == "alice")
        #expect(request.matches(password: "secret"))
        #expect(!request.matches(password: "Secret"))
        #expect(LoginRequest(username: "alice", password: "secret").encodeFrame() == frame)
    }

    @Test("the anonymous request carries SHA-256 of the empty string")
    func anonymousRequest() throws {
        let (frame, body) = try WireVectors.frame(try WireVectors.section("login_anonymous"), "request_hex")
        let request = try LoginRequest.decode(body)
        #expect(request.username == "")
        #expect(request.passwordDigest.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(LoginRequest(username: "", password: "").encodeFrame() == frame)
    }

    @Test("the success response encodes exactly and decodes to what the client extracted")
    func successResponse() throws {
        let login = try WireVectors.section("login")
        let (frame, body) = try WireVectors.frame(login, "response_hex")
        let success = LoginSuccess(hostID: HostID(3), connectionID: 7, clusterStartMillis: 1_700_000_000_000,
                                   leaderAddress: 0x7f00_0001, buildString: "volt-swift-0.1")
        #expect(success.encodeFrame() == frame)
        #expect(try LoginResponse.decode(body) == .success(success))
        let parsed = try #require(login["client_parsed"] as? [String: Any])
        #expect((parsed["hostId"] as? NSNumber)?.int32Value == success.hostID.rawValue)
        #expect((parsed["buildString"] as? String) == success.buildString)
    }

    @Test("the failure response is [len 2][0][-1]")
    func failureResponse() throws {
        let (frame, body) = try WireVectors.frame(try WireVectors.section("login_failure_response"), "response_hex")
        #expect(LoginResponse.encodeFailureFrame() == frame)
        #expect(try LoginResponse.decode(body) == .failure(status: -1))
        #expect(LoginResponse.encodeFailureFrame(.tooManyConnections) == [0, 0, 0, 2, 0, 1])
    }

    @Test("version 0 implies SHA-1 with no scheme byte, and round-trips")
    func versionZero() throws {
        let request = LoginRequest(version: 0, scheme: .sha1, username: "bob", passwordDigest: SHA1.digest("pw"))
        let frame = request.encodeFrame()
        #expect(frame[4] == 0 && frame[5] == 0 && frame[6] == 0 && frame[7] == 0 && frame[8] == 8)
        let decoded = try LoginRequest.decode(Array(frame.dropFirst(4)))
        #expect(decoded == request)
        #expect(decoded.matches(password: "pw"))
        let v1sha1 = LoginRequest(version: 1, scheme: .sha1, username: "bob", passwordDigest: SHA1.digest("pw"))
        #expect(try LoginRequest.decode(Array(v1sha1.encodeFrame().dropFirst(4))) == v1sha1)
    }

    @Test("an unknown hash scheme and a digest of the wrong size map to login statuses 3 and -1")
    func rejections() throws {
        var body = Array(LoginRequest(username: "a", password: "b").encodeFrame().dropFirst(4))
        var scheme = body
        scheme[1] = 2
        let schemeError = try #require(#expect(throws: WireError.self) { try LoginRequest.decode(scheme) })
        #expect(schemeError.kind == .unknownHashScheme(2))
        #expect(LoginStatus(rejecting: schemeError) == .wireProtocolViolation)
        body.removeLast()
        let digestError = try #require(#expect(throws: WireError.self) { try LoginRequest.decode(body) })
        #expect(digestError.kind == .invalidDigestLength(31))
        #expect(LoginStatus(rejecting: digestError) == .authenticationFailed)
        let negative: [UInt8] = [0xff, 1]
        #expect((#expect(throws: WireError.self) { try LoginRequest.decode(negative) })?.kind == .unsupportedVersion(-1))
    }

    @Test("a Kerberos (version 2) login response is refused, not misparsed")
    func kerberosResponse() throws {
        let body: [UInt8] = [2, 0, 0, 0, 0, 0]
        #expect((#expect(throws: WireError.self) { try LoginResponse.decode(body) })?.kind == .unsupportedVersion(2))
    }
}

@Suite("Wire SHA")
struct SHATests {
    static let quick = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    static let long = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"

    @Test("SHA-256 matches FIPS 180-4 examples")
    func sha256() {
        #expect(SHA256.digest("").hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.digest("abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.digest(Self.quick).hex == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.digest(Self.long).hex == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(SHA256.digest([UInt8](repeating: 0x61, count: 1_000_000)).hex
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(SHA256.digest("secret").hex == "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b")
    }

    @Test("SHA-1 matches RFC 3174 / FIPS 180 examples")
    func sha1() {
        #expect(SHA1.digest("").hex == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.digest("abc").hex == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.digest(Self.quick).hex == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(SHA1.digest(Self.long).hex == "a49b2446a02c645bf419f995b67091253a04a259")
        #expect(SHA1.digest([UInt8](repeating: 0x61, count: 1_000_000)).hex == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("every message length around the padding boundaries hashes consistently with a block split")
    func paddingBoundaries() {
        // 55, 56 and 64 bytes exercise the one- and two-block padding paths.
        let expected256 = [
            55: "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            56: "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            64: "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
        ]
        for (n, hex) in expected256 {
            #expect(SHA256.digest([UInt8](repeating: 0x61, count: n)).hex == hex, "\(n) bytes")
        }
        #expect(digestsEqual([1, 2], [1, 2]))
        #expect(!digestsEqual([1, 2], [1, 3]))
        #expect(!digestsEqual([1, 2], [1]))
    }
}
