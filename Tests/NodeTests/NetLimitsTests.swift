// Many connections at once, the connection cap, shutdown with connections open, and the loop's
// tasks and timers.
import Foundation
import Glibc
import Node
import Synchronization
import Testing

/// Raises the soft RLIMIT_NOFILE to at least `wanted` if the hard limit allows; returns the limit.
private func raiseOpenFileLimit(to wanted: rlim_t) -> rlim_t {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
    if limit.rlim_cur < wanted {
        var raised = limit
        raised.rlim_cur = min(wanted, limit.rlim_max)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    return limit.rlim_cur
}

extension NetTests {
    @Test("1,000 idle connections open at once, and an active client is still served")
    func thousandIdleConnections() throws {
        // Both ends live in this process: two descriptors per connection.
        let limit = raiseOpenFileLimit(to: 2_300)
        let idleCount = min(1_000, (Int(limit) - 200) / 2)
        if idleCount < 1_000 { print("idle connections: RLIMIT_NOFILE is \(limit), using \(idleCount) connections") }
        let server = try NetTestServer(loops: 2)
        defer { server.shutdown() }
        var idle: [NetRawClient] = []
        defer { for client in idle { client.close() } }
        for _ in 0..<idleCount { idle.append(try NetRawClient(port: server.port)) }
        try netWaitUntil("the server accepted every idle connection") { server.listener.connectionCount == idleCount }

        let active = try NetRawClient(port: server.port)
        var slowest: Int64 = 0
        for i in 0..<500 {
            let started = netMonotonicMillis()
            let body = [UInt8(i & 0xff), UInt8(i >> 8)]
            #expect(try active.roundTrip(body, timeoutMillis: 5_000) == body)
            slowest = max(slowest, netMonotonicMillis() - started)
        }
        print("idle connections: \(idleCount) idle, 500 round trips of an active client, slowest \(slowest) ms")
        #expect(server.recorder.connections.count == idleCount + 1)

        for client in idle { client.close() }
        try netWaitUntil("the server saw every idle connection close") { server.listener.connectionCount == 1 }
        #expect(server.recorder.closes.count == idleCount)
        #expect(try active.roundTrip([1]) == [1])
    }

    @Test("a connection beyond maxConnections is told, closed, and counted; a freed slot is reused")
    func connectionLimit() throws {
        let tooMany: [UInt8] = [0, 0, 0, 2, 0, 1]  // the login failure "too many connections"
        let told = Mutex<[String]>([])
        let server = try NetTestServer(loops: 2, configure: { $0.maxConnections = 3 }, onRejected: { remote in
            told.withLock { $0.append(remote) }
            return tooMany
        })
        defer { server.shutdown() }
        var admitted = try (0..<3).map { _ in try NetRawClient(port: server.port) }
        try netWaitUntil("three connections open") { server.listener.connectionCount == 3 }
        for client in admitted { #expect(try client.roundTrip([3]) == [3]) }

        let refused = try NetRawClient(port: server.port)
        try refused.send(netFrame([1, 2, 3]))  // e.g. its login, which the server discards
        #expect(try refused.readFrame() == [0, 1])
        #expect(try refused.readUntilClosed().isEmpty)
        #expect(server.listener.rejectedConnectionCount == 1)
        #expect(told.withLock { $0 } == ["127.0.0.1:\(refused.localPort)"])
        #expect(server.recorder.connections.count == 3)

        admitted.removeFirst().close()
        try netWaitUntil("the closed connection freed its slot") { server.listener.connectionCount == 2 }
        let next = try NetRawClient(port: server.port)
        #expect(try next.roundTrip([4]) == [4])
        #expect(server.listener.connectionCount == 3)
        #expect(server.listener.rejectedConnectionCount == 1)
    }

    @Test("shutdown with connections open closes every socket once, tells every handler, and joins")
    func shutdownWithConnectionsOpen() throws {
        let server = try NetTestServer(loops: 2)
        var shutDown = false
        defer { if !shutDown { server.shutdown() } }
        let clients = try (0..<10).map { _ in try NetRawClient(port: server.port) }
        for client in clients { #expect(try client.roundTrip([1]) == [1]) }
        try clients[0].send([0, 0, 0, 100, 1, 2])  // half a frame
        try netWaitUntil("ten connections open") { server.listener.connectionCount == 10 }
        let connections = server.recorder.connections

        let finished = DispatchSemaphore(value: 0)
        Thread {
            server.shutdown()
            finished.signal()
        }.start()
        #expect(finished.wait(timeout: .now() + 10) == .success)
        shutDown = true

        #expect(server.recorder.closes.count == 10)
        #expect(server.recorder.closes.allSatisfy { $0.reason == .eventLoopShutdown })
        #expect(Set(server.recorder.closes.map(\.id)).count == 10)
        #expect(server.listener.connectionCount == 0)
        #expect(!server.listener.isListening)
        #expect(server.group.loops.allSatisfy { $0.isShutDown })
        for client in clients { #expect(try client.readUntilClosed().isEmpty) }
        for connection in connections { #expect(connection.write(frame: netFrame([2])) == false) }
        #expect(server.group.loops[0].execute {} == false)
        server.shutdown()  // idempotent
        #expect(throws: NetTestError.self) { _ = try NetRawClient(port: server.port) }
    }

    @Test("tasks run in submission order on the loop thread; timers fire once, unless cancelled")
    func tasksAndTimers() throws {
        let group = try EventLoopGroup(loopCount: 1)
        var shutDown = false
        defer { if !shutDown { group.shutdown() } }
        let loop = group.next()
        #expect(!loop.inEventLoop)

        let ran = Mutex<[(Int, Int)]>([])
        let offLoop = Atomic<Int>(0)
        try netOnThreads(4) { thread in
            for i in 0..<500 {
                let accepted = loop.execute {
                    if !loop.inEventLoop { offLoop.wrappingAdd(1, ordering: .relaxed) }
                    ran.withLock { $0.append((thread, i)) }
                }
                #expect(accepted)
            }
        }
        try netWaitUntil("2,000 tasks ran") { ran.withLock { $0.count } == 2_000 }
        let ranOffLoop = offLoop.load(ordering: .relaxed)
        #expect(ranOffLoop == 0)
        let order = ran.withLock { $0 }
        for thread in 0..<4 {
            #expect(order.filter { $0.0 == thread }.map(\.1) == Array(0..<500))
        }

        let fired = Mutex<[String]>([])
        let start = netMonotonicMillis()
        let firedAt = Mutex<Int64>(0)
        loop.schedule(afterMillis: 30) {
            firedAt.withLock { $0 = netMonotonicMillis() }
            fired.withLock { $0.append("30") }
        }
        let cancelled = loop.schedule(afterMillis: 10) { fired.withLock { $0.append("cancelled") } }
        cancelled.cancel()
        loop.execute {
            // Scheduled from the loop thread itself.
            loop.schedule(afterMillis: 50) { fired.withLock { $0.append("50") } }
        }
        try netWaitUntil("the last timer fired") { fired.withLock { $0.contains("50") } }
        #expect(fired.withLock { $0 } == ["30", "50"])
        #expect(firedAt.withLock { $0 } - start >= 30)
        #expect(cancelled.isCancelled)

        let late = Atomic<Bool>(false)
        loop.schedule(afterMillis: 60_000) { late.store(true, ordering: .relaxed) }
        group.shutdown()
        shutDown = true
        let acceptedAfterShutdown = loop.execute { late.store(true, ordering: .relaxed) }
        #expect(!acceptedAfterShutdown)
        let ranLate = late.load(ordering: .relaxed)
        #expect(!ranLate)
    }
}
