// The rebalance driver: what the metadata coordinator does next to carry an admitted join to its
// end. A pure core: the shell feeds it the join as the metadata log has applied it (`observe`),
// the outcome of what it asked for (`copied`, `stepSucceeded`, `stepFailed`) and time (`tick`),
// and carries out the actions (run a placement transaction, propose a metadata command, wake up
// later, log a line).
//
// The sequence (the commands are in the metadata log, see ClusterState+Join.swift):
//   1. While the join is `admitted`: once every joiner that has not failed is ready, copy the
//      replicated tables to the new partitions (one multi-partition transaction), then record
//      that the new partitions take part.
//   2. While `moving`: take the moves in plan order; each step moves the next slice of ring
//      entries of the current move (a two-partition transaction), then records how far that move
//      has got. One step is in flight at a time.
//   3. Once every move has reached its end in the metadata log, record the completion.
// Everything it asks for is idempotent: a copy or a step already done answers "already done", a
// record already applied changes nothing. So a coordinator that takes over (a new driver built
// from the applied metadata) simply carries on, reissuing at most the step that was in flight
// when the old one died; and a failed step is retried after `retryMillis`.
//
// Pacing (VoltDB's `<systemsettings><elastic duration throughput>`): a step is sized, in ring
// entries, so that it takes about `stepMillis` by the time per entry measured on the steps so far
// (16 entries for the first step; at most `maxEntriesPerStep`); and when `megabytesPerSecond` is
// set, the next step starts no sooner than the last step's bytes allow at that rate. With
// `megabytesPerSecond` 0 the steps run back to back (full speed).
//
// Departures from VoltDB: steps follow the plan's moves in order rather than VoltDB's per-source
// round robin; a failure of a host does not abort the join (VoltDB aborts it and stops the
// joiners), the step is retried once the leaders have moved.

import VoltModel

/// How fast a rebalance goes.
public struct RebalancePacing: Sendable, Equatable {
    /// The target duration of one step (VoltDB's `<elastic duration>`, default 50 ms).
    public var stepMillis: Int
    /// The target rate (VoltDB's `<elastic throughput>`, MB/s, default 2); 0 runs at full speed.
    public var megabytesPerSecond: Int
    /// A step never takes more ring entries than this.
    public var maxEntriesPerStep: Int
    /// How long to wait before retrying a failed step.
    public var retryMillis: Int

    public init(stepMillis: Int = 50, megabytesPerSecond: Int = 2, maxEntriesPerStep: Int = 4_096, retryMillis: Int = 1_000) {
        precondition(stepMillis > 0 && megabytesPerSecond >= 0 && maxEntriesPerStep > 0 && retryMillis > 0,
                     "pacing \(stepMillis) ms, \(megabytesPerSecond) MB/s, \(maxEntriesPerStep) entries, retry \(retryMillis) ms")
        self.stepMillis = stepMillis
        self.megabytesPerSecond = megabytesPerSecond
        self.maxEntriesPerStep = maxEntriesPerStep
        self.retryMillis = retryMillis
    }

    public static let fullSpeed = RebalancePacing(stepMillis: 50, megabytesPerSecond: 0)
}

/// The join as the driver needs it, taken from the applied metadata.
public struct JoinView: Sendable, Equatable {
    /// Whether the new partitions take part yet (the metadata's `moving` phase).
    public var participating: Bool
    /// Every joiner that has not failed has its sites.
    public var joinersReady: Bool
    public var newPartitions: [PartitionID]
    /// A partition that holds the replicated tables, to copy them from.
    public var copySource: PartitionID
    /// The fresh ring of the partitions before the join, on whose entries steps are cut.
    public var oldRing: HashRing
    public var moves: [RangeMove]
    /// For each move, the token below which the metadata log says it has moved.
    public var progress: [Int64]

    public init(participating: Bool, joinersReady: Bool, newPartitions: [PartitionID], copySource: PartitionID,
                oldRing: HashRing, moves: [RangeMove], progress: [Int64]) {
        precondition(moves.count == progress.count, "\(moves.count) moves with \(progress.count) progress marks")
        self.participating = participating
        self.joinersReady = joinersReady
        self.newPartitions = newPartitions
        self.copySource = copySource
        self.oldRing = oldRing
        self.moves = moves
        self.progress = progress
    }
}

public struct RebalanceDriver: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Run the copy of the replicated tables to the new partitions, then call `copied`.
        case copyReplicatedTables(to: [PartitionID], from: PartitionID)
        /// Propose that the new partitions take part (the metadata's `joinParticipating`).
        case recordParticipating
        /// Run this range move (a slice of move `index`), then call `stepSucceeded`/`stepFailed`.
        case moveStep(index: Int, RangeMove)
        /// Propose that move `move` has reached `upTo` (the metadata's `rangeMoved`).
        case recordProgress(move: Int, upTo: Int64)
        /// Propose the end of the join (the metadata's `joinCompleted`).
        case recordCompleted
        /// Call `tick` at this time (nothing to do before).
        case wakeAt(millis: Int64)
        /// A line for the host log.
        case log(String)
    }

    private enum InFlight: Sendable, Equatable {
        case copy
        case step(index: Int, range: TokenRange, entries: Int, startedMillis: Int64)
    }

    public let pacing: RebalancePacing
    public private(set) var view: JoinView
    /// How far each move has got, as far as this driver knows (never behind the metadata).
    public private(set) var cursor: [Int64]
    public private(set) var statistics: RebalanceStatistics
    private var inFlight: InFlight?
    private var copiedReplicatedTables = false
    /// What this driver has proposed, so that it proposes each fact once (a proposal is lost only
    /// with the coordinator's role, and then a new driver takes over).
    private var proposedParticipating = false
    private var proposedCompleted = false
    private var proposedProgress: [Int64]
    private var notBeforeMillis: Int64
    /// Milliseconds per ring entry, measured (nil before the first step).
    private var millisPerEntry: Double?

    public static let firstStepEntries = 16

    public init(view: JoinView, pacing: RebalancePacing, nowMillis: Int64) {
        self.pacing = pacing
        self.view = view
        cursor = view.progress
        proposedProgress = view.progress
        let total = view.moves.reduce(0) { $0 + Int($1.range.endExclusive - $1.range.start) }
        let moved = zip(view.moves, view.progress).reduce(0) { $0 + Int($1.1 - $1.0.range.start) }
        statistics = RebalanceStatistics(totalTokens: total - moved, startMillis: nowMillis)
        notBeforeMillis = nowMillis
    }

    /// The applied metadata changed (or the driver starts): take it in and say what to do.
    public mutating func observe(_ view: JoinView, nowMillis: Int64) -> [Action] {
        precondition(view.moves == self.view.moves, "the join's plan changed under its driver")
        self.view = view
        for i in cursor.indices { cursor[i] = max(cursor[i], view.progress[i]) }
        return next(nowMillis: nowMillis)
    }

    public mutating func tick(nowMillis: Int64) -> [Action] {
        next(nowMillis: nowMillis)
    }

    /// The copy of the replicated tables committed (or had been done).
    public mutating func copied(nowMillis: Int64) -> [Action] {
        precondition(inFlight == .copy, "copied with \(String(describing: inFlight)) in flight")
        inFlight = nil
        copiedReplicatedTables = true
        return next(nowMillis: nowMillis)
    }

    /// The step in flight committed (or had been done): `rows` and `bytes` moved.
    public mutating func stepSucceeded(rows: Int, bytes: Int, nowMillis: Int64) -> [Action] {
        guard case .step(let index, let range, let entries, let started) = inFlight else {
            preconditionFailure("a step succeeded with \(String(describing: inFlight)) in flight")
        }
        inFlight = nil
        cursor[index] = max(cursor[index], range.endExclusive)
        let took = Double(nowMillis - started)
        statistics.stepCompleted(tokens: Int(range.endExclusive - range.start), rows: Int64(rows), bytes: Int64(bytes),
                                 latencyMillis: took, callMillis: took, transferMillis: took, nowMillis: nowMillis)
        // Steps that moved rows teach the pace; one that found its range done says nothing.
        if rows > 0 || bytes > 0 {
            let measured = max(took, 0.001) / Double(entries)
            millisPerEntry = millisPerEntry.map { 0.5 * $0 + 0.5 * measured } ?? measured
        }
        if pacing.megabytesPerSecond > 0 {
            let allowed = Int64((Double(bytes) / (Double(pacing.megabytesPerSecond) * 1_000_000) * 1_000).rounded(.up))
            notBeforeMillis = max(nowMillis, started + allowed)
        } else {
            notBeforeMillis = nowMillis
        }
        proposedProgress[index] = max(proposedProgress[index], range.endExclusive)
        var actions: [Action] = [.recordProgress(move: index, upTo: range.endExclusive)]
        if let line = statistics.summaryIfDue(nowMillis: nowMillis) { actions.append(.log(line)) }
        return actions + next(nowMillis: nowMillis)
    }

    /// What was in flight failed (a host died, a leader moved, a check failed): retry later.
    public mutating func stepFailed(_ reason: String, nowMillis: Int64) -> [Action] {
        precondition(inFlight != nil, "a failure with nothing in flight")
        let what = inFlight == .copy ? "copying the replicated tables" : "a range move step"
        if inFlight != .copy { statistics.stepFailed() }
        inFlight = nil
        notBeforeMillis = nowMillis + Int64(pacing.retryMillis)
        return [.log("Rebalance: \(what) failed (\(reason)); retrying in \(pacing.retryMillis) ms"), .wakeAt(millis: notBeforeMillis)]
    }

    // MARK: Deciding

    private mutating func next(nowMillis: Int64) -> [Action] {
        guard inFlight == nil else { return [] }
        if nowMillis < notBeforeMillis { return [.wakeAt(millis: notBeforeMillis)] }
        guard view.participating else {
            guard view.joinersReady else { return [] }
            if !copiedReplicatedTables {
                inFlight = .copy
                return [.copyReplicatedTables(to: view.newPartitions, from: view.copySource)]
            }
            if proposedParticipating { return [] }
            proposedParticipating = true
            return [.recordParticipating]
        }
        if let index = view.moves.indices.first(where: { cursor[$0] < view.moves[$0].range.endExclusive }) {
            return [startStep(index, nowMillis: nowMillis)]
        }
        // Every move is done here; the metadata must say so too before the join can end.
        let behind = view.moves.indices.filter { view.progress[$0] < cursor[$0] }
        guard behind.isEmpty else {
            let unproposed = behind.filter { proposedProgress[$0] < cursor[$0] }
            for i in unproposed { proposedProgress[i] = cursor[i] }
            return unproposed.map { .recordProgress(move: $0, upTo: cursor[$0]) }
        }
        if proposedCompleted { return [] }
        proposedCompleted = true
        return [.recordCompleted]
    }

    private mutating func startStep(_ index: Int, nowMillis: Int64) -> Action {
        let move = view.moves[index]
        let remaining = view.oldRing.entries(in: TokenRange(start: cursor[index], endExclusive: move.range.endExclusive))
        var entries = Self.firstStepEntries
        if let millisPerEntry { entries = Int(Double(pacing.stepMillis) / millisPerEntry) }
        entries = min(max(entries, 1), pacing.maxEntriesPerStep, remaining.count)
        let upTo = view.oldRing.entryEnd(remaining.lowerBound + entries - 1)
        let range = TokenRange(start: cursor[index], endExclusive: min(upTo, move.range.endExclusive))
        inFlight = .step(index: index, range: range, entries: entries, startedMillis: nowMillis)
        return .moveStep(index: index, RangeMove(range: range, source: move.source, destination: move.destination))
    }
}
