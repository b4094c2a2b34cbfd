import TensorCore

/// Turning scores into kept visual-token indices, as the library's methods all do.
public enum TokenSelection {
    /// The `k` best-scoring indices in ascending (raster) order; ties go to the lower index.
    /// - Throws: `PruningError.nonFiniteScore` for NaN, `.impossibleBudget` when k is outside 1...count.
    public static func topK(_ scores: [Float], k: Int, scorer: String = "scores") throws -> [Int] {
        if let bad = scores.firstIndex(where: { $0.isNaN }) { throw PruningError.nonFiniteScore(scorer: scorer, index: bad) }
        guard k >= 1, k <= scores.count else {
            throw PruningError.impossibleBudget("keep \(k) of \(scores.count) visual tokens")
        }
        return try TopK.indices(of: scores, k: k).sorted()
    }

    /// Merges ranked candidate lists: takes `quota[i]` entries from the head of `lists[i]`, drops duplicates,
    /// then refills to exactly `k` by walking the lists further in turn (the list with the larger quota
    /// first). Returns ascending indices.
    /// - Throws: `PruningError.impossibleBudget` when the lists hold fewer than `k` distinct indices,
    ///   `.invalidConfiguration` when there is not one quota per list.
    public static func union(_ lists: [[Int]], quotas: [Int], k: Int) throws -> [Int] {
        guard lists.count == quotas.count else {
            throw PruningError.invalidConfiguration("\(quotas.count) quotas for \(lists.count) candidate lists")
        }
        var chosen = Set<Int>()
        var cursor = quotas.map { _ in 0 }
        for (i, list) in lists.enumerated() {
            while cursor[i] < min(quotas[i], list.count) { chosen.insert(list[cursor[i]]); cursor[i] += 1 }
        }
        let order = lists.indices.sorted { quotas[$0] != quotas[$1] ? quotas[$0] > quotas[$1] : $0 < $1 }
        while chosen.count < k {
            var progressed = false
            for i in order where chosen.count < k && cursor[i] < lists[i].count {
                chosen.insert(lists[i][cursor[i]])
                cursor[i] += 1
                progressed = true
            }
            guard progressed else {
                throw PruningError.impossibleBudget("only \(chosen.count) distinct candidates for a budget of \(k)")
            }
        }
        return chosen.sorted()
    }
}
