// Procedure responses, server → client (docs/PROTOCOL.md §4.1):
//
//   int8 version 0, int64 handle, int8 fields-present, int8 status, [string status string],
//   int8 app status, [string app status string], int32 cluster round-trip ms, int16 table count,
//   tables (ResultTable+VoltTable.swift)
//
// Fields-present bits: 0x20 status string, 0x80 app status string. The encoder sets nothing else:
// 0x40 (serialized exception) is deprecated and 0x10 (Java's internal hashes) would desynchronise
// the Python parser. The decoder accepts 0x40 by skipping the exception (int32 length, then that
// many bytes, where the Python parser finds it) and rejects 0x10 and unknown bits, whose layout it
// cannot know.
//
// A response is encoded as one frame straight into the caller's writer (which a server reuses
// across responses): length fields are reserved and patched, nothing is copied. If a table holds
// a value that does not fit its column type the writer is rolled back and the error thrown, so the
// server can answer with an error response instead.

import VoltModel

/// A procedure's response.
public struct ClientResponse: Sendable, Hashable {
    public var handle: Int64
    /// The raw status byte; `status` names it when it is a known code.
    public var statusCode: Int8
    public var statusString: String?
    /// Procedure-defined; -128 unless the procedure set it (Python shows -128 as None).
    public var appStatus: Int8
    public var appStatusString: String?
    public var clusterRoundTripMillis: Int32
    public var tables: [ResultTable]

    public static let defaultAppStatus: Int8 = -128

    public init(handle: Int64, statusCode: Int8, statusString: String? = nil, appStatus: Int8 = ClientResponse.defaultAppStatus,
                appStatusString: String? = nil, clusterRoundTripMillis: Int32 = 0, tables: [ResultTable] = []) {
        self.handle = handle
        self.statusCode = statusCode
        self.statusString = statusString
        self.appStatus = appStatus
        self.appStatusString = appStatusString
        self.clusterRoundTripMillis = clusterRoundTripMillis
        self.tables = tables
    }

    public init(handle: Int64, status: ClientStatus, statusString: String? = nil, appStatus: Int8 = ClientResponse.defaultAppStatus,
                appStatusString: String? = nil, clusterRoundTripMillis: Int32 = 0, tables: [ResultTable] = []) {
        self.init(handle: handle, statusCode: status.rawValue, statusString: statusString, appStatus: appStatus,
                  appStatusString: appStatusString, clusterRoundTripMillis: clusterRoundTripMillis, tables: tables)
    }

    public var status: ClientStatus? { ClientStatus(rawValue: statusCode) }

    static let statusStringPresent: UInt8 = 0x20
    static let serializedExceptionPresent: UInt8 = 0x40
    static let appStatusStringPresent: UInt8 = 0x80

    /// Appends the whole frame, length prefix included. On failure nothing is appended.
    public func encode(into w: inout WireWriter) throws(WireError) {
        precondition(tables.count <= Int(Int16.max), "at most \(Int16.max) tables, got \(tables.count)")
        let start = w.count
        let frame = w.beginFrame()
        w.writeInt8(0)
        w.writeInt64(handle)
        var present: UInt8 = 0
        if statusString != nil { present |= Self.statusStringPresent }
        if appStatusString != nil { present |= Self.appStatusStringPresent }
        w.writeUInt8(present)
        w.writeInt8(statusCode)
        if let statusString { w.writeString(statusString) }
        w.writeInt8(appStatus)
        if let appStatusString { w.writeString(appStatusString) }
        w.writeInt32(clusterRoundTripMillis)
        w.writeInt16(Int16(tables.count))
        for (i, table) in tables.enumerated() {
            do {
                try table.encodeVoltTable(into: &w)
            } catch {
                w.truncate(to: start)
                throw error.within("response table \(i)")
            }
        }
        w.endFrame(frame)
    }

    public func encodeFrame() throws(WireError) -> [UInt8] {
        var w = WireWriter(reservingCapacity: 256)
        try encode(into: &w)
        return w.take()
    }

    /// Decodes a frame body.
    public static func decode(_ body: ArraySlice<UInt8>) throws(WireError) -> ClientResponse {
        var r = WireReader(body)
        _ = try r.readInt8("response version")
        let handle = try r.readInt64("response client handle")
        let presentAt = r.offset
        let present = try r.readUInt8("response fields-present")
        let known = statusStringPresent | serializedExceptionPresent | appStatusStringPresent
        guard present & ~known == 0 else {
            throw WireError(.invalidField(Int64(present)), what: "response fields-present bits", offset: presentAt)
        }
        let status = try r.readInt8("response status")
        let statusString = present & statusStringPresent != 0 ? try r.readNonNullString("response status string") : nil
        let appStatus = try r.readInt8("response app status")
        let appStatusString = present & appStatusStringPresent != 0 ? try r.readNonNullString("response app status string") : nil
        let roundTrip = try r.readInt32("response cluster round-trip time")
        if present & serializedExceptionPresent != 0 {
            let at = r.offset
            let n = Int(try r.readInt32("response serialized exception length"))
            guard n >= 0 else { throw WireError(.invalidLength(n), what: "response serialized exception length", offset: at) }
            try r.skip(n, "response serialized exception")
        }
        let countAt = r.offset
        let count = Int(try r.readInt16("response table count"))
        // A table takes at least its two length fields, status and column count.
        guard count >= 0, count * 11 <= r.remaining else {
            throw WireError(.invalidLength(count), what: "response table count", offset: countAt)
        }
        var tables: [ResultTable] = []
        tables.reserveCapacity(count)
        for i in 0..<count {
            do {
                tables.append(try ResultTable.decodeVoltTable(from: &r))
            } catch {
                throw error.within("response table \(i)")
            }
        }
        try r.expectEnd("response")
        return ClientResponse(handle: handle, statusCode: status, statusString: statusString, appStatus: appStatus,
                              appStatusString: appStatusString, clusterRoundTripMillis: roundTrip, tables: tables)
    }

    public static func decode(_ body: [UInt8]) throws(WireError) -> ClientResponse { try decode(body[...]) }
}
