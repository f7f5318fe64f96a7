// PushCoalescer: when a host pushes topology changes, driven by hand-made change times. `simulate`
// plays the owner's part (a change asks for a decision; a scheduled wake-up asks again when it
// comes due) and returns the push times.
import Testing
import VoltModel
@testable import Node

@Suite struct PushCoalescerBehaviour {
    /// Push times for changes at `changes` (ms, ascending), each with `settle` ms to settle.
    static func simulate(_ changes: [Int64], settle: Int64, interval: Int64 = 100) -> [Int64] {
        var coalescer = PushCoalescer(intervalMillis: interval)
        var pushes: [Int64] = []
        var wake: Int64?
        var pending = changes[...]
        while true {
            // The next event: a change, or the scheduled wake-up (a change at the same time first).
            if let change = pending.first, wake.map({ change <= $0 }) ?? true {
                pending.removeFirst()
                let decision = coalescer.changed(at: change, settleMillis: settle)
                if decision.push { pushes.append(change) }
                if let at = decision.wakeAt { wake = at }
            } else if let at = wake {
                wake = nil
                let decision = coalescer.woke(at: at)
                if decision.push { pushes.append(at) }
                if let next = decision.wakeAt { wake = next }
            } else {
                return pushes
            }
        }
    }

    @Test func aLoneChangeIsPushedOnceItSettles() {
        #expect(Self.simulate([1_000], settle: 50) == [1_050])
        #expect(Self.simulate([1_000], settle: 0) == [1_000])
    }

    @Test func changesFartherApartThanTheIntervalArePushedEach() {
        #expect(Self.simulate([1_000, 1_200, 1_500], settle: 50) == [1_050, 1_250, 1_550])
    }

    @Test func aChangeSoonAfterAPushWaitsForTheInterval() {
        // Pushed at once, then the next change waits until 100 ms after that push.
        #expect(Self.simulate([1_000, 1_030], settle: 0) == [1_000, 1_100])
    }

    @Test func aBurstCostsOnePushPerIntervalAndTheLastOneSettled() {
        // A join cutting over 31 ranges, one every 10 ms from 1000 to 1300.
        let burst = (0...30).map { 1_000 + Int64($0) * 10 }
        let pushes = Self.simulate(burst, settle: 50)
        #expect(pushes == [1_050, 1_150, 1_250, 1_350])
        // Without settling, the first goes at once and the last one right after the interval.
        #expect(Self.simulate(burst, settle: 0) == [1_000, 1_100, 1_200, 1_300])
    }

    @Test func aPushOfAChangeThatHasNotSettledIsFollowedByAnother() {
        // The second change (1040) is younger than 50 ms at the 1050 push, which carries it: another
        // push follows once it has settled and the interval has passed. Nothing is lost.
        #expect(Self.simulate([1_000, 1_040], settle: 50) == [1_050, 1_150])
    }

    @Test func aChangeDuringAScheduledWakeUpOnlyRecordsItself() {
        var coalescer = PushCoalescer(intervalMillis: 100)
        #expect(coalescer.changed(at: 0, settleMillis: 50) == .init(push: false, wakeAt: 50))
        #expect(coalescer.changed(at: 10, settleMillis: 50) == .nothing)
        #expect(coalescer.woke(at: 50) == .init(push: true, wakeAt: 150))
        #expect(coalescer.woke(at: 150) == .init(push: true, wakeAt: nil))
        #expect(coalescer.pendingSettlesAt == nil)
        // Nothing changed since: a stray wake-up pushes nothing.
        #expect(coalescer.woke(at: 400) == .nothing)
    }

    @Test(arguments: [0 as Int64, 50])
    func randomChangesKeepTheRules(settle: Int64) {
        var rng = SplitMix64(seed: 0xC0A1E5CE + UInt64(settle))
        for _ in 0..<200 {
            var t: Int64 = 0
            let changes = (0..<Int(1 + rng.next() % 40)).map { _ in
                t += Int64(rng.next() % 160)
                return t
            }
            let pushes = Self.simulate(changes, settle: settle)
            let last = changes.last!
            // At most one push per interval.
            for (a, b) in zip(pushes, pushes.dropFirst()) { #expect(b - a >= 100, "\(changes) -> \(pushes)") }
            // Never before the first change has settled, never more than one per change.
            #expect(pushes.first! >= changes.first! + settle)
            #expect(pushes.count <= changes.count + 1)
            // The last change is pushed once settled, and no later than needed.
            #expect(pushes.last! >= last + settle, "\(changes) -> \(pushes)")
            #expect(pushes.last! <= last + settle + 100, "\(changes) -> \(pushes)")
            // Every change is covered by a push at or after it.
            for change in changes { #expect(pushes.contains { $0 >= change }) }
        }
    }
}
