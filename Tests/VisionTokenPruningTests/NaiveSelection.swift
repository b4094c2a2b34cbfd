import Foundation

/// Naive references for the set-selection methods, written from the official code's steps with explicit
/// loops in double precision: what the library's kernels and scorers are checked against.
enum NaiveSelection {
    /// det of `m` (n x n, row-major) by Gaussian elimination with partial pivoting, in double.
    static func determinant(_ m: [Double], _ n: Int) -> Double {
        var a = m, det = 1.0
        for c in 0..<n {
            let p = (c..<n).max { abs(a[$0 * n + c]) < abs(a[$1 * n + c]) }!
            if a[p * n + c] == 0 { return 0 }
            if p != c { for k in 0..<n { a.swapAt(p * n + k, c * n + k) }; det = -det }
            det *= a[c * n + c]
            for r in (c + 1)..<n {
                let f = a[r * n + c] / a[c * n + c]
                for k in c..<n { a[r * n + k] -= f * a[c * n + k] }
            }
        }
        return det
    }

    /// Greedy MAP by definition: each step adds the item that maximises det(L[S ∪ j]); stops when the best
    /// gain det(L[S ∪ j]) / det(L[S]) is at most 1e-6 of the largest diagonal entry.
    static func greedyMAP(_ l: [Double], _ n: Int, count: Int) -> [Int] {
        let floor = 1e-6 * (0..<n).map { l[$0 * n + $0] }.max()!
        var chosen: [Int] = [], current = 1.0
        while chosen.count < count {
            var best = -1, bestDet = -Double.infinity
            for j in 0..<n where !chosen.contains(j) {
                let s = chosen + [j]
                let sub = s.flatMap { a in s.map { b in l[a * n + b] } }
                let d = determinant(sub, s.count)
                if best < 0 || d > bestDet + 1e-12 * max(1, abs(bestDet)) { best = j; bestDet = d }
            }
            guard best >= 0, bestDet / current > floor else { break }
            chosen.append(best)
            current = bestDet
        }
        return chosen
    }

    /// DivPrune's steps as written in its code, with explicit loops over a double distance matrix.
    static func divPrune(_ d: [Double], _ n: Int, count: Int) -> [Int] {
        var s: [Int] = []
        for i in 0..<count {
            var scores = [Double](repeating: 0, count: n)
            for j in 0..<n {
                let column = (0..<n).map { d[$0 * n + j] }
                scores[j] = i == 0 ? column.sorted()[1] : s.map { d[$0 * n + j] }.min()!
            }
            var best = -1
            for j in 0..<n where !s.contains(j) && (best < 0 || scores[j] > scores[best]) { best = j }
            s.append(best)
        }
        return s
    }

    /// VisPruner's de-duplication rounds, written with array slices.
    static func deduplicate(_ list: [Int], keep: Int, similarity: (Int, Int) -> Double) -> [Int] {
        var current = list
        while keep > 0, current.count - keep > 0 {
            let r = Swift.min(8, current.count - keep)
            var a: [Int] = [], b: [Int] = []
            for (position, item) in current.enumerated() { if position % 2 == 0 { a.append(item) } else { b.append(item) } }
            let best = a.map { x in b.map { similarity(x, $0) }.max() ?? -.infinity }
            let ranked = (0..<a.count).sorted { best[$0] > best[$1] || (best[$0] == best[$1] && $0 < $1) }
            current = ranked.dropFirst(r).map { a[$0] } + b
        }
        return keep > 0 ? current : []
    }

    /// Indices of the `k` largest `scores` among `candidates`, ties to the lower index.
    static func best(_ k: Int, of candidates: [Int], by scores: [Double]) -> [Int] {
        Array(candidates.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k))
    }

    /// cos between rows `a` and `b` of `x` (`width` columns), in double.
    static func cosine(_ x: [Float], _ width: Int, _ a: Int, _ b: Int) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for k in 0..<width {
            let u = Double(x[a * width + k]), v = Double(x[b * width + k])
            dot += u * v; na += u * u; nb += v * v
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }
}
