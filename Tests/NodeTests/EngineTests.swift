import Synchronization
import Testing
@testable import Node

/// Engine-level behaviour: routing, single- and multi-partition transactions, rollback on every
/// partition, schema changes as transactions, and determinism across two engines.
@Suite struct EngineTransactions {
    static let schema = """
        CREATE TABLE ACCOUNT (ID BIGINT NOT NULL, OWNER VARCHAR(32), BALANCE TINYINT NOT NULL, PRIMARY KEY (ID));
        PARTITION TABLE ACCOUNT ON COLUMN ID;
        CREATE TABLE COUNTRY (CODE VARCHAR(2) NOT NULL, NAME VARCHAR(64), PRIMARY KEY (CODE));
        CREATE PROCEDURE OPEN_TWO PARTITION ON TABLE ACCOUNT COLUMN ID PARAMETER 0 AS BEGIN
            INSERT INTO ACCOUNT VALUES (?, 'first', 0);
            INSERT INTO ACCOUNT VALUES (?, 'second', 0);
        END;
        CREATE PROCEDURE BUMP_ALL AS UPDATE ACCOUNT SET BALANCE = BALANCE + 1;
        """

    func makeEngine(sites: Int = 3) -> Engine {
        let engine = Engine(configuration: .init(sitesPerHost: sites))
        let r = engine.adHoc(Self.schema)
        #expect(r.succeeded, "schema: \(r.statusString ?? "")")
        return engine
    }

    @Test func singlePartitionCallsLandOnTheRingsPartition() throws {
        let engine = makeEngine()
        defer { engine.shutdown() }
        for id in 0..<60 {
            let r = engine.call("ACCOUNT.insert", [.integer(Int64(id)), .string("o\(id)"), .integer(0)])
            #expect(r.succeeded, "\(r.statusString ?? "")")
        }
        let counts = engine.onEverySite { partition, store in
            store.table(named: "ACCOUNT")!.rowCount
        }
        #expect(counts.reduce(0, +) == 60)
        let expected = engine.partitions.map { p in
            (0..<60).filter { engine.ring.partition(forKey: .integer(Int64($0)), type: .bigint) == p }.count
        }
        #expect(counts == expected)
        let one = engine.call("ACCOUNT.select", [.integer(7)])
        #expect(one.tables.first?.rows == [[.integer(7), .string("o7"), .integer(0)]])
        let count = engine.adHoc("SELECT COUNT(*) FROM ACCOUNT")
        #expect(count.tables.first?.scalar == .integer(60))
    }

    @Test func failedSinglePartitionProcedureLeavesNothingBehind() {
        let engine = makeEngine()
        defer { engine.shutdown() }
        // Same key twice: the second insert violates the primary key, so the first must roll back too.
        let r = engine.call("OPEN_TWO", [.integer(5), .integer(5)])
        #expect(r.status == .gracefulFailure)
        #expect(r.statusString?.contains("onstraint") == true, "\(r.statusString ?? "")")
        #expect(engine.adHoc("SELECT COUNT(*) FROM ACCOUNT").tables.first?.scalar == .integer(0))
    }

    @Test func aRowForAnotherPartitionIsRefusedAsMispartitioned() {
        let engine = makeEngine()
        defer { engine.shutdown() }
        // Find two keys on different partitions; routing by the first, inserting the second.
        let first = Int64(0)
        let home = engine.ring.partition(forKey: .integer(first), type: .bigint)
        let other = (Int64(1)...).first { engine.ring.partition(forKey: .integer($0), type: .bigint) != home }!
        let r = engine.call("OPEN_TWO", [.integer(first), .integer(other)])
        #expect(r.status == .gracefulFailure)
        #expect(r.statusString?.hasPrefix("Mispartitioned tuple") == true, "\(r.statusString ?? "")")
        #expect(engine.adHoc("SELECT COUNT(*) FROM ACCOUNT").tables.first?.scalar == .integer(0))
        let sameHome = ((other + 1)...).first { engine.ring.partition(forKey: .integer($0), type: .bigint) == home }!
        #expect(engine.call("OPEN_TWO", [.integer(first), .integer(sameHome)]).succeeded)
        #expect(engine.adHoc("SELECT COUNT(*) FROM ACCOUNT").tables.first?.scalar == .integer(2))
    }

    @Test func multiPartitionFailureOnOnePartitionRollsBackEveryPartition() {
        let engine = makeEngine()
        defer { engine.shutdown() }
        for id in 0..<30 {
            #expect(engine.call("ACCOUNT.insert", [.integer(Int64(id)), .null, .integer(id == 17 ? 127 : 1)]).succeeded)
        }
        let before = engine.onEverySite { _, store in store.table(named: "ACCOUNT")!.checksum() }
        // BALANCE is TINYINT: 127 + 1 overflows on exactly one partition.
        let r = engine.call("BUMP_ALL")
        #expect(r.status == .gracefulFailure, "\(r.statusString ?? "")")
        let after = engine.onEverySite { _, store in store.table(named: "ACCOUNT")!.checksum() }
        #expect(before == after)
        #expect(engine.adHoc("SELECT SUM(BALANCE) FROM ACCOUNT").tables.first?.scalar == .integer(29 + 127))
    }

    @Test func replicatedTablesAreCopiedToEverySite() {
        let engine = makeEngine()
        defer { engine.shutdown() }
        #expect(engine.call("COUNTRY.insert", [.string("NO"), .string("Norway")]).succeeded)
        #expect(engine.call("COUNTRY.insert", [.string("SE"), .string("Sweden")]).succeeded)
        let dup = engine.call("COUNTRY.insert", [.string("SE"), .string("again")])
        #expect(dup.status == .gracefulFailure)
        let counts = engine.onEverySite { _, store in store.table(named: "COUNTRY")!.rowCount }
        #expect(counts == [2, 2, 2])
        let r = engine.adHoc("SELECT NAME FROM COUNTRY ORDER BY CODE")
        #expect(r.tables.first?.rows == [[.string("Norway")], [.string("Sweden")]])
    }

    @Test func schemaChangesAreTransactionsThatBumpTheCatalogVersion() {
        let engine = makeEngine()
        defer { engine.shutdown() }
        let v0 = engine.catalog.version
        #expect(engine.adHoc("CREATE TABLE T (A INTEGER NOT NULL, B INTEGER);").succeeded)
        #expect(engine.catalog.version == v0 + 1)
        #expect(engine.call("T.insert", [.integer(1), .integer(2)]).succeeded)
        #expect(engine.call("T.insert", [.integer(1), .integer(2)]).succeeded)
        // A unique index over duplicate rows fails on the site(s) holding them; nothing changes anywhere.
        let bad = engine.adHoc("CREATE UNIQUE INDEX T_A ON T (A);")
        #expect(!bad.succeeded)
        #expect(engine.catalog.version == v0 + 1)
        let indexes = engine.onEverySite { _, store in store.table(named: "T")!.indexes.map(\.name) }
        #expect(indexes.allSatisfy { !$0.contains("T_A") })
        #expect(engine.adHoc("DROP TABLE T;").succeeded)
        #expect(engine.call("T.insert", [.integer(1), .integer(2)]).status == .unexpectedFailure)
        let mixed = engine.adHoc("CREATE TABLE U (A INTEGER); SELECT * FROM ACCOUNT;")
        #expect(mixed.status == .gracefulFailure)
    }

    @Test func unknownProcedureAndWrongParameterCount() {
        let engine = makeEngine()
        defer { engine.shutdown() }
        let r = engine.call("NOPE", [])
        #expect(r.status == .unexpectedFailure)
        #expect(r.statusString == "Procedure NOPE was not found")
        let w = engine.call("ACCOUNT.insert", [.integer(1)])
        #expect(w.status == .gracefulFailure)
        #expect(w.statusString?.contains("EXPECTS 3 PARAMS") == true)
    }
}

/// Two engines fed the same invocations in the same order end in byte-identical state and report
/// the same determinism hash for every transaction, whatever the mix of single- and
/// multi-partition work and failures.
@Suite struct EngineDeterminism {
    @Test(arguments: [1, 2, 3, 4, 5])
    func randomInterleavingsGiveIdenticalReplicas(seed: UInt64) {
        let engines = (0..<2).map { _ in
            let tick = Atomic<Int64>(1_700_000_000_000_000)
            return Engine(configuration: .init(sitesPerHost: 3, clock: { tick.add(1000, ordering: .relaxed).newValue }))
        }
        defer { for e in engines { e.shutdown() } }
        for e in engines { #expect(e.adHoc(EngineTransactions.schema).succeeded) }

        var rng = SplitMix64(seed: seed)
        var script: [(String, [Value])] = []
        for _ in 0..<400 {
            let id = Value.integer(Int64(rng.next() % 50))
            switch rng.next() % 7 {
            case 0, 1: script.append(("ACCOUNT.upsert", [id, .string("u\(rng.next() % 9)"), .integer(Int64(rng.next() % 120))]))
            case 2: script.append(("ACCOUNT.insert", [id, .null, .integer(1)]))      // fails when the key exists
            case 3: script.append(("ACCOUNT.delete", [id]))
            case 4: script.append(("BUMP_ALL", []))                                  // fails once a balance reaches 127
            case 5: script.append(("COUNTRY.upsert", [.string("C\(rng.next() % 5)"), .string("n\(rng.next() % 100)")]))
            default: script.append(("OPEN_TWO", [id, .integer(Int64(rng.next() % 50))]))
            }
        }
        // Each engine gets the whole script from one thread, without waiting between calls, so the
        // sites interleave single- and multi-partition work as fast as they can.
        var outcomes: [[Int64: (ClientStatus, UInt64)]] = []
        for engine in engines {
            let results = Mutex<[Int64: (ClientStatus, UInt64)]>([:])
            let pending = Atomic<Int>(script.count)
            let done = OneShot<Bool>()
            for (name, params) in script {
                engine.invoke(name, params) { r in
                    results.withLock { $0[r.transactionID] = (r.status, r.determinismHash) }
                    if pending.wrappingSubtract(1, ordering: .acquiringAndReleasing).oldValue == 1 { done.set(true) }
                }
            }
            _ = done.wait()
            outcomes.append(results.withLock { $0 })
        }
        // Transaction ids are assigned per engine in submission order, so they line up.
        let ids0 = outcomes[0].keys.sorted()
        let ids1 = outcomes[1].keys.sorted()
        #expect(ids0.count == script.count)
        let base0 = ids0.first ?? 0, base1 = ids1.first ?? 0
        for (a, b) in zip(ids0, ids1) {
            #expect(a - base0 == b - base1)
            #expect(outcomes[0][a]!.0 == outcomes[1][b]!.0)
            #expect(outcomes[0][a]!.1 == outcomes[1][b]!.1, "determinism hash differs at step \(a - base0)")
        }
        let states = engines.map { e in e.onEverySite { _, store in store.checksum() } }
        #expect(states[0] == states[1])
        #expect(Set(outcomes[0].values.map(\.0)).count > 1, "the script should include failures")
    }
}

/// The README's engine example, kept true by running it.
@Suite struct ReadmeExample {
    @Test func engineExampleFromTheReadme() {
        let engine = Engine(configuration: .init(sitesPerHost: 2))
        defer { engine.shutdown() }
        let ddl = engine.adHoc("""
            CREATE TABLE KV (K VARCHAR(64) NOT NULL, V VARBINARY(1024), PRIMARY KEY (K));
            PARTITION TABLE KV ON COLUMN K;
            CREATE PROCEDURE GET_V PARTITION ON TABLE KV COLUMN K AS SELECT V FROM KV WHERE K = ?;
            """)
        #expect(ddl.succeeded, "\(ddl.statusString ?? "")")
        #expect(engine.call("KV.upsert", [.string("a"), .bytes([1, 2, 3])]).succeeded)
        #expect(engine.call("GET_V", [.string("a")]).tables.first?.rows == [[.bytes([1, 2, 3])]])
        #expect(engine.adHoc("SELECT COUNT(*) FROM KV").tables.first?.scalar == .integer(1))
    }
}

/// System work (bulk loads and the like) runs as real transactions.
@Suite struct EngineSystemWork {
    @Test func singlePartitionWorkRollsBackOnError() {
        let engine = Engine(configuration: .init(sitesPerHost: 2))
        defer { engine.shutdown() }
        #expect(engine.adHoc("CREATE TABLE R (A INTEGER NOT NULL PRIMARY KEY);").succeeded)
        let p = engine.partitions[1]
        let outcome = OneShot<InvocationResult>()
        engine.runSinglePartition(on: p, { store, log, _ throws(SQLError) in
            let t = store.table(named: "R")!
            do throws(StorageError) {
                try t.insert([.integer(1)], log: log)
                try t.insert([.integer(1)], log: log)
            } catch { throw SQLError(storage: error) }
            return []
        }, completion: { outcome.set($0) })
        let r = outcome.wait()
        #expect(r.status == .gracefulFailure)
        #expect(engine.onEverySite { _, store in store.table(named: "R")!.rowCount } == [0, 0])
    }

    @Test func multiPartitionWorkReachesEverySite() {
        let engine = Engine(configuration: .init(sitesPerHost: 3))
        defer { engine.shutdown() }
        #expect(engine.adHoc("CREATE TABLE R (A INTEGER NOT NULL PRIMARY KEY);").succeeded)
        let outcome = OneShot<InvocationResult>()
        engine.runMultiPartition({ mp, _ throws(SQLError) in
            let counts = try mp.runOnEveryPartition { store, log, _ throws(SQLError) in
                do throws(StorageError) { try store.table(named: "R")!.insert([.integer(7)], log: log) } catch { throw SQLError(storage: error) }
                return .modifiedTuples(1)
            }
            return [.modifiedTuples(Int64(counts.count))]
        }, completion: { outcome.set($0) })
        #expect(outcome.wait().tables.first?.scalar == .integer(3))
        #expect(engine.onEverySite { _, store in store.table(named: "R")!.rowCount } == [1, 1, 1])
    }
}

/// An @AdHoc batch is one transaction: all its statements or none.
@Suite struct AdHocBatches {
    @Test(arguments: ["ACCOUNT", "COUNTRY"])
    func aFailingStatementRollsBackTheWholeBatch(table: String) {
        let engine = Engine(configuration: .init(sitesPerHost: 3))
        defer { engine.shutdown() }
        #expect(engine.adHoc(EngineTransactions.schema).succeeded)
        let row: (Int) -> String = { table == "ACCOUNT" ? "(\($0), 'o', 1)" : "('C\($0)', 'n')" }
        #expect(engine.adHoc("INSERT INTO \(table) VALUES \(row(1));").succeeded)
        let r = engine.adHoc("INSERT INTO \(table) VALUES \(row(2)); INSERT INTO \(table) VALUES \(row(1));")
        #expect(r.status == .gracefulFailure, "\(r.statusString ?? "")")
        #expect(engine.adHoc("SELECT COUNT(*) FROM \(table)").tables.first?.scalar == .integer(1))
        let ok = engine.adHoc("INSERT INTO \(table) VALUES \(row(2)); INSERT INTO \(table) VALUES \(row(3)); SELECT COUNT(*) FROM \(table);")
        #expect(ok.succeeded)
        #expect(ok.tables.count == 3)
        #expect(ok.tables.last?.scalar == .integer(3))
    }

    @Test func aBatchPinnedToOnePartitionIsOneSinglePartitionTransaction() {
        let engine = Engine(configuration: .init(sitesPerHost: 3))
        defer { engine.shutdown() }
        #expect(engine.adHoc(EngineTransactions.schema).succeeded)
        let r = engine.adHoc("INSERT INTO ACCOUNT VALUES (4, 'a', 1); UPDATE ACCOUNT SET BALANCE = 2 WHERE ID = 4; SELECT BALANCE FROM ACCOUNT WHERE ID = 4;")
        #expect(r.succeeded, "\(r.statusString ?? "")")
        #expect(r.tables.last?.rows == [[.integer(2)]])
    }
}

/// Shutdown does not wait for a backlog: queued calls are answered, not run.
@Suite struct EngineShutdown {
    @Test func queuedWorkIsAnsweredServerUnavailableAtShutdown() {
        let engine = Engine(configuration: .init(sitesPerHost: 2))
        #expect(engine.adHoc("CREATE TABLE R (A INTEGER NOT NULL PRIMARY KEY); PARTITION TABLE R ON COLUMN A;").succeeded)
        let statuses = Mutex<[ClientStatus]>([])
        let count = 20_000
        for i in 0..<count {
            engine.invoke("R.insert", [.integer(Int64(i))]) { r in statuses.withLock { $0.append(r.status) } }
        }
        engine.shutdown()
        let seen = statuses.withLock { $0 }
        #expect(seen.count == count, "every call is answered exactly once")
        #expect(Set(seen).isSubset(of: [.success, .serverUnavailable]))
    }
}
