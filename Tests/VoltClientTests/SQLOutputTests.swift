import Testing
import VoltCLI
import VoltClient
import VoltModel

@Suite struct SQLValueRendering {
    @Test func eachTypeReadsLikeSqlcmd() {
        #expect(SQLValueText.render(.null) == "NULL")
        #expect(SQLValueText.render(.integer(-42)) == "-42")
        #expect(SQLValueText.render(.float(1.5)) == "1.5")
        #expect(SQLValueText.render(.decimal(VoltDecimal(string: "-3.25")!)) == "-3.250000000000")
        #expect(SQLValueText.render(.string("héllo")) == "héllo")
        #expect(SQLValueText.render(.bytes([0x00, 0xAB, 0x0F])) == "00AB0F")
        #expect(SQLValueText.render(.timestamp(1_704_164_645_000_123)) == "2024-01-02 03:04:05.000123")
    }

    @Test func timestampsBeforeTheEpochAndRoundTrips() {
        #expect(SQLTimestamp.text(micros: -1) == "1969-12-31 23:59:59.999999")
        #expect(SQLTimestamp.text(micros: 0) == "1970-01-01 00:00:00.000000")
        for micros: Int64 in [0, -1, 951_782_400_000_000, 4_102_444_800_123_456, -2_208_988_800_000_000] {
            #expect(SQLTimestamp.micros(parsing: SQLTimestamp.text(micros: micros)) == micros)
        }
        #expect(SQLTimestamp.micros(parsing: "2000-02-29") == 951_782_400_000_000)
        #expect(SQLTimestamp.micros(parsing: "2001-02-29") == nil)
        #expect(SQLTimestamp.micros(parsing: "2024-01-02T03:04:05") == 1_704_164_645_000_000)
        #expect(SQLTimestamp.micros(parsing: "2024-01-02 25:00:00") == nil)
        #expect(SQLTimestamp.micros(parsing: "2024-01-02 03:04:05.1234567") == nil)
    }
}

@Suite struct SQLResultFormatting {
    static let table = ResultTable(
        columns: [.init("ID", .integer), .init("NAME", .varchar), .init("PRICE", .decimal), .init("", .bigint)],
        rows: [
            [.integer(1), .string("alpha"), .decimal(VoltDecimal(string: "2.5")!), .integer(7)],
            [.integer(22), .string("b, \"c\""), .null, .null],
        ])

    @Test func fixedWithHeaderRuleAndFooter() {
        let text = SQLResultFormatter(format: .fixed).render(Self.table, elapsedSeconds: 0.0123)
        #expect(text == """
            ID  NAME             PRICE    C4
            --  ------  --------------  ----
             1  alpha   2.500000000000     7
            22  b, "c"            NULL  NULL

            (Returned 2 rows in 0.01s)
            """)
    }

    @Test func csvQuotesAndKeepsTheFooter() {
        let text = SQLResultFormatter(format: .csv).render(Self.table, elapsedSeconds: 1)
        #expect(text == "ID,NAME,PRICE,C4\n1,alpha,2.500000000000,7\n22,\"b, \"\"c\"\"\",NULL,NULL\n\n(Returned 2 rows in 1.00s)")
    }

    @Test func tabWithoutMetadataIsDataOnly() {
        let text = SQLResultFormatter(format: .tab, showsMetadata: false).render(Self.table, elapsedSeconds: 1)
        #expect(text == "1\talpha\t2.500000000000\t7\n22\tb, \"c\"\tNULL\tNULL")
    }

    @Test func fixedWithoutMetadataHasNoHeader() {
        let text = SQLResultFormatter(format: .fixed, showsMetadata: false).render(Self.table, elapsedSeconds: 1)
        #expect(text == " 1  alpha   2.500000000000     7\n22  b, \"c\"            NULL  NULL")
    }

    @Test func varcharOfDigitsStaysLeftAligned() {
        let table = ResultTable(columns: [.init("CODE", .varchar)], rows: [[.string("7")], [.string("123")]])
        #expect(SQLResultFormatter(format: .fixed, showsMetadata: false).render(table, elapsedSeconds: 0) == "7\n123")
    }

    @Test func modifiedTuplesIsRecognised() {
        #expect(SQLResultFormatter.modifiedTuples(.modifiedTuples(3)) == 3)
        #expect(SQLResultFormatter.modifiedTuples(ResultTable(columns: [.init("", .bigint)], rows: [[.integer(1)]])) == 1)
        #expect(SQLResultFormatter.modifiedTuples(ResultTable(columns: [.init("C1", .bigint)], rows: [[.integer(1)]])) == nil)
        #expect(SQLResultFormatter(format: .fixed).renderModifiedCount(3, elapsedSeconds: 0) == "(Returned 3 rows in 0.00s)")
        #expect(SQLResultFormatter(format: .fixed, showsMetadata: false).renderModifiedCount(3, elapsedSeconds: 0) == nil)
    }

    @Test func errorLines() {
        #expect(SQLResultFormatter.errorLine(statusCode: -2, message: "Constraint violation: dup")
            == "ERROR (GRACEFUL_FAILURE): Constraint violation: dup")
        #expect(SQLResultFormatter.errorLine(statusCode: -42, message: nil) == "ERROR (status -42): (no message)")
    }
}
