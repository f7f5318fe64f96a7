// Bytes for the metadata log: Raft messages on the mesh and the durable records of raft.log.
// A thin adapter over the Consensus target's codec, so MetadataLog names one place.

import Consensus
import VoltWire

enum RaftStorage {
    static func encodeMessage(_ message: RaftMessage) -> [UInt8] {
        var w = WireWriter()
        switch message {
        case .requestVote(let term, let index, let lastTerm):
            w.writeUInt8(1); w.writeInt64(Int64(term.rawValue)); w.writeInt64(Int64(index.rawValue)); w.writeInt64(Int64(lastTerm.rawValue))
        case .requestVoteResponse(let term, let granted):
            w.writeUInt8(2); w.writeInt64(Int64(term.rawValue)); w.writeUInt8(granted ? 1 : 0)
        case .appendEntries(let term, let prevIndex, let prevTerm, let entries, let commit):
            w.writeUInt8(3); w.writeInt64(Int64(term.rawValue)); w.writeInt64(Int64(prevIndex.rawValue))
            w.writeInt64(Int64(prevTerm.rawValue)); w.writeInt64(Int64(commit.rawValue))
            writeEntries(entries, &w)
        case .appendEntriesResponse(let term, let success, let match):
            w.writeUInt8(4); w.writeInt64(Int64(term.rawValue)); w.writeUInt8(success ? 1 : 0); w.writeInt64(Int64(match.rawValue))
        }
        return w.take()
    }

    private static func writeEntries(_ entries: [LogEntry], _ w: inout WireWriter) {
        w.writeInt32(Int32(entries.count))
        for e in entries {
            w.writeInt64(Int64(e.term.rawValue)); w.writeInt64(Int64(e.index.rawValue))
            w.writeUInt8(e.kind == .command ? 0 : 1); w.writeBytes(e.payload)
        }
    }

    private static func readEntries(_ r: inout WireReader) throws(WireError) -> [LogEntry] {
        let n = try r.readInt32("entries")
        guard n >= 0, Int(n) <= r.remaining else { throw WireError.invalidValue("entries", "\(n)") }
        var out: [LogEntry] = []
        for _ in 0..<n {
            let term = Term(UInt64(try r.readInt64("term"))), index = LogIndex(UInt64(try r.readInt64("index")))
            let kind = try r.readUInt8("kind")
            out.append(LogEntry(term: term, index: index, kind: kind == 0 ? .command : .leaderNoop, payload: try r.readBytes("payload") ?? []))
        }
        return out
    }

    static func decodeMessage(_ bytes: [UInt8]) -> RaftMessage? {
        var r = WireReader(bytes)
        do throws(WireError) {
            func u() throws(WireError) -> UInt64 { UInt64(bitPattern: try r.readInt64("field")) }
            switch try r.readUInt8("tag") {
            case 1: return .requestVote(term: Term(try u()), lastLogIndex: LogIndex(try u()), lastLogTerm: Term(try u()))
            case 2: return .requestVoteResponse(term: Term(try u()), granted: try r.readUInt8("granted") == 1)
            case 3:
                let term = Term(try u()), prev = LogIndex(try u()), prevTerm = Term(try u()), commit = LogIndex(try u())
                return .appendEntries(term: term, prevLogIndex: prev, prevLogTerm: prevTerm, entries: try readEntries(&r), leaderCommit: commit)
            case 4: return .appendEntriesResponse(term: Term(try u()), success: try r.readUInt8("ok") == 1, matchIndex: LogIndex(try u()))
            default: return nil
            }
        } catch {
            return nil
        }
    }

    /// The durable part of `ready` as records: [u32 length][u8 kind][body]; kind 1 hard state,
    /// kind 2 entries (overwrite from the first entry's index on).
    static func records(_ ready: Ready) -> [UInt8] {
        var w = WireWriter()
        if let hard = ready.hardState {
            let mark = w.beginFrame()
            w.writeUInt8(1); w.writeInt64(Int64(hard.currentTerm.rawValue)); w.writeInt32(hard.votedFor?.rawValue ?? -1)
            w.endFrame(mark)
        }
        if !ready.entriesToPersist.isEmpty {
            let mark = w.beginFrame()
            w.writeUInt8(2); writeEntries(ready.entriesToPersist, &w)
            w.endFrame(mark)
        }
        return w.take()
    }

    /// Replays the records of a log file; stops at the first incomplete or undecodable one (a
    /// crash mid-write) and reports how many bytes were valid.
    static func load(_ bytes: [UInt8]) -> (PersistentState, Int) {
        var state = PersistentState()
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length > 0, offset + 4 + length <= bytes.count else { break }
            var r = WireReader(bytes[(offset + 4)..<(offset + 4 + length)])
            do throws(WireError) {
                var ready = Ready()
                switch try r.readUInt8("kind") {
                case 1:
                    let term = Term(UInt64(try r.readInt64("term"))), vote = try r.readInt32("vote")
                    ready.hardState = HardState(currentTerm: term, votedFor: vote < 0 ? nil : HostID(vote))
                case 2:
                    ready.entriesToPersist = try readEntries(&r)
                    guard let first = ready.entriesToPersist.first, Int(first.index.rawValue) - 1 <= state.log.count else { return (state, offset) }
                default:
                    return (state, offset)
                }
                state.persist(ready)
            } catch {
                return (state, offset)
            }
            offset += 4 + length
        }
        return (state, offset)
    }
}
