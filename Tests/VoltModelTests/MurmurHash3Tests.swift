import Testing
@testable import VoltModel

@Suite struct MurmurHash3KnownValues {
    @Test func knownTokensFromTheReference() {
        #expect(MurmurHash3.token([]) == Token(0))
        #expect(MurmurHash3.token(string: "hello") == Token(-874_993_741))
        #expect(MurmurHash3.token(integer: 1) == Token(4_457_399))
        #expect(MurmurHash3.token(integer: 0) == Token(685_728_695))
    }
}
