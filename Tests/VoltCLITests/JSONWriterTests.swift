import Testing
import VoltCLI

@Suite struct JSONWriterStrings {
    func compact(_ value: JSONValue) -> String { JSONWriter(style: .compact).render(value) }

    @Test func quotesAndBackslashesAreEscaped() {
        #expect(compact(.string(#"say "hi" \ bye"#)) == #""say \"hi\" \\ bye""#)
    }

    @Test func namedControlCharactersUseTheirShortEscapes() {
        #expect(compact(.string("a\nb\rc\td\u{08}e\u{0C}f")) == #""a\nb\rc\td\be\ff""#)
    }

    @Test func otherControlCharactersUseUnicodeEscapes() {
        #expect(compact(.string("\u{00}\u{01}\u{1B}\u{1F}")) == #""\u0000\u0001\u001b\u001f""#)
    }

    @Test func slashDeleteAndNonASCIIPassThrough() {
        #expect(compact(.string("a/b\u{7F}é😀\u{2028}")) == "\"a/b\u{7F}é😀\u{2028}\"")
    }

    @Test func aCarriageReturnLineFeedPairIsTwoEscapes() {
        #expect(compact(.string("a\r\nb")) == #""a\r\nb""#)
    }

    @Test func keysAreEscapedToo() {
        #expect(compact(["a\"b": 1]) == #"{"a\"b":1}"#)
    }
}

@Suite struct JSONWriterNumbersAndLiterals {
    func compact(_ value: JSONValue) -> String { JSONWriter(style: .compact).render(value) }

    @Test func integers() {
        #expect(compact(0) == "0")
        #expect(compact(.int(Int.max)) == "9223372036854775807")
        #expect(compact(.int(Int.min)) == "-9223372036854775808")
    }

    @Test func doublesAreShortestRoundTripAndAlwaysValid() {
        #expect(compact(0.1) == "0.1")
        #expect(compact(1.0) == "1.0")
        #expect(compact(-2.5) == "-2.5")
        #expect(compact(1e-7) == "1e-07")
        #expect(compact(1e20) == "1e+20")
        #expect(compact(.double(123_456.789)) == "123456.789")
    }

    @Test func nonFiniteDoublesBecomeNull() {
        #expect(compact(.double(.nan)) == "null")
        #expect(compact(.double(.infinity)) == "null")
        #expect(compact(.double(-.infinity)) == "null")
    }

    @Test func boolsAndNull() {
        #expect(compact([true, false, nil]) == "[true,false,null]")
    }
}

@Suite struct JSONWriterStructure {
    @Test func objectKeysKeepTheOrderWritten() {
        let value: JSONValue = ["zebra": 1, "apple": 2, "mango": 3]
        #expect(JSONWriter(style: .compact).render(value) == #"{"zebra":1,"apple":2,"mango":3}"#)
        let built = JSONValue.object([.init("b", 1), .init("a", 2)])
        #expect(JSONWriter(style: .compact).render(built) == #"{"b":1,"a":2}"#)
    }

    @Test func theSameValueRendersTheSameBytesEveryTime() {
        let value: JSONValue = ["k\(3)": 1, "k\(1)": 2, "k\(2)": 3]
        let first = JSONWriter().render(value)
        for _ in 0..<10 { #expect(JSONWriter().render(value) == first) }
    }

    @Test func prettyNestedOutput() {
        let value: JSONValue = [
            "benchmark": "kv",
            "options": ["keys": 100_000, "getRatio": 0.5],
            "sites": [1, 2],
            "empty": [:],
            "none": [],
            "note": nil,
        ]
        let expected = """
            {
              "benchmark": "kv",
              "options": {
                "keys": 100000,
                "getRatio": 0.5
              },
              "sites": [
                1,
                2
              ],
              "empty": {},
              "none": [],
              "note": null
            }
            """
        #expect(JSONWriter(style: .pretty).render(value) == expected)
    }

    @Test func compactNestedOutput() {
        let value: JSONValue = ["a": [1, ["b": "c"]], "d": [:]]
        #expect(JSONWriter(style: .compact).render(value) == #"{"a":[1,{"b":"c"}],"d":{}}"#)
    }

    @Test func duplicateKeysStopTheProgram() async {
        await #expect(processExitsWith: .failure) {
            _ = JSONWriter().render(.object([.init("a", 1), .init("a", 2)]))
        }
    }
}
