// A tiny VoltDB-protocol server for client tests: listens on 127.0.0.1 (ephemeral port), accepts
// any number of connections (one thread each), accepts every login, and answers each invocation
// with what `handler` returns, encoded with VoltWire's encoders. A nil answer closes the
// connection without replying (what a server doing @Shutdown may do); `Canned.silence` is never
// answered at all (a stuck server). Every wait is bounded
// (poll with short timeouts, a stop flag) and `stop` closes every socket; tests call it in
// `defer`. Pipelined invocations are answered in order, the answers of one read written together.
// `hostID` is the id its login answer gives; `push` sends a response (a topology push) to every
// connection that has called `@Subscribe` (answered by the handler like any call), within 50 ms.

import Foundation
import Glibc
import Synchronization
import VoltModel
import VoltWire

struct FakeServerError: Error, CustomStringConvertible {
    var description: String
}

final class FakeVoltServer: Sendable {
    typealias Handler = @Sendable (Invocation) -> ClientResponse?

    let port: Int
    private let listener: Int32
    private let handler: Handler
    private let stopped = Atomic<Bool>(false)
    private let running = DispatchGroup()
    private let received = Mutex<[String]>([])
    private let pushes = Mutex<[[UInt8]]>([])
    let hostID: Int32

    init(hostID: Int32 = 0, handler: @escaping Handler) throws {
        self.hostID = hostID
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FakeServerError(description: "socket: errno \(errno)") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            _ = close(fd)
            throw FakeServerError(description: "bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        self.handler = handler
        running.enter()
        Thread { [self] in
            acceptLoop()
            running.leave()
        }.start()
    }

    /// Procedures called so far, in arrival order over all connections.
    var procedures: [String] { received.withLock { $0 } }

    /// Sends `response` to every subscribed connection, now and only to those subscribed now.
    func push(_ response: ClientResponse) throws {
        let frame = try response.encodeFrame()
        pushes.withLock { $0.append(frame) }
    }

    /// Stops accepting, closes every connection and waits (at most 5 s) for the threads.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = running.wait(timeout: .now() + 5)
        _ = close(listener)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) == 1 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            running.enter()
            Thread { [self] in
                serve(fd)
                _ = close(fd)
                running.leave()
            }.start()
        }
    }

    private func serve(_ fd: Int32) {
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var loggedIn = false
        var out = WireWriter(reservingCapacity: 64 * 1024)
        var pushed: Int?  // pushes sent to this connection, once it subscribed
        while !stopped.load(ordering: .acquiring) {
            if let sent = pushed {
                let due = pushes.withLock { Array($0[sent...]) }
                for frame in due { guard write(fd, frame) else { return } }
                pushed = sent + due.count
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) == 1 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            decoder.append(buffer[..<n])
            out.removeAll()
            while let body = try? decoder.nextFrame() {
                if !loggedIn {
                    loggedIn = true
                    LoginSuccess(hostID: HostID(hostID), connectionID: 1, clusterStartMillis: 0, leaderAddress: 0x7f00_0001,
                                 buildString: "fake").encode(into: &out)
                    continue
                }
                guard let invocation = try? Invocation.decode(body) else { return }
                received.withLock { $0.append(invocation.procedure) }
                if invocation.procedure == "@Subscribe" && pushed == nil { pushed = pushes.withLock { $0.count } }
                guard var response = handler(invocation) else {
                    _ = write(fd, out.bytes)
                    return
                }
                if response.handle == Canned.silentHandle { continue }
                response.handle = invocation.handle
                guard (try? response.encode(into: &out)) != nil else { return }
            }
            guard write(fd, out.bytes) else { return }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if errno == EAGAIN || errno == EINTR { continue }
            return false
        }
        return true
    }
}

// MARK: Canned answers

enum Canned {
    static let silentHandle = Int64.min
    /// An answer the fake server never sends.
    static let silence = ClientResponse(handle: silentHandle, status: .success)

    static func success(_ tables: [ResultTable] = []) -> ClientResponse {
        ClientResponse(handle: 0, status: .success, tables: tables)
    }

    static func failure(_ status: ClientStatus, _ message: String) -> ClientResponse {
        ClientResponse(handle: 0, status: status, statusString: message)
    }

    static let twoColumns = ResultTable(
        columns: [.init("ID", .integer), .init("NAME", .varchar)],
        rows: [[.integer(1), .string("alpha")], [.integer(22), .string("b, c")]])

    static let overview = ResultTable(
        columns: [.init("HOST_ID", .integer), .init("KEY", .varchar), .init("VALUE", .varchar)],
        rows: [
            [.integer(0), .string("HOSTNAME"), .string("node-a")],
            [.integer(0), .string("IPADDRESS"), .string("10.0.0.1")],
            [.integer(0), .string("CLIENTPORT"), .string("21212")],
            [.integer(0), .string("ADMINPORT"), .string("21211")],
            [.integer(0), .string("CLUSTERSTATE"), .string("RUNNING")],
            [.integer(0), .string("UPTIME"), .string("0 days 00:01:02.003")],
            [.integer(1), .string("HOSTNAME"), .string("node-b")],
            [.integer(1), .string("IPADDRESS"), .string("10.0.0.2")],
            [.integer(1), .string("CLIENTPORT"), .string("21212")],
            [.integer(1), .string("ADMINPORT"), .string("21211")],
            [.integer(1), .string("CLUSTERSTATE"), .string("RUNNING")],
            [.integer(1), .string("UPTIME"), .string("0 days 00:01:01.000")],
        ])

    /// Two partitions on two hosts, K=1; the 16383 row is the multi-partition initiator.
    static let topology = ResultTable(
        columns: [.init("Partition", .integer), .init("Sites", .varchar), .init("Leader", .varchar)],
        rows: [
            [.integer(1), .string("0:1, 1:1"), .string("1:1")],
            [.integer(0), .string("0:0, 1:0"), .string("0:0")],
            [.integer(16383), .string("0:16383, 1:16383"), .string("0:16383")],
        ])

    /// STORE (partitioned) and REGIONS (replicated), each reported by both replicas of each partition.
    static let tableStatistics = ResultTable(
        columns: [.init("HOST_ID", .integer), .init("PARTITION_ID", .bigint), .init("TABLE_NAME", .varchar),
                  .init("TUPLE_COUNT", .bigint)],
        rows: [
            [.integer(0), .integer(0), .string("STORE"), .integer(40)],
            [.integer(1), .integer(0), .string("STORE"), .integer(40)],
            [.integer(0), .integer(1), .string("STORE"), .integer(60)],
            [.integer(1), .integer(1), .string("STORE"), .integer(60)],
            [.integer(0), .integer(0), .string("REGIONS"), .integer(5)],
            [.integer(1), .integer(0), .string("REGIONS"), .integer(5)],
            [.integer(0), .integer(1), .string("REGIONS"), .integer(5)],
            [.integer(1), .integer(1), .string("REGIONS"), .integer(5)],
        ])

    static let catalogTables = ResultTable(
        columns: [.init("TABLE_NAME", .varchar), .init("TABLE_TYPE", .varchar), .init("REMARKS", .varchar)],
        rows: [
            [.string("STORE"), .string("TABLE"), .string("{\"partitionColumn\":\"KEY\"}")],
            [.string("REGIONS"), .string("TABLE"), .null],
            [.string("EMPTY_ONE"), .string("TABLE"), .string("{\"partitionColumn\":\"ID\"}")],
        ])

    static let catalogColumns = ResultTable(
        columns: [.init("TABLE_NAME", .varchar), .init("COLUMN_NAME", .varchar), .init("TYPE_NAME", .varchar),
                  .init("COLUMN_SIZE", .integer), .init("REMARKS", .varchar), .init("ORDINAL_POSITION", .integer),
                  .init("IS_NULLABLE", .varchar)],
        rows: [
            [.string("STORE"), .string("VALUE"), .string("VARBINARY"), .integer(1_048_576), .null, .integer(2), .string("NO")],
            [.string("STORE"), .string("KEY"), .string("VARCHAR"), .integer(250), .string("PARTITION_COLUMN"), .integer(1), .string("NO")],
            [.string("REGIONS"), .string("NAME"), .string("VARCHAR"), .integer(32), .null, .integer(1), .string("YES")],
        ])

    /// A rebalance 42.17% through, written out cell by cell as a server sends it.
    static let rebalance = ResultTable(
        columns: RebalanceRow.columns,
        rows: [[.integer(1_700_000_000_000), .float(42.17), .integer(1_234_567), .float(9_876.5), .integer(172_000),
                .float(1.5), .float(2.5), .float(12.25), .float(10.5), .float(8)]])

    static let procedureColumns = ResultTable(
        columns: [.init("PROCEDURE_NAME", .varchar), .init("COLUMN_NAME", .varchar), .init("TYPE_NAME", .varchar),
                  .init("ORDINAL_POSITION", .integer)],
        rows: [
            [.string("Add"), .string("B"), .string("FLOAT"), .integer(2)],
            [.string("Add"), .string("A"), .string("TINYINT"), .integer(1)],
        ])
}
