import Testing
import VoltClient

@Suite struct SQLStatementSplitterTests {
    @Test func splitsAtTopLevelSemicolons() {
        #expect(SQLStatementSplitter.split("SELECT 1; SELECT 2;") == ["SELECT 1", "SELECT 2"])
    }
}
