import Testing
import VoltCLI

@Suite struct TableRendererFixed {
    static let table = TextTable(
        headers: ["NAME", "ROWS", "RATIO", "NOTE"],
        rows: [
            ["alpha", "1", "0.5", "first"],
            ["b", "123456", "NULL", ""],
            ["gamma", "-7", "12.25", "x"],
        ])

    @Test func numericColumnsAlignRightAndTextLeft() {
        let expected = """
            NAME     ROWS  RATIO  NOTE
            -----  ------  -----  -----
            alpha       1    0.5  first
            b      123456   NULL
            gamma      -7  12.25  x
            """
        #expect(TableRenderer(format: .fixed).render(Self.table) == expected)
    }

    @Test func noLineEndsInBlanks() {
        let text = TableRenderer(format: .fixed).render(Self.table)
        #expect(text.split(separator: "\n").allSatisfy { $0.last != " " })
    }

    @Test func explicitAlignmentOverridesTheGuess() {
        let table = TextTable(
            columns: [.init("id", alignment: .left), .init("name", alignment: .right)],
            rows: [["1", "a"], ["22", "bbb"]])
        let expected = """
            id  name
            --  ----
            1      a
            22   bbb
            """
        #expect(TableRenderer().render(table) == expected)
    }

    @Test func withoutHeaderOnlyRowsAreWrittenAndWidthsComeFromTheCells() {
        let table = TextTable(headers: ["long header", "n"], rows: [["a", "1"], ["bb", "10"]])
        let renderer = TableRenderer(format: .fixed, includesHeader: false)
        #expect(renderer.render(table) == "a    1\nbb  10")
    }

    @Test func controlCharactersInCellsAreShownEscaped() {
        let table = TextTable(headers: ["text"], rows: [["a\nb"]])
        #expect(TableRenderer().render(table) == "text\n----\na\\nb")
    }

    @Test func anEmptyTableIsItsHeader() {
        let table = TextTable(headers: ["a", "bb"])
        #expect(TableRenderer().render(table) == "a  bb\n-  --")
    }

    @Test func aColumnOfOnlyNullsIsLeftAligned() {
        let table = TextTable(headers: ["value"], rows: [["NULL"], [""]])
        #expect(TableRenderer().render(table) == "value\n-----\nNULL\n")
    }
}

@Suite struct TableRendererCSV {
    @Test func plainCellsAreWrittenAsIs() {
        let table = TextTable(headers: ["a", "b"], rows: [["1", "x y"]])
        #expect(TableRenderer(format: .csv).render(table) == "a,b\n1,x y")
    }

    @Test func cellsThatNeedItAreQuotedWithQuotesDoubled() {
        let table = TextTable(
            headers: ["v"],
            rows: [["a,b"], [#"say "hi""#], ["line\nbreak"], ["cr\rhere"], [" padded "], [""]])
        let expected = """
            v
            "a,b"
            "say ""hi\"\"\"
            "line
            break"
            "cr\rhere"
            " padded "

            """
        #expect(TableRenderer(format: .csv).render(table) == expected)
    }

    @Test func headerCanBeLeftOut() {
        let table = TextTable(headers: ["a"], rows: [["1"], ["2"]])
        #expect(TableRenderer(format: .csv, includesHeader: false).render(table) == "1\n2")
    }
}

@Suite struct TableRendererTab {
    @Test func cellsAreTabSeparated() {
        let table = TextTable(headers: ["a", "b"], rows: [["1", "x y"], ["", "z"]])
        #expect(TableRenderer(format: .tab).render(table) == "a\tb\n1\tx y\n\tz")
    }

    @Test func tabsLineBreaksAndBackslashesAreEscapedSoEachRowIsOneLine() {
        let table = TextTable(headers: ["v"], rows: [["a\tb\nc\rd\\e"]])
        #expect(TableRenderer(format: .tab).render(table) == "v\na\\tb\\nc\\rd\\\\e")
    }

    @Test func formatsAreNamedAsTheSQLCommandSpellsThem() {
        #expect(TableFormat.allCases.map(\.rawValue) == ["fixed", "csv", "tab"])
        #expect(TableFormat(rawValue: "csv") == .csv)
    }
}
