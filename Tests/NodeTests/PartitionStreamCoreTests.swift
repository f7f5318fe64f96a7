// One input at a time into the replication core of one partition, and the exact actions it
// returns (PartitionStreamCore.swift).

import Testing
import VoltModel
@testable import Node

@Suite("Partition stream core")
struct PartitionStreamCoreTests {
    static let p = PartitionID(1)
    static let a = HostID(0), b = HostID(1), c = HostID(2)

    static func core(_ me: HostID, leader: HostID, live: [HostID]) -> PartitionStreamCore {
        var core = PartitionStreamCore(partition: p, me: me)
        _ = core.membership(leader: leader, live: live, rejoining: [])
        return core
    }

    static func entry(_ seq: Int64, _ byte: UInt8 = 0) -> StreamEntry {
        StreamEntry(seq: seq, transactionID: PartitionStreamCore.transactionID(p, seq), timestampMicros: 100, record: .call([byte]))
    }

    static let ok = StreamOutcome(status: 1, hash: 42)

    @Test func theLeaderNumbersSendsRunsAndAnswersAfterEveryReplica() {
        var leader = Self.core(Self.a, leader: Self.a, live: [Self.a, Self.b, Self.c])
        let e1 = Self.entry(1, 7)
        #expect(leader.submit(call: 10, record: .call([7]), transactionID: nil, timestampMicros: 100)
                == [.send(Self.b, e1), .send(Self.c, e1), .execute(e1, .leader)])
        #expect(leader.acked(from: Self.b, seq: 1, Self.ok) == [])
        #expect(leader.localDone(seq: 1, Self.ok) == [])
        #expect(leader.acked(from: Self.c, seq: 1, Self.ok) == [.reply(call: 10, seq: 1)])
        #expect(leader.acked(from: Self.c, seq: 1, Self.ok) == [], "a duplicate acknowledgement answers nothing twice")
    }

    @Test func aDifferentHashIsReportedAsAMismatch() {
        var leader = Self.core(Self.a, leader: Self.a, live: [Self.a, Self.b])
        _ = leader.submit(call: 1, record: .call([1]), transactionID: nil, timestampMicros: 0)
        _ = leader.localDone(seq: 1, Self.ok)
        let actions = leader.acked(from: Self.b, seq: 1, StreamOutcome(status: 1, hash: 43))
        #expect(actions.count == 2)
        guard case .mismatch(let text) = actions[0] else { Issue.record("no mismatch in \(actions)"); return }
        #expect(text.contains("sequence 1") && text.contains("host 1"))
        #expect(actions[1] == .reply(call: 1, seq: 1))
    }

    @Test func aFailedReplicaNoLongerHoldsTheAnswerBack() {
        var leader = Self.core(Self.a, leader: Self.a, live: [Self.a, Self.b, Self.c])
        _ = leader.submit(call: 5, record: .call([1]), transactionID: nil, timestampMicros: 0)
        _ = leader.localDone(seq: 1, Self.ok)
        _ = leader.acked(from: Self.b, seq: 1, Self.ok)
        #expect(leader.membership(leader: Self.a, live: [Self.a, Self.b], rejoining: []) == [.reply(call: 5, seq: 1)])
    }

    @Test func aReplicaRunsInOrderIgnoresDuplicatesAndStopsOnAGap() {
        var replica = Self.core(Self.b, leader: Self.a, live: [Self.a, Self.b])
        #expect(replica.received(Self.entry(1), from: Self.a) == [.execute(Self.entry(1), .ackTo(Self.a))])
        #expect(replica.received(Self.entry(1), from: Self.a) == [])
        let gap = replica.received(Self.entry(3), from: Self.a)
        guard case .fatal(let why)? = gap.first else { Issue.record("no fatal in \(gap)"); return }
        #expect(why.contains("skipped from sequence 1 to 3"))
    }

    @Test func aMultiPartitionTransactionTakesOnePlaceInTheStream() {
        var leader = Self.core(Self.a, leader: Self.a, live: [Self.a, Self.b])
        let first = leader.submit(call: nil, record: .multi([9]), transactionID: 77, timestampMicros: 5)
        let e = StreamEntry(seq: 1, transactionID: 77, timestampMicros: 5, record: .multi([9]))
        #expect(first == [.send(Self.b, e), .execute(e, .none)])
        #expect(leader.submit(call: nil, record: .multi([9]), transactionID: 77, timestampMicros: 5) == [])
        #expect(leader.lastSeq == 1)
    }

    @Test("repair: the new leader takes an entry only another survivor got, before numbering anything new")
    func repairTakesWhatASurvivorHolds() {
        // Old leader a sent 1 to b and c, then 2 only to c, and died.
        var b = Self.core(Self.b, leader: Self.a, live: [Self.a, Self.b, Self.c])
        var c = Self.core(Self.c, leader: Self.a, live: [Self.a, Self.b, Self.c])
        _ = b.received(Self.entry(1), from: Self.a)
        _ = c.received(Self.entry(1), from: Self.a)
        _ = c.received(Self.entry(2, 2), from: Self.a)
        #expect(b.membership(leader: Self.b, live: [Self.b, Self.c], rejoining: []) == [.repairQuery(Self.c, after: 1, epoch: 0)])
        #expect(b.submit(call: 9, record: .call([3]), transactionID: nil, timestampMicros: 0) == [], "calls wait for the repair")
        let answer = c.repairQueried(by: Self.b, after: 1)
        #expect(answer == [.repairAnswer(Self.b, lastSeq: 2, entries: [Self.entry(2, 2)])])
        let e3 = StreamEntry(seq: 3, transactionID: PartitionStreamCore.transactionID(Self.p, 3), timestampMicros: 0, record: .call([3]))
        #expect(b.repairAnswered(by: Self.c, lastSeq: 2, entries: [Self.entry(2, 2)])
                == [.execute(Self.entry(2, 2), .none), .send(Self.c, e3), .execute(e3, .leader)])
        #expect(!b.isRepairing)
    }

    @Test("repair: a survivor behind the new leader is sent what it lacks")
    func repairSendsWhatASurvivorLacks() {
        var b = Self.core(Self.b, leader: Self.a, live: [Self.a, Self.b, Self.c])
        _ = b.received(Self.entry(1), from: Self.a)
        _ = b.received(Self.entry(2, 2), from: Self.a)
        _ = b.membership(leader: Self.b, live: [Self.b, Self.c], rejoining: [])
        #expect(b.repairAnswered(by: Self.c, lastSeq: 1, entries: []) == [.send(Self.c, Self.entry(2, 2))])
    }

    @Test("repair: a survivor that fails before answering is not waited for")
    func repairDoesNotWaitForTheDead() {
        var b = Self.core(Self.b, leader: Self.a, live: [Self.a, Self.b, Self.c])
        _ = b.membership(leader: Self.b, live: [Self.b, Self.c], rejoining: [])
        #expect(b.isRepairing)
        _ = b.membership(leader: Self.b, live: [Self.b], rejoining: [])
        #expect(!b.isRepairing)
    }

    @Test("rejoin: snapshot at the last numbered entry, buffered entries after it run once loaded")
    func rejoinCatchesUp() {
        var leader = Self.core(Self.a, leader: Self.a, live: [Self.a])
        _ = leader.submit(call: 1, record: .call([1]), transactionID: nil, timestampMicros: 0)
        _ = leader.membership(leader: Self.a, live: [Self.a], rejoining: [Self.b])
        #expect(leader.rejoinRequested(by: Self.b) == [.snapshot(for: Self.b, startSeq: 1)])
        #expect(leader.rejoinRequested(by: Self.b) == [], "a repeated request streams nothing twice")
        let e2 = Self.entry(2, 2)
        #expect(leader.submit(call: 2, record: .call([2]), transactionID: nil, timestampMicros: 100)
                == [.send(Self.b, e2), .execute(e2, .leader)])
        var rejoiner = PartitionStreamCore(partition: Self.p, me: Self.b)
        rejoiner.startBuffering()
        #expect(rejoiner.received(e2, from: Self.a) == [])
        #expect(rejoiner.snapshotLoaded(startSeq: 1) == [.execute(e2, .ackTo(Self.a))])
        #expect(rejoiner.lastSeq == 2 && !rejoiner.isBuffering)
    }

    @Test("rejoin: the leader waits for a loaded rejoiner and reports it caught up only when it holds everything")
    func rejoinerIsAwaitedOnceLoaded() {
        var leader = Self.core(Self.a, leader: Self.a, live: [Self.a])
        _ = leader.membership(leader: Self.a, live: [Self.a], rejoining: [Self.b])
        _ = leader.rejoinRequested(by: Self.b)
        _ = leader.submit(call: 1, record: .call([1]), transactionID: nil, timestampMicros: 0)   // seq 1, not awaited from b
        #expect(leader.localDone(seq: 1, Self.ok) == [.reply(call: 1, seq: 1)], "a rejoiner still loading holds nothing back")
        _ = leader.submit(call: 2, record: .call([2]), transactionID: nil, timestampMicros: 0)   // seq 2
        // b loaded its snapshot and ran up to 1: from now on it is awaited, and it lacks 2.
        #expect(leader.rejoinerLoaded(Self.b, lastSeq: 1) == [])
        _ = leader.localDone(seq: 2, Self.ok)
        let e3 = StreamEntry(seq: 3, transactionID: PartitionStreamCore.transactionID(Self.p, 3), timestampMicros: 0, record: .call([3]))
        #expect(leader.submit(call: 3, record: .call([3]), transactionID: nil, timestampMicros: 0)
                == [.send(Self.b, e3), .execute(e3, .leader)])
        #expect(leader.localDone(seq: 3, Self.ok) == [], "seq 3 waits for the loaded rejoiner")
        #expect(leader.acked(from: Self.b, seq: 2, Self.ok) == [.replicaCaughtUp(Self.b)])
        #expect(leader.acked(from: Self.b, seq: 3, Self.ok) == [.replicaCaughtUp(Self.b), .reply(call: 3, seq: 3)])
        // Live now: an ordinary replica.
        _ = leader.membership(leader: Self.a, live: [Self.a, Self.b], rejoining: [])
        #expect(leader.rejoiners.isEmpty)
    }

    @Test("rejoin: a replica whose leader changes before it is live discards its copy and starts over")
    func rejoinerStartsOverWhenItsLeaderChanges() {
        var rejoiner = PartitionStreamCore(partition: Self.p, me: Self.c)
        _ = rejoiner.membership(leader: Self.a, live: [Self.a, Self.b], rejoining: [Self.c])
        rejoiner.startBuffering()
        _ = rejoiner.received(Self.entry(5), from: Self.a)
        _ = rejoiner.snapshotLoaded(startSeq: 4)
        #expect(rejoiner.lastSeq == 5)
        // a fails; b leads. b may never have had 5: c's copy cannot be trusted.
        #expect(rejoiner.membership(leader: Self.b, live: [Self.b], rejoining: [Self.c]) == [.resnapshot])
        #expect(rejoiner.isBuffering && !rejoiner.isLeader)
        // A live replica whose leader changes does not start over.
        var replica = Self.core(Self.c, leader: Self.a, live: [Self.a, Self.b, Self.c])
        #expect(!replica.membership(leader: Self.b, live: [Self.b, Self.c], rejoining: []).contains(.resnapshot))
    }

    @Test func aRestartedHostIgnoresEntriesUntilItsRejoinBegins() {
        var restarted = PartitionStreamCore(partition: Self.p, me: Self.b, restarted: true)
        #expect(restarted.received(Self.entry(40), from: Self.a) == [], "no gap error: the entry was meant for its previous life")
        restarted.startBuffering()
        #expect(restarted.received(Self.entry(41), from: Self.a) == [])
        #expect(restarted.snapshotLoaded(startSeq: 40) == [.execute(Self.entry(41), .ackTo(Self.a))])
    }

    @Test func aReplicaThatAnsweredANewLeadersRepairQueryTakesNothingMoreFromTheOldLeader() {
        // c follows a at epoch 5; b is promoted at epoch 6 and asks c before c applies epoch 6.
        var c = PartitionStreamCore(partition: Self.p, me: Self.c)
        _ = c.membership(leader: Self.a, live: [Self.a, Self.b, Self.c], rejoining: [], epoch: 5)
        #expect(c.received(Self.entry(1, 1), from: Self.a) == [.execute(Self.entry(1, 1), .ackTo(Self.a))])
        #expect(c.repairQueried(by: Self.b, after: 0, epoch: 6) == [.repairAnswer(Self.b, lastSeq: 1, entries: [Self.entry(1, 1)])])
        // The old leader, cut off from the coordinator but not from c, numbers 2: refused.
        #expect(c.received(Self.entry(2, 9), from: Self.a) == [])
        // The new leader's 2 is taken, before and after c applies epoch 6.
        #expect(c.received(Self.entry(2, 2), from: Self.b) == [.execute(Self.entry(2, 2), .ackTo(Self.b))])
        _ = c.membership(leader: Self.b, live: [Self.b, Self.c], rejoining: [], epoch: 6)
        #expect(c.received(Self.entry(3, 3), from: Self.b) == [.execute(Self.entry(3, 3), .ackTo(Self.b))])
        // A query from an older promotion, arriving late, fences nothing.
        _ = c.repairQueried(by: Self.a, after: 0, epoch: 5)
        #expect(c.received(Self.entry(4, 4), from: Self.b) == [.execute(Self.entry(4, 4), .ackTo(Self.b))])
    }
}
