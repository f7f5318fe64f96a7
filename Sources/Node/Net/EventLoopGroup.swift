// A fixed set of event loops. Accepted connections are spread over them round-robin, and the group
// numbers connections (one counter, so ids are unique and increasing across all its loops).
// The default size is one loop per core up to two: on the machines we target, sites need the other
// cores, and one loop already moves hundreds of thousands of small frames a second.
import Glibc
import Synchronization

/// N event loops with round-robin assignment.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let nextIndex = Atomic<Int>(0)
    private let lastConnectionID = Atomic<Int64>(0)

    /// One loop per online core, at most two.
    public static var defaultLoopCount: Int {
        max(1, min(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    public init(loopCount: Int = EventLoopGroup.defaultLoopCount) throws(NetError) {
        precondition(loopCount >= 1, "an EventLoopGroup needs at least one loop, got \(loopCount)")
        var loops: [EventLoop] = []
        for _ in 0..<loopCount {
            do {
                loops.append(try EventLoop())
            } catch {
                for loop in loops { loop.shutdown() }
                throw error
            }
        }
        self.loops = loops
    }

    /// The next loop in round-robin order.
    public func next() -> EventLoop {
        let i = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[(i & Int.max) % loops.count]
    }

    func nextConnectionID() -> ConnectionID {
        ConnectionID(lastConnectionID.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    /// Shuts every loop down in order (see `EventLoop.shutdown()`): every socket closed, every
    /// thread joined. Call from a thread that is not one of the group's loops.
    public func shutdown() {
        for loop in loops { loop.shutdown() }
    }
}
