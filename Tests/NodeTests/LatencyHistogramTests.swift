import Testing

@testable import Node

extension SplitMix64 {
    /// A latency spread over many magnitudes: 1 ns to about 68 s, log-uniform.
    mutating func latencyNanos() -> Int {
        let magnitude = Int(next() % 36)
        return Int(next() % (UInt64(1) << magnitude)) + 1
    }
}

/// Whether `reported` is at least `exact` and above it by at most 1%.
private func withinOnePercentAbove(_ reported: Int, _ exact: Int) -> Bool {
    reported >= exact && Double(reported - exact) <= 0.01 * Double(exact)
}

@Suite struct LatencyHistogramLayout {
    @Test func countersCoverOneHourWithTheDocumentedMemory() {
        #expect(LatencyHistogram.counterCount == 4608)
        let top = LatencyHistogram.counterIndex(of: LatencyHistogram.highestTrackableNanos)
        #expect(top < LatencyHistogram.counterCount)
    }

    @Test func countersAreContiguousAndEachValueMapsBack() {
        var expectedLowest = 0
        for index in 0..<LatencyHistogram.counterCount {
            let lowest = LatencyHistogram.lowestEquivalentNanos(atCounter: index)
            let highest = LatencyHistogram.highestEquivalentNanos(atCounter: index)
            #expect(lowest == expectedLowest, "counter \(index)")
            #expect(LatencyHistogram.counterIndex(of: lowest) == index)
            #expect(LatencyHistogram.counterIndex(of: highest) == index)
            // The width of a counter is under 1/128 of any value it holds.
            #expect(highest - lowest < max(1, lowest / 128 + 1), "counter \(index)")
            expectedLowest = highest + 1
        }
        #expect(expectedLowest > LatencyHistogram.highestTrackableNanos)
    }

    @Test func valuesBelow256AreExact() {
        for value in 0..<256 {
            #expect(LatencyHistogram.counterIndex(of: value) == value)
            #expect(LatencyHistogram.highestEquivalentNanos(atCounter: value) == value)
        }
    }

    @Test func rankIsNearestRankWithoutFloatingPointCreep() {
        #expect(LatencyHistogram.rank(percentile: 99.9, count: 1000) == 999)
        #expect(LatencyHistogram.rank(percentile: 50, count: 100) == 50)
        #expect(LatencyHistogram.rank(percentile: 50, count: 101) == 51)
        #expect(LatencyHistogram.rank(percentile: 0.0001, count: 10) == 1)
        #expect(LatencyHistogram.rank(percentile: 100, count: 7) == 7)
        #expect(LatencyHistogram.rank(percentile: 29, count: 100) == 29)
    }
}

@Suite struct LatencyHistogramPercentiles {
    @Test func uniformOneToOneHundredThousand() {
        var histogram = LatencyHistogram()
        for value in 1...100_000 { histogram.recordNanos(value) }
        #expect(histogram.count == 100_000)
        #expect(histogram.minNanos == 1)
        #expect(histogram.maxNanos == 100_000)
        #expect(histogram.meanNanos == 50_000.5)
        #expect(histogram.percentileNanos(0) == 1)
        #expect(histogram.percentileNanos(100) == 100_000)
        let expected: [(Double, Int)] = [
            (1, 1000), (25, 25_000), (50, 50_000), (90, 90_000), (99, 99_000), (99.9, 99_900),
            (99.99, 99_990),
        ]
        for (p, exact) in expected {
            let reported = histogram.percentileNanos(p)
            #expect(withinOnePercentAbove(reported, exact), "p\(p): \(reported) for \(exact)")
        }
    }

    @Test func smallValuesAreExact() {
        var histogram = LatencyHistogram()
        for value in 0..<256 { histogram.recordNanos(value) }
        #expect(histogram.percentileNanos(50) == 127)
        #expect(histogram.percentileNanos(100) == 255)
        #expect(histogram.percentileNanos(0) == 0)
        #expect(histogram.percentileNanos(1) == 2)  // rank ⌈2.56⌉ = 3, the value 2
    }

    @Test func aStepDistributionLandsOnEachStep() {
        var histogram = LatencyHistogram()
        histogram.recordNanos(1_000, times: 900)
        histogram.recordNanos(50_000, times: 90)
        histogram.recordNanos(7_000_000, times: 10)
        #expect(histogram.count == 1000)
        #expect(withinOnePercentAbove(histogram.percentileNanos(50), 1_000))
        #expect(withinOnePercentAbove(histogram.percentileNanos(90), 1_000))
        #expect(withinOnePercentAbove(histogram.percentileNanos(90.1), 50_000))
        #expect(withinOnePercentAbove(histogram.percentileNanos(99), 50_000))
        #expect(histogram.percentileNanos(99.1) == 7_000_000)  // capped at the exact maximum
        #expect(histogram.percentileNanos(99.9) == 7_000_000)
        let sumNanos: Double = 900 * 1_000 + 90 * 50_000 + 10 * 7_000_000
        #expect(histogram.meanNanos == sumNanos / 1000)
    }

    @Test func everyMagnitudeIsWithinOnePercent() {
        var value = 1
        while value <= LatencyHistogram.highestTrackableNanos {
            for candidate in [value, value + value / 3, value * 2 - 1]
            where candidate * 2 <= LatencyHistogram.highestTrackableNanos {
                var histogram = LatencyHistogram()
                histogram.recordNanos(candidate)
                histogram.recordNanos(candidate * 2)  // so the cap at the maximum does not help
                let reported = histogram.percentileNanos(50)
                #expect(withinOnePercentAbove(reported, candidate), "\(candidate): \(reported)")
            }
            value *= 2
        }
    }

    @Test func randomLatenciesAgainstExactSortedPercentiles() {
        var random = SplitMix64(seed: 42)
        var histogram = LatencyHistogram()
        var values: [Int] = []
        for _ in 0..<20_000 {
            let value = random.latencyNanos()
            values.append(value)
            histogram.recordNanos(value)
        }
        values.sort()
        for p in [0.1, 1, 10, 50, 75, 90, 99, 99.9, 99.99] {
            let exact = values[LatencyHistogram.rank(percentile: p, count: values.count) - 1]
            let reported = histogram.percentileNanos(p)
            #expect(withinOnePercentAbove(reported, exact), "p\(p): \(reported) for \(exact)")
        }
        #expect(histogram.minNanos == values.first)
        #expect(histogram.maxNanos == values.last)
    }
}

@Suite struct LatencyHistogramMerge {
    @Test func mergingPerThreadHistogramsEqualsRecordingEverythingInOne() {
        var random = SplitMix64(seed: 7)
        var perThread = [LatencyHistogram](repeating: LatencyHistogram(), count: 4)
        var all = LatencyHistogram()
        for step in 0..<10_000 {
            let value = random.latencyNanos()
            perThread[step % 4].recordNanos(value)
            all.recordNanos(value)
        }
        var merged = LatencyHistogram()
        for histogram in perThread { merged.merge(histogram) }
        #expect(merged == all)
        #expect(merged.percentileNanos(99) == all.percentileNanos(99))
        #expect(merged.meanNanos == all.meanNanos)
    }

    @Test func mergeOrderDoesNotMatter() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        a.recordNanos(10)
        a.recordNanos(1_000_000)
        b.recordNanos(3)
        b.recordNanos(70_000, times: 5)
        var ab = a
        ab.merge(b)
        var ba = b
        ba.merge(a)
        #expect(ab == ba)
        #expect(ab.minNanos == 3)
        #expect(ab.maxNanos == 1_000_000)
        #expect(ab.count == 8)
    }

    @Test func mergingAnEmptyHistogramChangesNothing() {
        var a = LatencyHistogram()
        a.recordNanos(500)
        let before = a
        a.merge(LatencyHistogram())
        #expect(a == before)
        var empty = LatencyHistogram()
        empty.merge(before)
        #expect(empty == before)
    }
}

@Suite struct LatencyHistogramEdges {
    @Test func anEmptyHistogramReportsZeros() {
        let histogram = LatencyHistogram()
        #expect(histogram.count == 0)
        #expect(histogram.minNanos == 0)
        #expect(histogram.maxNanos == 0)
        #expect(histogram.meanNanos == 0)
        #expect(histogram.percentileNanos(50) == 0)
    }

    @Test func zeroOneAndOneHourAreKeptExactly() {
        var histogram = LatencyHistogram()
        histogram.recordNanos(0)
        histogram.recordNanos(1)
        histogram.recordNanos(LatencyHistogram.highestTrackableNanos)
        #expect(histogram.minNanos == 0)
        #expect(histogram.maxNanos == 3_600_000_000_000)
        #expect(histogram.percentileNanos(0) == 0)
        #expect(histogram.percentileNanos(50) == 1)
        #expect(histogram.percentileNanos(100) == 3_600_000_000_000)
    }

    @Test func valuesBeyondAnHourAreRecordedAsAnHour() {
        var histogram = LatencyHistogram()
        histogram.recordNanos(LatencyHistogram.highestTrackableNanos + 1)
        histogram.recordNanos(Int.max)
        #expect(histogram.count == 2)
        #expect(histogram.maxNanos == LatencyHistogram.highestTrackableNanos)
        #expect(histogram.percentileNanos(100) == LatencyHistogram.highestTrackableNanos)
        #expect(histogram.meanNanos == Double(LatencyHistogram.highestTrackableNanos))
    }

    @Test func recordingZeroTimesIsNothing() {
        var histogram = LatencyHistogram()
        histogram.recordNanos(5, times: 0)
        #expect(histogram == LatencyHistogram())
    }

    @Test func durationsAreRecordedInWholeNanoseconds() {
        var histogram = LatencyHistogram()
        histogram.record(.milliseconds(1))
        histogram.record(.nanoseconds(250))
        histogram.record(.seconds(7200))
        #expect(histogram.minNanos == 250)
        #expect(histogram.maxNanos == LatencyHistogram.highestTrackableNanos)
        #expect(withinOnePercentAbove(histogram.percentileNanos(50), 1_000_000))
    }

    @Test func resetIsAFreshHistogram() {
        var histogram = LatencyHistogram()
        histogram.recordNanos(12_345, times: 3)
        histogram.recordNanos(9)
        histogram.reset()
        #expect(histogram == LatencyHistogram())
        histogram.recordNanos(42)
        #expect(histogram.minNanos == 42)
        #expect(histogram.percentileNanos(50) == 42)
    }

    @Test func aNegativeLatencyStopsTheProgram() async {
        await #expect(processExitsWith: .failure) {
            var histogram = LatencyHistogram()
            histogram.recordNanos(-1)
        }
    }
}
