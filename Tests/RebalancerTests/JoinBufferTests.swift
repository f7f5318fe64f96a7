import Rebalancer
import Testing

/// The join buffer (JoinBuffer.swift): one input at a time, the exact verdicts and groups.
@Suite struct JoinBufferTests {
    static func ask(_ n: Int, incarnation: UInt64 = 1, unreachable: [Int32] = []) -> JoinerRequest {
        JoinerRequest(endpoint: "10.0.0.\(n):3021", incarnation: incarnation, placementGroup: "0", unreachable: unreachable.map(HostID.init))
    }

    @Test func joinersWaitUntilKPlusOneHaveArrivedAndAreAdmittedTogetherInArrivalOrder() {
        var buffer = JoinBuffer(groupSize: 2, expiryMillis: 3_000)
        #expect(buffer.heard(Self.ask(1), nowMillis: 0, blocker: nil) == .waiting(have: 1, need: 2))
        #expect(JoinVerdict.waiting(have: 1, need: 2).description == "waiting for 1 more host to join (K+1 = 2)")
        #expect(buffer.nextGroup(blocker: nil) == nil)
        #expect(buffer.heard(Self.ask(2), nowMillis: 100, blocker: nil) == .complete(need: 2))
        #expect(buffer.heard(Self.ask(3), nowMillis: 200, blocker: nil) == .waiting(have: 1, need: 2))   // the next round
        #expect(buffer.nextGroup(blocker: nil) == [Self.ask(1), Self.ask(2)])
        #expect(buffer.nextGroup(blocker: nil) == nil)   // one admission at a time
        #expect(buffer.heard(Self.ask(1), nowMillis: 900, blocker: nil) == .admitting)
        buffer.remove(endpoints: [Self.ask(1).endpoint, Self.ask(2).endpoint])
        #expect(buffer.waiting.map(\.request) == [Self.ask(3)])
    }

    @Test func verdictsTellWhatEachWaitingJoinerIsToldNowWithoutChangingTheBuffer() {
        var buffer = JoinBuffer(groupSize: 2, expiryMillis: 3_000)
        _ = buffer.heard(Self.ask(1), nowMillis: 0, blocker: nil)
        _ = buffer.heard(Self.ask(2, unreachable: [0]), nowMillis: 10, blocker: nil)
        _ = buffer.heard(Self.ask(3), nowMillis: 20, blocker: nil)
        _ = buffer.heard(Self.ask(4), nowMillis: 30, blocker: nil)
        let before = buffer
        #expect(buffer.verdicts(blocker: nil).map(\.verdict)
                == [.complete(need: 2), .unreachable([HostID(0)]), .complete(need: 2), .waiting(have: 1, need: 2)])
        #expect(buffer.verdicts(blocker: "host 1 is rejoining").map(\.verdict)
                == [.blocked("host 1 is rejoining"), .unreachable([HostID(0)]), .blocked("host 1 is rejoining"), .blocked("host 1 is rejoining")])
        #expect(buffer == before)
        #expect(buffer.nextGroup(blocker: nil) == [Self.ask(1), Self.ask(3)])
        #expect(buffer.verdicts(blocker: nil).map(\.verdict) == [.admitting, .unreachable([HostID(0)]), .admitting, .waiting(have: 1, need: 2)])
        #expect(buffer.verdicts(blocker: nil).map(\.joiner.arrivedMillis) == [0, 10, 20, 30])
    }

    @Test func aJoinerThatStopsAskingLeavesTheBufferAndARestartedOneQueuesAgain() {
        var buffer = JoinBuffer(groupSize: 3, expiryMillis: 3_000)
        _ = buffer.heard(Self.ask(1), nowMillis: 0, blocker: nil)
        _ = buffer.heard(Self.ask(2), nowMillis: 1_000, blocker: nil)
        #expect(buffer.tick(nowMillis: 3_000).isEmpty)
        #expect(buffer.tick(nowMillis: 3_001).map(\.request) == [Self.ask(1)])
        // Host 2 restarts: a new incarnation at the same endpoint replaces its entry, at the back.
        _ = buffer.heard(Self.ask(3), nowMillis: 3_100, blocker: nil)
        #expect(buffer.heard(Self.ask(2, incarnation: 2), nowMillis: 3_200, blocker: nil) == .waiting(have: 2, need: 3))
        #expect(buffer.waiting.map(\.request) == [Self.ask(3), Self.ask(2, incarnation: 2)])
    }

    @Test func aJoinerThatCannotReachEveryMemberNeverCountsAndIsToldWhich() {
        var buffer = JoinBuffer(groupSize: 2, expiryMillis: 3_000)
        let cutOff = Self.ask(1, unreachable: [2, 0])
        #expect(buffer.heard(cutOff, nowMillis: 0, blocker: nil) == .unreachable([HostID(0), HostID(2)]))
        #expect(JoinVerdict.unreachable([HostID(0), HostID(2)]).description.hasPrefix("cannot reach hosts 0, 2 of the cluster"))
        #expect(buffer.heard(Self.ask(2), nowMillis: 10, blocker: nil) == .waiting(have: 1, need: 2))
        #expect(buffer.nextGroup(blocker: nil) == nil)
        // Once it reaches everyone it counts.
        #expect(buffer.heard(Self.ask(1), nowMillis: 20, blocker: nil) == .complete(need: 2))
        #expect(buffer.nextGroup(blocker: nil)?.map(\.endpoint) == [Self.ask(1).endpoint, Self.ask(2).endpoint])
    }

    @Test func aClusterThatCannotGrowKeepsJoinersWaitingAndSaysWhy() {
        var buffer = JoinBuffer(groupSize: 1, expiryMillis: 3_000)
        let why = "host 1 is rejoining"
        #expect(buffer.heard(Self.ask(1), nowMillis: 0, blocker: why) == .blocked(why))
        #expect(buffer.nextGroup(blocker: why) == nil)
        #expect(buffer.nextGroup(blocker: nil) == [Self.ask(1)])
        // An admission that did not happen lets the group be formed again.
        buffer.release()
        #expect(buffer.heard(Self.ask(1), nowMillis: 100, blocker: nil) == .complete(need: 1))
        #expect(buffer.nextGroup(blocker: nil) == [Self.ask(1)])
    }
}
