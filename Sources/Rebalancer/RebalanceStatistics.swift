// Progress of one rebalance (the token ranges an elastic join moves), as VoltDB reports it: the
// `@Statistics REBALANCE` row, the bytes of the last second that pace the moves, and a one-line
// summary for the host log every so often. Pure: no clock. Every time is an argument in
// milliseconds, on one monotonic timeline the driver chooses; only TIMESTAMP is wall-clock.
//
// Modelled on VoltDB's BalancePartitionsStatistics (src/frontend/org/voltdb/elastic/). A step is
// one call that moved the rows of some tokens to their new partition (VoltDB: one
// @BalancePartitions call). With E the elapsed time, from the start to the end of the last
// completed step (not to now: between steps the figures stand still, as VoltDB's do), and n the
// completed steps, the row is:
//   TIMESTAMP             wall-clock milliseconds when the row is taken (an argument)
//   PERCENTAGE_MOVED      tokens moved * 100 / tokens to move (VoltDB counts ranges the same way)
//   MOVED_ROWS            rows moved
//   ROWS_PER_SECOND       rows / (E / 1000)
//   ESTIMATED_REMAINING   E * (tokens left) / (tokens moved), milliseconds, rounded; -1 (unknown)
//                         before any token moved or while E is 0; 0 once everything moved
//   MEGABYTES_PER_SECOND  bytes / 2^20 / (E / 1000)
//   CALLS_PER_SECOND      n / (E / 1000)
//   CALLS_LATENCY         mean of what the driver waited for a step, queueing included
//   CALLS_TIME            mean of what a step ran
//   CALLS_TRANSFER_TIME   mean of the part of a step spent moving rows
// A rate is 0 while E is 0 and a mean is 0 before any step. Every rate and mean is over the
// whole rebalance; the only recent window is `bytesInLastSecond`, for pacing (VoltDB's
// throughput). VoltDB's per-interval diagnostics lines are left out.
//
// Departures from VoltDB, each deliberate:
// - ESTIMATED_REMAINING is unknown, not 0, when tokens moved in no measurable time: 0 reads as
//   done.
// - Nothing to move is 100% done (VoltDB: 0%, and no row at all).
// - Step durations are fractional milliseconds, summed unrounded; VoltDB truncates the summed
//   call and transfer nanoseconds to whole milliseconds before averaging.
// - `bytesInLastSecond` counts back from the time asked, so it falls to 0 while no step ends;
//   VoltDB's figure changes only when a step ends.
// - A summary is also due once when everything has moved, so the log always shows the end; after
//   that none is.
// - Failed steps are counted and named in the summary; they do not enter the row.
// - Tokens reported beyond the total do not take the percentage past 100.

import VoltCLI

/// Progress of one rebalance; a value: the driver feeds it steps and reads rows and summaries.
public struct RebalanceStatistics: Sendable, Equatable {
    /// VoltDB logs a progress summary every 120 s.
    public static let summaryIntervalMillis: Int64 = 120_000
    /// The window of `bytesInLastSecond`.
    public static let throughputWindowMillis: Int64 = 1_000

    /// Tokens the rebalance moves in all.
    public let totalTokens: Int
    public let startMillis: Int64
    public private(set) var movedTokens = 0
    public private(set) var movedRows: Int64 = 0
    public private(set) var movedBytes: Int64 = 0
    public private(set) var completedSteps = 0
    public private(set) var failedSteps = 0
    /// Sums over completed steps.
    public private(set) var latencyMillis: Double = 0
    public private(set) var callMillis: Double = 0
    public private(set) var transferMillis: Double = 0
    /// When the last completed step ended; the start until one has.
    public private(set) var lastStepMillis: Int64
    /// The longest step so far (ms from asking to its commit): the longest the two partitions of
    /// a step can have waited for it.
    public private(set) var longestStepMillis: Double = 0

    private struct Transfer: Sendable, Equatable {
        var endMillis: Int64
        var bytes: Int64
    }

    /// Steps that ended within the window of the last one.
    private var recentTransfers: [Transfer] = []
    private var lastSummaryMillis: Int64
    private var completionSummarized = false

    public init(totalTokens: Int, startMillis: Int64) {
        precondition(totalTokens >= 0, "a rebalance of \(totalTokens) tokens")
        self.totalTokens = totalTokens
        self.startMillis = startMillis
        lastStepMillis = startMillis
        lastSummaryMillis = startMillis
    }

    /// Records a step that moved the rows of `tokens` tokens (0 when it moved part of a token's
    /// rows) and ended at `nowMillis`. `latencyMillis`: how long the driver waited for it;
    /// `callMillis`: how long it ran; `transferMillis`: how much of that it spent moving rows.
    /// A `nowMillis` before the last step's end counts as that end: time does not run back.
    public mutating func stepCompleted(tokens: Int, rows: Int64, bytes: Int64, latencyMillis: Double, callMillis: Double,
                                       transferMillis: Double, nowMillis: Int64) {
        precondition(tokens >= 0 && rows >= 0 && bytes >= 0,
                     "a step cannot move a negative amount: \(tokens) tokens, \(rows) rows, \(bytes) bytes")
        precondition([latencyMillis, callMillis, transferMillis].allSatisfy { $0.isFinite && $0 >= 0 },
                     "step durations must be finite and not negative: \(latencyMillis), \(callMillis), \(transferMillis)")
        let end = max(nowMillis, lastStepMillis)
        movedTokens += tokens
        movedRows += rows
        movedBytes += bytes
        completedSteps += 1
        self.latencyMillis += latencyMillis
        longestStepMillis = max(longestStepMillis, latencyMillis)
        self.callMillis += callMillis
        self.transferMillis += transferMillis
        lastStepMillis = end
        recentTransfers.append(Transfer(endMillis: end, bytes: bytes))
        recentTransfers.removeAll { $0.endMillis < end - Self.throughputWindowMillis }
    }

    /// Records a step that failed: it moved nothing and enters no figure of the row.
    public mutating func stepFailed() {
        failedSteps += 1
    }

    /// Bytes moved by the steps that ended in the second up to `nowMillis`, both ends included.
    public func bytesInLastSecond(nowMillis: Int64) -> Int64 {
        recentTransfers.lazy.filter { $0.endMillis >= nowMillis - Self.throughputWindowMillis }.reduce(0) { $0 + $1.bytes }
    }

    /// From the start to the end of the last completed step.
    public var elapsedMillis: Int64 { lastStepMillis - startMillis }

    public var isComplete: Bool { movedTokens >= totalTokens }

    /// 0...100, never decreasing; 100 exactly when everything has moved.
    public var percentageMoved: Double {
        totalTokens == 0 ? 100 : Double(min(movedTokens, totalTokens)) * 100 / Double(totalTokens)
    }

    /// Milliseconds left at the rate so far; nil when that cannot be told yet.
    public var estimatedRemainingMillis: Int64? {
        if isComplete { return 0 }
        guard movedTokens > 0, elapsedMillis > 0 else { return nil }
        return Int64((Double(elapsedMillis) * Double(totalTokens - movedTokens) / Double(movedTokens)).rounded())
    }

    public var rowsPerSecond: Double { perSecond(Double(movedRows)) }
    public var megabytesPerSecond: Double { perSecond(Double(movedBytes) / (1024 * 1024)) }
    public var callsPerSecond: Double { perSecond(Double(completedSteps)) }

    private func perSecond(_ amount: Double) -> Double {
        elapsedMillis == 0 ? 0 : amount / (Double(elapsedMillis) / 1000)
    }

    private func perStep(_ sum: Double) -> Double {
        completedSteps == 0 ? 0 : sum / Double(completedSteps)
    }

    /// The `@Statistics REBALANCE` row, taken at wall-clock `timestampMillis`.
    public func row(timestampMillis: Int64) -> RebalanceRow {
        RebalanceRow(timestampMillis: timestampMillis, percentageMoved: percentageMoved, movedRows: movedRows,
                     rowsPerSecond: rowsPerSecond, estimatedRemainingMillis: estimatedRemainingMillis,
                     megabytesPerSecond: megabytesPerSecond, callsPerSecond: callsPerSecond,
                     callsLatencyMillis: perStep(latencyMillis), callsTimeMillis: perStep(callMillis),
                     callsTransferTimeMillis: perStep(transferMillis))
    }

    // MARK: The host log

    /// One line for the host log: how much has moved, in how long, and how long is left.
    public var summary: String {
        var line = "Rebalance progress: "
        if completedSteps == 0 {
            line += isComplete ? "nothing to move; done" : "no rows moved yet, \(TextFormat.grouped(totalTokens)) tokens to move"
        } else {
            let left = isComplete ? "done"
                : estimatedRemainingMillis.map { "about \(TextFormat.clock(seconds: (Double($0) / 1000).rounded(.up))) left" }
                ?? "time left unknown"
            line += "\(TextFormat.progressPercent(percentageMoved))% of \(TextFormat.grouped(totalTokens)) tokens moved, "
                + "\(TextFormat.grouped(Int(movedRows))) rows in \(TextFormat.clock(seconds: Double(elapsedMillis) / 1000)) "
                + "(\(TextFormat.fixed(megabytesPerSecond, decimals: 2)) MB/s, \(TextFormat.grouped(completedSteps)) step\(completedSteps == 1 ? "" : "s"), "
                + "longest \(TextFormat.fixed(longestStepMillis, decimals: 1)) ms); \(left)"
        }
        if failedSteps > 0 { line += "; \(failedSteps) step\(failedSteps == 1 ? "" : "s") failed" }
        return line
    }

    /// Whether a summary is due at `nowMillis`: more than `everyMillis` after the last one (or the
    /// start), or once when everything has moved; never after that.
    public func isSummaryDue(nowMillis: Int64, everyMillis: Int64 = summaryIntervalMillis) -> Bool {
        precondition(everyMillis > 0, "a summary interval of \(everyMillis) ms")
        if isComplete { return !completionSummarized }
        return nowMillis - lastSummaryMillis > everyMillis
    }

    /// The summary when one is due at `nowMillis`, noting that it was given; nil otherwise.
    public mutating func summaryIfDue(nowMillis: Int64, everyMillis: Int64 = summaryIntervalMillis) -> String? {
        guard isSummaryDue(nowMillis: nowMillis, everyMillis: everyMillis) else { return nil }
        lastSummaryMillis = max(lastSummaryMillis, nowMillis)
        if isComplete { completionSummarized = true }
        return summary
    }
}
