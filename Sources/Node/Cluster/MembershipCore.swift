// The membership decisions of one host, as a pure core: partition detection (every host), failure
// detection and the admission of rejoins (the coordinator). `ClusterNode` feeds it what the mesh
// observed and carries out its actions; the cluster simulator runs the same core with simulated
// time, so the rules exist once.
//
// Partition detection (VoltDB's rule, docs/PROTOCOL.md §12): on every heartbeat tick, a host that
// has not heard from a quorum of the voting members (itself included; `QuorumRule`, so an exact
// half counts when it holds the lowest id) within the heartbeat timeout stops at once, before it
// serves another call. It is also what a host resumed after SIGSTOP finds first, so it never
// serves the stale data it holds. Joining members (learners of the metadata log) do not count.
//
// Failure detection runs on the coordinator only, so that only the side holding a quorum can
// declare a host failed: a member that is not already failed and has sent nothing for the
// heartbeat timeout, or whose connections are all down for `disconnectGraceMillis`, is proposed
// failed. A joiner admitted but not yet heard from has `joinerStartMillis` from its admission to
// start and connect instead.
//
// Rejoin admission (coordinator): a proposal to begin a rejoin is put in the log only for a failed
// member coming back with a new incarnation, one host at a time and not while a join runs; a
// member that is still live but asks with a new incarnation restarted before anyone noticed, so
// its earlier life is declared failed first. Every other proposal goes through as it is (the
// state machine ignores what does not fit).
//
// Time is an input (milliseconds on any one timeline); nothing here reads a clock or a socket.

import Consensus
import VoltModel

struct MembershipCore: Sendable {
    let me: HostID
    let heartbeatTimeoutMillis: Int64
    let disconnectGraceMillis: Int64

    /// What the mesh knows of one peer.
    struct Peer: Sendable, Equatable {
        /// Time since anything arrived from it; nil if nothing ever did.
        var silenceMillis: Int64?
        /// Whether both directions to it are connected.
        var connected: Bool
        /// Whether it ever opened a connection to this host (a joiner that was just admitted has
        /// not, until it starts).
        var heard: Bool

        init(silenceMillis: Int64?, connected: Bool, heard: Bool = true) {
            self.silenceMillis = silenceMillis
            self.connected = connected
            self.heard = heard
        }
    }

    enum Action: Sendable, Equatable {
        /// Propose this command to the metadata log.
        case propose(MetadataCommand)
        /// Stop serving at once and exit, for this reason.
        case stop(String)
        /// A line for the host log.
        case log(String)
    }

    /// How long an admitted joiner has to start (sites, schema) and connect before it is
    /// declared failed: it learns of its admission on its next ask, about a second later.
    let joinerStartMillis: Int64

    init(me: HostID, heartbeatTimeoutMillis: Int64, disconnectGraceMillis: Int64 = 500, joinerStartMillis: Int64 = 30_000) {
        self.me = me
        self.heartbeatTimeoutMillis = heartbeatTimeoutMillis
        self.disconnectGraceMillis = disconnectGraceMillis
        self.joinerStartMillis = joinerStartMillis
    }

    /// One heartbeat tick. `peers` holds what the mesh knows of every other member.
    func tick(state: ClusterState, isCoordinator: Bool, peers: [HostID: Peer]) -> [Action] {
        let voting = state.members.filter { $0.state != .joining }.map(\.id)
        var reachable: Set<HostID> = [me]
        for m in voting where m != me {
            if let silence = peers[m]?.silenceMillis, silence <= heartbeatTimeoutMillis { reachable.insert(m) }
        }
        guard QuorumRule(members: voting).isQuorum(reachable) else {
            let heard = reachable.sorted().map { String($0.rawValue) }.joined(separator: ", ")
            return [.stop("partition detection: this host reaches only hosts \(heard) of \(voting.count) for more than the "
                + "heartbeat timeout (\(heartbeatTimeoutMillis) ms), which is not a majority; stopping so that the majority "
                + "side can continue without a split brain")]
        }
        guard isCoordinator else { return [] }
        var actions: [Action] = []
        for member in state.members where member.id != me && member.state != .failed {
            let peer = peers[member.id] ?? Peer(silenceMillis: nil, connected: false)
            let silence = peer.silenceMillis ?? 0
            if member.state == .joining && !peer.heard {
                // Silence counts from its admission: it has not started yet.
                if silence > joinerStartMillis {
                    actions.append(.propose(.hostFailed(member.id, reason: "it did not connect within \(silence) ms of its admission")))
                }
            } else if silence > heartbeatTimeoutMillis {
                actions.append(.propose(.hostFailed(member.id, reason: "no heartbeat for \(silence) ms")))
            } else if !peer.connected && silence > disconnectGraceMillis {
                actions.append(.propose(.hostFailed(member.id, reason: "its connections closed")))
            }
        }
        return actions
    }

    /// The coordinator received `command` from another host (or itself): what to put in the log.
    func received(_ command: MetadataCommand, state: ClusterState) -> [Action] {
        guard case .rejoinBegin(let member) = command else { return [.propose(command)] }
        guard let known = state.member(member.id) else { return [] }
        if known.state == .live && known.incarnation != member.incarnation {
            // Restarted before we noticed it died: its old life is over first.
            return [.propose(.hostFailed(member.id, reason: "it restarted"))]
        }
        guard known.state == .failed, known.incarnation != member.incarnation else { return [] }
        if let other = state.rejoining, other != member.id {
            return [.log("Host \(member.id.rawValue) asks to rejoin; it waits until host \(other.rawValue) has finished rejoining")]
        }
        if state.join != nil {
            return [.log("Host \(member.id.rawValue) asks to rejoin; it waits until the elastic join in progress completes")]
        }
        return [.propose(command)]
    }
}
