// Hostile or broken input: frames above the limit, forged lengths, garbage. Each closes only its own
// connection, with the reason handed to the handler and logged, while other clients keep being
// served.
import Foundation
import Glibc
import Node
import Synchronization
import Testing

extension NetTests {
    @Test("a frame above the maximum closes that connection with the reason; others are unaffected")
    func frameAboveMaximum() throws {
        let server = try NetTestServer(loops: 2) { $0.maxFrameBytes = 1024 }
        defer { server.shutdown() }
        let good = try NetRawClient(port: server.port)
        let bad = try NetRawClient(port: server.port)
        #expect(try good.roundTrip(Array(repeating: 1, count: 1024)) == Array(repeating: 1, count: 1024))
        // A valid frame, then a prefix of 1025 with some of its body.
        try bad.send(netFrame([5, 5]) + [0, 0, 0x04, 0x01] + Array(repeating: 9, count: 100))
        #expect(try bad.readFrame() == [5, 5])
        _ = try bad.readUntilClosed()
        try netWaitUntil("the server closed the bad connection") { server.recorder.closeReason(clientPort: bad.localPort) != nil }
        #expect(server.recorder.closeReason(clientPort: bad.localPort) == .frameTooLarge(lengthBytes: 1025, maxBytes: 1024))
        #expect(server.recorder.logLines.contains { $0.contains("frame of 1025 bytes exceeds the maximum of 1024 bytes") })
        #expect(try good.roundTrip([1, 2]) == [1, 2])
        #expect(server.recorder.closes.count == 1)
    }

    @Test("forged length prefixes close the connection at once, without allocating",
          arguments: [
              ([0x7f, 0xff, 0xff, 0xff] as [UInt8], CloseReason.frameTooLarge(lengthBytes: Int(Int32.max), maxBytes: 50 * 1024 * 1024)),
              ([0x80, 0x00, 0x00, 0x00], CloseReason.negativeFrameLength(Int32.min)),
              ([0xff, 0xff, 0xff, 0xff], CloseReason.negativeFrameLength(-1)),
          ])
    func forgedLengthPrefix(prefix: [UInt8], reason: CloseReason) throws {
        let server = try NetTestServer(loops: 1)
        defer { server.shutdown() }
        let other = try NetRawClient(port: server.port)
        let bad = try NetRawClient(port: server.port)
        // The decoder allocates only for bytes received, so the 2 GB prefix costs 4 bytes.
        try bad.send(prefix + [1, 2, 3])
        _ = try bad.readUntilClosed()
        try netWaitUntil("the server closed the connection") { server.recorder.closeReason(clientPort: bad.localPort) != nil }
        #expect(server.recorder.closeReason(clientPort: bad.localPort) == reason)
        #expect(try other.roundTrip([42]) == [42])
    }

    @Test("garbage bytes never hurt the server: each connection ends closed, good clients are served")
    func garbage() throws {
        let server = try NetTestServer(loops: 2) { $0.maxFrameBytes = 64 * 1024 }
        defer { server.shutdown() }
        let port = server.port
        let connections = 24
        try netOnThreads(4) { worker in
            for index in stride(from: worker, to: connections, by: 4) {
                var rng = NetRandom(seed: 0xBAD_0000 + UInt64(index))
                var garbage = (0..<Int.random(in: 1...8192, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if index == 0 { garbage = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) }
                let client = try NetRawClient(port: port)
                try? client.send(garbage)  // the server may close while we send
                client.shutdownWrite()
                _ = try client.readUntilClosed()
            }
        }
        try netWaitUntil("every garbage connection closed") { server.recorder.closes.count == connections }
        let allowed: (CloseReason) -> Bool = { reason in
            switch reason {
            case .peerClosed, .frameTooLarge, .negativeFrameLength: return true
            case .ioError(_, let code): return code == ECONNRESET || code == EPIPE
            default: return false
            }
        }
        #expect(server.recorder.closes.allSatisfy { allowed($0.reason) })
        // "GET " is a length of 1195725856 bytes.
        #expect(server.recorder.closes.contains { $0.reason == .frameTooLarge(lengthBytes: 0x4745_5420, maxBytes: 65536) })
        let good = try NetRawClient(port: port)
        #expect(try good.roundTrip([1]) == [1])
    }
}
