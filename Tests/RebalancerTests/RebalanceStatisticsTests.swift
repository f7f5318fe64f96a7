// REBALANCE statistics: exact figures for a scripted rebalance, the cases that would divide by
// zero, the unknown estimate, the last-second bytes that pace moves, and the host-log summary.
import Testing
import Rebalancer
import VoltModel

private let mebibyte: Int64 = 1024 * 1024

/// 1000 tokens from t = 10 s, in four steps ending at 12, 14, 15 and 20 s.
private struct Script {
    var stats = RebalanceStatistics(totalTokens: 1000, startMillis: 10_000)

    mutating func step(_ n: Int) {
        switch n {
        case 1: stats.stepCompleted(tokens: 100, rows: 5_000, bytes: mebibyte, latencyMillis: 40, callMillis: 30,
                                    transferMillis: 20, nowMillis: 12_000)
        case 2: stats.stepCompleted(tokens: 150, rows: 7_000, bytes: 3 * mebibyte, latencyMillis: 60, callMillis: 50,
                                    transferMillis: 25.5, nowMillis: 14_000)
        case 3: stats.stepCompleted(tokens: 250, rows: 8_000, bytes: mebibyte, latencyMillis: 35, callMillis: 25,
                                    transferMillis: 14.5, nowMillis: 15_000)
        default: stats.stepCompleted(tokens: 500, rows: 20_000, bytes: 3 * mebibyte, latencyMillis: 45, callMillis: 35,
                                     transferMillis: 20, nowMillis: 20_000)
        }
    }
}

@Suite struct RebalanceStatisticsTests {
    @Test func scriptedStepsGiveExactRows() {
        // After each step: percentage, rows, rows/s, estimate, MB/s, calls/s, then the means of
        // latency, call time and transfer time.
        let expected: [(Double, Int64, Double, Int64, Double, Double, Double, Double, Double)] = [
            (10, 5_000, 2_500, 18_000, 0.5, 0.5, 40, 30, 20),     // E = 2 s: 100 tokens, 1 MiB, 1 call
            (25, 12_000, 3_000, 12_000, 1, 0.5, 50, 40, 22.75),   // E = 4 s: 250 tokens, 4 MiB, 2 calls
            (50, 20_000, 4_000, 5_000, 1, 0.6, 45, 35, 20),       // E = 5 s: 500 tokens, 5 MiB, 3 calls
            (100, 40_000, 4_000, 0, 0.8, 0.4, 45, 35, 20),        // E = 10 s: everything, 8 MiB, 4 calls
        ]
        var script = Script()
        for (i, e) in expected.enumerated() {
            script.step(i + 1)
            #expect(script.stats.row(timestampMillis: 1_700_000_000_000 + Int64(i)) == RebalanceRow(
                timestampMillis: 1_700_000_000_000 + Int64(i), percentageMoved: e.0, movedRows: e.1, rowsPerSecond: e.2,
                estimatedRemainingMillis: e.3, megabytesPerSecond: e.4, callsPerSecond: e.5, callsLatencyMillis: e.6,
                callsTimeMillis: e.7, callsTransferTimeMillis: e.8), "after step \(i + 1)")
        }
        #expect(script.stats.isComplete)
        #expect((script.stats.movedTokens, script.stats.movedBytes, script.stats.completedSteps) == (1000, 8 * mebibyte, 4))
    }

    @Test func theTableCellsFollowVoltDBsColumns() {
        var script = Script()
        script.step(1)
        let table = RebalanceRow.table([script.stats.row(timestampMillis: 77)])
        #expect(table.columns.map { "\($0.name):\($0.type.name)" } == [
            "TIMESTAMP:BIGINT", "PERCENTAGE_MOVED:FLOAT", "MOVED_ROWS:BIGINT", "ROWS_PER_SECOND:FLOAT",
            "ESTIMATED_REMAINING:BIGINT", "MEGABYTES_PER_SECOND:FLOAT", "CALLS_PER_SECOND:FLOAT", "CALLS_LATENCY:FLOAT",
            "CALLS_TIME:FLOAT", "CALLS_TRANSFER_TIME:FLOAT",
        ])
        #expect(table.rows == [[.integer(77), .float(10), .integer(5_000), .float(2_500), .integer(18_000), .float(0.5),
                                .float(0.5), .float(40), .float(30), .float(20)]])
        #expect(RebalanceRow.table([]).rows.isEmpty)
    }

    @Test func beforeAnyStepEverythingIsZeroAndTheEstimateUnknown() {
        let stats = RebalanceStatistics(totalTokens: 64, startMillis: 5_000)
        let row = stats.row(timestampMillis: 9)
        #expect(row == RebalanceRow(timestampMillis: 9, percentageMoved: 0, movedRows: 0, rowsPerSecond: 0,
                                    estimatedRemainingMillis: nil, megabytesPerSecond: 0, callsPerSecond: 0,
                                    callsLatencyMillis: 0, callsTimeMillis: 0, callsTransferTimeMillis: 0))
        // Unknown is nil in Swift and VoltDB's -1 in the table.
        #expect(row.values[4] == .integer(-1))
        #expect(RebalanceRow.unknownRemaining == -1)
        #expect(stats.elapsedMillis == 0)
    }

    @Test func aStepInNoMeasurableTimeHasZeroRatesAndNoEstimate() {
        var stats = RebalanceStatistics(totalTokens: 10, startMillis: 100)
        stats.stepCompleted(tokens: 1, rows: 10, bytes: 1_000, latencyMillis: 0.25, callMillis: 0.125, transferMillis: 0,
                            nowMillis: 100)
        let row = stats.row(timestampMillis: 0)
        #expect((row.percentageMoved, row.rowsPerSecond, row.megabytesPerSecond, row.callsPerSecond) == (10, 0, 0, 0))
        #expect(row.estimatedRemainingMillis == nil)
        #expect((row.callsLatencyMillis, row.callsTimeMillis, row.callsTransferTimeMillis) == (0.25, 0.125, 0))
    }

    @Test func stepsThatMoveNoWholeTokenLeaveTheEstimateUnknown() {
        var stats = RebalanceStatistics(totalTokens: 10, startMillis: 0)
        stats.stepCompleted(tokens: 0, rows: 500, bytes: 4_096, latencyMillis: 1, callMillis: 1, transferMillis: 1,
                            nowMillis: 1_000)
        #expect(stats.percentageMoved == 0)
        #expect(stats.estimatedRemainingMillis == nil)
        #expect(stats.rowsPerSecond == 500)
    }

    @Test func nothingToMoveIsDone() {
        let stats = RebalanceStatistics(totalTokens: 0, startMillis: 0)
        #expect(stats.isComplete)
        #expect(stats.percentageMoved == 100)
        #expect(stats.estimatedRemainingMillis == 0)
        #expect(stats.summary == "Rebalance progress: nothing to move; done")
    }

    @Test func percentageNeverFallsAndEndsAtExactlyOneHundred() {
        // 16384 tokens in uneven steps whose percentages are not exact binary fractions.
        var stats = RebalanceStatistics(totalTokens: 16_384, startMillis: 0)
        var last = stats.percentageMoved
        var now: Int64 = 0
        var left = 16_384
        var k = 0
        while left > 0 {
            let tokens = min(left, [3, 29, 7, 100, 1][k % 5])
            k += 1
            now += Int64(k % 3)
            stats.stepCompleted(tokens: tokens, rows: Int64(tokens), bytes: 0, latencyMillis: 0, callMillis: 0,
                                transferMillis: 0, nowMillis: now)
            left -= tokens
            #expect(stats.percentageMoved >= last)
            #expect(stats.percentageMoved < 100 || left == 0)
            last = stats.percentageMoved
        }
        #expect(stats.percentageMoved == 100)
        #expect(stats.estimatedRemainingMillis == 0)
        // A driver that over-reports does not take it past 100.
        stats.stepCompleted(tokens: 5, rows: 0, bytes: 0, latencyMillis: 0, callMillis: 0, transferMillis: 0, nowMillis: now)
        #expect(stats.percentageMoved == 100)
    }

    @Test func timeDoesNotRunBack() {
        var stats = RebalanceStatistics(totalTokens: 10, startMillis: 1_000)
        stats.stepCompleted(tokens: 1, rows: 1, bytes: 1, latencyMillis: 0, callMillis: 0, transferMillis: 0, nowMillis: 3_000)
        stats.stepCompleted(tokens: 1, rows: 1, bytes: 1, latencyMillis: 0, callMillis: 0, transferMillis: 0, nowMillis: 2_000)
        stats.stepCompleted(tokens: 1, rows: 1, bytes: 1, latencyMillis: 0, callMillis: 0, transferMillis: 0, nowMillis: 500)
        #expect(stats.lastStepMillis == 3_000)
        #expect(stats.elapsedMillis == 2_000)
    }

    @Test func bytesInLastSecondCountBackFromTheTimeAsked() {
        var script = Script()
        #expect(script.stats.bytesInLastSecond(nowMillis: 10_000) == 0)
        script.step(1)
        script.step(2)
        script.step(3)
        // Steps ended at 12, 14 and 15 s with 1, 3 and 1 MiB; the window includes both ends.
        #expect(script.stats.bytesInLastSecond(nowMillis: 15_000) == 4 * mebibyte)
        #expect(script.stats.bytesInLastSecond(nowMillis: 15_001) == mebibyte)
        #expect(script.stats.bytesInLastSecond(nowMillis: 16_000) == mebibyte)
        #expect(script.stats.bytesInLastSecond(nowMillis: 16_001) == 0)
        script.step(4)
        #expect(script.stats.bytesInLastSecond(nowMillis: 20_000) == 3 * mebibyte)
    }

    @Test func failedStepsAreCountedButEnterNoFigure() {
        var script = Script()
        script.step(1)
        let before = script.stats.row(timestampMillis: 0)
        script.stats.stepFailed()
        script.stats.stepFailed()
        #expect(script.stats.failedSteps == 2)
        #expect(script.stats.row(timestampMillis: 0) == before)
        #expect(script.stats.summary.hasSuffix("; about 0:18 left; 2 steps failed"))
    }

    @Test func summaryLines() {
        var script = Script()
        #expect(script.stats.summary == "Rebalance progress: no rows moved yet, 1,000 tokens to move")
        script.step(1)
        script.step(2)
        script.step(3)
        #expect(script.stats.summary
            == "Rebalance progress: 50.00% of 1,000 tokens moved, 20,000 rows in 0:05 (1.00 MB/s, 3 steps, longest 60.0 ms); about 0:05 left")
        script.step(4)
        #expect(script.stats.summary
            == "Rebalance progress: 100.00% of 1,000 tokens moved, 40,000 rows in 0:10 (0.80 MB/s, 4 steps, longest 60.0 ms); done")

        var instant = RebalanceStatistics(totalTokens: 3, startMillis: 0)
        instant.stepCompleted(tokens: 1, rows: 2, bytes: 0, latencyMillis: 0, callMillis: 0, transferMillis: 0, nowMillis: 0)
        instant.stepFailed()
        #expect(instant.summary
            == "Rebalance progress: 33.33% of 3 tokens moved, 2 rows in 0:00 (0.00 MB/s, 1 step, longest 0.0 ms); time left unknown; 1 step failed")
    }

    @Test func aSummaryIsDueEveryIntervalAndOnceAtTheEnd() {
        var script = Script()
        // Strictly more than the interval after the start, as VoltDB checks.
        #expect(!script.stats.isSummaryDue(nowMillis: 12_000, everyMillis: 2_000))
        #expect(script.stats.summaryIfDue(nowMillis: 12_000, everyMillis: 2_000) == nil)
        #expect(script.stats.isSummaryDue(nowMillis: 12_001, everyMillis: 2_000))
        script.step(1)
        #expect(script.stats.summaryIfDue(nowMillis: 12_001, everyMillis: 2_000)?.hasPrefix("Rebalance progress: 10.00%") == true)
        #expect(!script.stats.isSummaryDue(nowMillis: 14_001, everyMillis: 2_000))
        #expect(script.stats.isSummaryDue(nowMillis: 14_002, everyMillis: 2_000))
        // The default interval is VoltDB's 120 s.
        #expect(!script.stats.isSummaryDue(nowMillis: 132_001))
        #expect(script.stats.isSummaryDue(nowMillis: 132_002))
        script.step(2)
        script.step(3)
        script.step(4)
        // Done: due at once, whatever the interval, and then never again.
        #expect(script.stats.isSummaryDue(nowMillis: 20_000))
        #expect(script.stats.summaryIfDue(nowMillis: 20_000)?.hasSuffix("; done") == true)
        #expect(!script.stats.isSummaryDue(nowMillis: 1_000_000))
        #expect(script.stats.summaryIfDue(nowMillis: 1_000_000) == nil)
    }
}
