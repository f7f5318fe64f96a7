import Testing
import VoltCLI

@Suite struct HelpFormatterSnapshots {
    static let restore = Command(
        name: "restore",
        abstract: "Restore a snapshot into a running cluster",
        discussion: """
            Reads every table of the snapshot named by --nonce from --dir and loads it through \
            the current hash ring, so a snapshot taken on a cluster of another size restores \
            correctly: each row is re-hashed to the partition that owns it now.

            Example:
              voltctl restore --dir /var/voltdb/snapshots --nonce nightly
            """,
        options: [
            .value(
                "dir", valueName: "path", required: true, help: "Directory holding the snapshot."),
            .value("nonce", short: "n", valueName: "name", required: true, help: "Snapshot name."),
            .value(
                "host", short: "H", valueName: "host:port", default: "localhost:21211",
                repeatable: true,
                help: "A host of the cluster to restore into; any live host will do, and the"
                    + " others are found from its topology. Give several to survive one being"
                    + " down while the restore starts."),
            .value("threads", valueName: "count", default: "4", help: "Parallel loaders."),
            .value(
                "a-very-long-option-name-indeed", valueName: "value",
                help: "An option whose name is wider than the label column."),
            .flag("skip-missing", help: "Skip tables the schema no longer has."),
        ],
        arguments: [
            Argument("tables", help: "Only these tables.", isRequired: false, isVariadic: true)
        ])

    @Test func leafCommand() {
        let text = HelpFormatter().render(Self.restore, path: ["voltctl", "restore"])
        let expected = """
            Usage: voltctl restore --dir <path> --nonce <name> [options] [<tables>...]

            Restore a snapshot into a running cluster

            Reads every table of the snapshot named by --nonce from --dir and loads it through the current hash
            ring, so a snapshot taken on a cluster of another size restores correctly: each row is re-hashed to
            the partition that owns it now.

            Example:
              voltctl restore --dir /var/voltdb/snapshots --nonce nightly

            Arguments:
              [<tables>...]  Only these tables.

            Options:
                  --dir <path>        Directory holding the snapshot. (required)
              -n, --nonce <name>      Snapshot name. (required)
              -H, --host <host:port>  A host of the cluster to restore into; any live host will do, and the
                                      others are found from its topology. Give several to survive one being down
                                      while the restore starts. (default: localhost:21211) (may be repeated)
                  --threads <count>   Parallel loaders. (default: 4)
                  --a-very-long-option-name-indeed <value>
                                      An option whose name is wider than the label column.
                  --skip-missing      Skip tables the schema no longer has.
              -h, --help              Show help for this command.
            """
        #expect(text == expected)
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }

    @Test func rootGroupListsItsCommandsAndTheHelpVerb() {
        let text = HelpFormatter().render(sampleTool, path: ["tool"])
        let expected = """
            Usage: tool <command>

            Exercise the parser

            Commands:
              load   Load files into a table
              group  A nested group
              help   Show help for a command

            Options:
              -h, --help  Show help for this command.

            Run 'tool help <command>' or 'tool <command> --help' for more about a command.
            """
        #expect(text == expected)
    }

    @Test func nestedGroupHasNoHelpVerb() {
        let text = HelpFormatter().render(sampleTool.subcommands[1], path: ["tool", "group"])
        #expect(text.hasPrefix("Usage: tool group <command>\n"))
        #expect(text.contains("  leaf  A leaf without options"))
        #expect(!text.contains("Show help for a command\n"))
    }

    @Test func aCommandWithoutOptionsStillListsHelp() {
        let leaf = Command(name: "leaf", abstract: "")
        #expect(
            HelpFormatter().render(leaf, path: ["tool", "leaf"])
                == "Usage: tool leaf\n\nOptions:\n  -h, --help  Show help for this command.")
    }
}

@Suite struct TextWrapping {
    @Test func wrapsAtTheWidthWithoutBreakingWords() {
        #expect(TextWrap.wrap("aaa bbb ccc ddd", width: 7) == ["aaa bbb", "ccc ddd"])
        #expect(TextWrap.wrap("aaa bbb ccc ddd", width: 6) == ["aaa", "bbb", "ccc", "ddd"])
    }

    @Test func aWordLongerThanTheWidthStandsAlone() {
        #expect(TextWrap.wrap("a verylongword b", width: 5) == ["a", "verylongword", "b"])
    }

    @Test func blanksCollapseAndEmptyTextHasNoLines() {
        #expect(TextWrap.wrap("  a \n\t b  ", width: 80) == ["a b"])
        #expect(TextWrap.wrap("", width: 80) == [])
    }

    @Test func prefixAndHangingIndent() {
        #expect(
            TextWrap.wrap("one two three", width: 12, firstLinePrefix: "Use: ", indent: "     ")
                == ["Use: one two", "     three"])
    }
}
