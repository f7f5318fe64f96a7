// The join buffer: where hosts started with `voltctl start --add` wait until K+1 of them have
// arrived, so that they can be admitted together (VoltDB's elastic join coordinator blocks each
// joiner, process up and not serving, until K+1 are connected).
//
// Shape. A value owned by the metadata coordinator. A joiner asks again about once a second while
// it waits; each ask is `heard`, which records it and returns what to tell it. `tick` drops the
// joiners that stopped asking for `expiryMillis` (a joiner that died leaves the buffer), and
// `nextGroup` says when K+1 joiners that can reach every member are waiting and the cluster can
// grow; the coordinator then marks them `admitting` while it admits them, and `remove`s them once
// the admission has committed (or `release`s them if it could not). No clock, no I/O: time is an
// input. Joiners are known by their internal endpoint; a new incarnation at the same endpoint (a
// restarted joiner) replaces the old entry and queues again from its new arrival.
//
// Order. Groups are formed by arrival: the K+1 earliest joiners that can take part; later ones
// wait for the next round. A joiner that cannot reach some member never counts (it could not take
// part in the mesh) and is told which members it cannot reach.
//
// Invariants: one entry per endpoint; entries in arrival order; an admitting entry is never
// regrouped until released or removed.

import VoltModel

/// A joiner's request, as the coordinator hears it (after its deployment and schema were checked).
public struct JoinerRequest: Sendable, Equatable {
    public var endpoint: String
    public var incarnation: UInt64
    public var placementGroup: String
    /// Members the joiner could not connect to, ascending.
    public var unreachable: [HostID]

    public init(endpoint: String, incarnation: UInt64, placementGroup: String, unreachable: [HostID] = []) {
        self.endpoint = endpoint
        self.incarnation = incarnation
        self.placementGroup = placementGroup
        self.unreachable = unreachable.sorted()
    }
}

/// One waiting joiner.
public struct WaitingJoiner: Sendable, Equatable {
    public var request: JoinerRequest
    public var arrivedMillis: Int64
    public var lastHeardMillis: Int64
    /// Part of a group the coordinator is admitting.
    public var admitting: Bool
}

/// What to tell a joiner that asked.
public enum JoinVerdict: Sendable, Equatable, CustomStringConvertible {
    /// `have` joiners (this one included) can take part; `need` (K+1) are needed.
    case waiting(have: Int, need: Int)
    /// It cannot reach these members, so it cannot take part.
    case unreachable([HostID])
    /// Its group of K+1 is complete; it waits for the coordinator to admit it (after any group
    /// ahead of it).
    case complete(need: Int)
    /// The cluster cannot grow now, for this reason.
    case blocked(String)
    /// Its group is being admitted.
    case admitting

    public var description: String {
        switch self {
        case .waiting(let have, let need):
            let more = need - have
            return "waiting for \(more) more host\(more == 1 ? "" : "s") to join (K+1 = \(need))"
        case .unreachable(let hosts):
            return "cannot reach host\(hosts.count == 1 ? "" : "s") \(hosts.map { String($0.rawValue) }.joined(separator: ", ")) "
                + "of the cluster on the internal port; every member must be reachable before this host can join"
        case .complete(let need): return "\(need) host\(need == 1 ? " is" : "s are") ready to join (K+1 = \(need)); waiting to be admitted"
        case .blocked(let why): return "the cluster cannot grow now: \(why); waiting"
        case .admitting: return "being admitted; receiving the cluster's state"
        }
    }
}

public struct JoinBuffer: Sendable, Equatable {
    /// K+1: how many joiners are admitted together.
    public let groupSize: Int
    /// A joiner not heard from for this long leaves the buffer.
    public let expiryMillis: Int64
    /// The waiting joiners, in arrival order.
    public private(set) var waiting: [WaitingJoiner] = []

    public init(groupSize: Int, expiryMillis: Int64) {
        precondition(groupSize >= 1, "a join group needs at least one host, got \(groupSize)")
        precondition(expiryMillis > 0, "expiry \(expiryMillis) ms must be positive")
        self.groupSize = groupSize
        self.expiryMillis = expiryMillis
    }

    /// A joiner asked. `blocker` is why the cluster cannot grow now (nil when it can).
    public mutating func heard(_ request: JoinerRequest, nowMillis: Int64, blocker: String?) -> JoinVerdict {
        if let i = waiting.firstIndex(where: { $0.request.endpoint == request.endpoint }) {
            if waiting[i].request.incarnation == request.incarnation {
                waiting[i].request = request
                waiting[i].lastHeardMillis = nowMillis
            } else {
                // A restarted process at the same address: its earlier life has left.
                waiting.remove(at: i)
                waiting.append(WaitingJoiner(request: request, arrivedMillis: nowMillis, lastHeardMillis: nowMillis, admitting: false))
            }
        } else {
            waiting.append(WaitingJoiner(request: request, arrivedMillis: nowMillis, lastHeardMillis: nowMillis, admitting: false))
        }
        return verdict(for: waiting.first { $0.request.endpoint == request.endpoint }!, blocker: blocker)
    }

    /// What each waiting joiner is told now, in arrival order (for `voltctl status`).
    public func verdicts(blocker: String?) -> [(joiner: WaitingJoiner, verdict: JoinVerdict)] {
        waiting.map { ($0, verdict(for: $0, blocker: blocker)) }
    }

    private func verdict(for me: WaitingJoiner, blocker: String?) -> JoinVerdict {
        if me.admitting { return .admitting }
        if !me.request.unreachable.isEmpty { return .unreachable(me.request.unreachable) }
        if let blocker { return .blocked(blocker) }
        // Groups form by arrival among the joiners that can take part; a joiner counts the
        // members of its own group (later arrivals form the next round).
        let able = waiting.filter { $0.request.unreachable.isEmpty && !$0.admitting }
        let position = able.firstIndex { $0.request.endpoint == me.request.endpoint }!
        let have = min(groupSize, able.count - position / groupSize * groupSize)
        return have == groupSize ? .complete(need: groupSize) : .waiting(have: have, need: groupSize)
    }

    /// Drops the joiners not heard from within `expiryMillis` (admitting ones too: a joiner that
    /// died during its admission must be replaced); returns them, in arrival order.
    public mutating func tick(nowMillis: Int64) -> [WaitingJoiner] {
        let expired = waiting.filter { nowMillis - $0.lastHeardMillis > expiryMillis }
        waiting.removeAll { nowMillis - $0.lastHeardMillis > expiryMillis }
        return expired
    }

    /// The next group to admit, in arrival order, marked admitting; nil when fewer than K+1
    /// joiners can take part, a group is already being admitted, or the cluster cannot grow.
    public mutating func nextGroup(blocker: String?) -> [JoinerRequest]? {
        guard blocker == nil, !waiting.contains(where: \.admitting) else { return nil }
        let able = waiting.indices.filter { waiting[$0].request.unreachable.isEmpty }
        guard able.count >= groupSize else { return nil }
        let group = Array(able.prefix(groupSize))
        for i in group { waiting[i].admitting = true }
        return group.map { waiting[$0].request }
    }

    /// The admission of these endpoints committed: they are members now.
    public mutating func remove(endpoints: [String]) {
        waiting.removeAll { endpoints.contains($0.request.endpoint) }
    }

    /// The admission did not happen (the coordinator changed, a joiner left): the group waits again.
    public mutating func release() {
        for i in waiting.indices { waiting[i].admitting = false }
    }
}
