// The network shell end to end on 127.0.0.1: pipelined frames split arbitrarily on the wire,
// answers written from other threads, the server's cap on calls in flight, half-close, and the
// listener's port and close. All network tests share one serialized suite so that timing-sensitive
// ones do not compete for the two cores.
import Foundation
import Glibc
import Node
import Synchronization
import Testing

@Suite("Network shell", .serialized, .timeLimit(.minutes(3)))
struct NetTests {}

/// Request body: connection index, sequence number, then filler of a seeded length.
private func requestBody(connection: Int, sequence: Int, using rng: inout NetRandom) -> [UInt8] {
    var body: [UInt8] = []
    for shift in stride(from: 24, through: 0, by: -8) { body.append(UInt8(truncatingIfNeeded: connection >> shift)) }
    for shift in stride(from: 24, through: 0, by: -8) { body.append(UInt8(truncatingIfNeeded: sequence >> shift)) }
    let filler = Int.random(in: 0...400, using: &rng)
    for i in 0..<filler { body.append(UInt8(truncatingIfNeeded: sequence &+ i)) }
    return body
}

extension NetTests {
    @Test("thousands of pipelined frames over several connections, split at random, come back in order")
    func pipelinedFramesInRandomChunks() throws {
        let server = try NetTestServer(loops: 2)
        defer { server.shutdown() }
        let port = server.port
        let connections = 6, framesPerConnection = 3000
        try netOnThreads(connections) { index in
            var rng = NetRandom(seed: 0x5EED_0000 + UInt64(index))
            var requests: [[UInt8]] = []
            var stream: [UInt8] = []
            for sequence in 0..<framesPerConnection {
                let body = requestBody(connection: index, sequence: sequence, using: &rng)
                requests.append(body)
                stream += netFrame(body)
            }
            // One empty frame too: a zero-length body is a valid frame.
            requests.append([])
            stream += netFrame([])
            let client = try NetRawClient(port: port)
            try client.sendInRandomChunks(stream, maxChunk: 3000, using: &rng)
            for (i, expected) in requests.enumerated() {
                let answer = try client.readFrame()
                guard answer == expected else {
                    throw NetTestError("connection \(index) frame \(i): got \(answer.count) bytes, expected \(expected.count) (seed \(0x5EED_0000 + index))")
                }
            }
        }
        try netWaitUntil("every connection closed on the server") { server.recorder.closes.count == connections }
        let ids = server.recorder.connections.map(\.id)
        #expect(Set(ids).count == connections)
        #expect(ids.allSatisfy { $0.rawValue >= 1 && $0.rawValue <= Int64(connections) })
        #expect(server.recorder.connections.allSatisfy { $0.remoteAddress.hasPrefix("127.0.0.1:") })
        // Round-robin: both loops got connections.
        #expect(Set(server.recorder.connections.map { ObjectIdentifier($0.eventLoop) }).count == 2)
        #expect(server.recorder.closes.allSatisfy { $0.reason == .peerClosed })
        #expect(server.recorder.framesReceived == connections * (framesPerConnection + 1))
    }

    @Test("answers written from other threads, one by one and in batches, all arrive")
    func writesFromOtherThreads() throws {
        let workers = DispatchQueue(label: "net-test-sites", attributes: .concurrent)
        let server = try NetTestServer(loops: 2, onFrame: { connection, body in
            let copy = Array(body)
            workers.async {
                if copy.first == 1 {
                    connection.write(frames: [netFrame(copy), netFrame(copy)])
                } else {
                    connection.write(frame: netFrame(copy))
                }
            }
        })
        defer { server.shutdown() }
        let port = server.port
        try netOnThreads(4) { index in
            var rng = NetRandom(seed: 0xF00D + UInt64(index))
            var expected: [[UInt8]: Int] = [:]
            var stream: [UInt8] = []
            for sequence in 0..<2000 {
                // First byte 1 asks for the answer twice, through write(frames:).
                let body = [UInt8(sequence % 7 == 0 ? 1 : 0)] + requestBody(connection: index, sequence: sequence, using: &rng)
                expected[body, default: 0] += body[0] == 1 ? 2 : 1
                stream += netFrame(body)
            }
            let client = try NetRawClient(port: port)
            try client.sendInRandomChunks(stream, maxChunk: 1500, using: &rng)
            var received: [[UInt8]: Int] = [:]
            for _ in 0..<expected.values.reduce(0, +) { received[try client.readFrame(), default: 0] += 1 }
            guard received == expected else { throw NetTestError("connection \(index): answers differ from requests") }
        }
        try netWaitUntil("every connection closed on the server") { server.recorder.closes.count == 4 }

        // Writes to a closed connection, from another thread, are refused and counted.
        let closed = server.recorder.connections[0]
        let before = closed.droppedFrameCount
        let accepted = Mutex<Bool?>(nil)
        workers.sync { accepted.withLock { $0 = closed.write(frame: netFrame([9])) } }
        #expect(accepted.withLock { $0 } == false)
        #expect(closed.droppedFrameCount == before + 1)
        #expect(!closed.isOpen)
    }

    @Test("pauseReading/resumeReading cap the calls in flight of a connection")
    func inFlightCap() throws {
        let cap = 3
        let inFlight = Atomic<Int>(0)
        let maxInFlight = Atomic<Int>(0)
        let workers = DispatchQueue(label: "net-test-cap", attributes: .concurrent)
        let server = try NetTestServer(loops: 1, onFrame: { connection, body in
            let now = inFlight.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
            var seen = maxInFlight.load(ordering: .relaxed)
            while now > seen {
                let (exchanged, current) = maxInFlight.compareExchange(expected: seen, desired: now, ordering: .relaxed)
                if exchanged { break }
                seen = current
            }
            if now >= cap { connection.pauseReading() }
            let copy = Array(body)
            workers.asyncAfter(deadline: .now() + .microseconds(200)) {
                connection.write(frame: netFrame(copy))
                let after = inFlight.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue
                if after == cap - 1 { connection.resumeReading() }
            }
        })
        defer { server.shutdown() }
        var rng = NetRandom(seed: 77)
        var stream: [UInt8] = []
        var expected: [[UInt8]: Int] = [:]
        for sequence in 0..<1000 {
            let body = requestBody(connection: 0, sequence: sequence, using: &rng)
            expected[body, default: 0] += 1
            stream += netFrame(body)
        }
        let client = try NetRawClient(port: server.port)
        try client.send(stream)
        var received: [[UInt8]: Int] = [:]
        for _ in 0..<1000 { received[try client.readFrame(), default: 0] += 1 }
        #expect(received == expected)
        #expect(maxInFlight.load(ordering: .relaxed) <= cap)
        #expect(maxInFlight.load(ordering: .relaxed) == cap)
    }

    @Test("a client that shuts down its sending side gets its answers, then the close")
    func halfClose() throws {
        let server = try NetTestServer(loops: 1)
        defer { server.shutdown() }
        let client = try NetRawClient(port: server.port)
        var stream: [UInt8] = []
        for i in 0..<50 { stream += netFrame([UInt8(i)]) }
        try client.send(stream)
        client.shutdownWrite()
        let rest = try client.readUntilClosed()
        #expect(rest.count == 50 * 5)
        try netWaitUntil("the server saw the close") { server.recorder.closes.count == 1 }
        #expect(server.recorder.closes[0].reason == .peerClosed)
    }

    @Test("the server closes a connection from another thread; the handler hears it once")
    func closeFromAnotherThread() throws {
        let server = try NetTestServer(loops: 2)
        defer { server.shutdown() }
        let client = try NetRawClient(port: server.port)
        #expect(try client.roundTrip([1, 2, 3]) == [1, 2, 3])
        let connection = try #require(server.recorder.connection(clientPort: client.localPort))
        let done = DispatchSemaphore(value: 0)
        Thread {
            connection.close()
            connection.close()
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(!connection.isOpen)
        #expect(connection.write(frame: netFrame([4])) == false)
        _ = try client.readUntilClosed()
        try netWaitUntil("the close reached the handler") { server.recorder.closes.count == 1 }
        #expect(server.recorder.closes.map(\.reason) == [.closedLocally])
        #expect(server.listener.connectionCount == 0)
    }

    @Test("the listener reports the port it bound and stops listening on close")
    func listenerPortAndClose() throws {
        let server = try NetTestServer(loops: 1)
        defer { server.shutdown() }
        #expect(server.port > 0 && server.port < 65536)
        let client = try NetRawClient(port: server.port)
        #expect(try client.roundTrip([7]) == [7])
        server.listener.close()
        try netWaitUntil("the listener closed") { !server.listener.isListening }
        #expect(throws: NetTestError.self) { _ = try NetRawClient(port: server.port) }
        // Open connections survive the listener.
        #expect(try client.roundTrip([8]) == [8])
    }
}
