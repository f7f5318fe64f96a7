// Bytes for the metadata log: Raft messages on the mesh and the durable records of raft.log,
// through the Consensus target's codec (RaftCodec.swift, RaftDiskRecord.swift), so MetadataLog
// names one place.

import Consensus

enum RaftStorage {
    static func encodeMessage(_ message: RaftMessage) -> [UInt8] { message.encoded() }

    static func decodeMessage(_ bytes: [UInt8]) -> RaftMessage? { try? RaftMessage(decoding: bytes) }

    /// The durable part of `ready`, framed and checksummed, in the order it must be written.
    static func records(_ ready: Ready) -> [UInt8] {
        RaftDiskRecord.records(from: ready).flatMap(RaftDiskRecord.encodeFramed)
    }

    /// Replays a log file; stops at the first torn or corrupt record and reports the valid length.
    static func load(_ bytes: [UInt8]) -> (PersistentState, Int) {
        let (state, valid) = PersistentState.load(fromFileBytes: bytes)
        return (state, valid)
    }
}
