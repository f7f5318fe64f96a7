// Back-pressure: a client that pipelines requests and never reads its answers must not grow the
// server's memory beyond the high-water mark (plus one answer), and must not slow anyone else down.
// Once it reads again, it gets every answer, in order.
import Foundation
import Glibc
import Node
import Synchronization
import Testing

extension NetTests {
    @Test("a client that never reads is held at the high-water mark; others are served promptly")
    func clientThatNeverReads() throws {
        let high = 256 * 1024, low = 64 * 1024
        let server = try NetTestServer(loops: 2) {
            $0.outputHighWaterBytes = high
            $0.outputLowWaterBytes = low
        }
        defer { server.shutdown() }
        let bodyBytes = 1000, frameBytes = bodyBytes + 4
        @Sendable func body(_ sequence: Int) -> [UInt8] {
            var b = [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: bodyBytes)
            for (i, shift) in [24, 16, 8, 0].enumerated() { b[i] = UInt8(truncatingIfNeeded: sequence >> shift) }
            return b
        }

        let slow = try NetRawClient(port: server.port, receiveBufferBytes: 16 * 1024)
        try slow.send(netFrame(body(0)))
        try netWaitUntil("the server registered the slow client") { server.recorder.connection(clientPort: slow.localPort) != nil }
        let connection = try #require(server.recorder.connection(clientPort: slow.localPort))

        // Pipeline 64 frames at a time without blocking until the server stops reading and every
        // buffer between us is full: our send buffer stays full for 300 ms.
        var sentBytes = frameBytes
        var pendingChunk: [UInt8] = []
        var nextSequence = 1
        let deadline = netMonotonicMillis() + 30_000
        var stalledSince: Int64?
        while true {
            guard netMonotonicMillis() < deadline else { throw NetTestError("the slow client never stalled") }
            if pendingChunk.isEmpty {
                for _ in 0..<64 {
                    pendingChunk += netFrame(body(nextSequence))
                    nextSequence += 1
                }
            }
            let n = try slow.sendWithoutBlocking(pendingChunk)
            if n > 0 {
                sentBytes += n
                pendingChunk.removeFirst(n)
                stalledSince = nil
                continue
            }
            if connection.isReadingPausedForOutput {
                let since = stalledSince ?? netMonotonicMillis()
                stalledSince = since
                if netMonotonicMillis() - since > 300 { break }
            }
            var p = pollfd(fd: slow.fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 20)
        }

        let peak = connection.peakPendingOutputBytes
        print("back-pressure: slow client sent \(sentBytes / 1024) KiB; server pending now \(connection.pendingOutputBytes) bytes, peak \(peak) bytes (high-water \(high))")
        #expect(connection.isReadingPausedForOutput)
        #expect(peak > high)
        #expect(peak <= high + frameBytes)
        #expect(connection.pendingOutputBytes <= high + frameBytes)

        // Meanwhile another client is served at once.
        let other = try NetRawClient(port: server.port)
        var slowest: Int64 = 0
        for i in 0..<100 {
            let started = netMonotonicMillis()
            #expect(try other.roundTrip([UInt8(i)], timeoutMillis: 5_000) == [UInt8(i)])
            slowest = max(slowest, netMonotonicMillis() - started)
        }
        print("back-pressure: 100 round trips of another client, slowest \(slowest) ms")
        #expect(connection.peakPendingOutputBytes == peak)

        // The slow client reads again (on another thread, while this one finishes its last frame):
        // every answer arrives, in order, and the server reads again.
        let expectedFrames = (sentBytes + frameBytes - 1) / frameBytes
        let completion = pendingChunk.prefix((frameBytes - sentBytes % frameBytes) % frameBytes)
        let outOfOrder = Mutex<String?>(nil)
        let reader = DispatchSemaphore(value: 0)
        Thread {
            defer { reader.signal() }
            do {
                for sequence in 0..<expectedFrames {
                    let answer = try slow.readFrame(timeoutMillis: 20_000)
                    if answer != body(sequence) {
                        outOfOrder.withLock { $0 = "answer \(sequence) differs" }
                        return
                    }
                }
            } catch {
                outOfOrder.withLock { $0 = "\(error)" }
            }
        }.start()
        try slow.send(Array(completion))
        #expect(reader.wait(timeout: .now() + 30) == .success)
        #expect(outOfOrder.withLock { $0 } == nil)
        try netWaitUntil("the server resumed reading") { !connection.isReadingPausedForOutput }
        #expect(connection.peakPendingOutputBytes <= high + frameBytes)
        #expect(server.recorder.framesReceived == expectedFrames + 100)
    }
}
