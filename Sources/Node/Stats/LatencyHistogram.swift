// LatencyHistogram: fixed-memory, log-linear latency recording in the manner of HdrHistogram
// (Gil Tene), specialised to one configuration: 1 ns resolution, values up to one hour,
// 2 significant decimal digits.
//
// Layout. Values 0..<256 ns each have their own counter (exact). Above that, each power-of-two
// range [128·2^b, 256·2^b) for b = 1, 2, … is split into 128 equal sub-buckets of width 2^b.
// A sub-bucket's width is therefore at most 1/128 of any value in it, so reporting any value in
// the same sub-bucket is off by less than 0.79% (the "≤ 1%" promise). One hour is
// 3.6e12 ns < 256·2^34, so buckets b = 0…34 cover the range: 36 half-bucket rows of 128
// counters, 4608 counters in all (36 KiB), allocated once at `init`.
//
// Index. For a value v, b = 56 - leadingZeros(v | 255) (0 for v < 256) and the sub-bucket is
// v >> b, in 128..<256 for b ≥ 1; the counter is (b + 1)·128 + (v >> b) - 128. That is a few
// shifts and one array store: recording is O(1) and does not allocate, as long as the histogram
// is not shared (a copy shares storage until one side writes, as every Swift array does).
//
// Ownership. A value type owned by one thread (one site, one client connection): no locks, no
// atomics. Threads combine results by `merge`, which adds counters; merging is exact, so the
// merge of per-thread histograms equals one histogram that saw every value (tested).
//
// Departures from HdrHistogram, and why:
// - One fixed configuration rather than configurable precision and range: every histogram in the
//   process has the same layout, so `merge` never has to re-bucket and cannot fail.
// - Values above one hour are clamped to one hour instead of rejected: a recorder in a hot path
//   must not fail, and a latency past an hour is reported as "at least an hour".
// - `count`, `minNanos`, `maxNanos` and `meanNanos` are exact (kept beside the counters, sum in
//   128 bits), not reconstructed from buckets.
// - A percentile reports the highest value equivalent to its sub-bucket, capped at the exact
//   maximum: an upper bound on the true value, never more than 0.79% above it.

/// A latency histogram in nanoseconds: 1 ns to 1 hour, relative error below 1%.
public struct LatencyHistogram: Sendable, Equatable {
    /// The largest value kept as itself; larger values are recorded as this. One hour.
    public static let highestTrackableNanos = 3_600_000_000_000
    /// The bound on `percentileNanos` over the true value, relative to the value: 1/128.
    public static let relativeErrorMax = 1.0 / 128

    static let subBucketHalfCountMagnitude = 7
    static let subBucketHalfCount = 1 << subBucketHalfCountMagnitude  // 128
    static let subBucketMask: UInt64 = (1 << (subBucketHalfCountMagnitude + 1)) - 1  // 255
    static let leadingZeroCountBase = 64 - subBucketHalfCountMagnitude - 1  // 56
    /// Counters: one row of 128 per bucket, plus the row of exact values below 128.
    static let counterCount = (bucketIndex(of: highestTrackableNanos) + 2) * subBucketHalfCount

    private var counters: [UInt64]
    /// How many values were recorded.
    public private(set) var count: Int
    private var sumNanos: UInt128
    private var smallestNanos: Int
    private var largestNanos: Int

    public init() {
        counters = [UInt64](repeating: 0, count: Self.counterCount)
        count = 0
        sumNanos = 0
        smallestNanos = Int.max
        largestNanos = 0
    }

    /// Records one latency, or `times` equal latencies. Negative values are a caller bug (a
    /// monotonic clock never runs backwards); values past one hour are recorded as one hour.
    public mutating func recordNanos(_ nanos: Int, times: Int = 1) {
        precondition(nanos >= 0, "latency \(nanos) ns is negative: the clock ran backwards")
        precondition(times >= 0, "cannot record a latency \(times) times")
        guard times > 0 else { return }
        let value = Swift.min(nanos, Self.highestTrackableNanos)
        counters[Self.counterIndex(of: value)] += UInt64(times)
        count += times
        sumNanos += UInt128(value) * UInt128(times)
        smallestNanos = Swift.min(smallestNanos, value)
        largestNanos = Swift.max(largestNanos, value)
    }

    /// Records a `Duration` (from `ContinuousClock`), in whole nanoseconds, rounded down.
    public mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        precondition(seconds >= 0 && attoseconds >= 0, "latency \(duration) is negative")
        let hourSeconds = Int64(Self.highestTrackableNanos / 1_000_000_000)
        let nanos = seconds >= hourSeconds
            ? Self.highestTrackableNanos
            : Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        recordNanos(nanos)
    }

    /// Adds every value `other` recorded, as if this histogram had recorded them itself.
    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for index in counters.indices where other.counters[index] != 0 {
            counters[index] += other.counters[index]
        }
        count += other.count
        sumNanos += other.sumNanos
        smallestNanos = Swift.min(smallestNanos, other.smallestNanos)
        largestNanos = Swift.max(largestNanos, other.largestNanos)
    }

    /// Forgets every value; keeps the counters' memory.
    public mutating func reset() {
        for index in counters.indices { counters[index] = 0 }
        count = 0
        sumNanos = 0
        smallestNanos = Int.max
        largestNanos = 0
    }

    /// The smallest value recorded, exactly; 0 when empty.
    public var minNanos: Int { count == 0 ? 0 : smallestNanos }

    /// The largest value recorded, exactly; 0 when empty.
    public var maxNanos: Int { largestNanos }

    /// The arithmetic mean of the values recorded, exactly (up to Double rounding); 0 when empty.
    public var meanNanos: Double { count == 0 ? 0 : Double(sumNanos) / Double(count) }

    /// The value at or below which `p` percent of the recorded values fall (nearest rank:
    /// the value of rank ⌈p/100 · count⌉), reported as the top of its sub-bucket capped at the
    /// maximum: at least the true value, and above it by under 1%. `p` is in 0...100; 0 gives
    /// the minimum and 100 the maximum, exactly. 0 when empty.
    public func percentileNanos(_ p: Double) -> Int {
        precondition((0...100).contains(p), "percentile \(p) outside 0...100")
        guard count > 0 else { return 0 }
        if p == 0 { return smallestNanos }
        let rank = Self.rank(percentile: p, count: count)
        var seen: UInt64 = 0
        for index in counters.indices {
            seen += counters[index]
            if seen >= UInt64(rank) {
                return Swift.min(Self.highestEquivalentNanos(atCounter: index), largestNanos)
            }
        }
        preconditionFailure("rank \(rank) beyond count \(count): counters and count disagree")
    }

    // MARK: Layout

    /// ⌈p/100 · count⌉ in 1...count. A product that is within rounding error of a whole number
    /// is taken as that number, so p99.9 of 1000 values is rank 999, not 1000.
    static func rank(percentile p: Double, count: Int) -> Int {
        let exact = Double(count) * p / 100
        let nearest = exact.rounded()
        let rank = abs(exact - nearest) <= 1e-9 * Swift.max(1, exact) ? nearest : exact.rounded(.up)
        return Swift.min(count, Swift.max(1, Int(rank)))
    }

    static func bucketIndex(of nanos: Int) -> Int {
        leadingZeroCountBase - (UInt64(nanos) | subBucketMask).leadingZeroBitCount
    }

    static func counterIndex(of nanos: Int) -> Int {
        let bucket = bucketIndex(of: nanos)
        let subBucket = nanos >> bucket
        return (bucket + 1) << subBucketHalfCountMagnitude + subBucket - subBucketHalfCount
    }

    /// The smallest value that lands in the counter at `index`.
    static func lowestEquivalentNanos(atCounter index: Int) -> Int {
        let (bucket, subBucket) = bucketAndSubBucket(atCounter: index)
        return subBucket << bucket
    }

    /// The largest value that lands in the counter at `index`.
    static func highestEquivalentNanos(atCounter index: Int) -> Int {
        let (bucket, subBucket) = bucketAndSubBucket(atCounter: index)
        return (subBucket << bucket) + (1 << bucket) - 1
    }

    private static func bucketAndSubBucket(atCounter index: Int) -> (bucket: Int, subBucket: Int) {
        let row = index >> subBucketHalfCountMagnitude
        let column = index & (subBucketHalfCount - 1)
        // Row 0 holds the exact values 0..<128; row 1 the exact values 128..<256 (bucket 0);
        // row r ≥ 1 holds bucket r - 1.
        if row == 0 { return (0, column) }
        return (row - 1, column + subBucketHalfCount)
    }
}
