import Testing
import VoltCLI

@Suite struct ProgressLineRendering {
    @Test func theDocumentedExample() {
        let line = ProgressLine.render(
            done: 1_200_000, total: 2_300_000, elapsedSeconds: 45.8, width: 43)
        #expect(line == "[#####-----]  52%  1.2M/2.3M rows  ETA 0:42")
    }

    @Test func theBarTakesTheWidthLeft() {
        let line = ProgressLine.render(
            done: 1, total: 4, elapsedSeconds: 1, width: 47, unit: "keys")
        #expect(line == "[#####---------------]  25%  1/4 keys  ETA 0:03")
        #expect(line.count == 47)
    }

    @Test func beforeAnyProgressTheETAIsUnknown() {
        let line = ProgressLine.render(done: 0, total: 1000, elapsedSeconds: 3, width: 41)
        #expect(line == "[----------]   0%  0/1.0K rows  ETA --:--")
    }

    @Test func whenDoneItIsFullAndHundredPercent() {
        let line = ProgressLine.render(done: 500, total: 500, elapsedSeconds: 9, width: 41)
        #expect(line == "[##########] 100%  500/500 rows  ETA 0:00")
    }

    @Test func percentIsRoundedDownInExactArithmetic() {
        // 29/100 as a Double times 100 is 28.999…; the line must still say 29%.
        let twentyNine = ProgressLine.render(done: 29, total: 100, elapsedSeconds: 1, width: 80)
        #expect(twentyNine.contains(" 29% "))
        let almost = ProgressLine.render(done: 999, total: 1000, elapsedSeconds: 1, width: 80)
        #expect(almost.contains(" 99% "))
    }

    @Test func moreThanTheTotalReadsAsDone() {
        let progress = ProgressLine(done: 12, total: 10, elapsedSeconds: 1)
        #expect(progress.fraction == 1)
        #expect(progress.render(width: 80).contains("100%  12/10 rows  ETA 0:00"))
    }

    @Test func nothingToDoIsDone() {
        let line = ProgressLine.render(done: 0, total: 0, elapsedSeconds: 0, width: 80)
        #expect(line.contains("100%"))
    }

    @Test func longETAsShowHours() {
        let line = ProgressLine.render(done: 1, total: 10_000, elapsedSeconds: 1, width: 35)
        #expect(line == "  0%  1/10.0K rows  ETA 2:46:39")
    }

    @Test func narrowTerminalsDropTheBarThenTruncate() {
        let text = " 50%  5/10 rows  ETA 0:01"
        #expect(ProgressLine.render(done: 5, total: 10, elapsedSeconds: 1, width: 30) == text)
        #expect(
            ProgressLine.render(done: 5, total: 10, elapsedSeconds: 1, width: 10) == " 50%  5/10")
        #expect(ProgressLine.render(done: 5, total: 10, elapsedSeconds: 1, width: 0) == "")
    }

    @Test func neverWiderThanTheWidth() {
        for width in 0...120 {
            for (done, total) in [(0, 0), (1, 3), (7_654_321, 9_999_999), (10, 10)] {
                let line = ProgressLine.render(
                    done: done, total: total, elapsedSeconds: 12.5, width: width)
                #expect(line.count <= width, "width \(width), \(done)/\(total): \(line)")
            }
        }
    }

    @Test func aBarAroundAnyText() {
        #expect(ProgressLine.barred("1.50 MB/s", width: 24) { $0 / 2 } == "[######------] 1.50 MB/s")
        // The filled count is clamped to the bar.
        #expect(ProgressLine.barred("x", width: 14) { _ in 99 } == "[##########] x")
        #expect(ProgressLine.barred("x", width: 14) { _ in -1 } == "[----------] x")
        // Too narrow for a bar of 10: the text alone, cut to the width.
        #expect(ProgressLine.barred("1.50 MB/s", width: 21) { $0 } == "1.50 MB/s")
        #expect(ProgressLine.barred("1.50 MB/s", width: 4) { $0 } == "1.50")
    }
}
