import TensorCore

/// DivPrune's max-min diversity selection (CVPR 2025, `vbdi/divprune`): a greedy answer to "pick T items whose
/// smallest pairwise distance is as large as possible".
///
/// The first pick is the item whose nearest other item is farthest (argmax over columns of the second-smallest
/// distance, the smallest being the item itself); each later pick is the item farthest from everything chosen
/// (argmax of the column minimum over the chosen rows). Ties go to the lower index. Unlike the official code,
/// an item is never picked twice (with exact duplicates it could be, keeping fewer distinct tokens).
public enum MaxMinDiversity {
    /// `count` indices of `distance [n, n]` (symmetric, e.g. 1 − cos) in the order chosen.
    /// - Throws: `PruningError.invalidScores` for a matrix that is not square or `count` outside `0...n`.
    public static func select(distance: Tensor, count: Int) throws -> [Int] {
        guard distance.shape.rank == 2, distance.shape[0] == distance.shape[1] else {
            throw PruningError.invalidScores(scorer: "divprune", reason: "distance matrix \(distance.shape) is not square")
        }
        let n = distance.shape[0]
        guard (0...n).contains(count) else {
            throw PruningError.invalidScores(scorer: "divprune", reason: "\(count) picks among \(n) items")
        }
        guard count > 0 else { return [] }
        return distance.withUnsafeBufferPointer { d in
            // Second-smallest entry of each column (the smallest is the item's distance to itself).
            var nearest = [Float](repeating: .infinity, count: n)
            if n > 1 {
                for j in 0..<n {
                    var smallest = Float.infinity, second = Float.infinity
                    for i in 0..<n {
                        let v = d[i * n + j]
                        if v < smallest { second = smallest; smallest = v } else if v < second { second = v }
                    }
                    nearest[j] = second
                }
            }
            var chosen = [argmax(nearest)]
            var isChosen = [Bool](repeating: false, count: n)
            isChosen[chosen[0]] = true
            var minimum = (0..<n).map { d[chosen[0] * n + $0] }
            while chosen.count < count {
                var best = -1
                for j in 0..<n where !isChosen[j] && (best < 0 || minimum[j] > minimum[best]) { best = j }
                chosen.append(best)
                isChosen[best] = true
                for j in 0..<n { minimum[j] = min(minimum[j], d[best * n + j]) }
            }
            return chosen
        }
    }

    private static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }
}
