// Where data lives, and the transactions that change it: a range move (one step of an elastic
// join's rebalance) and new partitions joining the multi-partition participants.
//
// Model. The ring (which partition owns each token) and the participants (the partitions that
// hold the replicated tables and take part in multi-partition transactions) are transactional
// state: they change only inside a multi-partition transaction, at one point of the global
// multi-partition order. Every site keeps its own ownership (`PartitionStore.ownership`) and
// changes it inside that transaction, on its own thread, together with the rows; the engine's
// copy, which routing reads, changes on the coordinator thread right after the commit. A
// single-partition call carries its key's token and the site checks, when the call's turn comes,
// that it still owns it; if not, nothing runs and the call comes back `txnMispartitioned` with
// the new owner (the engine or the cluster shell sends it there). So every key has exactly one
// owner at every point of every partition's order, and a multi-partition query sees each row
// once: the rows and the ownership move in the same transaction.
//
// A range move is VoltDB's `@BalancePartitions`: a two-partition transaction (barriers on the
// source and destination sites only, so the other partitions keep serving) that
//   1. on the source: reads every row of the range from each partitioned table with its row
//      count and order-independent checksum, deletes them (undo-logged) and gives the range up;
//   2. on the destination: takes the range, loads the rows (undo-logged) and checksums them;
//   3. commits only if every table's count and checksum match; otherwise it rolls back both sides
//      (rows and ownership), so a range is never lost or doubled.
// Replicas of both partitions run the same transaction at the same point of their streams, so
// they stay identical (the rows reach a destination replica through the cluster's fragment
// exchange). A move whose range the destination already owns does nothing and says so: a step
// reissued after a failure is harmless. Ranges lie on ring-entry boundaries (the ring cannot say
// anything finer); the rebalancer sizes each step by the number of entries it takes.
//
// Adding participants copies every replicated table from one participant to the new partitions
// (which must hold none of their rows) in one multi-partition transaction, checked the same way,
// and then counts them in every later multi-partition transaction.

import Rebalancer
import VoltModel
import VoltWire

/// The ring and the participants as the multi-partition order has reached.
struct Placement: Sendable, Equatable {
    var ring: HashRing
    var participants: [PartitionID]
}

/// A transaction that changes where data lives.
public enum PlacementChange: Sendable, Equatable {
    /// Moves every row of `move.range` from `move.source` to `move.destination`.
    case move(RangeMove)
    /// Copies the replicated tables from `copyingFrom` (a participant) to `partitions`, which then
    /// take part in multi-partition transactions.
    case addParticipants([PartitionID], copyingFrom: PartitionID)

    /// The partitions whose sites the transaction stops.
    public var involved: [PartitionID] {
        switch self {
        case .move(let move): [move.source, move.destination]
        case .addParticipants(let partitions, let source): ([source] + partitions).sorted()
        }
    }
}

/// What a placement change did, as its result table reports it.
public struct PlacementOutcome: Sendable, Equatable {
    public var rows: Int
    /// The size of the rows as they travelled (their encoding), the rebalance's unit of pace.
    public var bytes: Int
    /// The change had already been made (a reissued step): nothing moved.
    public var alreadyDone: Bool

    static let columns = [ResultTable.Column("ROWS", .bigint), ResultTable.Column("BYTES", .bigint),
                          ResultTable.Column("ALREADY_DONE", .tinyint)]

    var table: ResultTable {
        ResultTable(columns: Self.columns, rows: [[.integer(Int64(rows)), .integer(Int64(bytes)), .integer(alreadyDone ? 1 : 0)]])
    }

    /// Reads the outcome back from a placement change's result.
    public init?(_ result: InvocationResult) {
        guard result.succeeded, let row = result.tables.first?.rows.first, row.count == 3,
              case .integer(let rows) = row[0], case .integer(let bytes) = row[1], case .integer(let done) = row[2] else { return nil }
        self.init(rows: Int(rows), bytes: Int(bytes), alreadyDone: done != 0)
    }

    public init(rows: Int, bytes: Int, alreadyDone: Bool) {
        self.rows = rows
        self.bytes = bytes
        self.alreadyDone = alreadyDone
    }
}

extension Engine {
    /// Runs `change` as a multi-partition transaction over its involved partitions only.
    public func changePlacement(_ change: PlacementChange, options: CallOptions = CallOptions(),
                                completion: @escaping @Sendable (InvocationResult) -> Void) {
        submitMulti(.placement(change), options: options, involved: change.involved, completion: completion)
    }

    /// A host that comes back to a cluster (a rejoin) takes the placement the cluster has now,
    /// before it loads any rows or serves any call: the ring and the participants for routing and
    /// multi-partition work, and each site's ownership. (Its engine started from the formation's
    /// ring, which an elastic join has changed since.) Blocks until every site has it.
    public func adoptPlacement(ring: HashRing, participants: [PartitionID]) {
        _ = onEverySite { partition, store in
            store.ownership = TokenOwnership(ring: ring, partition: partition)
        }
        updatePlacement { $0 = Placement(ring: ring, participants: participants.sorted()) }
        ringMoved.store(true, ordering: .relaxed)
    }

    /// Blocking form of `changePlacement`, for tests and tools.
    public func changePlacement(_ change: PlacementChange) -> InvocationResult {
        let result = OneShot<InvocationResult>()
        changePlacement(change) { result.set($0) }
        return result.wait()
    }

    /// The body of a placement change on the coordinator thread: the tables to answer with, and
    /// the placement to adopt once the transaction has committed (nil: unchanged).
    func runPlacementChange(_ change: PlacementChange, _ mp: CoordinatorContext) throws(SQLError) -> ([ResultTable], Placement?) {
        let current = Placement(ring: mp.ring, participants: mp.participants)
        switch change {
        case .move(let requested):
            guard mp.ring.isAligned(requested.range) else {
                throw SQLError(.internalError, "range move \(requested): the range does not lie on ring-entry boundaries")
            }
            let entries = mp.ring.entries(in: requested.range)
            let owners = Set(entries.map { mp.ring.owners[$0] })
            if owners == [requested.destination] {
                return ([PlacementOutcome(rows: 0, bytes: 0, alreadyDone: true).table], nil)
            }
            // A step reissued after a failover may be larger than the one that committed before
            // it: its start has moved already and the rest has not. Move the rest.
            guard let first = entries.first(where: { mp.ring.owners[$0] == requested.source }),
                  entries[first...].allSatisfy({ mp.ring.owners[$0] == requested.source }),
                  entries[..<first].allSatisfy({ mp.ring.owners[$0] == requested.destination }) else {
                throw SQLError(.internalError, "range move \(requested): the range belongs to partitions \(owners.sorted()), "
                    + "not the source (after a prefix moved to the destination)")
            }
            let move = RangeMove(range: TokenRange(start: Int64(mp.ring.tokens[first].rawValue), endExclusive: requested.range.endExclusive),
                                 source: requested.source, destination: requested.destination)
            let ring = mp.ring.applying(move)
            let out = try mp.runOnPartitions([move.source]) { store, log, _ throws(SQLError) in
                let extracted = try Self.takeRows(from: store, in: move.range, partitioned: true, log: log)
                store.changeOwnership(to: TokenOwnership(ring: ring, partition: move.source))
                return extracted
            }[0]
            let loaded = try mp.runOnPartitions([move.destination]) { store, log, _ throws(SQLError) in
                // Owned first, so that the storage guard takes the rows.
                store.changeOwnership(to: TokenOwnership(ring: ring, partition: move.destination))
                return try Self.putRows(out, into: store, range: move.range, log: log)
            }[0]
            try Self.expectSameRows(out, loaded, what: "range move \(move)")
            return ([Self.outcome(of: out).table], Placement(ring: ring, participants: current.participants))
        case .addParticipants(let partitions, let source):
            let adding = partitions.filter { !current.participants.contains($0) }
            if adding.isEmpty { return ([PlacementOutcome(rows: 0, bytes: 0, alreadyDone: true).table], nil) }
            guard current.participants.contains(source) else {
                throw SQLError(.internalError, "cannot copy the replicated tables from partition \(source.rawValue), which does not hold them")
            }
            let out = try mp.runOnPartitions([source]) { store, _, _ throws(SQLError) in
                try Self.takeRows(from: store, in: .all, partitioned: false, log: nil)
            }[0]
            let loaded = try mp.runOnPartitions(adding) { store, log, _ throws(SQLError) in
                try Self.putRows(out, into: store, range: .all, log: log)
            }
            for table in loaded { try Self.expectSameRows(out, table, what: "copy of the replicated tables") }
            return ([Self.outcome(of: out).table],
                    Placement(ring: current.ring, participants: (current.participants + adding).sorted()))
        }
    }

    // MARK: Fragments (on site threads)

    private static let rowsColumns = [ResultTable.Column("TABLE_NAME", .varchar), ResultTable.Column("ROWS", .varbinary),
                                      ResultTable.Column("ROW_COUNT", .bigint), ResultTable.Column("DIGEST", .bigint),
                                      ResultTable.Column("DIGEST2", .bigint), ResultTable.Column("BYTES", .bigint)]

    private static func checksumRow(_ name: String, _ payload: [UInt8], _ sum: RangeChecksum) -> [Value] {
        [.string(name), .bytes(payload), .integer(Int64(sum.rowCount)), .integer(Int64(bitPattern: sum.digest)),
         .integer(Int64(bitPattern: sum.digest2)), .integer(Int64(payload.count))]
    }

    /// A fragment result of a placement change as a host that loads none of its rows needs it:
    /// the counts and checksums (to reach the same commit decision) and the sizes, without the rows.
    /// Other results pass unchanged.
    static func withoutRows(_ table: ResultTable) -> ResultTable {
        guard table.columns == rowsColumns else { return table }
        return ResultTable(columns: table.columns, rows: table.rows.map { row in
            var row = row
            row[1] = .bytes([])
            return row
        })
    }

    /// One row per table of the kind asked for (partitioned or replicated), by name: its rows in
    /// `range` encoded exactly, their count and checksum. With a log, the rows are deleted too.
    static func takeRows(from store: PartitionStore, in range: TokenRange, partitioned: Bool,
                         log: WriteLog?) throws(SQLError) -> ResultTable {
        var out: [[Value]] = []
        for name in store.tableNames {
            let table = store.table(named: name)!
            guard (table.definition.partitionColumn != nil) == partitioned else { continue }
            let (rows, _) = table.rows(in: range, after: nil, maxRows: Int.max)
            let sum = table.checksum(in: range)
            guard sum.rowCount == rows.count else {
                throw SQLError(.internalError, "\(name) has \(rows.count) rows in \(range) but its checksum counts \(sum.rowCount)")
            }
            var w = WireWriter(reservingCapacity: 64 + rows.count * 64)
            ResultTable(columns: table.definition.columns.map { .init($0.name, $0.type) }, rows: rows).encodeExact(into: &w)
            if let log { table.deleteRows(in: range, log: log) }
            out.append(checksumRow(name, w.take(), sum))
        }
        return ResultTable(columns: rowsColumns, rows: out)
    }

    /// Loads what `takeRows` produced into the same tables here, which must hold no rows in
    /// `range` yet; answers with the same layout, payloads empty, checksums of what is there now.
    static func putRows(_ taken: ResultTable, into store: PartitionStore, range: TokenRange,
                        log: WriteLog) throws(SQLError) -> ResultTable {
        var out: [[Value]] = []
        for row in taken.rows {
            guard case .string(let name) = row[0], case .bytes(let payload) = row[1] else {
                throw SQLError(.internalError, "a placement change carried a malformed table row")
            }
            guard let table = store.table(named: name) else {
                throw SQLError(.internalError, "table \(name) does not exist on this partition; the schemas differ")
            }
            let before = table.rowCount(in: range)
            guard before == 0 else {
                throw SQLError(.internalError, "\(name) already holds \(before) rows in \(range) here; refusing to load a second copy")
            }
            var r = WireReader(payload)
            let rows: ResultTable
            do { rows = try ResultTable.decodeExact(from: &r) } catch {
                throw SQLError(.internalError, "the rows of \(name) do not decode: \(error)")
            }
            do { try table.bulkLoad(rows.rows, log: log) } catch {
                throw SQLError(.internalError, "loading \(rows.rows.count) rows of \(name) failed: \(error)")
            }
            out.append(checksumRow(name, [], table.checksum(in: range)))
        }
        return ResultTable(columns: rowsColumns, rows: out)
    }

    /// Every table's count and checksum in `loaded` equals the one in `taken`.
    private static func expectSameRows(_ taken: ResultTable, _ loaded: ResultTable, what: String) throws(SQLError) {
        func sums(_ t: ResultTable) -> [[Value]] { t.rows.map { [$0[0], $0[2], $0[3], $0[4]] } }
        guard sums(taken) == sums(loaded) else {
            throw SQLError(.internalError, "\(what): the destination's rows do not match the source's (counts and checksums "
                + "\(sums(loaded)) against \(sums(taken))); rolled back")
        }
    }

    private static func outcome(of taken: ResultTable) -> PlacementOutcome {
        var rows = 0, bytes = 0
        for row in taken.rows {
            if case .integer(let n) = row[2] { rows += Int(n) }
            if case .integer(let n) = row[5] { bytes += Int(n) }
        }
        return PlacementOutcome(rows: rows, bytes: bytes, alreadyDone: false)
    }
}

// MARK: Between hosts

extension PlacementChange {
    /// The internal procedure a cluster runs a placement change as: one VARBINARY parameter, the
    /// change's encoding. Hosts send it to each other; a client that calls it is refused.
    public static let procedureName = "@PlacementChange"

    /// [u8 kind] then, for a move, [i64 start][i64 end][i32 source][i32 destination]; for new
    /// participants, [i32 source][i32 count][i32 partition]...
    public func encoded() -> [UInt8] {
        var w = WireWriter(reservingCapacity: 32)
        switch self {
        case .move(let move):
            w.writeUInt8(1)
            w.writeInt64(move.range.start)
            w.writeInt64(move.range.endExclusive)
            w.writeInt32(move.source.rawValue)
            w.writeInt32(move.destination.rawValue)
        case .addParticipants(let partitions, let source):
            w.writeUInt8(2)
            w.writeInt32(source.rawValue)
            w.writeInt32(Int32(partitions.count))
            for p in partitions { w.writeInt32(p.rawValue) }
        }
        return w.take()
    }

    /// Reads `encoded()` back; anything else throws (never traps).
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = WireReader(bytes)
        switch try r.readUInt8("placement change kind") {
        case 1:
            let start = try r.readInt64("range start"), end = try r.readInt64("range end")
            let source = try r.readInt32("source"), destination = try r.readInt32("destination")
            guard start >= Int64(Int32.min), end <= Int64(Int32.max) + 1, start < end else {
                throw WireError.invalidValue("range", "[\(start), \(end))")
            }
            guard source != destination, source >= 0, destination >= 0 else {
                throw WireError.invalidValue("move", "\(source) to \(destination)")
            }
            self = .move(RangeMove(range: TokenRange(start: start, endExclusive: end), source: PartitionID(source),
                                   destination: PartitionID(destination)))
        case 2:
            let source = try r.readInt32("source")
            let count = try r.readInt32("partition count")
            guard source >= 0, count >= 0, Int(count) * 4 <= r.remaining else { throw WireError.invalidValue("partition count", "\(count)") }
            var partitions: [PartitionID] = []
            for _ in 0..<count {
                let p = try r.readInt32("partition")
                guard p >= 0 else { throw WireError.invalidValue("partition", "\(p)") }
                partitions.append(PartitionID(p))
            }
            self = .addParticipants(partitions, copyingFrom: PartitionID(source))
        case let kind:
            throw WireError.invalidValue("placement change kind", "\(kind)")
        }
        try r.expectEnd("placement change")
    }

    /// The partitions whose hosts load the rows this change carries (in its first exchange
    /// round, the source's rows); every other host needs only their counts and checksums.
    public var loadingPartitions: [PartitionID] {
        switch self {
        case .move(let move): [move.destination]
        case .addParticipants(let partitions, _): partitions
        }
    }

    /// The exchange round whose results carry the rows.
    public static let rowsRound = 1

    /// The cluster call that runs this change.
    public var invocation: Invocation {
        Invocation(procedure: Self.procedureName, handle: 0, parameters: [.byteArray(encoded())])
    }

    /// The change an invocation of `procedureName` carries, or nil.
    public init?(invocation: Invocation) {
        guard invocation.procedure.lowercased() == Self.procedureName.lowercased(), invocation.parameters.count == 1,
              case .byteArray(let bytes) = invocation.parameters[0], let change = try? PlacementChange(decoding: bytes) else { return nil }
        self = change
    }
}
