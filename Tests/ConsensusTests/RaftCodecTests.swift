// The byte codec and the durable record file: CRC-32's check value, pinned byte layouts, round
// trips of random messages, typed errors for every kind of bad input, fuzzing with random and
// mutated bytes (a decoder may throw, never trap, and what it accepts re-encodes to the input),
// torn tails at every prefix length and corrupt bytes at every position, and a simulated run
// whose byte files replay into exactly the disks that `persist` built.
import Consensus
import Testing
import VoltModel

@Suite struct RaftCodecTests {
    // MARK: - Random values

    static func randomTerm(_ rng: inout SplitMix64) -> Term {
        rng.chance(percent: 10) ? Term(rng.next()) : Term(UInt64(rng.below(50)))
    }

    static func randomEntries(_ rng: inout SplitMix64, after prev: LogIndex) -> [LogEntry] {
        (0..<rng.below(4)).map { offset in
            LogEntry(term: randomTerm(&rng), index: LogIndex(prev.rawValue + UInt64(offset) + 1),
                     kind: rng.chance(percent: 20) ? .leaderNoop : .command, payload: rng.bytes(rng.below(12)))
        }
    }

    /// A log position as messages carry it: index 0 has term 0.
    static func randomPosition(_ rng: inout SplitMix64) -> (LogIndex, Term) {
        let index = LogIndex(UInt64(rng.below(100)))
        return (index, index == .zero ? .zero : randomTerm(&rng))
    }

    static func randomMessage(_ rng: inout SplitMix64) -> RaftMessage {
        let term = randomTerm(&rng)
        switch rng.below(6) {
        case 0:
            let (index, lastTerm) = randomPosition(&rng)
            return .preVote(term: term, lastLogIndex: index, lastLogTerm: lastTerm)
        case 1:
            return .preVoteResponse(term: term, granted: rng.chance(percent: 50))
        case 2:
            let (index, lastTerm) = randomPosition(&rng)
            return .requestVote(term: term, lastLogIndex: index, lastLogTerm: lastTerm)
        case 3:
            return .requestVoteResponse(term: term, granted: rng.chance(percent: 50))
        case 4:
            let (prev, prevTerm) = randomPosition(&rng)
            return .appendEntries(term: term, prevLogIndex: prev, prevLogTerm: prevTerm,
                                  entries: randomEntries(&rng, after: prev), leaderCommit: LogIndex(UInt64(rng.below(100))))
        default:
            return .appendEntriesResponse(term: term, success: rng.chance(percent: 50), matchIndex: LogIndex(rng.next()))
        }
    }

    /// Decoding `bytes` either throws a `RaftCodecError` or gives a message that re-encodes to
    /// exactly `bytes`. (Typed throws: the compiler already rules out any other error.)
    static func expectCanonicalOrError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        do {
            let message = try RaftMessage(decoding: bytes)
            #expect(message.encoded() == bytes, "\(bytes) decoded to \(message), which encodes differently",
                    sourceLocation: sourceLocation)
            return true
        } catch {
            return false
        }
    }

    // MARK: - CRC-32

    @Test func crc32MatchesTheStandardCheckValues() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        let bytes = Array("xx123456789yy".utf8)
        #expect(CRC32.checksum(bytes[2..<11]) == 0xCBF4_3926, "a slice is checksummed on its own")
    }

    // MARK: - Messages

    @Test func messageLayoutIsBigEndianWithATagFirst() {
        #expect(RaftMessage.requestVoteResponse(term: Term(0x0102), granted: true).encoded()
                == [4, 0, 0, 0, 0, 0, 0, 1, 2, 1])
        let entry = LogEntry(term: Term(3), index: LogIndex(8), kind: .leaderNoop, payload: [0xAB])
        let append = RaftMessage.appendEntries(term: Term(3), prevLogIndex: LogIndex(7), prevLogTerm: Term(2),
                                               entries: [entry], leaderCommit: LogIndex(6))
        let u64 = { (n: UInt8) -> [UInt8] in [0, 0, 0, 0, 0, 0, 0, n] }
        #expect(append.encoded() == [5] + u64(3) + u64(7) + u64(2) + u64(6) + [0, 0, 0, 1]
                + u64(3) + u64(8) + [1] + [0, 0, 0, 1, 0xAB])
    }

    @Test func everyKindOfMessageRoundTrips() throws {
        let entries = [LogEntry(term: Term(5), index: LogIndex(10), payload: []),
                       LogEntry(term: Term(6), index: LogIndex(11), kind: .leaderNoop, payload: []),
                       LogEntry(term: Term(6), index: LogIndex(12), payload: Array(0...255))]
        let messages: [RaftMessage] = [
            .preVote(term: Term(UInt64.max), lastLogIndex: LogIndex(UInt64.max), lastLogTerm: Term(9)),
            .preVoteResponse(term: Term(1), granted: false),
            .requestVote(term: Term(2), lastLogIndex: .zero, lastLogTerm: .zero),
            .requestVoteResponse(term: Term(3), granted: true),
            .appendEntries(term: Term(6), prevLogIndex: LogIndex(9), prevLogTerm: Term(5), entries: entries,
                           leaderCommit: LogIndex(11)),
            .appendEntries(term: Term(6), prevLogIndex: .zero, prevLogTerm: .zero, entries: [], leaderCommit: .zero),
            .appendEntriesResponse(term: Term(7), success: false, matchIndex: LogIndex(UInt64.max)),
        ]
        for message in messages { #expect(try RaftMessage(decoding: message.encoded()) == message) }
    }

    @Test func randomMessagesRoundTrip() throws {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<2000 {
            let message = Self.randomMessage(&rng)
            #expect(try RaftMessage(decoding: message.encoded()) == message)
        }
    }

    @Test func everyStrictPrefixIsTruncatedAndAnExtraByteIsTrailing() {
        var rng = SplitMix64(seed: 12)
        for _ in 0..<200 {
            let bytes = Self.randomMessage(&rng).encoded()
            for length in 0..<bytes.count {
                do {
                    let message = try RaftMessage(decoding: Array(bytes[..<length]))
                    Issue.record("prefix \(length) of \(bytes) decoded to \(message)")
                } catch {
                    guard case .truncated = error else { Issue.record("prefix \(length) of \(bytes): \(error)"); return }
                }
            }
            #expect(throws: RaftCodecError.trailingBytes(count: 1)) { try RaftMessage(decoding: bytes + [0]) }
        }
    }

    @Test func malformedMessagesGetTypedErrors() {
        let u64 = { (n: UInt64) -> [UInt8] in (0..<8).reversed().map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } }
        #expect(throws: RaftCodecError.truncated(offset: 0, needed: 1)) { try RaftMessage(decoding: []) }
        #expect(throws: RaftCodecError.unknownMessageTag(0)) { try RaftMessage(decoding: [0]) }
        #expect(throws: RaftCodecError.unknownMessageTag(7)) { try RaftMessage(decoding: [7] + u64(1)) }
        #expect(throws: RaftCodecError.invalidFlag(2)) { try RaftMessage(decoding: [2] + u64(1) + [2]) }
        #expect(throws: RaftCodecError.nonzeroTermAtIndexZero(Term(4))) {
            try RaftMessage(decoding: [3] + u64(5) + u64(0) + u64(4))
        }
        #expect(throws: RaftCodecError.nonzeroTermAtIndexZero(Term(1))) {
            try RaftMessage(decoding: [5] + u64(2) + u64(0) + u64(1) + u64(0) + [0, 0, 0, 0])
        }
        #expect(throws: RaftCodecError.indexOutOfRange(LogIndex(UInt64.max))) {
            try RaftMessage(decoding: [5] + u64(2) + u64(UInt64.max) + u64(1) + u64(0) + [0, 0, 0, 0])
        }
        // AppendEntries after index 4 whose one entry claims index 9.
        let stray = u64(1) + u64(9) + [0] + [0, 0, 0, 0]
        #expect(throws: RaftCodecError.nonConsecutiveEntries(position: 0, expected: LogIndex(5), found: LogIndex(9))) {
            try RaftMessage(decoding: [5] + u64(1) + u64(4) + u64(1) + u64(0) + [0, 0, 0, 1] + stray)
        }
        let oddKind = u64(1) + u64(5) + [7] + [0, 0, 0, 0]
        #expect(throws: RaftCodecError.unknownEntryKind(7)) {
            try RaftMessage(decoding: [5] + u64(1) + u64(4) + u64(1) + u64(0) + [0, 0, 0, 1] + oddKind)
        }
        // A count of four billion entries in a 37-byte message fails on the count, before any
        // allocation for it.
        let huge = [5] + u64(1) + u64(4) + u64(1) + u64(0) + [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: RaftCodecError.self) { try RaftMessage(decoding: huge) }
        // A payload length beyond the bytes left is truncation, not a read past the end.
        let longPayload = u64(1) + u64(5) + [0] + [0x7F, 0xFF, 0xFF, 0xFF, 1, 2]
        #expect(throws: RaftCodecError.truncated(offset: 58, needed: 0x7FFF_FFFF - 2)) {
            try RaftMessage(decoding: [5] + u64(1) + u64(4) + u64(1) + u64(0) + [0, 0, 0, 1] + longPayload)
        }
    }

    /// Random bytes never trap the decoder. Most are rejected; the few it accepts (a first byte of
    /// 2 or 4 and a valid flag, say) must be the canonical encoding of what they decode to.
    @Test func fuzzRandomBytesNeverCrashTheDecoder() {
        var rng = SplitMix64(seed: 13)
        var accepted = 0
        for round in 0..<20_000 {
            var bytes = rng.bytes(rng.below(80))
            // Half the inputs start with a valid tag, to get past the first check.
            if round % 2 == 0, !bytes.isEmpty { bytes[0] = UInt8(1 + rng.below(6)) }
            if Self.expectCanonicalOrError(bytes) { accepted += 1 }
        }
        #expect(accepted > 0, "no random input decoded; the fuzzer only tested the tag check")
    }

    /// Valid encodings with a few bytes flipped, cut or inserted: these reach deep into the
    /// decoder (counts, lengths, entry indexes), where random bytes rarely go.
    @Test func fuzzMutatedEncodingsNeverCrashTheDecoder() {
        var rng = SplitMix64(seed: 14)
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = Self.randomMessage(&rng).encoded()
            for _ in 0..<(1 + rng.below(3)) {
                switch rng.below(3) {
                case 0: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.removeLast(rng.below(bytes.count))
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(bytes.count + 1))
                }
                if bytes.isEmpty { break }
            }
            if Self.expectCanonicalOrError(bytes) { accepted += 1 }
        }
        #expect(accepted > 1000, "only \(accepted) mutations decoded; the fuzzer barely got past the checks")
    }

    // MARK: - Disk records

    static func entries(_ range: ClosedRange<Int>, term: UInt64) -> [LogEntry] {
        range.map { LogEntry(term: Term(term), index: LogIndex(UInt64($0)), payload: Array("e\($0)".utf8)) }
    }

    /// A sequence of Readies of the shapes a node produces: votes, appends, a conflicting
    /// overwrite, hard state and entries together.
    static var readies: [Ready] {
        var votes = Ready()
        votes.hardState = HardState(currentTerm: Term(1), votedFor: HostID(2))
        var append = Ready()
        append.entriesToPersist = entries(1...3, term: 1)
        var both = Ready()
        both.hardState = HardState(currentTerm: Term(2), votedFor: nil)
        both.entriesToPersist = entries(3...5, term: 2)
        var overwrite = Ready()
        overwrite.entriesToPersist = entries(2...2, term: 3)
        var vote = Ready()
        vote.hardState = HardState(currentTerm: Term(3), votedFor: HostID(-7))
        var more = Ready()
        more.entriesToPersist = entries(3...6, term: 3)
        return [votes, append, both, Ready(), overwrite, vote, more]
    }

    @Test func aFramedRecordIsLengthThenCRCThenPayload() throws {
        let record = RaftDiskRecord.hardState(HardState(currentTerm: Term(9), votedFor: HostID(3)))
        let framed = RaftDiskRecord.encodeFramed(record)
        let payload: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0, 3]
        let crc = CRC32.checksum(payload)
        #expect(framed == [0, 0, 0, 14] + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: crc >> $0) } + payload)
        let decoded = try RaftDiskRecord.decodeFramed(framed, at: 0)
        #expect(decoded.record == record && decoded.next == framed.count)
    }

    @Test func recordsFromAReadyAreTheHardStateThenTheEntries() {
        let both = Self.readies[2]
        #expect(RaftDiskRecord.records(from: both) == [.hardState(both.hardState!), .entries(both.entriesToPersist)])
        #expect(RaftDiskRecord.records(from: Self.readies[0]) == [.hardState(Self.readies[0].hardState!)])
        #expect(RaftDiskRecord.records(from: Ready()).isEmpty)
    }

    @Test func replayingTheFileEqualsPersistingTheReadiesInOrder() throws {
        var persisted = PersistentState()
        var file: [UInt8] = []
        for ready in Self.readies {
            persisted.persist(ready)
            for record in RaftDiskRecord.records(from: ready) {
                let framed = RaftDiskRecord.encodeFramed(record)
                #expect(try RaftDiskRecord.decodeFramed(framed, at: 0).record == record)
                file += framed
            }
            let loaded = PersistentState.load(fromFileBytes: file)
            #expect(loaded.state == persisted && loaded.validBytes == file.count)
        }
        #expect(persisted.log.map(\.term.rawValue) == [1, 3, 3, 3, 3, 3])
        // The compacted form rebuilds the same state.
        let compacted = persisted.diskRecords.flatMap(RaftDiskRecord.encodeFramed)
        #expect(PersistentState.load(fromFileBytes: compacted).state == persisted)
    }

    /// A crash can stop an append after any byte. Every prefix of the file loads exactly the
    /// records that were complete, and says where the torn one began.
    @Test func everyPrefixOfTheFileLoadsTheCompleteRecords() {
        var boundaries = [0]
        var states = [PersistentState()]
        var file: [UInt8] = []
        for record in Self.readies.flatMap(RaftDiskRecord.records(from:)) {
            file += RaftDiskRecord.encodeFramed(record)
            boundaries.append(file.count)
            var next = states.last!
            next.apply(record)
            states.append(next)
        }
        #expect(boundaries.count == 8, "seven records")
        for length in 0...file.count {
            let complete = boundaries.lastIndex { $0 <= length }!
            let loaded = PersistentState.load(fromFileBytes: Array(file[..<length]))
            #expect(loaded.validBytes == boundaries[complete], "prefix \(length)")
            #expect(loaded.state == states[complete], "prefix \(length)")
        }
    }

    /// A byte changed anywhere in record k cuts the file at the start of record k.
    @Test func aCorruptByteAnywhereCutsTheFileAtItsRecord() {
        var boundaries = [0]
        var file: [UInt8] = []
        for record in Self.readies.flatMap(RaftDiskRecord.records(from:)) {
            file += RaftDiskRecord.encodeFramed(record)
            boundaries.append(file.count)
        }
        for position in file.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = file
                damaged[position] ^= flip
                let start = boundaries.last { $0 <= position }!
                #expect(PersistentState.load(fromFileBytes: damaged).validBytes == start, "byte \(position) ^ \(flip)")
            }
        }
    }

    @Test func aRecordThatWouldLeaveAGapEndsTheReplay() {
        let good = RaftDiskRecord.encodeFramed(.entries(Self.entries(1...2, term: 1)))
        let gap = RaftDiskRecord.encodeFramed(.entries(Self.entries(5...6, term: 1)))
        let loaded = PersistentState.load(fromFileBytes: good + gap)
        #expect(loaded.validBytes == good.count && loaded.state.log == Self.entries(1...2, term: 1))
    }

    @Test func malformedFramesGetTypedErrors() {
        var framed = RaftDiskRecord.encodeFramed(.hardState(HardState(currentTerm: Term(1))))
        framed[framed.count - 1] ^= 1
        do {
            let decoded = try RaftDiskRecord.decodeFramed(framed, at: 0)
            Issue.record("a damaged record decoded to \(decoded.record)")
        } catch {
            guard case .checksumMismatch = error else { Issue.record("expected a checksum mismatch, got \(error)"); return }
        }
        func frame(_ payload: [UInt8]) -> [UInt8] {
            let crc = CRC32.checksum(payload)
            let length = UInt32(payload.count)
            return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: length >> $0) }
                + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: crc >> $0) } + payload
        }
        #expect(throws: RaftCodecError.unknownRecordTag(9)) { try RaftDiskRecord.decodeFramed(frame([9]), at: 0) }
        #expect(throws: RaftCodecError.emptyEntriesRecord) { try RaftDiskRecord.decodeFramed(frame([2, 0, 0, 0, 0]), at: 0) }
        #expect(throws: RaftCodecError.trailingBytes(count: 1)) {
            try RaftDiskRecord.decodeFramed(frame([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]), at: 0)
        }
        #expect(throws: RaftCodecError.truncated(offset: 0, needed: 4)) { try RaftDiskRecord.decodeFramed([], at: 0) }
    }

    @Test func fuzzGarbageFilesNeverCrashTheLoaderAndNeverExtendAValidPrefix() {
        var rng = SplitMix64(seed: 15)
        let valid = Self.readies.flatMap(RaftDiskRecord.records(from:)).flatMap(RaftDiskRecord.encodeFramed)
        let state = PersistentState.load(fromFileBytes: valid).state
        for _ in 0..<2000 {
            var garbage = rng.bytes(rng.below(64))
            // Sometimes a plausible header: a small length, so the CRC is what must catch it.
            if garbage.count >= 8, rng.chance(percent: 50) { garbage[0...2] = [0, 0, 0] }
            #expect(PersistentState.load(fromFileBytes: garbage).validBytes == 0)
            let loaded = PersistentState.load(fromFileBytes: valid + garbage)
            #expect(loaded.validBytes == valid.count && loaded.state == state)
        }
    }

    /// The simulator keeps every host's disk both as `persist`-built state and as a byte file, and
    /// restarts crashed hosts from the file (cutting torn tails); at the end of chaotic runs every
    /// file must still replay into exactly its disk and its node.
    @Test func simulatedRunsFilesReplayIntoTheirDisks() {
        var tornAppends = 0
        for seed: UInt64 in 21...25 {
            var cluster = SimulatedCluster(nodeCount: 5, seed: seed, faults: .chaos)
            cluster.run(steps: 300)
            #expect(cluster.diskFileMismatches().isEmpty, "\(cluster.replay)")
            cluster.settle()
            #expect(cluster.diskFileMismatches().isEmpty, "\(cluster.replay)")
            #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(5))")
            for id in cluster.members {
                #expect(PersistentState.load(fromFileBytes: cluster.files[id]!).state == cluster.node(id).persistentState)
            }
            tornAppends += cluster.tornAppendCount
        }
        #expect(tornAppends > 0, "no crash tore an append; the restart path went untested")
    }
}
