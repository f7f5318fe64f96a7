import Testing
import VoltCLI
import VoltClient
import VoltModel
import VoltWire

/// Answers calls from a closure and records them; no network.
final class ScriptedCaller: ProcedureCaller {
    var calls: [(String, [WireParameter])] = []
    let answer: (String, [WireParameter]) throws(ClientConnectionError) -> ClientResponse

    init(_ answer: @escaping (String, [WireParameter]) throws(ClientConnectionError) -> ClientResponse) {
        self.answer = answer
    }

    func invoke(_ procedure: String, _ parameters: [WireParameter]) throws(ClientConnectionError) -> ClientResponse {
        calls.append((procedure, parameters))
        return try answer(procedure, parameters)
    }
}

/// A session over `caller` whose output and errors are collected; the clock never moves.
final class SessionHarness {
    var out: [String] = []
    var err: [String] = []
    let caller: ScriptedCaller
    var session: SQLSession!

    init(format: TableFormat = .fixed, metadata: Bool = true, caller: ScriptedCaller) {
        self.caller = caller
        session = SQLSession(caller: caller, formatter: SQLResultFormatter(format: format, showsMetadata: metadata),
                             output: { [unowned self] in out.append($0) }, errorOutput: { [unowned self] in err.append($0) },
                             clockNanos: { 0 })
    }
}

@Suite struct SQLSessionBehaviour {
    static func adHocServer() -> ScriptedCaller {
        ScriptedCaller { procedure, parameters in
            guard procedure == "@AdHoc", case .value(.string(let sql), _) = parameters.first else {
                return Canned.failure(.unexpectedFailure, "Procedure \(procedure) was not found")
            }
            if sql.hasPrefix("SELECT") { return Canned.success([Canned.twoColumns]) }
            if sql.hasPrefix("INSERT") { return Canned.success([.modifiedTuples(1)]) }
            if sql.hasPrefix("CREATE") { return Canned.success([]) }
            return Canned.failure(.gracefulFailure, "Constraint violation: duplicate key")
        }
    }

    @Test func queriesDMLAndDDLPrintLikeSqlcmd() {
        let h = SessionHarness(caller: Self.adHocServer())
        let outcome = h.session.runScript("CREATE TABLE T (ID INTEGER); INSERT INTO T VALUES (1); SELECT * FROM T;", stopOnError: true)
        #expect(outcome == .init(statements: 3, failures: 0, connectionLost: nil, quit: false))
        #expect(h.out == [
            "Command succeeded.", "",
            "(Returned 1 rows in 0.00s)", "",
            "ID  NAME\n--  -----\n 1  alpha\n22  b, c\n\n(Returned 2 rows in 0.00s)",
        ])
        #expect(h.err.isEmpty)
    }

    @Test func anErrorStopsTheScriptByDefault() {
        let h = SessionHarness(caller: Self.adHocServer())
        let outcome = h.session.runScript("UPDATE T SET A = 1; SELECT 1;", stopOnError: true)
        #expect(outcome == .init(statements: 1, failures: 1, connectionLost: nil, quit: false))
        #expect(h.err == ["ERROR (GRACEFUL_FAILURE): Constraint violation: duplicate key"])
        #expect(h.out.isEmpty)
    }

    @Test func withoutStopOnErrorTheScriptContinues() {
        let h = SessionHarness(caller: Self.adHocServer())
        let outcome = h.session.runScript("UPDATE T SET A = 1; SELECT 1; exec; quit; SELECT 2;", stopOnError: false)
        #expect(outcome == .init(statements: 4, failures: 2, connectionLost: nil, quit: true))
        #expect(h.err == ["ERROR (GRACEFUL_FAILURE): Constraint violation: duplicate key",
                          "ERROR: exec needs a procedure name: exec PROCEDURE [arg, ...]"])
        #expect(h.out.count == 1)
    }

    @Test func aBrokenConnectionEndsTheScript() {
        let caller = ScriptedCaller { _, _ throws(ClientConnectionError) in throw .closedByPeer }
        let h = SessionHarness(caller: caller)
        let outcome = h.session.runScript("SELECT 1; SELECT 2;", stopOnError: false)
        #expect(outcome.connectionLost == "the server closed the connection")
        #expect(outcome.statements == 1)
    }

    @Test func execConvertsArgumentsToTheDeclaredTypes() {
        let caller = ScriptedCaller { procedure, _ in
            switch procedure {
            case "@SystemCatalog": Canned.success([Canned.procedureColumns])
            default: Canned.success([ResultTable(columns: [.init("SUM", .float)], rows: [[.float(3.5)]])])
            }
        }
        let h = SessionHarness(format: .csv, caller: caller)
        #expect(h.session.execute("exec Add 1, '2.5'") == .succeeded)
        #expect(h.caller.calls.map(\.0) == ["@SystemCatalog", "Add"])
        #expect(h.caller.calls[1].1 == [.tinyint(1), .float(2.5)])
        #expect(h.out == ["SUM\n3.5\n\n(Returned 1 rows in 0.00s)"])
        // Types are asked once per session.
        #expect(h.session.execute("exec Add 2 3") == .succeeded)
        #expect(h.caller.calls.map(\.0) == ["@SystemCatalog", "Add", "Add"])
        // A wrong count or a bad value is caught before sending.
        #expect(h.session.execute("exec Add 1") == .failed)
        #expect(h.session.execute("exec Add 1000, 1") == .failed)
        #expect(h.err == ["ERROR: procedure Add takes 2 parameters, got 1",
                          "ERROR: 1000 is out of range for TINYINT (-127...127)"])
        #expect(h.caller.calls.count == 3)
    }

    @Test func execFallsBackToNaturalTypes() {
        let caller = ScriptedCaller { procedure, _ in
            procedure == "@SystemCatalog" ? Canned.failure(.unexpectedFailure, "unknown selector")
                : Canned.success([.modifiedTuples(1)])
        }
        let h = SessionHarness(caller: caller)
        #expect(h.session.execute("exec STORE.upsert 'K1' X'00FF'") == .succeeded)
        #expect(h.caller.calls[1].1 == [.string("K1"), .varbinary([0, 255])])
        #expect(h.out == ["(Returned 1 rows in 0.00s)"])
    }

    @Test func showTablesAndDescribe() {
        let caller = ScriptedCaller { _, parameters in
            switch parameters.first {
            case .value(.string("TABLES"), _)?: Canned.success([Canned.catalogTables])
            case .value(.string("COLUMNS"), _)?: Canned.success([Canned.catalogColumns])
            default: Canned.failure(.gracefulFailure, "no")
            }
        }
        let h = SessionHarness(caller: caller)
        #expect(h.session.execute("show tables") == .succeeded)
        #expect(h.session.execute("describe store") == .succeeded)
        #expect(h.session.execute("describe nothing") == .failed)
        #expect(h.out[0] == """
            --- User Tables --------------------------------------------
            EMPTY_ONE
            REGIONS
            STORE

            --- User Views ---------------------------------------------

            --- User Export Streams ------------------------------------
            """)
        #expect(h.out[2] == """
            COLUMN  DATATYPE      SIZE  NULLABLE  REMARKS
            ------  ---------  -------  --------  ----------------
            KEY     VARCHAR        250  NO        PARTITION_COLUMN
            VALUE   VARBINARY  1048576  NO        NULL

            (Returned 2 rows in 0.00s)
            """)
        #expect(h.err == ["ERROR: table nothing does not exist"])
    }
}
