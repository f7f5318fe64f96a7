// RaftCodec: the byte encoding of the metadata log's messages (and of the values its disk records
// reuse), pure functions over [UInt8]. The shell frames a message for its transport however it
// likes; this file only turns one `RaftMessage` into bytes and back.
//
// Layout. Integers are big-endian and fixed width: terms and indexes u64, host ids i32, lengths
// and counts u32. A boolean is one byte, 0 or 1. Byte arrays are a u32 length and the bytes.
// A message is a one-byte tag and its fields in declaration order:
//     1 preVote               term, lastLogIndex, lastLogTerm
//     2 preVoteResponse       term, granted
//     3 requestVote           term, lastLogIndex, lastLogTerm
//     4 requestVoteResponse   term, granted
//     5 appendEntries         term, prevLogIndex, prevLogTerm, leaderCommit, u32 count, entries
//     6 appendEntriesResponse term, success, matchIndex
// An entry is term, index, kind (0 command, 1 leader no-op, 2 configuration), payload
// (length-prefixed). A configuration entry's payload must itself decode as a `RaftConfiguration`
// (three counted host lists, see RaftConfiguration.swift), or the entry is refused.
// A hard state is currentTerm, then 0, or 1 and the voted-for host id.
// New kinds get new tags; an unknown tag is an error, never skipped.
//
// Decoding. Every decoder reads from untrusted bytes (a socket, a file that may be torn or
// rotted), so it checks every length against what is left before reading or allocating, and
// throws a `RaftCodecError` (typed) instead of trapping. It also rejects what is well-formed as
// bytes but would break a precondition of `RaftNode` or overflow an index: entries that are not
// consecutive after `prevLogIndex`, an entry at index 0 or UInt64.max, and a nonzero term at
// index 0. (It cannot check what only the receiver knows, such as a success response claiming to
// match beyond the leader's log; peers are trusted members.) The encoding is canonical (one byte string per
// value, nothing left over), so decoding and re-encoding gives back the input exactly.
import VoltModel

/// Why bytes did not decode. The offsets are from the start of the buffer handed to the decoder.
public enum RaftCodecError: Error, Hashable, Sendable {
    /// The input ended at `offset` while `needed` more bytes were expected.
    case truncated(offset: Int, needed: Int)
    /// Bytes were left over after a complete value.
    case trailingBytes(count: Int)
    case unknownMessageTag(UInt8)
    case unknownRecordTag(UInt8)
    case unknownEntryKind(UInt8)
    /// A boolean or presence flag that was neither 0 nor 1.
    case invalidFlag(UInt8)
    /// An entry at index 0 (the empty prefix) or at UInt64.max (which leaves no room for the next
    /// index), or an AppendEntries following UInt64.max.
    case indexOutOfRange(LogIndex)
    /// An entry list where entry `position` has `found` instead of index `expected`.
    case nonConsecutiveEntries(position: Int, expected: LogIndex, found: LogIndex)
    /// Index 0 is the empty prefix; its term can only be 0.
    case nonzeroTermAtIndexZero(Term)
    /// An entries record with no entries (it would not say where to overwrite from).
    case emptyEntriesRecord
    /// A framed record whose payload does not match its CRC-32.
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// A configuration with no voters, unsorted or repeated hosts, or a learner that also votes.
    case invalidConfiguration(String)
}

extension RaftMessage {
    /// The message as bytes (see the layout in RaftCodec.swift).
    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .preVote(let term, let lastLogIndex, let lastLogTerm):
            writer.u8(1)
            writer.u64(term.rawValue)
            writer.u64(lastLogIndex.rawValue)
            writer.u64(lastLogTerm.rawValue)
        case .preVoteResponse(let term, let granted):
            writer.u8(2)
            writer.u64(term.rawValue)
            writer.bool(granted)
        case .requestVote(let term, let lastLogIndex, let lastLogTerm):
            writer.u8(3)
            writer.u64(term.rawValue)
            writer.u64(lastLogIndex.rawValue)
            writer.u64(lastLogTerm.rawValue)
        case .requestVoteResponse(let term, let granted):
            writer.u8(4)
            writer.u64(term.rawValue)
            writer.bool(granted)
        case .appendEntries(let term, let prevLogIndex, let prevLogTerm, let entries, let leaderCommit):
            writer.u8(5)
            writer.u64(term.rawValue)
            writer.u64(prevLogIndex.rawValue)
            writer.u64(prevLogTerm.rawValue)
            writer.u64(leaderCommit.rawValue)
            writer.entries(entries)
        case .appendEntriesResponse(let term, let success, let matchIndex):
            writer.u8(6)
            writer.u64(term.rawValue)
            writer.bool(success)
            writer.u64(matchIndex.rawValue)
        }
        return writer.bytes
    }

    /// Decodes exactly one message that fills all of `bytes`.
    public init(decoding bytes: [UInt8]) throws(RaftCodecError) {
        var reader = ByteReader(bytes)
        self = try reader.message()
        try reader.expectEnd()
    }
}

// MARK: - Writing

struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func count(_ value: Int) {
        precondition(value >= 0 && value <= Int(UInt32.max), "length \(value) does not fit the u32 prefix")
        u32(UInt32(value))
    }

    mutating func byteArray(_ value: [UInt8]) {
        count(value.count)
        bytes.append(contentsOf: value)
    }

    mutating func entry(_ entry: LogEntry) {
        u64(entry.term.rawValue)
        u64(entry.index.rawValue)
        switch entry.kind {
        case .command: u8(0)
        case .leaderNoop: u8(1)
        case .configuration: u8(2)
        }
        byteArray(entry.payload)
    }

    mutating func entries(_ entries: [LogEntry]) {
        count(entries.count)
        for entry in entries { self.entry(entry) }
    }

    mutating func hardState(_ state: HardState) {
        u64(state.currentTerm.rawValue)
        if let vote = state.votedFor {
            u8(1)
            u32(UInt32(bitPattern: vote.rawValue))
        } else {
            u8(0)
        }
    }
}

// MARK: - Reading

struct ByteReader {
    /// The smallest encoded entry: term, index, kind and an empty payload's length.
    static let entryBytesMin = 8 + 8 + 1 + 4

    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = start
        self.end = end ?? bytes.count
        precondition(0 <= start && start <= self.end && self.end <= bytes.count,
                     "reader range \(start)..<\(self.end) outside \(bytes.count) bytes")
    }

    var remaining: Int { end - offset }

    mutating func need(_ count: Int) throws(RaftCodecError) {
        if count > remaining { throw .truncated(offset: offset, needed: count - remaining) }
    }

    mutating func expectEnd() throws(RaftCodecError) {
        if remaining > 0 { throw .trailingBytes(count: remaining) }
    }

    mutating func u8() throws(RaftCodecError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bool() throws(RaftCodecError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let flag: throw .invalidFlag(flag)
        }
    }

    mutating func u32() throws(RaftCodecError) -> UInt32 {
        try need(4)
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return value
    }

    mutating func u64() throws(RaftCodecError) -> UInt64 {
        try need(8)
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return value
    }

    mutating func term() throws(RaftCodecError) -> Term { Term(try u64()) }
    mutating func index() throws(RaftCodecError) -> LogIndex { LogIndex(try u64()) }

    mutating func byteArray() throws(RaftCodecError) -> [UInt8] {
        let count = Int(try u32())
        try need(count)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A log position (index, term) as messages carry it: index 0 may only have term 0.
    mutating func position() throws(RaftCodecError) -> (index: LogIndex, term: Term) {
        let index = try index()
        let term = try term()
        if index == .zero && term != .zero { throw .nonzeroTermAtIndexZero(term) }
        return (index, term)
    }

    mutating func entry() throws(RaftCodecError) -> LogEntry {
        let term = try term()
        let index = try index()
        let kind: LogEntry.Kind
        switch try u8() {
        case 0: kind = .command
        case 1: kind = .leaderNoop
        case 2: kind = .configuration
        case let other: throw .unknownEntryKind(other)
        }
        let payload = try byteArray()
        if kind == .configuration { _ = try RaftConfiguration(decoding: payload) }
        return LogEntry(term: term, index: index, kind: kind, payload: payload)
    }

    /// A counted list of entries whose indexes run consecutively from `first` (or from whatever
    /// the first entry says, when `first` is nil).
    mutating func entries(startingAt first: LogIndex?) throws(RaftCodecError) -> [LogEntry] {
        let count = Int(try u32())
        // Check the count against the bytes left before allocating anything for it.
        let (minimum, overflow) = count.multipliedReportingOverflow(by: Self.entryBytesMin)
        if overflow || minimum > remaining {
            throw .truncated(offset: offset, needed: overflow ? Int.max : minimum - remaining)
        }
        var entries: [LogEntry] = []
        entries.reserveCapacity(count)
        var expected = first
        for position in 0..<count {
            let entry = try entry()
            if entry.index == .zero || entry.index.rawValue == UInt64.max {
                throw .indexOutOfRange(entry.index)
            }
            if let want = expected, entry.index != want {
                throw .nonConsecutiveEntries(position: position, expected: want, found: entry.index)
            }
            entries.append(entry)
            expected = entry.index.next
        }
        return entries
    }

    mutating func hardState() throws(RaftCodecError) -> HardState {
        let term = try term()
        let votedFor: HostID? = try bool() ? HostID(Int32(bitPattern: try u32())) : nil
        return HardState(currentTerm: term, votedFor: votedFor)
    }

    mutating func message() throws(RaftCodecError) -> RaftMessage {
        switch try u8() {
        case 1:
            let term = try term()
            let last = try position()
            return .preVote(term: term, lastLogIndex: last.index, lastLogTerm: last.term)
        case 2:
            return .preVoteResponse(term: try term(), granted: try bool())
        case 3:
            let term = try term()
            let last = try position()
            return .requestVote(term: term, lastLogIndex: last.index, lastLogTerm: last.term)
        case 4:
            return .requestVoteResponse(term: try term(), granted: try bool())
        case 5:
            let term = try term()
            let prev = try position()
            if prev.index.rawValue == UInt64.max { throw .indexOutOfRange(prev.index) }
            let leaderCommit = try index()
            let entries = try entries(startingAt: prev.index.next)
            return .appendEntries(term: term, prevLogIndex: prev.index, prevLogTerm: prev.term, entries: entries,
                                  leaderCommit: leaderCommit)
        case 6:
            return .appendEntriesResponse(term: try term(), success: try bool(), matchIndex: try index())
        case let tag:
            throw .unknownMessageTag(tag)
        }
    }
}
