import Rebalancer
import Testing
@testable import Node

/// Where data lives, changed by transactions (Engine+Placement.swift): new partitions take part
/// after a copy of the replicated tables, range moves carry rows and ownership together, calls
/// that reach a partition that gave their key away are sent on, and a move that would lose rows
/// rolls back.
@Suite struct EnginePlacementTests {
    static let schema = """
        CREATE TABLE ACCOUNT (ID BIGINT NOT NULL, OWNER VARCHAR(32), BALANCE BIGINT NOT NULL, PRIMARY KEY (ID));
        PARTITION TABLE ACCOUNT ON COLUMN ID;
        CREATE TABLE COUNTRY (CODE VARCHAR(2) NOT NULL, NAME VARCHAR(64), PRIMARY KEY (CODE));
        CREATE PROCEDURE GET_BALANCE PARTITION ON TABLE ACCOUNT COLUMN ID AS SELECT BALANCE FROM ACCOUNT WHERE ID = ?;
        CREATE PROCEDURE ADD_TO PARTITION ON TABLE ACCOUNT COLUMN ID PARAMETER 1 AS
            UPDATE ACCOUNT SET BALANCE = BALANCE + ? WHERE ID = ?;
        """
    static let p = (0..<4).map { PartitionID(Int32($0)) }
    static let rows = 2_000

    /// An engine with sites for partitions 0...3 whose ring has only 0 and 1 (2 and 3 are what a
    /// join adds), the schema on every site, accounts and two countries loaded.
    static func grownEngine() -> Engine {
        let engine = Engine(configuration: .init(partitions: p, ring: HashRing(partitionCount: 2), participants: [p[0], p[1]]))
        let schema = engine.adHoc(Self.schema)
        #expect(schema.succeeded, "schema: \(schema.statusString ?? "")")
        for id in 0..<rows {
            let r = engine.call("ACCOUNT.insert", [.integer(Int64(id)), .string("o\(id)"), .integer(100)])
            #expect(r.succeeded, "\(r.statusString ?? "")")
        }
        #expect(engine.call("COUNTRY.insert", [.string("NO"), .string("Norway")]).succeeded)
        #expect(engine.call("COUNTRY.insert", [.string("SE"), .string("Sweden")]).succeeded)
        return engine
    }

    static func counts(_ engine: Engine, _ table: String) -> [Int] {
        engine.onEverySite { _, store in store.table(named: table)!.rowCount }
    }

    static func scalar(_ engine: Engine, _ sql: String) -> Value? {
        engine.adHoc(sql).tables.first?.scalar
    }

    @Test func newPartitionsTakePartOnlyOnceTheyHoldTheReplicatedTables() {
        let engine = Self.grownEngine()
        defer { engine.shutdown() }
        #expect(Self.counts(engine, "COUNTRY") == [2, 2, 0, 0])
        let copy = engine.changePlacement(.addParticipants([Self.p[2], Self.p[3]], copyingFrom: Self.p[0]))
        #expect(copy.succeeded, "\(copy.statusString ?? "")")
        #expect(PlacementOutcome(copy) == PlacementOutcome(rows: 2, bytes: PlacementOutcome(copy)!.bytes, alreadyDone: false))
        #expect(engine.participants == Self.p)
        #expect(Self.counts(engine, "COUNTRY") == [2, 2, 2, 2])
        // Replicated writes now reach the new partitions too.
        #expect(engine.call("COUNTRY.insert", [.string("DK"), .string("Denmark")]).succeeded)
        #expect(Self.counts(engine, "COUNTRY") == [3, 3, 3, 3])
        // Asked again, it does nothing.
        #expect(PlacementOutcome(engine.changePlacement(.addParticipants([Self.p[2]], copyingFrom: Self.p[0])))?.alreadyDone == true)
    }

    @Test func movingEveryRangeOfAnExpansionKeepsEveryRowExactlyOnceAndRoutesToTheNewOwners() {
        let engine = Self.grownEngine()
        defer { engine.shutdown() }
        #expect(engine.changePlacement(.addParticipants([Self.p[2], Self.p[3]], copyingFrom: Self.p[0])).succeeded)
        let old = engine.ring, target = old.addingPartitions(2)
        let moves = planMoves(from: old, to: target)
        #expect(!moves.isEmpty)
        var moved = 0
        for move in moves {
            let r = engine.changePlacement(.move(move))
            #expect(r.succeeded, "\(move): \(r.statusString ?? "")")
            moved += PlacementOutcome(r)?.rows ?? 0
            // Every row is in exactly one place after every step.
            #expect(Self.scalar(engine, "SELECT COUNT(*) FROM ACCOUNT") == .integer(Int64(Self.rows)))
        }
        #expect(engine.ring == target)
        let counts = Self.counts(engine, "ACCOUNT")
        #expect(counts.reduce(0, +) == Self.rows)
        #expect(moved == counts[2] + counts[3])
        let expected = Self.p.map { p in (0..<Self.rows).filter { target.partition(forKey: .integer(Int64($0)), type: .bigint) == p }.count }
        #expect(counts == expected)
        // Single-partition calls find their rows on the new owners.
        for id in stride(from: 0, to: Self.rows, by: 97) {
            #expect(engine.call("GET_BALANCE", [.integer(Int64(id))]).tables.first?.rows == [[.integer(100)]])
        }
        // A reissued step does nothing.
        #expect(PlacementOutcome(engine.changePlacement(.move(moves[0])))?.alreadyDone == true)
        #expect(Self.scalar(engine, "SELECT SUM(BALANCE) FROM ACCOUNT") == .integer(Int64(100 * Self.rows)))
    }

    @Test func aReissuedStepLargerThanTheOneThatCommittedMovesOnlyTheRestAndAMixedRangeIsRefused() {
        let engine = Self.grownEngine()
        defer { engine.shutdown() }
        #expect(engine.changePlacement(.addParticipants([Self.p[2], Self.p[3]], copyingFrom: Self.p[0])).succeeded)
        let old = engine.ring
        let move = planMoves(from: old, to: old.addingPartitions(2)).first { old.entries(in: $0.range).count >= 3 }!
        let entries = old.entries(in: move.range)
        func cut(_ k: Int) -> Int64 { Int64(old.tokens[entries.lowerBound + k].rawValue) }
        // The step before a failover moved the first entry; the new coordinator asks for three.
        let first = RangeMove(range: TokenRange(start: move.range.start, endExclusive: cut(1)), source: move.source, destination: move.destination)
        #expect(engine.changePlacement(.move(first)).succeeded)
        let total = Self.scalar(engine, "SELECT COUNT(*) FROM ACCOUNT")
        let three = RangeMove(range: TokenRange(start: move.range.start, endExclusive: cut(3)), source: move.source, destination: move.destination)
        let r = engine.changePlacement(.move(three))
        #expect(r.succeeded, "\(r.statusString ?? "")")
        #expect(PlacementOutcome(r)?.alreadyDone == false)
        #expect(engine.ring == old.applying(three))
        #expect(Self.scalar(engine, "SELECT COUNT(*) FROM ACCOUNT") == total)
        // Source, destination, source again: not a prefix that moved. Refused, nothing changes.
        let ring = engine.ring
        let back = RangeMove(range: TokenRange(start: cut(1), endExclusive: cut(2)), source: move.destination, destination: move.source)
        #expect(engine.changePlacement(.move(back)).succeeded)
        let mixed = RangeMove(range: TokenRange(start: move.range.start, endExclusive: cut(3)), source: move.source, destination: move.destination)
        #expect(!engine.changePlacement(.move(mixed)).succeeded)
        #expect(engine.ring == ring.applying(back))
        #expect(Self.scalar(engine, "SELECT COUNT(*) FROM ACCOUNT") == total)
    }

    @Test func aCallPinnedToTheOldOwnerComesBackWithTheNewOneAndAnUnpinnedCallFollows() {
        let engine = Self.grownEngine()
        defer { engine.shutdown() }
        #expect(engine.changePlacement(.addParticipants([Self.p[2], Self.p[3]], copyingFrom: Self.p[0])).succeeded)
        let old = engine.ring
        let move = planMoves(from: old, to: old.addingPartitions(2))[0]
        let key = (0..<Self.rows).first { move.range.contains(Value.integer(Int64($0)).partitionToken(as: .bigint)!) }!
        #expect(engine.changePlacement(.move(move)).succeeded)
        // Pinned to the partition that gave the key away (as a stream that sequenced it before the
        // move would run it): nothing runs, and the answer names the owner.
        let pinned = OneShot<InvocationResult>()
        engine.invoke(engine.procedure(named: "ADD_TO")!, [.integer(5), .integer(Int64(key))],
                      options: CallOptions(partition: move.source)) { pinned.set($0) }
        let refused = pinned.wait()
        #expect(refused.status == .txnMispartitioned && refused.owner == move.destination, "\(refused.statusString ?? "")")
        // Unpinned, the engine sends it on: the update happens once, on the new owner.
        #expect(engine.call("ADD_TO", [.integer(5), .integer(Int64(key))]).succeeded)
        #expect(engine.call("GET_BALANCE", [.integer(Int64(key))]).tables.first?.rows == [[.integer(105)]])
        #expect(Self.scalar(engine, "SELECT SUM(BALANCE) FROM ACCOUNT") == .integer(Int64(100 * Self.rows + 5)))
    }

    @Test func aCallRoutedJustBeforeAMoveIsPassedOnByTheSiteAndAPinnedOneIsAnswered() {
        let engine = Self.grownEngine()
        defer { engine.shutdown() }
        let move = planMoves(from: engine.ring, to: engine.ring.addingPartitions(2))[0]
        let key = (0..<Self.rows).first { move.range.contains(Value.integer(Int64($0)).partitionToken(as: .bigint)!) }!
        // Hold the source site, queue the move behind it, then a call the engine still routes to
        // the source (its ring changes only once the move commits): the call reaches the source
        // after the move and must be passed on to the destination, not failed.
        let hold = OneShot<Bool>()
        _ = engine.onSite(move.source) { _, _ in _ = hold.wait() }
        let moved = OneShot<InvocationResult>()
        engine.changePlacement(.move(move)) { moved.set($0) }
        let routed = OneShot<InvocationResult>()
        engine.invoke(engine.procedure(named: "ADD_TO")!, [.integer(7), .integer(Int64(key))]) { routed.set($0) }
        // Pinned to the source, an ad hoc statement (a procedure the engine does not keep) is
        // answered with the owner, as a replication stream needs, never passed on.
        let pinned = OneShot<InvocationResult>()
        engine.adHoc("UPDATE ACCOUNT SET BALANCE = BALANCE + 1000 WHERE ID = \(key)", options: CallOptions(partition: move.source)) {
            pinned.set($0)
        }
        hold.set(true)
        #expect(moved.wait().succeeded)
        let result = routed.wait()
        #expect(result.succeeded, "\(result.status): \(result.statusString ?? "")")
        let answer = pinned.wait()
        #expect(answer.status == .txnMispartitioned && answer.owner == move.destination, "\(answer.status)")
        #expect(engine.call("GET_BALANCE", [.integer(Int64(key))]).tables.first?.rows == [[.integer(107)]])
    }

    @Test func aMoveFromAPartitionThatDoesNotOwnTheRangeIsRefusedAndChangesNothing() {
        let engine = Self.grownEngine()
        defer { engine.shutdown() }
        let ring = engine.ring
        let owned = ring.ranges(of: Self.p[1])[0]
        let r = engine.changePlacement(.move(RangeMove(range: owned, source: Self.p[0], destination: Self.p[2])))
        #expect(r.status != .success)
        #expect(engine.ring == ring)
        #expect(Self.counts(engine, "ACCOUNT").reduce(0, +) == Self.rows)
        let unaligned = TokenRange(start: owned.start, endExclusive: owned.start + 1)
        #expect(!engine.changePlacement(.move(RangeMove(range: unaligned, source: Self.p[1], destination: Self.p[2]))).succeeded)
    }

    @Test func aMoveIntoAPartitionThatAlreadyHoldsRowsOfTheRangeRollsBackBothSides() {
        let engine = Self.grownEngine()
        defer { engine.shutdown() }
        let move = planMoves(from: engine.ring, to: engine.ring.addingPartitions(2))[0]
        let key = (0..<Self.rows).first { move.range.contains(Value.integer(Int64($0)).partitionToken(as: .bigint)!) }!
        // Plant a stray copy of one row on the destination behind the ownership guard's back.
        let planted = engine.runSinglePartitionBlocking(on: move.destination) { store, log, _ throws(SQLError) in
            store.table(named: "ACCOUNT")!.ownership = nil
            do { _ = try store.table(named: "ACCOUNT")!.insert([.integer(Int64(key)), .string("stray"), .integer(1)], log: log) } catch {
                throw SQLError(.internalError, "\(error)")
            }
            store.ownership = store.ownership   // the guard back on
            return []
        }
        #expect(planted.succeeded, "\(planted.statusString ?? "")")
        let before = Self.counts(engine, "ACCOUNT")
        let r = engine.changePlacement(.move(move))
        #expect(!r.succeeded && r.statusString?.contains("refusing to load a second copy") == true, "\(r.statusString ?? "")")
        #expect(Self.counts(engine, "ACCOUNT") == before)
        // The source still owns and serves the range.
        #expect(engine.call("GET_BALANCE", [.integer(Int64(key))]).tables.first?.rows == [[.integer(100)]])
    }

    @Test func concurrentCallsDuringMovesAreNeitherLostNorAppliedTwice() async {
        let engine = Self.grownEngine()
        defer { engine.shutdown() }
        #expect(engine.changePlacement(.addParticipants([Self.p[2], Self.p[3]], copyingFrom: Self.p[0])).succeeded)
        let moves = planMoves(from: engine.ring, to: engine.ring.addingPartitions(2))
        // Writers add 1 to random accounts while the moves run; each call must succeed once.
        let writes = 4_000
        let failures = await withTaskGroup(of: Int.self) { group in
            group.addTask {
                for move in moves { _ = engine.changePlacement(.move(move)) }
                return 0
            }
            for w in 0..<4 {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(w + 1))
                    var failed = 0
                    for _ in 0..<(writes / 4) where !engine.call("ADD_TO", [.integer(1), .integer(Int64(rng.below(Self.rows)))]).succeeded {
                        failed += 1
                    }
                    return failed
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        #expect(engine.ring == HashRing(partitionCount: 4))
        #expect(Self.scalar(engine, "SELECT SUM(BALANCE) FROM ACCOUNT") == .integer(Int64(100 * Self.rows + writes)))
        #expect(Self.scalar(engine, "SELECT COUNT(*) FROM ACCOUNT") == .integer(Int64(Self.rows)))
    }
}

extension Engine {
    func runSinglePartitionBlocking(on partition: PartitionID, _ work: @escaping SinglePartitionWork) -> InvocationResult {
        let result = OneShot<InvocationResult>()
        runSinglePartition(on: partition, work) { result.set($0) }
        return result.wait()
    }
}
