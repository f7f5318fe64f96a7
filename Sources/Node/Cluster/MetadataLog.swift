// The shell around the Raft core that replicates the cluster metadata.
//
// It owns one `RaftNode` and the `ClusterState` built by applying the committed entries, in order,
// to the bootstrap state (the layout the start-up coordinator sent). Every input (a tick from the
// mesh timer, a Raft message from a peer, a proposal) runs under one lock and follows the Ready
// contract: persist the hard state and new entries to `D/cluster/raft.log` (the Consensus
// target's CRC-framed records, appended and fsync'd; a torn tail is dropped on open),
// then send the messages, then apply the committed entries. Applying produces the new state; the
// owner's `onApply` runs after the lock is released, in commit order (a second lock serializes
// the callbacks so two threads never deliver states out of order).
//
// The Raft leader is the cluster's coordinator: only it proposes. Other hosts send what they want
// proposed (`PeerMessage.propose`) to it; if it is gone, the sender retries on its next tick.

import Consensus
import Foundation
import Glibc
import Synchronization
import VoltModel

final class MetadataLog: Sendable {
    struct Core: Sendable {
        var node: RaftNode
        var state: ClusterState
        var appliedIndex: UInt64 = 0
    }

    let me: HostID
    private let core: Mutex<Core>
    private let deliverLock = Mutex(())
    private let fileDescriptor: Int32
    private let sendRaft: @Sendable (HostID, [UInt8]) -> Void
    private let onApply: @Sendable (ClusterState, MetadataCommand) -> Void
    private let log: @Sendable (String) -> Void

    /// Opens (or creates) the log file at `path` and restores what it holds.
    init(me: HostID, bootstrap: ClusterState, path: String, seed: UInt64,
         sendRaft: @escaping @Sendable (HostID, [UInt8]) -> Void,
         onApply: @escaping @Sendable (ClusterState, MetadataCommand) -> Void,
         log: @escaping @Sendable (String) -> Void) throws(HostError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .notStartable("cannot open the metadata log \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(FileManager.default.contents(atPath: path) ?? Data())
        let (restored, valid) = PersistentState.load(fromFileBytes: bytes)
        if valid < bytes.count {
            log("Metadata log \(path): dropping a torn tail of \(bytes.count - valid) bytes")
            _ = ftruncate(fd, off_t(valid))
        }
        _ = lseek(fd, 0, SEEK_END)
        fileDescriptor = fd
        self.me = me
        self.sendRaft = sendRaft
        self.onApply = onApply
        self.log = log
        let config = RaftConfig(electionTimeoutTicks: 10, heartbeatIntervalTicks: 2, maxEntriesPerMessage: 64)
        let node = RaftNode(id: me, members: bootstrap.memberIDs, config: config, restoring: restored, rng: SplitMix64(seed: seed))
        core = Mutex(Core(node: node, state: bootstrap))
        log("Metadata log: \(restored.log.count) entries restored, term \(restored.hardState.currentTerm.rawValue), seed \(seed)")
    }

    deinit { close(fileDescriptor) }

    var state: ClusterState { core.withLock { $0.state } }
    var isCoordinator: Bool { core.withLock { $0.node.role == .leader } }
    var coordinator: HostID? { core.withLock { $0.node.leader } }
    var term: UInt64 { core.withLock { $0.node.currentTerm.rawValue } }
    /// The latest membership in the log (voters, learners), committed or not.
    var configuration: RaftConfiguration { core.withLock { $0.node.configuration } }

    func tick() { step { $0.tick() } }

    func receive(_ bytes: [UInt8], from peer: HostID) {
        guard let message = try? RaftMessage(decoding: bytes) else {
            log("Dropping an undecodable metadata-log message from host \(peer.rawValue)")
            return
        }
        step { $0.receive(message, from: peer) }
    }

    /// Proposes `command` if this host coordinates; returns false otherwise (the caller forwards it).
    @discardableResult
    func propose(_ command: MetadataCommand) -> Bool {
        var accepted = false
        step { node in
            let (result, ready) = node.propose(command.encoded())
            if case .accepted = result { accepted = true }
            return ready
        }
        return accepted
    }

    /// Proposes the membership `voters` and `learners` if this host coordinates; the Raft core
    /// says whether it took it (one change at a time).
    @discardableResult
    func proposeMembership(voters: [HostID], learners: [HostID]) -> MembershipResult {
        var outcome = MembershipResult.refused(.notLeader(knownLeader: nil))
        step { node in
            let (result, ready) = node.proposeMembership(voters: voters, learners: learners)
            outcome = result
            return ready
        }
        return outcome
    }

    private func step(_ input: (inout RaftNode) -> Ready) {
        deliverLock.withLock { _ in
            let (messages, applied) = core.withLock { core -> ([Envelope], [(ClusterState, MetadataCommand)]) in
                let ready = input(&core.node)
                persist(ready)
                var applied: [(ClusterState, MetadataCommand)] = []
                for entry in ready.committedEntries {
                    guard entry.index.rawValue > core.appliedIndex else { continue }
                    core.appliedIndex = entry.index.rawValue
                    guard entry.kind == .command else { continue }
                    guard let command = try? MetadataCommand.decode(entry.payload) else {
                        preconditionFailure("committed metadata entry \(entry) does not decode")
                    }
                    let next = core.state.applying(command)
                    // A command that changes nothing (a fact proposed twice) is not news.
                    guard next.epoch != core.state.epoch else { continue }
                    core.state = next
                    applied.append((next, command))
                }
                if let soft = ready.softState {
                    log("Metadata log: \(soft.role) in term \(soft.term.rawValue), coordinator \(soft.leader.map { "host \($0.rawValue)" } ?? "unknown")")
                }
                return (ready.messages, applied)
            }
            for envelope in messages { sendRaft(envelope.to, envelope.message.encoded()) }
            for (state, command) in applied { onApply(state, command) }
        }
    }

    /// Appends the durable part of `ready` and syncs it before any message it caused is sent.
    private func persist(_ ready: Ready) {
        let bytes = RaftDiskRecord.records(from: ready).flatMap(RaftDiskRecord.encodeFramed)
        guard !bytes.isEmpty else { return }
        let written = bytes.withUnsafeBytes { write(fileDescriptor, $0.baseAddress, $0.count) }
        precondition(written == bytes.count, "cannot write the metadata log: \(String(cString: strerror(errno)))")
        precondition(fsync(fileDescriptor) == 0, "cannot sync the metadata log: \(String(cString: strerror(errno)))")
    }
}
