// Big-endian primitive decoder over a byte slice, for untrusted input. Every read checks the bytes
// remaining first and throws `WireError` (naming the field and the offset where the read started)
// instead of trapping; every length field is validated against the bytes remaining before anything
// is allocated, so a forged length of 2^31-1 costs a comparison, not two gigabytes.
//
// The reader holds the caller's `ArraySlice` (a reference to the same storage, no copy) and an
// index into it. Offsets in errors are relative to the slice's start, i.e. to the frame body.
// Field names are `StaticString`s so that the happy path builds no strings.

/// Reads big-endian wire primitives from a byte slice.
public struct WireReader: Sendable {
    @usableFromInline let storage: ArraySlice<UInt8>
    @usableFromInline var position: Int

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    public init(_ slice: ArraySlice<UInt8>) {
        storage = slice
        position = slice.startIndex
    }

    /// Bytes consumed so far, i.e. the offset of the next read within the message.
    public var offset: Int { position - storage.startIndex }
    public var remaining: Int { storage.endIndex - position }
    public var isAtEnd: Bool { position == storage.endIndex }

    @usableFromInline
    func truncated(_ what: StaticString, needed: Int, at start: Int? = nil) -> WireError {
        WireError(.truncated(needed: needed, available: remaining), what: "\(what)", offset: start ?? offset)
    }

    @inlinable
    mutating func readFixed<T: FixedWidthInteger>(_: T.Type, _ what: StaticString) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard storage.endIndex - position >= size else { throw truncated(what, needed: size) }
        let start = position - storage.startIndex
        let raw = storage.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start, as: T.self) }
        position += size
        return T(bigEndian: raw)
    }

    @inlinable public mutating func readInt8(_ what: StaticString) throws(WireError) -> Int8 {
        guard position < storage.endIndex else { throw truncated(what, needed: 1) }
        defer { position += 1 }
        return Int8(bitPattern: storage[position])
    }

    @inlinable public mutating func readUInt8(_ what: StaticString) throws(WireError) -> UInt8 {
        guard position < storage.endIndex else { throw truncated(what, needed: 1) }
        defer { position += 1 }
        return storage[position]
    }

    @inlinable public mutating func readInt16(_ what: StaticString) throws(WireError) -> Int16 {
        try readFixed(Int16.self, what)
    }

    @inlinable public mutating func readInt32(_ what: StaticString) throws(WireError) -> Int32 {
        try readFixed(Int32.self, what)
    }

    @inlinable public mutating func readInt64(_ what: StaticString) throws(WireError) -> Int64 {
        try readFixed(Int64.self, what)
    }

    @inlinable public mutating func readDouble(_ what: StaticString) throws(WireError) -> Double {
        Double(bitPattern: try readFixed(UInt64.self, what))
    }

    /// 16 bytes, big-endian two's complement.
    @inlinable public mutating func readInt128(_ what: StaticString) throws(WireError) -> Int128 {
        guard remaining >= 16 else { throw truncated(what, needed: 16) }
        let high = try readFixed(UInt64.self, what)
        let low = try readFixed(UInt64.self, what)
        return Int128(bitPattern: UInt128(high) << 64 | UInt128(low))
    }

    /// Skips `count` bytes.
    public mutating func skip(_ count: Int, _ what: StaticString) throws(WireError) {
        guard count >= 0 else { throw WireError(.invalidLength(count), what: "\(what)", offset: offset) }
        guard remaining >= count else { throw truncated(what, needed: count) }
        position += count
    }

    /// The next `count` bytes as a slice of the same storage (no copy).
    public mutating func readSlice(_ count: Int, _ what: StaticString) throws(WireError) -> ArraySlice<UInt8> {
        guard count >= 0 else { throw WireError(.invalidLength(count), what: "\(what)", offset: offset) }
        guard remaining >= count else { throw truncated(what, needed: count) }
        defer { position += count }
        return storage[position..<position + count]
    }

    /// The next `count` bytes, copied into their own array.
    public mutating func readRawBytes(_ count: Int, _ what: StaticString) throws(WireError) -> [UInt8] {
        Array(try readSlice(count, what))
    }

    /// An int32 length that may be -1 (NULL), validated against the bytes remaining.
    /// Returns nil for NULL; throws for other negative lengths and for lengths past the end.
    @inlinable
    mutating func readNullableLength(_ what: StaticString) throws(WireError) -> Int? {
        let at = offset
        let n = try readInt32(what)
        if n == WireNull.length { return nil }
        guard n >= 0 else { throw WireError(.invalidLength(Int(n)), what: "\(what)", offset: at) }
        guard remaining >= Int(n) else { throw truncated(what, needed: Int(n), at: at) }
        return Int(n)
    }

    /// An int32-length-prefixed UTF-8 string; nil for length -1.
    public mutating func readString(_ what: StaticString) throws(WireError) -> String? {
        let at = offset
        guard let n = try readNullableLength(what) else { return nil }
        let start = position - storage.startIndex
        let decoded: String? = storage.withUnsafeBufferPointer { buffer in
            String(validating: UnsafeBufferPointer(rebasing: buffer[start..<start + n]), as: UTF8.self)
        }
        guard let decoded else { throw WireError(.invalidUTF8, what: "\(what)", offset: at) }
        position += n
        return decoded
    }

    /// A string that must not be NULL.
    public mutating func readNonNullString(_ what: StaticString) throws(WireError) -> String {
        let at = offset
        guard let s = try readString(what) else {
            throw WireError(.invalidLength(Int(WireNull.length)), what: "\(what)", offset: at)
        }
        return s
    }

    /// An int32-length-prefixed byte string; nil for length -1.
    public mutating func readBytes(_ what: StaticString) throws(WireError) -> [UInt8]? {
        guard let n = try readNullableLength(what) else { return nil }
        defer { position += n }
        return Array(storage[position..<position + n])
    }

    /// Throws unless every byte has been read.
    public func expectEnd(_ what: StaticString) throws(WireError) {
        guard isAtEnd else { throw WireError(.trailingBytes(remaining), what: "\(what)", offset: offset) }
    }
}
