// The two invocations of the key-value workload, encoded without intermediate values: the bytes of
// `STORE.select(key)` and `STORE.upsert(key, value)` frames are appended straight into the
// sender's reused batch buffer. Everything that does not change between calls (version byte,
// procedure name, every key's UTF-8 bytes, the value) is prepared once; a call costs a few
// appends. The layout is invocation version 0 (docs/PROTOCOL.md §3.1):
//
//   int32 frame length, int8 0, string procedure, int64 handle, int16 parameter count,
//   STRING key (type 9, int32 length, bytes) [, VARBINARY value (type 25, int32 length, bytes)]
//
// which is byte for byte what `Invocation.encode` writes for the same call (tested).
//
// The handle carries the call's send time and kind, so the receiver needs no table shared with
// the sender to measure latency: bits 62…16 hold nanoseconds since the phase's epoch (enough for
// 39 hours), bit 15 is 1 for a GET, bits 14…0 a sequence number so that calls of one batch differ.
// Handles stay positive and far below the range reserved for server pushes.

import VoltWire

/// The handle layout of pipelined benchmark calls.
public enum BenchHandle {
    public static let maxElapsedNanos: UInt64 = 1 << 47 - 1

    public static func make(elapsedNanos: UInt64, isGet: Bool, sequence: UInt64) -> Int64 {
        precondition(elapsedNanos <= maxElapsedNanos, "\(elapsedNanos) ns since the epoch does not fit a handle")
        return Int64(bitPattern: elapsedNanos << 16 | (isGet ? 1 << 15 : 0) | sequence & 0x7FFF)
    }

    public static func elapsedNanos(_ handle: Int64) -> UInt64 { UInt64(bitPattern: handle) >> 16 }

    public static func isGet(_ handle: Int64) -> Bool { handle & (1 << 15) != 0 }
}

/// Appends KV workload invocations to a byte buffer.
public struct KVInvocationEncoder: Sendable {
    private let selectPrefix: [UInt8]
    private let upsertPrefix: [UInt8]
    private let keys: [[UInt8]]
    private let value: [UInt8]

    public var keyCount: Int { keys.count }

    public init(keys: [String], value: [UInt8], select: String = "STORE.select", upsert: String = "STORE.upsert") {
        func prefix(_ procedure: String) -> [UInt8] {
            var w = WireWriter(reservingCapacity: 8 + procedure.utf8.count)
            w.writeInt8(0)
            w.writeString(procedure)
            return w.take()
        }
        selectPrefix = prefix(select)
        upsertPrefix = prefix(upsert)
        self.keys = keys.map { Array($0.utf8) }
        self.value = value
    }

    /// The largest frame this encoder writes: an upsert of the longest key.
    public var frameBytesMax: Int {
        4 + upsertPrefix.count + 8 + 2 + 5 + (keys.map(\.count).max() ?? 0) + 5 + value.count
    }

    /// Appends one whole frame: a GET (`select`) or PUT (`upsert`) of key number `key`.
    @inline(__always)
    public func append(isGet: Bool, key: Int, handle: Int64, to buffer: inout [UInt8]) {
        let keyBytes = keys[key]
        let prefix = isGet ? selectPrefix : upsertPrefix
        var length = prefix.count + 8 + 2 + 5 + keyBytes.count
        if !isGet { length += 5 + value.count }
        Self.appendInt32(UInt32(length), to: &buffer)
        buffer.append(contentsOf: prefix)
        Self.appendInt64(UInt64(bitPattern: handle), to: &buffer)
        buffer.append(0)
        buffer.append(isGet ? 1 : 2)
        buffer.append(UInt8(bitPattern: WireType.string.rawValue))
        Self.appendInt32(UInt32(keyBytes.count), to: &buffer)
        buffer.append(contentsOf: keyBytes)
        if !isGet {
            buffer.append(UInt8(bitPattern: WireType.varbinary.rawValue))
            Self.appendInt32(UInt32(value.count), to: &buffer)
            buffer.append(contentsOf: value)
        }
    }

    @inline(__always)
    static func appendInt32(_ v: UInt32, to buffer: inout [UInt8]) {
        buffer.append(UInt8(truncatingIfNeeded: v >> 24))
        buffer.append(UInt8(truncatingIfNeeded: v >> 16))
        buffer.append(UInt8(truncatingIfNeeded: v >> 8))
        buffer.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func appendInt64(_ v: UInt64, to buffer: inout [UInt8]) {
        appendInt32(UInt32(truncatingIfNeeded: v >> 32), to: &buffer)
        appendInt32(UInt32(truncatingIfNeeded: v), to: &buffer)
    }
}
