/// Top-k selection with a deterministic tie-break.
public enum TopK {
    /// Indices of the `k` largest scores, best first; equal scores rank the lower index first.
    /// - Throws: `TensorError.invalidArgument` when `k` is outside `0...scores.count`,
    ///   `TensorError.nonFinite` when a score is NaN (infinities are ordered normally).
    public static func indices(of scores: [Float], k: Int) throws -> [Int] {
        guard k >= 0, k <= scores.count else {
            throw TensorError.invalidArgument(operation: "topK", reason: "k = \(k) for \(scores.count) scores")
        }
        if let bad = scores.firstIndex(where: { $0.isNaN }) {
            throw TensorError.nonFinite(operation: "topK", index: bad)
        }
        let order = scores.indices.sorted { a, b in
            scores[a] != scores[b] ? scores[a] > scores[b] : a < b
        }
        return Array(order.prefix(k))
    }
}
