// Access to Tests/Fixtures/wire-vectors.json (frames produced and parsed by the official
// voltdbclient 16.1.0 codec, written by scripts/gen-vectors; layout in docs/PROTOCOL.md §7.6), and
// hex helpers. The robustness tests' seeded generator is VoltModel's SplitMix64.
import Foundation
import Testing
import VoltModel
import VoltWire

enum WireVectors {
    /// The parsed vectors file. Loaded per use: it is 13 KB and tests stay independent.
    static func load() throws -> [String: Any] {
        // #filePath is <root>/Tests/VoltWireTests/WireVectors.swift; the vectors are checked in
        // under <root>/Tests/Fixtures, so a fresh clone has them.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("Tests/Fixtures/wire-vectors.json").standardizedFileURL
        let data = try Data(contentsOf: url)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func section(_ name: String) throws -> [String: Any] {
        try #require(try load()[name] as? [String: Any], "missing section \(name)")
    }

    static func invocations() throws -> [String: [String: Any]] {
        try #require(try load()["invocations"] as? [String: [String: Any]])
    }

    static func responses() throws -> [String: [String: Any]] {
        try #require(try load()["responses"] as? [String: [String: Any]])
    }

    /// A complete frame from the file, and its body.
    static func frame(_ object: [String: Any], _ key: String = "hex") throws -> (frame: [UInt8], body: [UInt8]) {
        let hex = try #require(object[key] as? String, "missing \(key)")
        let frame = [UInt8](hex: hex)
        #expect(frame.count >= 4)
        let length = Int(frame[0]) << 24 | Int(frame[1]) << 16 | Int(frame[2]) << 8 | Int(frame[3])
        #expect(length == frame.count - 4, "frame prefix must count the body")
        return (frame, Array(frame.dropFirst(4)))
    }

    /// Every complete frame in the file with the decoder that applies to it, for fuzzing.
    static func allFrames() throws -> [(name: String, kind: FrameKind, frame: [UInt8])] {
        var out: [(String, FrameKind, [UInt8])] = []
        let login = try section("login")
        out.append(("login.request", .loginRequest, try frame(login, "request_hex").frame))
        out.append(("login.response", .loginResponse, try frame(login, "response_hex").frame))
        out.append(("login_anonymous", .loginRequest, try frame(try section("login_anonymous"), "request_hex").frame))
        out.append(("login_failure", .loginResponse, try frame(try section("login_failure_response"), "response_hex").frame))
        for (name, v) in try invocations().sorted(by: { $0.key < $1.key }) {
            out.append(("invocations.\(name)", .invocation, try frame(v).frame))
        }
        for (name, v) in try responses().sorted(by: { $0.key < $1.key }) {
            out.append(("responses.\(name)", .response, try frame(v).frame))
        }
        return out
    }

    enum FrameKind { case loginRequest, loginResponse, invocation, response }
}

extension [UInt8] {
    init(hex: String) {
        precondition(hex.count % 2 == 0, "odd hex length")
        var out: [UInt8] = []
        out.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self = out
    }

    var hex: String { map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}


