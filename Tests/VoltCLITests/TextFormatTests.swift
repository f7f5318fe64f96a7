import Testing
import VoltCLI

@Suite struct TextFormatNumbers {
    @Test func compactCountsAtTheUnitBoundaries() {
        let cases: [(Int, String)] = [
            (0, "0"), (999, "999"), (1000, "1.0K"), (1049, "1.0K"), (1050, "1.1K"),
            (99_949, "99.9K"), (99_950, "100K"), (999_499, "999K"), (999_500, "1.0M"),
            (1_200_000, "1.2M"), (2_345_678_901, "2.3G"), (-1500, "-1.5K"),
            (Int.max, "9.2E"),
        ]
        for (value, text) in cases {
            #expect(TextFormat.compactCount(value) == text, "\(value)")
        }
    }

    @Test func groupedThousands() {
        #expect(TextFormat.grouped(0) == "0")
        #expect(TextFormat.grouped(999) == "999")
        #expect(TextFormat.grouped(1000) == "1,000")
        #expect(TextFormat.grouped(1_234_567) == "1,234,567")
        #expect(TextFormat.grouped(-12_345) == "-12,345")
        #expect(TextFormat.grouped(Int.min) == "-9,223,372,036,854,775,808")
    }

    @Test func fixedDecimals() {
        #expect(TextFormat.fixed(2.345, decimals: 1) == "2.3")
        #expect(TextFormat.fixed(2.25, decimals: 1) == "2.3")
        #expect(TextFormat.fixed(1, decimals: 2) == "1.00")
        #expect(TextFormat.fixed(0.05, decimals: 2) == "0.05")
        #expect(TextFormat.fixed(-0.004, decimals: 2) == "0.00")
        #expect(TextFormat.fixed(-1.5, decimals: 0) == "-2")
        #expect(TextFormat.fixed(123_456.789, decimals: 1) == "123456.8")
        #expect(TextFormat.fixed(.nan, decimals: 1) == "nan")
    }

    @Test func shortestDropsANeedlessPointZero() {
        #expect(TextFormat.shortest(0) == "0")
        #expect(TextFormat.shortest(1_048_576) == "1048576")
        #expect(TextFormat.shortest(0.25) == "0.25")
        #expect(TextFormat.shortest(-3) == "-3")
    }

    @Test func clock() {
        #expect(TextFormat.clock(seconds: 0) == "0:00")
        #expect(TextFormat.clock(seconds: 42.9) == "0:42")
        #expect(TextFormat.clock(seconds: 725) == "12:05")
        #expect(TextFormat.clock(seconds: 3723) == "1:02:03")
        #expect(TextFormat.clock(seconds: -1) == "--:--")
        #expect(TextFormat.clock(seconds: .infinity) == "--:--")
    }
}

@Suite struct TextFormatProgressPercent {
    @Test func nearestHundredthButOneHundredOnlyWhenDone() {
        #expect(TextFormat.progressPercent(42.17) == "42.17")
        #expect(TextFormat.progressPercent(29.0 / 100 * 100) == "29.00")  // 28.999…
        #expect(TextFormat.progressPercent(99.994) == "99.99")
        #expect(TextFormat.progressPercent(99.999) == "99.99")
        #expect(TextFormat.progressPercent(100) == "100.00")
        #expect(TextFormat.progressPercent(0.001) == "0.00")
        #expect(TextFormat.progressPercent(0) == "0.00")
    }

    @Test func outOfRangeIsClamped() {
        #expect(TextFormat.progressHundredths(-3) == 0)
        #expect(TextFormat.progressHundredths(.nan) == 0)
        #expect(TextFormat.progressHundredths(250) == 10000)
        #expect(TextFormat.progressHundredths(.infinity) == 10000)
    }
}

@Suite struct SuggestionDistance {
    @Test func editDistance() {
        #expect(Suggestion.editDistance("", "abc") == 3)
        #expect(Suggestion.editDistance("abc", "abc") == 0)
        #expect(Suggestion.editDistance("kitten", "sitting") == 3)
        #expect(Suggestion.editDistance("duratoin", "duration") == 1)  // one swap
        #expect(Suggestion.editDistance("jsno", "json") == 1)
        #expect(Suggestion.editDistance("keys", "key") == 1)
    }

    @Test func closestPrefersFewestEditsThenDeclarationOrder() {
        let names = ["duration", "warmup", "keys", "sites", "json"]
        #expect(Suggestion.closest(to: "duraton", among: names) == "duration")
        #expect(Suggestion.closest(to: "dur", among: names) == "duration")
        #expect(Suggestion.closest(to: "site", among: names) == "sites")
        #expect(Suggestion.closest(to: "xyz", among: names) == nil)
        #expect(Suggestion.closest(to: "kv", among: ["kx", "ky"]) == "kx")
        #expect(Suggestion.closest(to: "", among: names) == nil)
        #expect(Suggestion.closest(to: "json", among: names) == nil)
    }

    @Test func shortNamesAllowOneEditOnly() {
        #expect(Suggestion.closest(to: "ab", among: ["kv"]) == nil)
        #expect(Suggestion.closest(to: "kb", among: ["kv"]) == "kv")
    }
}
