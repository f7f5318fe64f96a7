// The frame layer (docs/PROTOCOL.md §1.1): every message in both directions is an
// int32 big-endian body length followed by the body. TCP delivers arbitrary chunks, so the decoder
// accumulates bytes and hands out complete bodies; one read may hold many frames (the Python
// `VoltClient` concatenates invocations) and one frame may span many reads.
//
// States: the buffer holds `buffer[consumed...]` unread bytes. `nextFrame` looks at the 4-byte
// prefix when present, validates it (negative → error, above `maxFrameBytes` → error carrying the
// size, so the server can log why it closes), and returns the body once all of it has arrived.
// Nothing is allocated from the announced length: the buffer grows only with bytes actually
// received, so a forged 2 GB prefix costs nothing. Errors are sticky in effect: the offending prefix
// stays in the buffer and every later call throws again; the caller closes the connection.
//
// Consumed bytes are discarded lazily (when they are at least half the buffer, or everything has
// been consumed), so the amortised cost per byte is constant.

/// Splits a byte stream into frame bodies.
public struct FrameDecoder: Sendable {
    /// VoltDB's default limit for a single message is 50 MiB.
    public static let defaultMaxFrameBytes = 50 * 1024 * 1024

    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var consumed = 0

    public init(maxFrameBytes: Int = FrameDecoder.defaultMaxFrameBytes) {
        precondition(maxFrameBytes >= 0, "maxFrameBytes must not be negative, got \(maxFrameBytes)")
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - consumed }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compactIfWorthwhile() {
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
        } else if consumed > 0 && consumed >= buffer.count / 2 {
            buffer.removeSubrange(0..<consumed)
            consumed = 0
        }
    }

    /// The body length of the next frame if its prefix has arrived; validates it.
    private func peekLength() throws(WireError) -> Int? {
        guard buffer.count - consumed >= 4 else { return nil }
        var u: UInt32 = 0
        for i in 0..<4 { u = u << 8 | UInt32(buffer[consumed + i]) }
        let n = Int32(bitPattern: u)
        guard n >= 0 else { throw WireError(.negativeFrameLength(n), what: "frame length prefix", offset: 0) }
        guard Int(n) <= maxFrameBytes else {
            throw WireError(.frameTooLarge(length: Int(n), maxBytes: maxFrameBytes), what: "frame length prefix", offset: 0)
        }
        return Int(n)
    }

    /// The next complete frame body, copied out, or nil until more bytes arrive.
    public mutating func nextFrame() throws(WireError) -> [UInt8]? {
        guard let n = try peekLength(), buffer.count - consumed - 4 >= n else { return nil }
        let start = consumed + 4
        consumed = start + n
        return Array(buffer[start..<start + n])
    }

    /// Calls `body` with the next complete frame body as a slice of the internal buffer (no copy),
    /// or returns nil until more bytes arrive. The slice must not escape the closure.
    public mutating func withNextFrame<R>(
        _ body: (ArraySlice<UInt8>) throws(WireError) -> R
    ) throws(WireError) -> R? {
        guard let n = try peekLength(), buffer.count - consumed - 4 >= n else { return nil }
        let start = consumed + 4
        consumed = start + n
        return try body(buffer[start..<start + n])
    }
}

/// A frame: the int32 big-endian body length, then the body.
public func encodeFrame(_ body: some Collection<UInt8>) -> [UInt8] {
    precondition(body.count <= Int(Int32.max), "a \(body.count)-byte body cannot be framed")
    var w = WireWriter(reservingCapacity: body.count + 4)
    w.writeInt32(Int32(body.count))
    w.writeRaw(body)
    return w.take()
}
