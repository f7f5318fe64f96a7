/// "Did you mean …?" for mistyped option and command names.
public enum Suggestion {
    /// Edit distance counting insertions, deletions, substitutions and swaps of two adjacent
    /// characters as 1 each (optimal string alignment), over Unicode scalars. A swap is the most
    /// common typo (`benhc` for `bench`), so it counts as one mistake rather than two.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // distance[i][j]: between the first i scalars of a and the first j of b.
        let row = [Int](repeating: 0, count: b.count + 1)
        var distance = [[Int]](repeating: row, count: a.count + 1)
        for i in 0...a.count { distance[i][0] = i }
        for j in 0...b.count { distance[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var best = Swift.min(
                    distance[i - 1][j] + 1, distance[i][j - 1] + 1, distance[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = Swift.min(best, distance[i - 2][j - 2] + 1)
                }
                distance[i][j] = best
            }
        }
        return distance[a.count][b.count]
    }

    /// The candidate the user most likely meant, or nil when none is close.
    ///
    /// A candidate is close when the typed name is a prefix of it (`dur` for `duration`) or
    /// when the edit distance is at most about a third of the longer name: 1 edit up to 4
    /// characters, 2 up to 7, 3 beyond. Ties go to the earlier candidate, so declaration order
    /// decides and the answer is the same on every run.
    public static func closest(to typed: String, among candidates: [String]) -> String? {
        guard !typed.isEmpty else { return nil }
        var best: (name: String, distance: Int)?
        for candidate in candidates where candidate != typed {
            let distance: Int
            if candidate.hasPrefix(typed) {
                distance = 1
            } else {
                distance = editDistance(typed, candidate)
                let longer = Swift.max(typed.count, candidate.count)
                let allowed = Swift.min(3, Swift.max(1, (longer + 1) / 3))
                guard distance <= allowed else { continue }
            }
            if let best, best.distance <= distance { continue }
            best = (candidate, distance)
        }
        return best?.name
    }
}
