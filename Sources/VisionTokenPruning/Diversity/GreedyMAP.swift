import TensorCore

/// Greedy maximum-a-posteriori inference for a determinantal point process (Chen, Zhang & Zhou 2018, "Fast
/// Greedy MAP Inference for Determinantal Point Process"), as CDPruner runs it, in O(T²·N) time and O(T·N)
/// memory for T picks among N items.
///
/// With d²ⱼ = Lⱼⱼ at the start, each step picks j = argmax d² (ties to the lower index), computes
/// eᵢ = (L[j, :] − Σₜ cₜ[j] · cₜ) / √d²ⱼ, stores it as cᵢ, and lowers d² by eᵢ² (d²ⱼ becomes −∞). d²ⱼ is the
/// volume a candidate would add to the chosen set, so a step adds the most relevant item least similar to
/// what is chosen.
public enum GreedyMAP {
    /// Up to `count` indices of `kernel [n, n]` (symmetric, positive semi-definite) in the order chosen. Stops
    /// early when the largest remaining gain d² falls below `relativeEpsilon` times the largest diagonal entry:
    /// the kernel's rank is exhausted (for instance T = N, or features of low rank), what is left is float32
    /// rounding, and √d² would soon not be a number. CDPruner's code has no such stop.
    /// - Throws: `PruningError.invalidScores` for a kernel that is not square or `count` outside `0...n`.
    public static func select(kernel: Tensor, count: Int, relativeEpsilon: Float = 1e-6) throws -> [Int] {
        guard kernel.shape.rank == 2, kernel.shape[0] == kernel.shape[1] else {
            throw PruningError.invalidScores(scorer: "dpp", reason: "kernel \(kernel.shape) is not square")
        }
        let n = kernel.shape[0]
        guard (0...n).contains(count) else {
            throw PruningError.invalidScores(scorer: "dpp", reason: "\(count) picks among \(n) items")
        }
        return kernel.withUnsafeBufferPointer { l in
            var gains = (0..<n).map { l[$0 * n + $0] }
            let epsilon = relativeEpsilon * (gains.max() ?? 0)
            var c = [Float](repeating: 0, count: count * n)
            var chosen: [Int] = []
            chosen.reserveCapacity(count)
            for i in 0..<count {
                var j = 0
                for m in 1..<max(n, 1) where gains[m] > gains[j] { j = m }
                guard gains[j] > epsilon else { break }
                let scale = 1 / gains[j].squareRoot()
                c.withUnsafeMutableBufferPointer { cs in
                    let e = cs.baseAddress! + i * n
                    for m in 0..<n { e[m] = l[j * n + m] }
                    for t in 0..<i {
                        let row = cs.baseAddress! + t * n, weight = row[j]
                        for m in 0..<n { e[m] -= weight * row[m] }
                    }
                    for m in 0..<n {
                        e[m] *= scale
                        gains[m] -= e[m] * e[m]
                    }
                }
                gains[j] = -.infinity
                chosen.append(j)
            }
            return chosen
        }
    }
}
