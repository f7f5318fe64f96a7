// A throwaway measurement, not a test: the round-trip rate of a small ping frame through the
// network shell with an echo handler on the loop, for 1 connection x 64 in flight and
// 8 connections x 64 in flight. It prints numbers and asserts nothing. Skipped unless NET_BENCH=1;
// run it in a release build:
//   swift build -c release --build-tests --scratch-path .build-net-release
//   NET_BENCH=1 swift test -c release --scratch-path .build-net-release --skip-build --filter NetRoundTrip
// The clients run in this process on raw blocking sockets and share the cores with the loops.
import Foundation
import Glibc
import Node
import Synchronization
import Testing

@Suite("NetRoundTrip measurement", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["NET_BENCH"] == "1"))
struct NetRoundTripMeasurement {
    @Test(arguments: [(1, 64), (8, 64)])
    func pingRate(connections: Int, inFlight: Int) throws {
        let server = try NetTestServer(loops: EventLoopGroup.defaultLoopCount)
        defer { server.shutdown() }
        let port = server.port
        let durationMillis: Int64 = 3_000
        let ping = netFrame(Array("@Ping-0123456789".utf8))
        let window = Array([[UInt8]](repeating: ping, count: inFlight).joined())
        let total = Atomic<Int>(0)
        let started = netMonotonicMillis()
        try netOnThreads(connections) { _ in
            let client = try NetRawClient(port: port)
            try client.send(window)
            var count = 0
            let end = started + durationMillis
            while netMonotonicMillis() < end {
                let k = try client.readAvailableFrames()
                count += k
                try client.send(Array(window[0..<k * ping.count]))
            }
            total.wrappingAdd(count, ordering: .relaxed)
        }
        let elapsed = Double(netMonotonicMillis() - started) / 1000
        let rate = Double(total.load(ordering: .relaxed)) / elapsed
        print("net round trips: \(connections) connection(s) x \(inFlight) in flight, \(EventLoopGroup.defaultLoopCount) loop(s): \(Int(rate)) per second")
    }
}
