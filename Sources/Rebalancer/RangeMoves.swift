// The diff between two hash rings, as the token ranges an elastic join (or shrink) must move.
//
// Algorithm. Both rings must have the same entry tokens (the hashinator only ever changes owners,
// never boundaries). Walk the entries in token order; every entry whose owner differs becomes a
// move (its range, the old owner as source, the new owner as destination); a move absorbs the next
// entry when that entry is contiguous with it and has the same (source, destination). The plan
// comes out sorted by range start, ranges disjoint, each range maximal. Tokens must strictly
// ascend (equal neighbours only come from foreign blobs); both are preconditions.
//
// Cutover. The rebalancer flips one range at a time (`HashRing.applying(_:)` with one move): every
// intermediate ring is a valid ring in which each token is owned by exactly one partition, either
// its old owner or its new one. Applying the whole plan to the old ring gives the new ring.
//
// Invariants (`verifyMovePlan` names each one; the planner's output satisfies all of them):
//   sameTokenBoundaries      the two rings have identical entry tokens
//   movesSortedAndDisjoint   moves ascend by start and no token is moved twice
//   adjacentMovesMerged      no two contiguous moves share (source, destination)
//   movesOnEntryBoundaries   every range starts and ends on an entry boundary of the ring
//   sourceOwnsRange          the old ring gives every token of a move's range to its source
//   destinationOwnsRange     the new ring gives every token of a move's range to its destination
//   everyTokenOwnedOnce      in every intermediate ring of the cutover, each token has one owner,
//                            its old or its new one
//   applyingReachesTarget    applying every move to the old ring gives exactly the new ring
//   movesOnlyToNewPartitions (expansions) sources are old partitions, destinations new ones, so
//                            no token moves between old partitions
//
// Departure from VoltDB: none in which tokens move (that is fixed by the two rings). The grouping
// is ours: contiguous entries with one (source, destination) become one range, so that each move
// is one copy stream and one cutover barrier.

/// One token range changing owner.
public struct RangeMove: Sendable, Hashable, CustomStringConvertible {
    public let range: TokenRange
    public let source: PartitionID
    public let destination: PartitionID

    public init(range: TokenRange, source: PartitionID, destination: PartitionID) {
        precondition(source != destination, "a move of \(range) from \(source) to itself")
        self.range = range
        self.source = source
        self.destination = destination
    }

    public var description: String { "\(range): \(source) -> \(destination)" }
}

/// Every token range whose owner differs between `old` and `new`, contiguous entries with the same
/// (source, destination) merged, sorted by range start.
public func planMoves(from old: HashRing, to new: HashRing) -> [RangeMove] {
    precondition(old.tokens == new.tokens,
                 "cannot plan moves between rings with different token boundaries (\(old) vs \(new))")
    // Equal neighbouring tokens only come from foreign HASHCONFIG blobs; an entry owning no token
    // cannot be expressed as a non-empty range, so such rings are never planned between.
    for k in 1..<old.tokenCount {
        precondition(old.tokens[k - 1] < old.tokens[k],
                     "cannot plan moves on a ring with equal neighbouring tokens (entry \(k) at \(old.tokens[k]))")
    }
    var moves: [RangeMove] = []
    var pending: (start: Int64, end: Int64, source: PartitionID, destination: PartitionID)?
    for k in 0..<old.tokenCount {
        let start = Int64(old.tokens[k].rawValue)
        let end = old.entryEnd(k)
        let source = old.owners[k]
        let destination = new.owners[k]
        if let run = pending, run.end == start, run.source == source, run.destination == destination {
            pending = (run.start, end, source, destination)
            continue
        }
        if let run = pending {
            moves.append(RangeMove(range: TokenRange(start: run.start, endExclusive: run.end),
                                   source: run.source, destination: run.destination))
            pending = nil
        }
        if source != destination { pending = (start, end, source, destination) }
    }
    if let run = pending {
        moves.append(RangeMove(range: TokenRange(start: run.start, endExclusive: run.end),
                               source: run.source, destination: run.destination))
    }
    return moves
}

extension HashRing {
    /// The ring after one cutover: `move.range` handed from `move.source` to `move.destination`.
    /// The source must own the whole range and the range must lie on entry boundaries.
    public func applying(_ move: RangeMove) -> HashRing {
        reassigning(move.range, from: move.source, to: move.destination)
    }

    /// The ring after every move, applied in order.
    public func applying(_ moves: [RangeMove]) -> HashRing {
        moves.reduce(self) { $0.applying($1) }
    }
}

/// The named checks of a move plan; see the header of this file.
public enum MovePlanCheck: String, Sendable, Hashable, CaseIterable {
    case sameTokenBoundaries
    case movesSortedAndDisjoint
    case adjacentMovesMerged
    case movesOnEntryBoundaries
    case sourceOwnsRange
    case destinationOwnsRange
    case everyTokenOwnedOnce
    case applyingReachesTarget
    case movesOnlyToNewPartitions
}

/// One failed check, with the state that broke it.
public struct MovePlanViolation: Sendable, Hashable, CustomStringConvertible {
    public let check: MovePlanCheck
    public let detail: String

    public init(_ check: MovePlanCheck, _ detail: String) {
        self.check = check
        self.detail = detail
    }

    public var description: String { "\(check.rawValue): \(detail)" }
}

/// Checks that `moves` turns `old` into `new` one cutover at a time with every token owned exactly
/// once throughout. With `isExpansion` (the new ring came from `addingPartitions`), also checks that
/// every move goes from an old partition to a new one. Returns the violations; empty means sound.
/// The cutover is simulated only when the moves are well-formed, so a bad plan is reported rather
/// than tripping a ring precondition.
public func verifyMovePlan(_ moves: [RangeMove], from old: HashRing, to new: HashRing,
                           isExpansion: Bool) -> [MovePlanViolation] {
    guard old.tokens == new.tokens else {
        return [MovePlanViolation(.sameTokenBoundaries, "\(old) and \(new) have different entry tokens")]
    }
    var violations: [MovePlanViolation] = []

    for (a, b) in zip(moves, moves.dropFirst()) {
        if b.range.start < a.range.endExclusive {
            violations.append(MovePlanViolation(.movesSortedAndDisjoint, "\(b) starts before \(a) ends"))
        } else if b.range.start == a.range.endExclusive && a.source == b.source && a.destination == b.destination {
            violations.append(MovePlanViolation(.adjacentMovesMerged, "\(a) and \(b) are contiguous with one source and destination"))
        }
    }

    let oldPartitions = Set(old.partitions)
    for move in moves {
        guard old.isAligned(move.range) else {
            violations.append(MovePlanViolation(.movesOnEntryBoundaries, "\(move) cuts an entry of the ring"))
            continue
        }
        let entries = old.entries(in: move.range)
        if let k = entries.first(where: { old.owners[$0] != move.source }) {
            violations.append(MovePlanViolation(.sourceOwnsRange, "\(move): entry at \(old.tokens[k]) belongs to \(old.owners[k])"))
        }
        if let k = entries.first(where: { new.owners[$0] != move.destination }) {
            violations.append(MovePlanViolation(.destinationOwnsRange, "\(move): entry at \(new.tokens[k]) goes to \(new.owners[k])"))
        }
        if isExpansion && (!oldPartitions.contains(move.source) || oldPartitions.contains(move.destination)) {
            violations.append(MovePlanViolation(.movesOnlyToNewPartitions, "\(move) does not go from an old partition to a new one"))
        }
    }

    // The cutover only makes sense for well-formed moves; `reassigning` would trap on the others.
    let wellFormed: Set<MovePlanCheck> = [.movesSortedAndDisjoint, .movesOnEntryBoundaries, .sourceOwnsRange]
    guard !violations.contains(where: { wellFormed.contains($0.check) }) else { return violations }

    // Each step changes only the entries of its own range, so checking those after each step
    // covers every entry of every intermediate ring (the others kept an owner already checked).
    var ring = old
    for (step, move) in moves.enumerated() {
        ring = ring.applying(move)
        for k in ring.entries(in: move.range) {
            let owner = ring.owners[k]
            if owner != old.owners[k] && owner != new.owners[k] {
                violations.append(MovePlanViolation(.everyTokenOwnedOnce,
                    "after move \(step) (\(move)) the entry at \(ring.tokens[k]) belongs to \(owner), neither its old owner \(old.owners[k]) nor its new owner \(new.owners[k])"))
                break
            }
        }
    }
    if ring != new {
        let wrong = (0..<ring.tokenCount).filter { ring.owners[$0] != new.owners[$0] }
        violations.append(MovePlanViolation(.applyingReachesTarget,
            "\(wrong.count) entries differ after applying \(moves.count) moves, the first at \(wrong.first.map { "\(ring.tokens[$0])" } ?? "?")"))
    }
    return violations
}
