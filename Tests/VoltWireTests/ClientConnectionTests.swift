// VoltClientConnection against a tiny scripted TCP server on 127.0.0.1 (ephemeral port, bound to
// 0 and read back with getsockname) running on its own thread. The server answers from canned
// frames of wire-vectors.json and records what it received, so the client's login and invocation
// bytes are checked against the Python client's. Every wait on either side is bounded and every
// socket is closed on every path.
import Foundation
import Glibc
import Synchronization
import Testing
import VoltModel
import VoltWire

struct TestServerError: Error, CustomStringConvertible {
    var description: String
}

/// A one-connection TCP server that runs `script` on a thread.
final class TestServer: Sendable {
    let port: Int
    private let listener: Int32
    private let finished = DispatchSemaphore(value: 0)
    private let failure = Mutex<String?>(nil)
    private let frames = Mutex<[[UInt8]]>([])

    /// One accepted connection: framed reads with a timeout, raw writes.
    struct Peer {
        let fd: Int32
        let server: TestServer
        var decoder = FrameDecoder()

        /// The next complete frame, length prefix included; recorded on the server.
        mutating func readFrame(timeoutMillis: Int32 = 5_000) throws -> [UInt8] {
            while true {
                if let body = try decoder.nextFrame() {
                    let frame = encodeFrame(body)
                    server.frames.withLock { $0.append(frame) }
                    return frame
                }
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, timeoutMillis) == 1 else { throw TestServerError(description: "server read timed out") }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { throw TestServerError(description: "client closed (\(n))") }
                decoder.append(buffer[..<n])
            }
        }

        func write(_ bytes: [UInt8]) throws {
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { throw TestServerError(description: "server write failed: errno \(errno)") }
                sent += n
            }
        }
    }

    init(script: @escaping @Sendable (inout Peer) throws -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestServerError(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 4) == 0 else {
            close(fd)
            throw TestServerError(description: "bind/listen: errno \(errno)")
        }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else {
            close(fd)
            throw TestServerError(description: "getsockname: errno \(errno)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            do {
                var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 5_000) == 1 else { throw TestServerError(description: "no client connected") }
                let client = accept(listener, nil, nil)
                guard client >= 0 else { throw TestServerError(description: "accept: errno \(errno)") }
                defer { close(client) }
                var peer = Peer(fd: client, server: self)
                try script(&peer)
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
    }

    /// Waits (bounded) for the script to end, closes the listener, and reports a script failure.
    func finish() -> String? {
        let ended = finished.wait(timeout: .now() + 10) == .success
        close(listener)
        return ended ? failure.withLock { $0 } : "server script did not finish"
    }

    var receivedFrames: [[UInt8]] { frames.withLock { $0 } }
}

@Suite("Wire client connection", .serialized)
struct ClientConnectionTests {
    static func vectorFrame(_ section: String, _ key: String = "hex") throws -> [UInt8] {
        try WireVectors.frame(try WireVectors.section(section), key).frame
    }

    static func invocationFrame(_ name: String) throws -> [UInt8] {
        try WireVectors.frame(try #require(try WireVectors.invocations()[name])).frame
    }

    static func responseFrame(_ name: String) throws -> [UInt8] {
        try WireVectors.frame(try #require(try WireVectors.responses()[name])).frame
    }

    @Test("login and one call produce the Python client's exact bytes and decode the canned answer")
    func loginAndCall() throws {
        let loginReply = try Self.vectorFrame("login", "response_hex")
        let answer = try Self.responseFrame("two_column_table")
        let server = try TestServer { peer in
            _ = try peer.readFrame()
            try peer.write(loginReply)
            _ = try peer.readFrame()
            try peer.write(answer)
        }
        var clientError: (any Error)?
        do {
            let connection = try VoltClientConnection(host: "127.0.0.1", port: server.port, username: "alice", password: "secret",
                                                      timeoutMillis: 5_000)
            defer { connection.close() }
            #expect(connection.login.hostID == HostID(3))
            #expect(connection.login.buildString == "volt-swift-0.1")
            let response = try connection.call("KV.upsert", [.string("key1"), .varbinary([1, 2, 0xff])])
            #expect(response == (try ClientResponse.decode(Array(answer.dropFirst(4)))))
            #expect(response.tables.first?.rows.count == 3)
        } catch {
            clientError = error
        }
        let serverFailure = server.finish()
        #expect(clientError == nil, "\(String(describing: clientError))")
        #expect(serverFailure == nil, "\(serverFailure ?? "")")
        #expect(server.receivedFrames.map(\.hex) == [try Self.vectorFrame("login", "request_hex").hex, try Self.invocationFrame("KV.upsert").hex])
    }

    @Test("pipelined sends receive out-of-order answers and pushes; call keeps foreign answers for receive")
    func pipelined() throws {
        let loginReply = try Self.vectorFrame("login", "response_hex")
        let push = try Self.responseFrame("topology_push")
        func ok(_ handle: Int64) throws -> [UInt8] {
            try ClientResponse(handle: handle, status: .success, tables: [.modifiedTuples(handle)]).encodeFrame()
        }
        let burst = try push + ok(3) + ok(1) + ok(2)
        let afterPing = try push + ok(4)
        let server = try TestServer { peer in
            _ = try peer.readFrame()
            try peer.write(loginReply)
            for _ in 0..<3 { _ = try peer.readFrame() }
            try peer.write(burst)
            _ = try peer.readFrame()
            try peer.write(afterPing)
        }
        var handles: [Int64] = []
        var clientError: (any Error)?
        do {
            let connection = try VoltClientConnection(host: "127.0.0.1", port: server.port, timeoutMillis: 5_000)
            defer { connection.close() }
            for i in 1...3 { #expect(try connection.send("KV.select", [.string("k\(i)")]) == Int64(i)) }
            for _ in 0..<4 { handles.append(try connection.receive().handle) }
            let ping = try connection.call("@Ping")
            #expect(ping.handle == 4)
            #expect(ping.tables == [.modifiedTuples(4)])
            handles.append(try connection.receive().handle)
            // An unencodable parameter is refused before anything is sent; the connection stays open.
            let refused = #expect(throws: ClientConnectionError.self) { try connection.send("P", [.tinyint(1000)]) }
            if case .invalidParameter = refused {} else { Issue.record("expected invalidParameter, got \(String(describing: refused))") }
            #expect(connection.isOpen)
        } catch {
            clientError = error
        }
        let serverFailure = server.finish()
        #expect(clientError == nil, "\(String(describing: clientError))")
        #expect(serverFailure == nil, "\(serverFailure ?? "")")
        #expect(handles == [ReservedHandle.asyncTopology, 3, 1, 2, ReservedHandle.asyncTopology])
        let sent = try server.receivedFrames.dropFirst().map { try Invocation.decode(Array($0.dropFirst(4))) }
        #expect(sent.map(\.handle) == [1, 2, 3, 4])
        #expect(sent.map(\.procedure) == ["KV.select", "KV.select", "KV.select", "@Ping"])
    }

    @Test("a refused login surfaces its status")
    func loginRejected() throws {
        let failure = try Self.vectorFrame("login_failure_response", "response_hex")
        let server = try TestServer { peer in
            _ = try peer.readFrame()
            try peer.write(failure)
        }
        let error = #expect(throws: ClientConnectionError.self) {
            _ = try VoltClientConnection(host: "127.0.0.1", port: server.port, username: "alice", password: "wrong", timeoutMillis: 5_000)
        }
        #expect(error == .loginRejected(status: -1))
        #expect(server.finish() == nil)
    }

    @Test("a silent server costs the timeout; the connection stays usable for the late answer")
    func timeout() throws {
        let loginReply = try Self.vectorFrame("login", "response_hex")
        let late = try ClientResponse(handle: 1, status: .success).encodeFrame()
        let release = DispatchSemaphore(value: 0)
        let server = try TestServer { peer in
            _ = try peer.readFrame()
            try peer.write(loginReply)
            _ = try peer.readFrame()
            // Answer only after the client has timed out.
            guard release.wait(timeout: .now() + 5) == .success else { throw TestServerError(description: "never released") }
            try peer.write(late)
        }
        var clientError: (any Error)?
        do {
            let connection = try VoltClientConnection(host: "127.0.0.1", port: server.port, timeoutMillis: 5_000)
            defer { connection.close() }
            let error = #expect(throws: ClientConnectionError.self) { try connection.call("Slow", timeoutMillis: 150) }
            #expect(error == .timedOut(operation: "call Slow", millis: 150))
            #expect(connection.isOpen)
            release.signal()
            #expect(try connection.receive().handle == 1)
        } catch {
            release.signal()
            clientError = error
        }
        let serverFailure = server.finish()
        #expect(clientError == nil, "\(String(describing: clientError))")
        #expect(serverFailure == nil, "\(serverFailure ?? "")")
    }

    @Test("a server that hangs up mid-call closes the connection; later calls say so")
    func peerCloses() throws {
        let loginReply = try Self.vectorFrame("login", "response_hex")
        let server = try TestServer { peer in
            _ = try peer.readFrame()
            try peer.write(loginReply)
            _ = try peer.readFrame()
        }
        var clientError: (any Error)?
        do {
            let connection = try VoltClientConnection(host: "127.0.0.1", port: server.port, timeoutMillis: 5_000)
            defer { connection.close() }
            #expect((#expect(throws: ClientConnectionError.self) { try connection.call("X") }) == .closedByPeer)
            #expect(!connection.isOpen)
            #expect((#expect(throws: ClientConnectionError.self) { try connection.call("X") }) == .notConnected)
        } catch {
            clientError = error
        }
        let serverFailure = server.finish()
        #expect(clientError == nil, "\(String(describing: clientError))")
        #expect(serverFailure == nil, "\(serverFailure ?? "")")
    }

    @Test("connecting to a closed port fails with a connect error, not a hang")
    func refused() throws {
        let server = try TestServer { _ in }
        let port = server.port
        // Connect once so the script ends, then close the listener: the port is now closed.
        _ = try? VoltClientConnection(host: "127.0.0.1", port: port, timeoutMillis: 1_000)
        #expect(server.finish() == nil)
        let error = #expect(throws: ClientConnectionError.self) {
            _ = try VoltClientConnection(host: "127.0.0.1", port: port, timeoutMillis: 2_000)
        }
        if case .connect = error {} else { Issue.record("expected a connect error, got \(String(describing: error))") }
    }
}
