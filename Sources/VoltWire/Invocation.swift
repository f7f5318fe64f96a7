// Procedure invocations, client → server (docs/PROTOCOL.md §3.1–3.2).
//
//   v0: int8 0, string procedure, int64 handle, int16 count, parameters
//   v1: int8 1, int8 batch-timeout kind (0 none, 1 then int32 ms), string procedure, int64 handle,
//       parameters (older Java clients only)
//   v2: int8 2, string procedure, int64 handle, int8 extension count, extensions, parameters
//
// An extension is int8 type, int8 length code c, then 0 bytes when c == 0, else 2^(c-1) bytes.
// Known types are surfaced (1 BATCH_TIMEOUT int32, 2 ALL_PARTITION, 3 PARTITION_DESTINATION int32,
// 4 BATCH_CALL, 5 REQUEST_PRIORITY int8, 6 REQUEST_TIMEOUT int32); unknown ones are skipped by
// their length code, as Java does. A known type whose payload size is not its own is an error.
//
// Decoding comes in two steps so that the server can answer a malformed parameter set for the
// right handle: `InvocationHeader.decode(from:)` reads everything up to the parameters, then
// `WireParameter.decodeSet(from:)` the rest; `Invocation.decode` runs both, and
// `Invocation.decodeForReply` reports the header with the error when it got that far. The handle is 8 raw
// bytes kept as an Int64 bit pattern and echoed verbatim; it is never interpreted here.
// A body with bytes after the last parameter is rejected: it means the parameters were misread.

import VoltModel

/// Everything in an invocation before its parameters.
public struct InvocationHeader: Sendable, Hashable {
    /// 0, 1 or 2. Encoding v0 requires no extensions; v1 carries only a batch timeout.
    public var version: Int8
    public var procedure: String
    public var handle: Int64
    public var batchTimeoutMillis: Int32?
    public var allPartition: Bool
    public var partitionDestination: PartitionID?
    public var batchCall: Bool
    public var requestPriority: Int8?
    public var requestTimeoutMillis: Int32?

    public init(version: Int8 = 0, procedure: String, handle: Int64, batchTimeoutMillis: Int32? = nil,
                allPartition: Bool = false, partitionDestination: PartitionID? = nil, batchCall: Bool = false,
                requestPriority: Int8? = nil, requestTimeoutMillis: Int32? = nil) {
        self.version = version
        self.procedure = procedure
        self.handle = handle
        self.batchTimeoutMillis = batchTimeoutMillis
        self.allPartition = allPartition
        self.partitionDestination = partitionDestination
        self.batchCall = batchCall
        self.requestPriority = requestPriority
        self.requestTimeoutMillis = requestTimeoutMillis
    }

    enum Extension: Int8 {
        case batchTimeout = 1
        case allPartition = 2
        case partitionDestination = 3
        case batchCall = 4
        case requestPriority = 5
        case requestTimeout = 6
    }

    /// Reads the header; `r` is left at the parameter count.
    public static func decode(from r: inout WireReader) throws(WireError) -> InvocationHeader {
        let versionAt = r.offset
        let version = try r.readInt8("invocation version")
        var header = InvocationHeader(version: version, procedure: "", handle: 0)
        switch version {
        case 0:
            break
        case 1:
            let kindAt = r.offset
            let kind = try r.readInt8("invocation batch timeout kind")
            switch kind {
            case 0: break
            case 1: header.batchTimeoutMillis = try r.readInt32("invocation batch timeout")
            default: throw WireError(.invalidField(Int64(kind)), what: "invocation batch timeout kind", offset: kindAt)
            }
        case 2:
            break
        default:
            throw WireError(.unsupportedVersion(version), what: "invocation", offset: versionAt)
        }
        header.procedure = try r.readNonNullString("invocation procedure name")
        header.handle = try r.readInt64("invocation client handle")
        if version == 2 { try header.readExtensions(from: &r) }
        return header
    }

    private mutating func readExtensions(from r: inout WireReader) throws(WireError) {
        let countAt = r.offset
        let count = try r.readInt8("invocation extension count")
        guard count >= 0 else { throw WireError(.invalidField(Int64(count)), what: "invocation extension count", offset: countAt) }
        for _ in 0..<count {
            let at = r.offset
            let type = try r.readInt8("invocation extension type")
            let code = try r.readInt8("invocation extension length code")
            // 2^(c-1) bytes; codes above 31 could only announce more than 2 GiB.
            guard code >= 0, code <= 31 else {
                throw WireError(.invalidField(Int64(code)), what: "invocation extension length code", offset: at + 1)
            }
            let size = code == 0 ? 0 : 1 << (Int(code) - 1)
            guard let known = Extension(rawValue: type) else {
                try r.skip(size, "unknown invocation extension payload")
                continue
            }
            let expected: Int
            switch known {
            case .allPartition, .batchCall: expected = 0
            case .requestPriority: expected = 1
            case .batchTimeout, .partitionDestination, .requestTimeout: expected = 4
            }
            guard size == expected else {
                throw WireError(.lengthMismatch(declared: size, actual: expected), what: "invocation extension \(type) payload", offset: at)
            }
            switch known {
            case .allPartition: allPartition = true
            case .batchCall: batchCall = true
            case .requestPriority: requestPriority = try r.readInt8("invocation request priority")
            case .batchTimeout: batchTimeoutMillis = try r.readInt32("invocation batch timeout")
            case .partitionDestination: partitionDestination = PartitionID(try r.readInt32("invocation partition destination"))
            case .requestTimeout: requestTimeoutMillis = try r.readInt32("invocation request timeout")
            }
        }
    }

    /// Appends the header (no frame prefix, no parameters).
    public func encode(into w: inout WireWriter) {
        let hasExtensions = allPartition || partitionDestination != nil || batchCall || requestPriority != nil || requestTimeoutMillis != nil
        switch version {
        case 0:
            precondition(!hasExtensions && batchTimeoutMillis == nil, "invocation version 0 carries no extensions: \(self)")
        case 1:
            precondition(!hasExtensions, "invocation version 1 carries only a batch timeout: \(self)")
        case 2:
            break
        default:
            preconditionFailure("cannot encode invocation version \(version)")
        }
        w.writeInt8(version)
        if version == 1 {
            if let t = batchTimeoutMillis { w.writeInt8(1); w.writeInt32(t) } else { w.writeInt8(0) }
        }
        w.writeString(procedure)
        w.writeInt64(handle)
        guard version == 2 else { return }
        let countAt = w.count
        w.writeInt8(0)
        var count: UInt8 = 0
        if let t = batchTimeoutMillis { w.writeInt8(Extension.batchTimeout.rawValue); w.writeInt8(3); w.writeInt32(t); count += 1 }
        if allPartition { w.writeInt8(Extension.allPartition.rawValue); w.writeInt8(0); count += 1 }
        if let p = partitionDestination { w.writeInt8(Extension.partitionDestination.rawValue); w.writeInt8(3); w.writeInt32(p.rawValue); count += 1 }
        if batchCall { w.writeInt8(Extension.batchCall.rawValue); w.writeInt8(0); count += 1 }
        if let p = requestPriority { w.writeInt8(Extension.requestPriority.rawValue); w.writeInt8(1); w.writeInt8(p); count += 1 }
        if let t = requestTimeoutMillis { w.writeInt8(Extension.requestTimeout.rawValue); w.writeInt8(3); w.writeInt32(t); count += 1 }
        w.patchUInt8(count, at: countAt)
    }
}

/// A malformed invocation: the decoding error, and the header if it was read before the error.
public struct InvocationDecodeFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var header: InvocationHeader?
    public var error: WireError

    public init(header: InvocationHeader?, error: WireError) {
        self.header = header
        self.error = error
    }

    public var description: String {
        header.map { "invocation of \($0.procedure) (handle \($0.handle)): \(error)" } ?? "invocation: \(error)"
    }
}

/// A complete procedure invocation.
public struct Invocation: Sendable, Hashable {
    public var header: InvocationHeader
    public var parameters: [WireParameter]

    public init(header: InvocationHeader, parameters: [WireParameter]) {
        self.header = header
        self.parameters = parameters
    }

    public init(procedure: String, handle: Int64, parameters: [WireParameter] = []) {
        self.init(header: InvocationHeader(procedure: procedure, handle: handle), parameters: parameters)
    }

    public var procedure: String { header.procedure }
    public var handle: Int64 { header.handle }

    /// Decodes a frame body. To learn the handle of a body whose parameters fail to decode,
    /// decode `InvocationHeader` first (see the file header).
    public static func decode(_ body: ArraySlice<UInt8>) throws(WireError) -> Invocation {
        var r = WireReader(body)
        let header = try InvocationHeader.decode(from: &r)
        let parameters = try WireParameter.decodeSet(from: &r)
        try r.expectEnd("invocation parameters")
        return Invocation(header: header, parameters: parameters)
    }

    public static func decode(_ body: [UInt8]) throws(WireError) -> Invocation { try decode(body[...]) }

    /// Decodes a frame body; a failure carries the header when it was readable, so the server can
    /// answer UNEXPECTED_FAILURE for that handle (§3.4, §5.13) and close only when it was not.
    public static func decodeForReply(_ body: ArraySlice<UInt8>) throws(InvocationDecodeFailure) -> Invocation {
        var r = WireReader(body)
        let header: InvocationHeader
        do {
            header = try InvocationHeader.decode(from: &r)
        } catch {
            throw InvocationDecodeFailure(header: nil, error: error)
        }
        do {
            let parameters = try WireParameter.decodeSet(from: &r)
            try r.expectEnd("invocation parameters")
            return Invocation(header: header, parameters: parameters)
        } catch {
            throw InvocationDecodeFailure(header: header, error: error)
        }
    }

    /// Appends the whole frame, length prefix included. On failure nothing is appended.
    public func encode(into w: inout WireWriter) throws(WireError) {
        let start = w.count
        let frame = w.beginFrame()
        header.encode(into: &w)
        precondition(parameters.count <= Int(Int16.max), "at most \(Int16.max) parameters, got \(parameters.count)")
        w.writeInt16(Int16(parameters.count))
        for (i, p) in parameters.enumerated() {
            do {
                try p.encode(into: &w)
            } catch {
                w.truncate(to: start)
                throw error.within("parameter \(i)")
            }
        }
        w.endFrame(frame)
    }

    public func encodeFrame() throws(WireError) -> [UInt8] {
        var w = WireWriter(reservingCapacity: 64 + procedure.utf8.count + 16 * parameters.count)
        try encode(into: &w)
        return w.take()
    }
}
