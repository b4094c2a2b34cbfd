/// VisPruner's duplicate removal (ICCV 2025, `Theia-4869/VisPruner`): a ToMe-style bipartite matching that drops
/// up to 8 of the most duplicated items per round until `keep` remain.
///
/// Each round splits the current list alternately into A (positions 0, 2, 4, …) and B (1, 3, 5, …), scores every
/// A item by its highest similarity to any B item, removes the r = min(8, count − keep) highest-scoring A items
/// and continues with the rest of A, in descending score order, followed by B. The new order decides the next
/// split, so it is reproduced exactly; equal scores keep the earlier A item first.
public enum BipartiteDeduplication {
    /// `candidates` reduced to `keep` items (when there are more), in the list's final order.
    /// - Parameter similarity: the similarity of two candidates (symmetric; VisPruner uses the cosine of the
    ///   vision features before the projector).
    public static func reduce(_ candidates: [Int], to keep: Int, similarity: (Int, Int) -> Float) -> [Int] {
        guard keep > 0 else { return [] }
        var list = candidates
        while true {
            let r = min(8, list.count - keep)
            guard r > 0 else { break }
            let a = stride(from: 0, to: list.count, by: 2).map { list[$0] }
            let b = stride(from: 1, to: list.count, by: 2).map { list[$0] }
            let scores = a.map { x in b.map { similarity(x, $0) }.max() ?? -.infinity }
            let order = a.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            list = order.dropFirst(r).map { a[$0] } + b
        }
        return list
    }
}
