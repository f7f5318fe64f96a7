// Big-endian primitive encoder appending into one growable byte array. Encoders of whole messages
// (responses, tables, invocations) write into a single `WireWriter`, reserving length fields and
// patching them when the structure is complete, so a response costs one buffer and no copies. A
// writer can be reused across messages with `removeAll(keepingCapacity: true)`.
//
// Integers are written as one `append(contentsOf:)` of their big-endian bytes, not byte by byte.

/// Appends big-endian wire primitives to a byte array.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    /// Hands the bytes over, leaving the writer empty.
    public mutating func take() -> [UInt8] {
        var out: [UInt8] = []
        swap(&out, &bytes)
        return out
    }

    public mutating func removeAll(keepingCapacity: Bool = true) {
        bytes.removeAll(keepingCapacity: keepingCapacity)
    }

    public mutating func reserveCapacity(_ n: Int) { bytes.reserveCapacity(n) }

    mutating func removeLast(_ n: Int) { bytes.removeLast(n) }

    @inline(__always)
    private mutating func appendBigEndian<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeInt8(_ v: Int8) { bytes.append(UInt8(bitPattern: v)) }
    public mutating func writeUInt8(_ v: UInt8) { bytes.append(v) }
    public mutating func writeInt16(_ v: Int16) { appendBigEndian(v) }
    public mutating func writeInt32(_ v: Int32) { appendBigEndian(v) }
    public mutating func writeInt64(_ v: Int64) { appendBigEndian(v) }
    public mutating func writeDouble(_ v: Double) { appendBigEndian(v.bitPattern) }

    /// 16 bytes, big-endian two's complement (DECIMAL's unscaled value).
    public mutating func writeInt128(_ v: Int128) {
        let bits = UInt128(bitPattern: v)
        appendBigEndian(UInt64(truncatingIfNeeded: bits >> 64))
        appendBigEndian(UInt64(truncatingIfNeeded: bits))
    }

    public mutating func writeType(_ t: WireType) { writeInt8(t.rawValue) }

    /// Bytes with no length prefix.
    public mutating func writeRaw(_ b: some Collection<UInt8>) { bytes.append(contentsOf: b) }

    /// An int32 length, then the UTF-8 bytes; `nil` is the NULL length -1.
    public mutating func writeString(_ s: String?) {
        guard var s else { writeInt32(WireNull.length); return }
        s.withUTF8 { utf8 in
            precondition(utf8.count <= Int(Int32.max), "a \(utf8.count)-byte string cannot be length-prefixed")
            writeInt32(Int32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// An int32 length, then the bytes; `nil` is the NULL length -1.
    public mutating func writeBytes(_ b: [UInt8]?) {
        guard let b else { writeInt32(WireNull.length); return }
        precondition(b.count <= Int(Int32.max), "\(b.count) bytes cannot be length-prefixed")
        writeInt32(Int32(b.count))
        bytes.append(contentsOf: b)
    }

    /// Writes a placeholder int32 and returns its position for `patchInt32`.
    public mutating func reserveInt32() -> Int {
        let at = bytes.count
        appendBigEndian(Int32(0))
        return at
    }

    public mutating func patchInt32(_ v: Int32, at position: Int) {
        precondition(position >= 0 && position + 4 <= bytes.count, "patch at \(position) outside \(bytes.count) bytes")
        let u = UInt32(bitPattern: v)
        bytes[position] = UInt8(truncatingIfNeeded: u >> 24)
        bytes[position + 1] = UInt8(truncatingIfNeeded: u >> 16)
        bytes[position + 2] = UInt8(truncatingIfNeeded: u >> 8)
        bytes[position + 3] = UInt8(truncatingIfNeeded: u)
    }

    public mutating func patchUInt8(_ v: UInt8, at position: Int) {
        precondition(position >= 0 && position < bytes.count, "patch at \(position) outside \(bytes.count) bytes")
        bytes[position] = v
    }

    /// Patches the int32 at `position` with the number of bytes written after it.
    public mutating func patchLengthOfBytesAfter(_ position: Int) {
        let n = bytes.count - position - 4
        precondition(n >= 0 && n <= Int(Int32.max), "length \(n) after position \(position) does not fit int32")
        patchInt32(Int32(n), at: position)
    }

    /// Starts a frame: reserves its length prefix. Finish with `endFrame`.
    public mutating func beginFrame() -> Int { reserveInt32() }

    /// Finishes a frame begun at `mark`: its prefix becomes the body length.
    public mutating func endFrame(_ mark: Int) { patchLengthOfBytesAfter(mark) }
}
