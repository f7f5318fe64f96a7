#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A multi-producer, single-consumer queue whose consumer blocks while it is empty.
///
/// Sites are fed through these: producers (the network shell, the MP coordinator, other sites'
/// completions) append under a mutex; the site thread takes everything pending in one swap, so a
/// busy site pays one lock round-trip per batch rather than per transaction. The consumer is only
/// signalled when it is actually asleep.
///
/// Elements are moved, never copied: `push` consumes its argument into the pending buffer, the
/// consumer swaps that buffer for its (empty) `Batch`, and `Batch.consumeAll` moves each element
/// out to its handler. An element's references are therefore retained once, by whoever built it,
/// and released once, when the handler is done with it — which matters because most elements are
/// built on one thread and consumed on another, and every extra reference-count change on an
/// object both threads touch is a cache-line transfer.
public final class BlockingQueue<Element>: @unchecked Sendable {
    // SAFETY: `state` is read and written only while holding `mutex`; elements move from producer
    // threads to the single consumer through its pending buffer. It lives behind a pointer rather
    // than in stored `var`s so that the hot path pays no dynamic exclusivity checks: the mutex
    // already guarantees exclusive access.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let state: UnsafeMutablePointer<State>

    private struct State {
        var pending: Batch.Storage
        var consumerWaiting = false
        var closed = false
    }

    public init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        state = .allocate(capacity: 1)
        state.initialize(to: State(pending: Batch.Storage(capacity: 16)))
    }

    deinit {
        state.pointee.pending.free()
        state.deinitialize(count: 1)
        state.deallocate()
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Appends one element. Returns false if the queue was closed (the element is dropped).
    @discardableResult
    public func push(_ element: consuming Element) -> Bool {
        pthread_mutex_lock(mutex)
        guard !state.pointee.closed else { pthread_mutex_unlock(mutex); return false }
        state.pointee.pending.append(element)
        let wake = state.pointee.consumerWaiting
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
        return true
    }

    /// Appends several elements in order, under one lock.
    @discardableResult
    public func push(contentsOf elements: some Collection<Element>) -> Bool {
        pthread_mutex_lock(mutex)
        guard !state.pointee.closed else { pthread_mutex_unlock(mutex); return false }
        for e in elements { state.pointee.pending.append(e) }
        let wake = state.pointee.consumerWaiting
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
        return true
    }

    /// Blocks until at least one element is pending or the queue is closed, then moves all pending
    /// elements into `batch` (which must be empty). Returns false once closed and drained.
    public func takeAll(into batch: inout Batch) -> Bool {
        precondition(batch.isEmpty, "takeAll needs an empty batch, got \(batch.count) elements")
        pthread_mutex_lock(mutex)
        while state.pointee.pending.count == 0 && !state.pointee.closed {
            state.pointee.consumerWaiting = true
            pthread_cond_wait(condition, mutex)
            state.pointee.consumerWaiting = false
        }
        swap(&state.pointee.pending, &batch.storage)
        let open = !(state.pointee.closed && batch.isEmpty)
        pthread_mutex_unlock(mutex)
        return open
    }

    /// Stops accepting elements; the consumer drains what is pending, then `takeAll` returns false.
    public func close() {
        pthread_mutex_lock(mutex)
        state.pointee.closed = true
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(condition)
    }

    public var count: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return state.pointee.pending.count
    }

    /// The consumer's side of a swap: elements taken from the queue, handed out by moving them.
    /// Owned by the consumer thread; not copyable, so its buffer has exactly one owner.
    public struct Batch: ~Copyable {
        /// A manually managed buffer of `count` initialized elements. Plain data so that the queue
        /// and a batch can exchange buffers with `swap`; whoever holds one must `free` it.
        struct Storage {
            var base: UnsafeMutablePointer<Element>
            var count = 0
            var capacity: Int

            init(capacity: Int) {
                self.capacity = max(capacity, 1)
                base = .allocate(capacity: self.capacity)
            }

            @inline(__always)
            mutating func append(_ element: consuming Element) {
                if count == capacity { grow() }
                (base + count).initialize(to: element)
                count += 1
            }

            mutating func grow() {
                let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
                bigger.moveInitialize(from: base, count: count)
                base.deallocate()
                base = bigger
                capacity *= 2
            }

            func free() {
                base.deinitialize(count: count)
                base.deallocate()
            }
        }

        var storage: Storage

        public init(capacity: Int = 1024) {
            storage = Storage(capacity: capacity)
        }

        deinit { storage.free() }

        public var count: Int { storage.count }
        public var isEmpty: Bool { storage.count == 0 }

        /// Hands every element to `body` in order, moving it out of the batch, and leaves the batch
        /// empty. `body` must not trap-recover or re-enter this batch (it cannot: the batch is
        /// borrowed mutably for the duration).
        @inline(__always)
        public mutating func consumeAll(_ body: (consuming Element) -> Void) {
            let base = storage.base
            let n = storage.count
            // The count drops to zero first: each element is moved out exactly once below, so
            // nothing is left for the batch to destroy.
            storage.count = 0
            for i in 0..<n { body((base + i).move()) }
        }
    }
}

/// A one-shot value handed from one thread to another: `set` once, `wait` blocks until set.
public final class OneShot<Value: Sendable>: @unchecked Sendable {
    // SAFETY: `value` is guarded by `mutex`; it is written once by `set` and read after the wait.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var value: Value?

    public init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    public func set(_ newValue: Value) {
        pthread_mutex_lock(mutex)
        precondition(value == nil, "OneShot set twice")
        value = newValue
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(condition)
    }

    public func wait() -> Value {
        pthread_mutex_lock(mutex)
        while value == nil { pthread_cond_wait(condition, mutex) }
        let v = value!
        pthread_mutex_unlock(mutex)
        return v
    }

    /// Sets the value unless it is already set; returns whether it did.
    @discardableResult
    public func setIfUnset(_ newValue: Value) -> Bool {
        pthread_mutex_lock(mutex)
        let fresh = value == nil
        if fresh { value = newValue }
        pthread_mutex_unlock(mutex)
        if fresh { pthread_cond_broadcast(condition) }
        return fresh
    }

    /// Waits at most `timeoutMillis`; nil if the value was not set by then.
    public func wait(timeoutMillis: Int) -> Value? {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanos = Int(deadline.tv_nsec) + (timeoutMillis % 1000) * 1_000_000
        deadline.tv_sec += timeoutMillis / 1000 + nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        pthread_mutex_lock(mutex)
        while value == nil {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
        let v = value
        pthread_mutex_unlock(mutex)
        return v
    }
}
