// When a host pushes a changed topology to its subscribers (docs/PROTOCOL.md §6.2): a pure
// decision over changes and time, so that it can be tested without a clock or a socket. The host
// keeps one per kind of push, under the lock of what it publishes, and acts on each decision
// (push now, wake up later); a push always sends what is published at that moment, the latest
// state, never the state of the change that scheduled it.
//
// Two rules, and the guarantee that follows:
//
// - Settle: a change is not pushed before its settle time (the change's time plus the delay its
//   caller asked for). A cluster host applies a metadata entry a moment before the others; a
//   subscribed client answers a push by re-reading TOPO from any host, so the push waits until the
//   others have most likely applied the same entry.
// - Interval: two pushes are at least `intervalMillis` apart. A burst of changes (an elastic join
//   cuts over many token ranges in a row) then costs each subscriber one push per interval instead
//   of one per change.
// - So the last change is never lost: whenever a push carries a change that has not settled yet
//   (changes kept arriving), another push follows once it has. After the last change of a burst,
//   subscribers get one push at or after its settle time, carrying the final state (possibly the
//   same bytes as the push before it: that push went out too early to be relied on).
//
// Times are monotonic milliseconds. Pushes go to every subscriber at once, so at most one push per
// interval per host is also at most one per subscriber.

/// Decides when to push a topology change; see the file header.
struct PushCoalescer: Sendable, Equatable {
    /// What to do now, and when to be asked again.
    struct Decision: Sendable, Equatable {
        /// Push the latest state now.
        var push: Bool
        /// Call `woke(at:)` at this time; nil when no wake-up is needed (or one is already scheduled).
        var wakeAt: Int64?

        static let nothing = Decision(push: false, wakeAt: nil)
    }

    /// The least time between two pushes.
    let intervalMillis: Int64
    private(set) var lastPushMillis: Int64?
    /// The settle time of the oldest change subscribers have not been sent settled; nil when they are up to date.
    private(set) var pendingSettlesAt: Int64?
    /// The latest settle time of any change not yet pushed settled.
    private var newestSettlesAt: Int64?
    /// The wake-up the owner has scheduled; while there is one, changes only record themselves.
    private(set) var wakeAt: Int64?

    init(intervalMillis: Int64) {
        precondition(intervalMillis >= 0, "a push interval of \(intervalMillis) ms")
        self.intervalMillis = intervalMillis
    }

    /// The published state changed at `now`; the change may be pushed from `now + settleMillis`.
    mutating func changed(at now: Int64, settleMillis: Int64 = 0) -> Decision {
        let settles = now + max(0, settleMillis)
        newestSettlesAt = max(newestSettlesAt ?? settles, settles)
        if pendingSettlesAt == nil { pendingSettlesAt = settles }
        // A scheduled wake-up will see this change: the push it makes carries the latest state.
        if wakeAt != nil { return .nothing }
        return decide(at: now)
    }

    /// The wake-up of an earlier decision came due.
    mutating func woke(at now: Int64) -> Decision {
        wakeAt = nil
        return decide(at: now)
    }

    private mutating func decide(at now: Int64) -> Decision {
        guard let pending = pendingSettlesAt else { return .nothing }
        let due = max(pending, lastPushMillis.map { $0 + intervalMillis } ?? pending)
        guard now >= due else {
            wakeAt = due
            return Decision(push: false, wakeAt: due)
        }
        lastPushMillis = now
        // The push carries every change so far; one that has not settled needs a push after it has.
        if let newest = newestSettlesAt, newest > now {
            pendingSettlesAt = newest
            let next = max(newest, now + intervalMillis)
            wakeAt = next
            return Decision(push: true, wakeAt: next)
        }
        pendingSettlesAt = nil
        newestSettlesAt = nil
        return Decision(push: true, wakeAt: nil)
    }
}
