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

@Suite struct VoltDecimalBasics {
    @Test func wireBytesAndTextFromTheReference() {
        let d = VoltDecimal(string: "-12.345")!
        #expect(d.bigEndianBytes == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf4, 0xc5, 0xb4, 0xa9, 0x06, 0x00])
        #expect(VoltDecimal(bigEndianBytes: d.bigEndianBytes) == d)
        #expect(d.description == "-12.345000000000")
        #expect(VoltDecimal(string: "0.1")!.unscaled == 100_000_000_000)
    }

    @Test func orderingAndArithmeticAcrossTheWordBoundary() {
        let big = VoltDecimal(unscaled: Int128(1) << 70)
        let small = VoltDecimal(unscaled: -(Int128(1) << 70))
        #expect(small < VoltDecimal(0))
        #expect(VoltDecimal(0) < big)
        #expect(VoltDecimal(-1) < VoltDecimal(1))
        #expect((VoltDecimal(string: "1.5")! * VoltDecimal(string: "2")!) == VoltDecimal(3))
        #expect((VoltDecimal(1) / VoltDecimal(3))!.description == "0.333333333333")
        #expect(VoltDecimal(string: "1" + String(repeating: "0", count: 26)) == nil)
        #expect(VoltDecimal(1) / VoltDecimal(0) == nil)
    }
}
