// The diff between two rings: the plan's exact shape on a hand-checked ring, the named plan checks
// on every expansion P -> P + k, and each check catching the broken plan it exists for.
import Testing
import Rebalancer
import VoltModel

private let ringEnd = Int64(Int32.max) + 1

/// Fresh rings for 1...16 partitions, built once.
private let freshRings: [Int: HashRing] = Dictionary(uniqueKeysWithValues: (1...16).map { ($0, HashRing(partitionCount: $0)) })

@Suite struct RangeMoveTests {
    /// 16 tokens at -2^31 + i * 268435455. Two partitions: 1 owns entries 0-7, 0 owns 8-15. Adding
    /// partition 2 moves, in order: entry 0 (from 1), 8 (from 0), 1 (from 1), 9 (from 0), 2 (from 1),
    /// then stops at 6/5/5. So 2 takes entries 0-2 from partition 1 and 8-9 from partition 0.
    @Test func handCheckedPlanForTwoToThreePartitions() {
        let old = HashRing(partitionCount: 2, tokenCount: 16)
        let new = old.addingPartitions(1)
        #expect(new == HashRing(partitionCount: 3, tokenCount: 16))
        let moves = planMoves(from: old, to: new)
        #expect(moves == [
            RangeMove(range: TokenRange(start: -2_147_483_648, endExclusive: -1_342_177_283),
                      source: PartitionID(1), destination: PartitionID(2)),
            RangeMove(range: TokenRange(start: -8, endExclusive: 536_870_902),
                      source: PartitionID(0), destination: PartitionID(2)),
        ])
        #expect(old.applying(moves) == new)
        #expect(verifyMovePlan(moves, from: old, to: new, isExpansion: true) == [])
    }

    @Test func identicalRingsNeedNoMoves() {
        #expect(planMoves(from: freshRings[6]!, to: freshRings[6]!) == [])
        #expect(verifyMovePlan([], from: freshRings[6]!, to: freshRings[6]!, isExpansion: true) == [])
    }

    @Test(arguments: 1...12, 1...4)
    func expansionPlanIsSound(partitions p: Int, added k: Int) {
        let old = freshRings[p]!
        let new = freshRings[p + k]!
        let moves = planMoves(from: old, to: new)
        #expect(!moves.isEmpty)
        #expect(old.applying(moves) == new, "\(p) + \(k)")
        #expect(verifyMovePlan(moves, from: old, to: new, isExpansion: true) == [], "\(p) + \(k)")
        for move in moves {
            #expect(move.source.rawValue < Int32(p) && move.destination.rawValue >= Int32(p), "\(move)")
        }
        // Every entry that changed owner is covered by exactly one move, and no other entry is.
        var moved = 0
        for move in moves { moved += old.entries(in: move.range).count }
        #expect(moved == (0..<old.tokenCount).filter { old.owners[$0] != new.owners[$0] }.count)
    }

    /// During the 6 -> 8 join each key has one owner at every cutover step: its old partition until
    /// the move covering its token cuts over, its new partition from then on.
    @Test func keysFollowTheCutoverOneRangeAtATime() {
        let old = freshRings[6]!
        let new = freshRings[8]!
        let moves = planMoves(from: old, to: new)
        let keys = (0..<2000).map { Value.integer(Int64($0)) }
        var ring = old
        for (step, move) in moves.enumerated() {
            ring = ring.applying(move)
            for key in keys {
                let token = key.partitionToken(as: .bigint)!
                let cutOver = moves[...step].contains { $0.range.contains(token) }
                let expected = cutOver ? new.partition(for: token) : old.partition(for: token)
                #expect(ring.partition(forKey: key, type: .bigint) == expected, "\(key) after move \(step)")
            }
        }
        #expect(ring == new)
    }

    @Test func planIsSortedDisjointAndMaximal() {
        let moves = planMoves(from: freshRings[5]!, to: freshRings[12]!)
        for (a, b) in zip(moves, moves.dropFirst()) {
            #expect(a.range.endExclusive <= b.range.start)
            #expect(a.range.endExclusive < b.range.start || a.source != b.source || a.destination != b.destination)
        }
        #expect(moves.last.map { $0.range.endExclusive <= ringEnd } ?? true)
    }
}

@Suite struct MovePlanCheckTests {
    private let old = HashRing(partitionCount: 2, tokenCount: 16)
    private var new: HashRing { old.addingPartitions(1) }
    private var plan: [RangeMove] { planMoves(from: old, to: new) }

    private func checks(_ moves: [RangeMove], to target: HashRing? = nil, isExpansion: Bool = true) -> Set<MovePlanCheck> {
        Set(verifyMovePlan(moves, from: old, to: target ?? new, isExpansion: isExpansion).map(\.check))
    }

    @Test func differentBoundaries() {
        #expect(checks([], to: HashRing(partitionCount: 3, tokenCount: 8)) == [.sameTokenBoundaries])
    }

    @Test func aMissingMoveDoesNotReachTheTarget() {
        #expect(checks(Array(plan.dropLast())) == [.applyingReachesTarget])
    }

    @Test func overlappingMoves() {
        #expect(checks(plan + [plan[1]]).contains(.movesSortedAndDisjoint))
        #expect(checks(plan.reversed()).contains(.movesSortedAndDisjoint))
    }

    @Test func aSplitMoveIsNotMerged() {
        // Split [-2^31, entry 3) at entry 1 into two moves with the same source and destination.
        let first = plan[0]
        let cut = Int64(old.tokens[1].rawValue)
        let split = [
            RangeMove(range: TokenRange(start: first.range.start, endExclusive: cut), source: first.source, destination: first.destination),
            RangeMove(range: TokenRange(start: cut, endExclusive: first.range.endExclusive), source: first.source, destination: first.destination),
            plan[1],
        ]
        #expect(checks(split) == [.adjacentMovesMerged])
    }

    @Test func aRangeThatCutsAnEntry() {
        let first = plan[0]
        let bad = RangeMove(range: TokenRange(start: first.range.start, endExclusive: first.range.endExclusive - 1),
                            source: first.source, destination: first.destination)
        #expect(checks([bad, plan[1]]).contains(.movesOnEntryBoundaries))
    }

    @Test func aSourceThatDoesNotOwnTheRange() {
        let first = plan[0]
        let bad = RangeMove(range: first.range, source: PartitionID(0), destination: first.destination)
        #expect(checks([bad, plan[1]]).contains(.sourceOwnsRange))
    }

    @Test func aDetourThroughAThirdPartition() {
        // Handing partition 1's range to partition 0 breaks both the target's ownership and the rule
        // that, mid-cutover, a token belongs to its old or its new owner.
        let first = plan[0]
        let bad = RangeMove(range: first.range, source: first.source, destination: PartitionID(0))
        #expect(checks([bad, plan[1]]) == [.destinationOwnsRange, .everyTokenOwnedOnce, .movesOnlyToNewPartitions, .applyingReachesTarget])
    }

    @Test func aMoveBetweenOldPartitionsIsOnlyWrongForAnExpansion() {
        // A target that just swaps two runs between the old partitions.
        let swapped = old.reassigning(TokenRange(start: Int64(old.tokens[0].rawValue), endExclusive: Int64(old.tokens[1].rawValue)),
                                      from: PartitionID(1), to: PartitionID(0))
        let moves = planMoves(from: old, to: swapped)
        #expect(moves == [RangeMove(range: TokenRange(start: Int64(Int32.min), endExclusive: Int64(old.tokens[1].rawValue)),
                                    source: PartitionID(1), destination: PartitionID(0))])
        #expect(checks(moves, to: swapped, isExpansion: true) == [.movesOnlyToNewPartitions])
        #expect(checks(moves, to: swapped, isExpansion: false) == [])
    }
}
