import Testing
@testable import Node

@Suite struct SQLParserTests {
    @Test func keywordsAreCaseInsensitiveAndIdentifiersUpperCased() throws {
        let s = try Parser.parse("select a, \"MixedCase\" from t where b = 'It''s' -- comment\n /* block */")
        guard case .select(let q) = s else { Issue.record("not a select"); return }
        #expect(q.from.map(\.name) == ["T"])
        #expect(q.items.count == 2)
        if case .expr(let e, _) = q.items[1].kind { #expect(e.description == "MixedCase") }
        #expect(q.whereClause?.description == "(B = 'It's')")
    }

    @Test func numericLiterals() throws {
        guard case .select(let q) = try Parser.parse("SELECT 12, 1.50, 2e3, -7, X'0aFF' FROM t") else { return }
        let values: [String] = q.items.compactMap { if case .expr(let e, _) = $0.kind { e.description } else { nil } }
        #expect(values == ["12", "1.500000000000", "2000.0", "-7", "X'0AFF'"])
    }

    @Test func parametersAreNumberedInOrder() throws {
        let (s, n) = try Parser.parseCountingParameters("UPDATE t SET a = ? WHERE b = ? AND c IN (?, ?)")
        #expect(n == 4)
        guard case .update(let u) = s else { return }
        #expect(u.whereClause?.description == "((B = ?1) AND (C IN (?2, ?3)))")
    }

    @Test func precedence() throws {
        guard case .select(let q) = try Parser.parse("SELECT 1 + 2 * 3 - 4 FROM t WHERE NOT a = 1 OR b < 2 AND c IS NOT NULL") else { return }
        if case .expr(let e, _) = q.items[0].kind { #expect(e.description == "((1 + (2 * 3)) - 4)") }
        #expect(q.whereClause?.description == "((NOT (A = 1)) OR ((B < 2) AND (C IS NOT NULL)))")
    }

    @Test func syntaxErrorNamesTokenPositionAndExpectation() {
        #expect(throws: SQLError(.syntax, "unexpected token 'FORM' at line 1, column 10; expected FROM", position: (1, 10))) {
            try Parser.parse("SELECT a FORM t")
        }
        do {
            _ = try Parser.parse("SELECT a\nFROM t\nWHERE a = = 3")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.line == 3 && error.column == 11)
        }
    }

    @Test func unterminatedStringIsASyntaxError() {
        #expect(throws: SQLError.self) { try Parser.parse("SELECT 'abc FROM t") }
    }

    @Test func createTableWithConstraints() throws {
        let sql = """
            CREATE TABLE kv (k VARCHAR(32 BYTES) NOT NULL, v VARBINARY(100), n INT DEFAULT 5 UNIQUE,
              CONSTRAINT pk PRIMARY KEY (k), LIMIT PARTITION ROWS 100)
            """
        guard case .createTable(let t) = try Parser.parse(sql) else { Issue.record("not create table"); return }
        #expect(t.name == "KV")
        #expect(t.columns.map(\.name) == ["K", "V", "N"])
        #expect(t.columns[0].type.inBytes && t.columns[0].type.length == 32 && t.columns[0].notNull)
        #expect(t.columns[2].unique)
        #expect(t.constraints.first?.name == "PK")
        #expect(t.limitPartitionRows == 100)
    }

    @Test func createProcedureBlockKeepsStatements() throws {
        let sql = "CREATE PROCEDURE p PARTITION ON TABLE t COLUMN k PARAMETER 1 AS BEGIN SELECT CASE WHEN a = 1 THEN 2 END FROM t WHERE k = ?; DELETE FROM t WHERE k = ?; END"
        guard case .createProcedure(let p) = try Parser.parse(sql) else { Issue.record("not a procedure"); return }
        #expect(p.name == "p")
        #expect(p.partition?.parameter == 1)
        #expect(p.body == ["SELECT CASE WHEN a = 1 THEN 2 END FROM t WHERE k = ?", "DELETE FROM t WHERE k = ?"])
    }

    @Test func scriptSplitting() {
        let script = """
            CREATE TABLE t (a INT); -- first
            INSERT INTO t VALUES (';');
            CREATE PROCEDURE p AS BEGIN SELECT CASE WHEN a = 1 THEN 1 END FROM t; DELETE FROM t; END;
            /* trailing */
            """
        let parts = SQLScript.split(script)
        #expect(parts.count == 3)
        #expect(parts[1] == "INSERT INTO t VALUES (';')")
        #expect(parts[2].hasSuffix("END"))
        #expect(SQLScript.isDDL(parts[0]) && !SQLScript.isDDL(parts[1]) && SQLScript.isDDL(parts[2]))
    }

    @Test func outerJoinsAreRejectedClearly() {
        #expect(throws: SQLError.self) { try Parser.parse("SELECT * FROM a LEFT JOIN b ON a.x = b.x") }
    }
}
