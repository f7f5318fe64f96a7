import Testing
import VoltClient

@Suite struct SQLStatementSplitterTests {
    @Test func splitsAtTopLevelSemicolons() {
        #expect(SQLStatementSplitter.split("SELECT 1; SELECT 2;") == ["SELECT 1", "SELECT 2"])
    }

    @Test func keepsALastStatementWithoutSemicolon() {
        #expect(SQLStatementSplitter.split("SELECT 1;\n  SELECT 2  \n") == ["SELECT 1", "SELECT 2"])
    }

    @Test func skipsEmptyStatements() {
        #expect(SQLStatementSplitter.split(";;  ;\nSELECT 1;;") == ["SELECT 1"])
    }

    @Test func semicolonsInsideQuotesDoNotSplit() {
        let text = "INSERT INTO T VALUES ('a;b', 'it''s; fine'); SELECT \"odd;name\" FROM T;"
        #expect(SQLStatementSplitter.split(text) == [
            "INSERT INTO T VALUES ('a;b', 'it''s; fine')",
            "SELECT \"odd;name\" FROM T",
        ])
    }

    @Test func commentsAreDroppedAndHideSemicolonsAndQuotes() {
        let text = """
            -- leading comment; with 'quote
            SELECT 1 -- trailing; comment
            ; /* block; 'quote */ SELECT /* inline */ 2;
            """
        #expect(SQLStatementSplitter.split(text) == ["SELECT 1", "SELECT   2"])
    }

    @Test func dashesInsideStringsAreNotComments() {
        #expect(SQLStatementSplitter.split("SELECT '--not a comment' FROM T; SELECT 2 - -1;")
            == ["SELECT '--not a comment' FROM T", "SELECT 2 - -1"])
    }

    @Test func procedureBodyIsOneStatement() {
        let text = """
            CREATE PROCEDURE P AS BEGIN
              SELECT CASE WHEN A > 0 THEN 1 ELSE 0 END FROM T;
              UPDATE T SET A = 0;
            END;
            SELECT 3;
            """
        let statements = SQLStatementSplitter.split(text)
        #expect(statements.count == 2)
        #expect(statements[0].hasPrefix("CREATE PROCEDURE P AS BEGIN"))
        #expect(statements[0].hasSuffix("END"))
        #expect(statements[0].contains("UPDATE T SET A = 0;"))
        #expect(statements[1] == "SELECT 3")
    }

    @Test func partitionedProcedureWithLowerCaseKeywords() {
        let text = "create procedure p partition on table t column k as begin select 1; select 2; end; select 4;"
        #expect(SQLStatementSplitter.split(text) == [
            "create procedure p partition on table t column k as begin select 1; select 2; end",
            "select 4",
        ])
    }

    @Test func singleStatementProcedureWithoutBeginSplitsNormally() {
        #expect(SQLStatementSplitter.split("CREATE PROCEDURE P AS SELECT * FROM T; SELECT 1;")
            == ["CREATE PROCEDURE P AS SELECT * FROM T", "SELECT 1"])
    }

    @Test func beginOutsideAProcedureDoesNotGroup() {
        #expect(SQLStatementSplitter.split("SELECT begin_at AS begin FROM T; SELECT 2;")
            == ["SELECT begin_at AS begin FROM T", "SELECT 2"])
    }

    @Test func feedingLineByLineGivesTheSameStatements() {
        var splitter = SQLStatementSplitter()
        #expect(splitter.feed("SELECT 'a\n") == [])
        #expect(splitter.hasPendingText)
        #expect(splitter.feed("b;c' FROM T\n") == [])
        #expect(splitter.feed("-- note; here\n") == [])
        #expect(splitter.feed("; SELECT 2") == ["SELECT 'a\nb;c' FROM T"])
        #expect(splitter.finish() == "SELECT 2")
        #expect(!splitter.hasPendingText)
    }

    @Test func characterNeedingLookaheadIsHeldAcrossFeeds() {
        var splitter = SQLStatementSplitter()
        #expect(splitter.feed("SELECT 1 -") == [])
        #expect(splitter.feed("- note; more\n;") == ["SELECT 1"])
        #expect(splitter.feed("SELECT 'it'") == [])
        #expect(splitter.feed("'s';") == ["SELECT 'it''s'"])
    }

    @Test func blankInputHasNothingPending() {
        var splitter = SQLStatementSplitter()
        #expect(splitter.feed("  \n-- only a comment\n") == [])
        #expect(!splitter.hasPendingText)
        #expect(splitter.finish() == nil)
    }
}
