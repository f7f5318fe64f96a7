// RaftDiskRecord: the durable format of a node's `PersistentState`, as an append-only file of
// framed records that the shell writes from every `Ready` before sending its messages.
//
// Records. `.hardState(h)` replaces the hard state; `.entries(es)` overwrites the log from
// `es[0].index` on, dropping whatever followed (the same rule as `PersistentState.persist`).
// `records(from:)` turns a Ready's durable part into at most two records, hard state first, and
// replaying a file's records in order rebuilds exactly what `persist` applied in memory.
//
// Framing. Each record is [u32 payload length][u32 CRC-32 of the payload][payload], big-endian;
// the payload is a tag byte (1 hard state, 2 entries) and the value in RaftCodec's layout.
//
// Recovery. A crash mid-append leaves a torn last record: a short header, a short payload, or a
// payload whose CRC does not match. `PersistentState.load(fromFileBytes:)` replays records until
// the first one that is incomplete, fails its CRC, does not decode, or would leave a gap in the
// log, and returns how many bytes were valid; the shell truncates the file there before it
// appends again. Nothing after that point was acknowledged: the shell sends a Ready's messages
// only after its records are durable, so a torn record never had its effects seen by a peer.
// The CRC cannot tell a torn tail from a record that rotted later in the middle of the file; both
// cut the file at that record. Losing acknowledged state that way breaks Raft's assumption of
// stable storage, so a shell that finds `validBytes` well short of the file size should say so
// loudly rather than rejoin silently.
//
// Compaction is the shell's business: `PersistentState.diskRecords` is the shortest record list
// that rebuilds a state, for rewriting the file in one go (write a new file, sync, rename).
import VoltModel

public enum RaftDiskRecord: Hashable, Sendable {
    case hardState(HardState)
    /// Overwrite the log from `entries[0].index` on with these entries (never empty).
    case entries([LogEntry])

    /// The header in front of every payload: u32 length and u32 CRC-32.
    public static let frameHeaderBytes = 8

    /// The records that make a disk hold what `PersistentState.persist(ready)` would: the new hard
    /// state if there is one, then the entries to persist if there are any.
    public static func records(from ready: Ready) -> [RaftDiskRecord] {
        var records: [RaftDiskRecord] = []
        if let hard = ready.hardState { records.append(.hardState(hard)) }
        if !ready.entriesToPersist.isEmpty { records.append(.entries(ready.entriesToPersist)) }
        return records
    }

    /// The record framed for appending to the file: length, CRC-32, payload.
    public static func encodeFramed(_ record: RaftDiskRecord) -> [UInt8] {
        var payload = ByteWriter()
        switch record {
        case .hardState(let state):
            payload.u8(1)
            payload.hardState(state)
        case .entries(let entries):
            precondition(!entries.isEmpty, "an entries record needs at least one entry")
            payload.u8(2)
            payload.entries(entries)
        }
        var frame = ByteWriter()
        frame.count(payload.bytes.count)
        frame.u32(CRC32.checksum(payload.bytes))
        frame.bytes.append(contentsOf: payload.bytes)
        return frame.bytes
    }

    /// Decodes the framed record that starts at `offset` in `bytes`; returns it and the offset
    /// just past it.
    public static func decodeFramed(_ bytes: [UInt8], at offset: Int) throws(RaftCodecError)
        -> (record: RaftDiskRecord, next: Int)
    {
        precondition(offset >= 0 && offset <= bytes.count, "offset \(offset) outside \(bytes.count) bytes")
        var header = ByteReader(bytes, from: offset)
        let length = Int(try header.u32())
        let stored = try header.u32()
        try header.need(length)
        let start = header.offset
        let computed = CRC32.checksum(bytes[start..<start + length])
        if computed != stored { throw .checksumMismatch(stored: stored, computed: computed) }
        var payload = ByteReader(bytes, from: start, to: start + length)
        let record: RaftDiskRecord
        switch try payload.u8() {
        case 1:
            record = .hardState(try payload.hardState())
        case 2:
            let entries = try payload.entries(startingAt: nil)
            if entries.isEmpty { throw .emptyEntriesRecord }
            record = .entries(entries)
        case let tag:
            throw .unknownRecordTag(tag)
        }
        try payload.expectEnd()
        return (record, start + length)
    }
}

extension PersistentState {
    /// Replays the framed records of a log file in order, from an empty state, and stops at the
    /// first record that is torn, corrupt, or would leave a gap in the log. `validBytes` is where
    /// that record starts (the whole length when every record is good): truncate the file there.
    public static func load(fromFileBytes bytes: [UInt8]) -> (state: PersistentState, validBytes: Int) {
        var state = PersistentState()
        var offset = 0
        while offset < bytes.count {
            guard let (record, next) = try? RaftDiskRecord.decodeFramed(bytes, at: offset),
                  state.canApply(record)
            else { break }
            state.apply(record)
            offset = next
        }
        return (state, offset)
    }

    /// The fewest records that rebuild this state from an empty file: the hard state, then the
    /// whole log if it is not empty.
    public var diskRecords: [RaftDiskRecord] {
        log.isEmpty ? [.hardState(hardState)] : [.hardState(hardState), .entries(log)]
    }

    /// Applies one record the way `persist` applies a Ready. An entries record must start at most
    /// one past the end of the log (a gap is a broken invariant here; `load` checks it first).
    public mutating func apply(_ record: RaftDiskRecord) {
        switch record {
        case .hardState(let hard):
            hardState = hard
        case .entries(let entries):
            var ready = Ready()
            ready.entriesToPersist = entries
            persist(ready)
        }
    }

    /// Whether `record` continues this state without a gap (an entries record may start at most
    /// one past the end of the log).
    private func canApply(_ record: RaftDiskRecord) -> Bool {
        guard case .entries(let entries) = record, let first = entries.first else { return true }
        return first.index.rawValue >= 1 && first.index.rawValue <= UInt64(log.count) + 1
    }
}
