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
public final class BlockingQueue<Element>: @unchecked Sendable {
    // SAFETY: every stored property below is read and written only while holding `mutex`; elements
    // move from producer threads to the single consumer through `items`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var items: [Element] = []
    private var consumerWaiting = false
    private var closed = false

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

    /// Appends one element. Returns false if the queue was closed (the element is dropped).
    @discardableResult
    public func push(_ element: Element) -> Bool {
        pthread_mutex_lock(mutex)
        guard !closed else { pthread_mutex_unlock(mutex); return false }
        items.append(element)
        let wake = consumerWaiting
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
        return true
    }

    /// Appends several elements in order, under one lock.
    @discardableResult
    public func push(contentsOf elements: some Collection<Element>) -> Bool {
        pthread_mutex_lock(mutex)
        guard !closed else { pthread_mutex_unlock(mutex); return false }
        items.append(contentsOf: elements)
        let wake = consumerWaiting
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
        return true
    }

    /// Blocks until at least one element is pending or the queue is closed, then moves all pending
    /// elements into `batch` (which must be empty). Returns false once closed and drained.
    public func takeAll(into batch: inout [Element]) -> Bool {
        precondition(batch.isEmpty, "takeAll needs an empty batch, got \(batch.count) elements")
        pthread_mutex_lock(mutex)
        while items.isEmpty && !closed {
            consumerWaiting = true
            pthread_cond_wait(condition, mutex)
            consumerWaiting = false
        }
        swap(&items, &batch)
        let open = !(closed && batch.isEmpty)
        pthread_mutex_unlock(mutex)
        return open
    }

    /// Stops accepting elements; the consumer drains what is pending, then `takeAll` returns false.
    public func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(condition)
    }

    public var count: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return items.count
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
}
