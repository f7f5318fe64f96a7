// The frames of one connection that are waiting for the socket, in order, with the position
// reached inside the first one after a partial write. Used twice per connection: writers append to
// the shared queue under its lock; the loop swaps that queue into its own and writes from it
// without holding the lock, so a site completing a transaction never waits for a system call.
import Glibc

struct OutputQueue {
    private(set) var chunks: [[UInt8]] = []
    /// Index of the first chunk not completely written.
    private(set) var head = 0
    /// Bytes of `chunks[head]` already written.
    private(set) var headOffset = 0

    var isEmpty: Bool { head == chunks.count }
    var frameCount: Int { chunks.count - head }

    mutating func append(_ chunk: [UInt8]) { chunks.append(chunk) }

    mutating func append(contentsOf list: [[UInt8]]) { chunks.append(contentsOf: list) }

    /// Moves every chunk of `other` to the end of this queue, leaving `other` empty (and, when this
    /// queue was empty, with this queue's old capacity, so the two arrays are reused).
    mutating func takeAll(from other: inout [[UInt8]]) {
        if isEmpty {
            chunks.removeAll(keepingCapacity: true)
            head = 0
            headOffset = 0
            swap(&chunks, &other)
        } else {
            chunks.append(contentsOf: other)
            other.removeAll(keepingCapacity: true)
        }
    }

    /// Fills `iovecs` with the unwritten bytes from the head on, up to `capacity` entries and about
    /// `byteLimit` bytes. Returns the entry count and the byte total.
    ///
    /// The iovecs point into the chunks' storage. That is sound because the chunks are native
    /// arrays held by this queue, and the caller neither mutates nor releases them before the
    /// system call that reads the iovecs returns.
    func fill(_ iovecs: UnsafeMutablePointer<iovec>, capacity: Int, byteLimit: Int) -> (count: Int, bytes: Int) {
        var count = 0
        var bytes = 0
        var index = head
        while index < chunks.count && count < capacity && bytes < byteLimit {
            let offset = index == head ? headOffset : 0
            let length = chunks[index].count - offset
            if length > 0 {
                chunks[index].withUnsafeBytes { raw in
                    iovecs[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + offset),
                                          iov_len: length)
                }
                count += 1
                bytes += length
            }
            index += 1
        }
        return (count, bytes)
    }

    /// Marks `written` bytes from the head on as sent.
    mutating func advance(by written: Int) {
        var left = written
        while left > 0 {
            precondition(head < chunks.count, "advanced \(written) bytes past the end of the output queue")
            let remaining = chunks[head].count - headOffset
            if left >= remaining {
                left -= remaining
                head += 1
                headOffset = 0
            } else {
                headOffset += left
                left = 0
            }
        }
        // Skip empty chunks so that `isEmpty` is exact.
        while head < chunks.count && chunks[head].count == headOffset {
            head += 1
            headOffset = 0
        }
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= chunks.count {
            chunks.removeSubrange(0..<head)
            head = 0
        }
    }

    /// Drops everything; returns how many frames were not completely written.
    mutating func removeAll() -> Int {
        let dropped = frameCount
        chunks = []
        head = 0
        headOffset = 0
        return dropped
    }
}
