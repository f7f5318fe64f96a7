/// VoltDB's DECIMAL: a fixed-point number with precision 38 and scale 12, stored as the integer
/// `value × 10^12` (docs/PROTOCOL.md §1.4). Arithmetic is exact where the result
/// fits; division and multiplication round half away from zero to 12 places, as VoltDB does.
public struct VoltDecimal: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let scale = 12
    public static let scaleFactor: Int128 = 1_000_000_000_000
    /// The largest magnitude of the unscaled value: 38 digits.
    public static let maxUnscaled: Int128 = 99_999_999_999_999_999_999_999_999_999_999_999_999

    // Stored as two 64-bit words rather than an Int128: Int128 is 16-byte aligned, and values of
    // enums that carry it inline (like `Value`) were miscompiled into misaligned `movaps` stack
    // accesses by the Swift 6.3.1 debug build. Two words keep `Value` 8-byte aligned.
    private let high: Int64
    private let low: UInt64

    /// The integer `value × 10^12`.
    public var unscaled: Int128 { Int128(high) << 64 | Int128(low) }

    public init(unscaled: Int128) {
        high = Int64(truncatingIfNeeded: unscaled >> 64)
        low = UInt64(truncatingIfNeeded: unscaled)
    }

    public init?(checkedUnscaled: Int128) {
        guard checkedUnscaled.magnitude <= VoltDecimal.maxUnscaled.magnitude else { return nil }
        self.init(unscaled: checkedUnscaled)
    }

    public init(_ integer: Int64) { self.init(unscaled: Int128(integer) * VoltDecimal.scaleFactor) }

    public init?(_ double: Double) {
        guard double.isFinite, abs(double) < 1e26 else { return nil }
        // Go through the shortest decimal text of the double so 0.1 stays 0.1.
        self.init(string: "\(double)")
    }

    /// Parses `-12.345`, `1e3`-free plain decimal text. More than 12 fractional digits are rounded.
    public init?(string: String) {
        var s = Substring(string.trimmingSpaces())
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
        // Accept exponent notation by delegating to Double only when needed.
        if s.contains("e") || s.contains("E") {
            guard let d = Double(String(s)), let v = VoltDecimal(d) else { return nil }
            self = negative ? VoltDecimal(unscaled: -v.unscaled) : v
            return
        }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= 2 else { return nil }
        let intPart = parts[0]
        let fracPart = parts.count == 2 ? parts[1] : ""
        guard !(intPart.isEmpty && fracPart.isEmpty) else { return nil }
        guard intPart.allSatisfy({ $0.isASCII && $0.isNumber }), fracPart.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let trimmedInt = intPart.drop(while: { $0 == "0" })
        guard trimmedInt.count <= 26 else { return nil }
        var value: Int128 = 0
        for c in trimmedInt { value = value * 10 + Int128(c.wholeNumberValue!) }
        value *= VoltDecimal.scaleFactor
        var frac: Int128 = 0
        var digits = 0
        var roundUp = false
        for c in fracPart {
            if digits < VoltDecimal.scale {
                frac = frac * 10 + Int128(c.wholeNumberValue!)
                digits += 1
            } else {
                if digits == VoltDecimal.scale { roundUp = c.wholeNumberValue! >= 5 }
                digits += 1
                if digits > VoltDecimal.scale + 1 { break }
            }
        }
        for _ in min(digits, VoltDecimal.scale)..<VoltDecimal.scale { frac *= 10 }
        value += frac + (roundUp ? 1 : 0)
        guard let checked = VoltDecimal(checkedUnscaled: negative ? -value : value) else { return nil }
        self = checked
    }

    public var doubleValue: Double {
        let whole = unscaled / VoltDecimal.scaleFactor
        let frac = unscaled % VoltDecimal.scaleFactor
        return Double(whole) + Double(frac) / 1e12
    }

    /// The integer part, truncated toward zero, if it fits in Int64.
    public var truncatedInt64: Int64? { Int64(exactly: unscaled / VoltDecimal.scaleFactor) }

    /// Always 12 fractional digits, as VoltDB and the Python client print it.
    public var description: String {
        let negative = unscaled < 0
        let mag = unscaled.magnitude
        let whole = mag / UInt128(VoltDecimal.scaleFactor)
        let frac = mag % UInt128(VoltDecimal.scaleFactor)
        var fracText = String(frac)
        fracText = String(repeating: "0", count: VoltDecimal.scale - fracText.count) + fracText
        return (negative ? "-" : "") + String(whole) + "." + fracText
    }

    public static func < (a: VoltDecimal, b: VoltDecimal) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }

    public static func + (a: VoltDecimal, b: VoltDecimal) -> VoltDecimal? {
        let (r, o) = a.unscaled.addingReportingOverflow(b.unscaled)
        return o ? nil : VoltDecimal(checkedUnscaled: r)
    }

    public static func - (a: VoltDecimal, b: VoltDecimal) -> VoltDecimal? {
        let (r, o) = a.unscaled.subtractingReportingOverflow(b.unscaled)
        return o ? nil : VoltDecimal(checkedUnscaled: r)
    }

    public static func * (a: VoltDecimal, b: VoltDecimal) -> VoltDecimal? {
        // (a/10^12)(b/10^12) = ab/10^24; keep 12 places: ab / 10^12, rounded.
        let (p, o) = a.unscaled.multipliedReportingOverflow(by: b.unscaled)
        // Products whose intermediate value leaves 128 bits are reported as overflow; VoltDB's own
        // BigDecimal path accepts a few more, but every result that fits 38 digits with
        // operands below 10^13 is exact here.
        return o ? nil : VoltDecimal(checkedUnscaled: roundedDivide(p, VoltDecimal.scaleFactor))
    }

    public static func / (a: VoltDecimal, b: VoltDecimal) -> VoltDecimal? {
        guard b.unscaled != 0 else { return nil }
        let (n, o) = a.unscaled.multipliedReportingOverflow(by: VoltDecimal.scaleFactor)
        guard !o else { return nil }
        return VoltDecimal(checkedUnscaled: roundedDivide(n, b.unscaled))
    }

    static func roundedDivide(_ n: Int128, _ d: Int128) -> Int128 {
        let q = n / d
        let r = n % d
        if r.magnitude * 2 >= d.magnitude { return q + ((n < 0) != (d < 0) ? -1 : 1) }
        return q
    }

    /// 16 bytes, big-endian two's complement: the wire form.
    public var bigEndianBytes: [UInt8] {
        let bits = UInt128(bitPattern: unscaled)
        return (0..<16).map { UInt8(truncatingIfNeeded: bits >> UInt128(8 * (15 - $0))) }
    }

    public init(bigEndianBytes b: some Collection<UInt8>) {
        precondition(b.count == 16, "a DECIMAL is 16 bytes, got \(b.count)")
        var bits: UInt128 = 0
        for byte in b { bits = bits << 8 | UInt128(byte) }
        self.init(unscaled: Int128(bitPattern: bits))
    }

    /// VoltDB's NULL DECIMAL on the wire: -2^127.
    public static let nullSentinel = Int128.min
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
