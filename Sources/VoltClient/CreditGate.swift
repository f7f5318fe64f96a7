// The in-flight window of one pipelined connection: a counter of credits, one per call that may
// still be sent. The sender takes credits in bulk (as many as are free, up to its batch size) and
// blocks only when none are free; the receiver returns them in bulk after each read. So the lock
// is taken once per batch, not once per call, and the sender never has more than the window's
// calls unanswered. `close` wakes a blocked sender for good (the receiver failed or the phase
// ended).
//
// A pthread mutex and condition variable (on the monotonic clock) because the sender must sleep
// until credits come back, and Synchronization has no condition variable.

import Glibc

/// Credits for calls in flight, shared by one sender and one receiver.
public final class CreditGate: @unchecked Sendable {
    // SAFETY: `available` and `isClosed` are read and written only with `mutex` held; the mutex and
    // condition live at fixed heap addresses for the object's lifetime.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var available: Int
    private var isClosed = false
    public let capacity: Int

    public enum Acquired: Sendable, Equatable {
        case credits(Int)
        case closed
        case timedOut
    }

    public init(capacity: Int) {
        precondition(capacity > 0, "a window of \(capacity) calls cannot send anything")
        self.capacity = capacity
        available = capacity
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Takes between 1 and `maximum` credits, waiting until one is free, the gate closes, or
    /// `deadline` (monotonic nanoseconds) passes.
    public func acquire(upTo maximum: Int, deadline: UInt64) -> Acquired {
        precondition(maximum > 0, "acquire(upTo: \(maximum))")
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while available == 0 && !isClosed {
            let now = MonotonicClock.nanos()
            if now >= deadline { return .timedOut }
            var until = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            _ = pthread_cond_timedwait(condition, mutex, &until)
        }
        if isClosed { return .closed }
        let taken = min(available, maximum)
        available -= taken
        return .credits(taken)
    }

    /// Gives back `count` credits (answered calls) and wakes the sender.
    public func release(_ count: Int) {
        guard count > 0 else { return }
        pthread_mutex_lock(mutex)
        available += count
        precondition(available <= capacity, "credits \(available) exceed the window \(capacity): a response was counted twice")
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Credits currently taken: calls sent and not yet answered.
    public var inFlight: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return capacity - available
    }

    /// Makes every current and future `acquire` return `.closed`.
    public func close() {
        pthread_mutex_lock(mutex)
        isClosed = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}
