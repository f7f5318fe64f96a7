/// Number and duration formatting for terminal output, without Foundation or the C locale:
/// the same bytes on every machine, so outputs can be compared and kept as fixtures.
public enum TextFormat {
    /// The shortest text that reads back as the same value, without a needless `.0`:
    /// `0`, `1`, `0.5`, `1e-07`, `100000`.
    public static func shortest(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            return String(Int(value))
        }
        return value.description
    }

    /// `value` rounded half away from zero to `decimals` places: `fixed(2.345, decimals: 1)` is
    /// `2.3`, `fixed(1, decimals: 2)` is `1.00`. Non-finite values and magnitudes beyond 1e15
    /// fall back to `description`.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        precondition((0...9).contains(decimals), "decimals \(decimals) outside 0...9")
        var scale = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded(.toNearestOrAwayFromZero)
        guard value.isFinite, scaled < 9e15 else { return value.description }
        let units = Int(scaled)
        let sign = value < 0 && units != 0 ? "-" : ""
        let whole = String(units / scale)
        guard decimals > 0 else { return sign + whole }
        let fraction = String(units % scale)
        return sign + whole + "." + String(repeating: "0", count: decimals - fraction.count)
            + fraction
    }

    /// A progress percentage in hundredths, 0...10000: to the nearest hundredth, except that
    /// only 100 itself reads 10000 (99.999 is 9999), so work is never shown done before it is.
    /// Out-of-range input is clamped; NaN reads 0.
    public static func progressHundredths(_ percentage: Double) -> Int {
        guard percentage > 0 else { return 0 }
        guard percentage < 100 else { return 10000 }
        return min(9999, Int((percentage * 100).rounded(.toNearestOrAwayFromZero)))
    }

    /// A progress percentage with two decimals, as `progressHundredths` rounds it: `42.17`,
    /// `99.99`, `100.00`.
    public static func progressPercent(_ percentage: Double) -> String {
        fixed(Double(progressHundredths(percentage)) / 100, decimals: 2)
    }

    /// Thousands separated by commas: `1,234,567`.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// A count in at most four characters plus a suffix: `999`, `12.3K`, `1.2M`, `456M`, `7.0G`.
    /// One decimal below 100 of a unit, none above; a value that would round up to 1000 of a
    /// unit moves to the next (`999950` is `1.0M`, not `1000.0K`).
    public static func compactCount(_ value: Int) -> String {
        let magnitude = value.magnitude
        let sign = value < 0 ? "-" : ""
        if magnitude < 1000 { return sign + String(magnitude) }
        let units: [(size: Double, suffix: String)] = [
            (1e3, "K"), (1e6, "M"), (1e9, "G"), (1e12, "T"), (1e15, "P"), (1e18, "E"),
        ]
        for (position, unit) in units.enumerated() {
            let scaled = Double(magnitude) / unit.size
            let isLast = position == units.count - 1
            if scaled < 99.95 { return sign + fixed(scaled, decimals: 1) + unit.suffix }
            if scaled < 999.5 || isLast { return sign + fixed(scaled, decimals: 0) + unit.suffix }
        }
        preconditionFailure("unreachable: the last unit always formats")
    }

    /// A duration as a clock: `0:42`, `12:05`, `1:02:03`. Fractions of a second are dropped;
    /// negative or non-finite input reads as `--:--`.
    public static func clock(seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "--:--" }
        let total = Int(seconds)
        let hours = total / 3600
        let minutes = (total % 3600) / 60
        let secs = total % 60
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if hours > 0 { return "\(hours):\(two(minutes)):\(two(secs))" }
        return "\(minutes):\(two(secs))"
    }
}
