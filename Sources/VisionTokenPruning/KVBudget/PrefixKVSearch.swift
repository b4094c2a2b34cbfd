/// PrefixKV's global prefix search (arXiv 2412.03409, `obtain_cdf_num` in THU-MIG/PrefixKV).
///
/// Per layer l, the importance scores of its cached tokens are sorted in descending order and turned into
/// a cumulative share F_l (the "prefix cumulative priority"). One threshold p is shared by all layers:
/// layer l keeps the shortest prefix whose share reaches p and evicts the rest, except `protectedCount`
/// entries (the first tokens and the last one). p is found by bisection so the total evicted count meets
/// the target; layers whose attention is concentrated reach p with few tokens and so evict more.
public enum PrefixKVSearch {
    /// Evictions per layer and the shared threshold.
    public struct Result: Sendable, Equatable {
        /// Entries to evict per layer.
        public var evictions: [Int]
        /// The shared cumulative-share threshold p.
        public var threshold: Double
        /// Bisection steps taken.
        public var iterations: Int
    }

    /// Solves for per-layer eviction counts.
    ///
    /// - Parameters:
    ///   - scores: per layer, one non-negative importance per cached entry (lengths may differ).
    ///   - retainedFraction: share of all entries to keep, in (0, 1] (PrefixKV's budget; its `ratio` is 1 − this).
    ///   - protectedCount: entries per layer never evicted (`start_size` + the last token).
    ///   - tolerance: bisection stops when the total is within this many entries of the target (5, as published).
    ///   - iterationCap: bisection steps at most (the published float loop has no other exit).
    /// - Returns: counts that sum to exactly round((1 − retainedFraction) · Σ entries) when that is reachable: the
    ///   published code rescales by target/total and truncates (losing up to one entry per layer); the
    ///   remainder is handed out here by largest fractional part, capped at each layer's evictable entries.
    /// - Throws: `PruningError.invalidConfiguration` for a fraction outside (0, 1], negative or NaN scores.
    public static func solve(
        scores: [[Float]], retainedFraction: Double, protectedCount: Int, tolerance: Double = 5, iterationCap: Int = 200
    ) throws -> Result {
        guard retainedFraction > 0, retainedFraction <= 1 else {
            throw PruningError.invalidConfiguration("retained KV fraction \(retainedFraction) is outside (0, 1]")
        }
        guard protectedCount >= 0, !scores.isEmpty else {
            throw PruningError.invalidConfiguration("need at least one layer and protectedCount >= 0")
        }
        for (l, layer) in scores.enumerated() {
            if let bad = layer.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
                throw PruningError.invalidConfiguration("importance score \(bad) of layer \(l) is negative or not finite")
            }
        }
        let cumulative = scores.map(cumulativeShare)
        let evictable = scores.map { max(0, $0.count - protectedCount) }
        let target = ((1 - retainedFraction) * Double(scores.reduce(0) { $0 + $1.count })).rounded()
        // As published: the prefix up to the first index whose share reaches p (searchsorted, left) is kept,
        // and `protectedCount` of the remaining entries are spared.
        func counts(_ p: Double) -> [Int] {
            cumulative.map { f in
                let index = f.firstIndex { $0 >= p } ?? f.count
                return max(0, f.count - (index + 1) - protectedCount)
            }
        }
        var left = 0.0, right = 1.0, mid = 0.0, iterations = 0
        while left < right, iterations < iterationCap {
            iterations += 1
            mid = (left + right) / 2
            let total = Double(counts(mid).reduce(0, +))
            if abs(total - target) < tolerance { break }
            if total < target { right = mid } else { left = mid }
        }
        let raw = counts(mid)
        let total = raw.reduce(0, +)
        guard total > 0 else { return Result(evictions: raw, threshold: mid, iterations: iterations) }
        // Rescale to the target as published, then distribute what truncation lost.
        let scaled = raw.map { Double($0) * target / Double(total) }
        var evictions = zip(scaled, evictable).map { min($1, Int($0)) }
        var missing = Int(target) - evictions.reduce(0, +)
        let order = scaled.indices.sorted { (scaled[$0] - scaled[$0].rounded(.down)) > (scaled[$1] - scaled[$1].rounded(.down)) }
        while missing > 0 {
            var progressed = false
            for l in order where missing > 0 && evictions[l] < evictable[l] {
                evictions[l] += 1
                missing -= 1
                progressed = true
            }
            if !progressed { break }
        }
        return Result(evictions: evictions, threshold: mid, iterations: iterations)
    }

    /// Cumulative share of the scores sorted in descending order (uniform when all are zero).
    static func cumulativeShare(_ scores: [Float]) -> [Double] {
        let sorted = scores.map(Double.init).sorted(by: >)
        let total = sorted.reduce(0, +)
        var running = 0.0
        return sorted.enumerated().map { i, v in
            running += v
            return total > 0 ? running / total : Double(i + 1) / Double(sorted.count)
        }
    }

    /// Rows of one layer's cache to keep: the first `protectedPrefix` entries, the last entry, and of the rest
    /// all but the `evict` lowest-scoring (ties evict the earlier entry), in ascending order.
    /// A negative `protectedPrefix` protects nothing but the last entry.
    public static func keptRows(scores: [Float], evict: Int, protectedPrefix requested: Int) -> [Int] {
        let n = scores.count, protectedPrefix = max(0, requested)
        guard n > protectedPrefix + 1 else { return Array(0..<n) }
        let middle = Array(protectedPrefix..<(n - 1))
        let ranked = middle.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        let dropped = Set(ranked.prefix(max(0, min(evict, middle.count))))
        return (0..<n).filter { !dropped.contains($0) }
    }
}
