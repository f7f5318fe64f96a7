/// One line of progress for a long operation (a load, a snapshot restore, a rebalance):
///
///     [#####-----]  52%  1.2M/2.3M rows  ETA 0:42
///
/// Pure: the caller passes the counts, the elapsed time and the terminal width, and decides
/// whether the output is a terminal at all (and so whether to print `\r` + line, or nothing).
///
/// The percentage is rounded down, so 100% appears only when the work is done. The ETA assumes
/// the average rate so far holds; before any progress it reads `--:--`. The bar takes whatever
/// width the text leaves, and is dropped when fewer than 10 columns are left for it; the line is
/// never longer than `width`.
public struct ProgressLine: Sendable, Equatable {
    public var done: Int
    public var total: Int
    public var elapsedSeconds: Double
    /// What is counted, after the counts: `rows`, `keys`, `bytes`.
    public var unit: String

    public init(done: Int, total: Int, elapsedSeconds: Double, unit: String = "rows") {
        precondition(
            done >= 0 && total >= 0, "progress counts must not be negative: \(done)/\(total)")
        self.done = done
        self.total = total
        self.elapsedSeconds = elapsedSeconds
        self.unit = unit
    }

    /// The fraction done in 0...1; 1 when there is nothing to do. More done than the total
    /// (an estimate that fell short) reads as 1.
    public var fraction: Double {
        total == 0 ? 1 : min(1, Double(done) / Double(total))
    }

    /// Seconds left at the average rate so far; nil before any progress or time.
    public var remainingSeconds: Double? {
        if done >= total { return 0 }
        guard done > 0, elapsedSeconds.isFinite, elapsedSeconds > 0 else { return nil }
        return Double(total - done) * elapsedSeconds / Double(done)
    }

    /// The line for these counts, at most `width` columns.
    public static func render(
        done: Int, total: Int, elapsedSeconds: Double, width: Int, unit: String = "rows"
    ) -> String {
        ProgressLine(done: done, total: total, elapsedSeconds: elapsedSeconds, unit: unit)
            .render(width: width)
    }

    /// `floor(done / total * n)` in exact integer arithmetic (a Double product would show 28%
    /// for 29 of 100), capped at `n`.
    private func proportion(of n: Int) -> Int {
        if total == 0 || done >= total { return n }
        return total.dividingFullWidth(done.multipliedFullWidth(by: n)).quotient
    }

    public func render(width: Int) -> String {
        let percent = proportion(of: 100)
        let percentText = String(repeating: " ", count: max(0, 4 - "\(percent)%".count))
            + "\(percent)%"
        let counts = "\(TextFormat.compactCount(done))/\(TextFormat.compactCount(total))"
        let eta = remainingSeconds.map { TextFormat.clock(seconds: $0.rounded(.up)) } ?? "--:--"
        let text = "\(percentText)  \(counts) \(unit)  ETA \(eta)"

        return Self.barred(text, width: width, filled: proportion(of:))
    }

    /// `[####------] text` in at most `width` columns: the bar takes what `text` leaves, and is
    /// dropped (the text cut to `width`) when fewer than 10 columns are left for it. `filled(n)`
    /// says how many of the bar's `n` cells are done; it is clamped to 0...n.
    public static func barred(_ text: String, width: Int, filled: (Int) -> Int) -> String {
        let barWidth = width - text.count - 3  // "[", "]" and one space
        guard barWidth >= 10 else {
            return text.count <= width ? text : String(text.prefix(max(0, width)))
        }
        let done = min(barWidth, max(0, filled(barWidth)))
        return "[" + String(repeating: "#", count: done)
            + String(repeating: "-", count: barWidth - done) + "] " + text
    }
}
