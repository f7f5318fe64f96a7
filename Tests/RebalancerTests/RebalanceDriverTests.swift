import Rebalancer
import Testing

/// The rebalance driver (RebalanceDriver.swift): one input at a time, the exact actions.
@Suite struct RebalanceDriverTests {
    static let old = HashRing(partitionCount: 2)
    static let moves = planMoves(from: old, to: old.addingPartitions(2))
    static let newPartitions = [PartitionID(2), PartitionID(3)]

    static func view(participating: Bool = true, ready: Bool = true, progress: [Int64]? = nil) -> JoinView {
        JoinView(participating: participating, joinersReady: ready, newPartitions: newPartitions, copySource: PartitionID(0),
                 oldRing: old, moves: moves, progress: progress ?? moves.map(\.range.start))
    }

    /// The step that takes `entries` ring entries of move `index` from `from`.
    static func stepMove(_ index: Int, from: Int64, entries: Int) -> RangeMove {
        let move = moves[index]
        let first = old.entries(in: TokenRange(start: from, endExclusive: move.range.endExclusive)).lowerBound
        let end = min(old.entryEnd(first + entries - 1), move.range.endExclusive)
        return RangeMove(range: TokenRange(start: from, endExclusive: end), source: move.source, destination: move.destination)
    }

    static func step(_ index: Int, from: Int64, entries: Int) -> RebalanceDriver.Action {
        .moveStep(index: index, stepMove(index, from: from, entries: entries))
    }

    @Test func theReplicatedTablesGoFirstOnceEveryJoinerIsReadyThenParticipationIsRecordedOnce() {
        var driver = RebalanceDriver(view: Self.view(participating: false, ready: false), pacing: .fullSpeed, nowMillis: 0)
        #expect(driver.tick(nowMillis: 0) == [])
        #expect(driver.observe(Self.view(participating: false, ready: true), nowMillis: 10)
                == [.copyReplicatedTables(to: Self.newPartitions, from: PartitionID(0))])
        #expect(driver.tick(nowMillis: 20) == [])   // one thing in flight
        #expect(driver.copied(nowMillis: 30) == [.recordParticipating])
        #expect(driver.tick(nowMillis: 40) == [])   // proposed once
        #expect(driver.observe(Self.view(), nowMillis: 50) == [Self.step(0, from: Self.moves[0].range.start, entries: 16)])
    }

    @Test func stepsWalkEveryMoveInOrderRecordEachAndEndWithTheCompletion() {
        var driver = RebalanceDriver(view: Self.view(), pacing: .fullSpeed, nowMillis: 0)
        var actions = driver.tick(nowMillis: 0)
        var now: Int64 = 0
        var recorded = Self.moves.map(\.range.start)
        var steps = 0
        while case .moveStep(let index, let move)? = actions.first {
            #expect(move.range.start == recorded[index])
            steps += 1
            now += 5
            actions = driver.stepSucceeded(rows: 100, bytes: 10_000, nowMillis: now)
            #expect(actions.first == .recordProgress(move: index, upTo: move.range.endExclusive))
            recorded[index] = move.range.endExclusive
            actions.removeFirst()
            actions.removeAll { if case .log = $0 { true } else { false } }
        }
        #expect(steps >= Self.moves.count)
        #expect(recorded == Self.moves.map(\.range.endExclusive))
        // The metadata has not caught up yet: nothing until it has, then the completion, once.
        #expect(actions == [])
        #expect(driver.observe(Self.view(progress: recorded), nowMillis: now) == [.recordCompleted])
        #expect(driver.tick(nowMillis: now + 1) == [])
        #expect(driver.statistics.isComplete && driver.statistics.completedSteps == steps)
    }

    @Test func stepsAreSizedToTheTargetDurationFromWhatTheLastOnesTook() {
        let pacing = RebalancePacing(stepMillis: 40, megabytesPerSecond: 0)
        var driver = RebalanceDriver(view: Self.view(), pacing: pacing, nowMillis: 0)
        let start = Self.moves[0].range.start
        #expect(driver.tick(nowMillis: 0) == [Self.step(0, from: start, entries: 16)])
        // 16 entries took 80 ms: 5 ms each, so 40 ms is 8 entries.
        let after = driver.stepSucceeded(rows: 1_600, bytes: 160_000, nowMillis: 80)
        let next = Self.old.entryEnd(Self.old.entries(in: Self.moves[0].range).lowerBound + 15)
        #expect(after == [.recordProgress(move: 0, upTo: next), Self.step(0, from: next, entries: 8)])
    }

    @Test func aThroughputTargetSpacesTheSteps() {
        // 2 MB/s: a step that moved 1 MB in 100 ms waits until 500 ms after it started.
        var driver = RebalanceDriver(view: Self.view(), pacing: RebalancePacing(stepMillis: 50, megabytesPerSecond: 2), nowMillis: 1_000)
        let first = Self.stepMove(0, from: Self.moves[0].range.start, entries: 16)
        #expect(driver.tick(nowMillis: 1_000) == [.moveStep(index: 0, first)])
        #expect(driver.stepSucceeded(rows: 10_000, bytes: 1_000_000, nowMillis: 1_100)
                == [.recordProgress(move: 0, upTo: first.range.endExclusive), .wakeAt(millis: 1_500)])
        #expect(driver.tick(nowMillis: 1_499) == [.wakeAt(millis: 1_500)])
        // 16 entries took 100 ms, so the 50 ms target takes 8.
        #expect(driver.tick(nowMillis: 1_500) == [Self.step(0, from: first.range.endExclusive, entries: 8)])
    }

    @Test func aFailedStepIsRetriedAfterThePauseFromWhereItStarted() {
        var driver = RebalanceDriver(view: Self.view(), pacing: RebalancePacing(stepMillis: 50, megabytesPerSecond: 0, retryMillis: 1_000),
                                     nowMillis: 0)
        let first = driver.tick(nowMillis: 0)
        #expect(driver.stepFailed("host 1 failed", nowMillis: 30)
                == [.log("Rebalance: a range move step failed (host 1 failed); retrying in 1000 ms"), .wakeAt(millis: 1_030)])
        #expect(driver.tick(nowMillis: 500) == [.wakeAt(millis: 1_030)])
        #expect(driver.tick(nowMillis: 1_030) == first)
        #expect(driver.statistics.failedSteps == 1)
    }

    @Test func aNewDriverResumesFromTheRecordedProgressAndGoesOnWhenAStepWasAlreadyDone() {
        #expect(Self.moves.count > 1, "the 2 -> 4 plan has several moves")
        var progress = Self.moves.map(\.range.start)
        progress[0] = Self.moves[0].range.endExclusive
        var driver = RebalanceDriver(view: Self.view(progress: progress), pacing: .fullSpeed, nowMillis: 0)
        let done = Self.stepMove(1, from: Self.moves[1].range.start, entries: 16)
        #expect(driver.tick(nowMillis: 0) == [.moveStep(index: 1, done)])
        // The old driver had done that step before it died: nothing moved, the driver goes on,
        // and an empty step teaches nothing about the pace (the next is still 16 entries).
        let after = driver.stepSucceeded(rows: 0, bytes: 0, nowMillis: 1)
        #expect(after.first == .recordProgress(move: 1, upTo: done.range.endExclusive))
        if done.range.endExclusive < Self.moves[1].range.endExclusive {
            #expect(after.dropFirst().first == Self.step(1, from: done.range.endExclusive, entries: 16))
        }
    }
}
