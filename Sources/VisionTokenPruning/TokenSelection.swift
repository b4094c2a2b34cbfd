import TensorCore
import VLMModels

/// How a saliency budget is shared between the views of a multi-view (LLaVA-NeXT, OneVision) image.
public enum ViewAllocation: String, Sendable, CaseIterable {
    /// Each view keeps its own best tokens, a share of the budget proportional to its content tokens in the
    /// sequence (FasterVLM's per-crop top-T, made exact for the budget). OneVision's downsampled grid, whose
    /// positions mix several crops, is one group.
    case perView = "per-view"
    /// One top-K over every view's tokens; attention rows sum to one in every view, so scores compare across views.
    case global
}

/// Turning scores into kept visual-token indices, as the library's methods all do.
///
/// Budgets count every visual token, LLaVA-NeXT's newline tokens included. Newline tokens are always kept (as
/// FasterVLM's NeXT code keeps them): a budget of k keeps every newline and the k − newlines best content
/// tokens, so it must exceed the newline count.
public enum TokenSelection {
    /// The content-token budget left by `k` after the always-kept newlines of `tokens`.
    /// - Throws: `PruningError.impossibleBudget` unless it is in 1...content tokens.
    public static func contentBudget(_ k: Int, tokens: VisualTokenMap) throws -> Int {
        let newlines = tokens.newlineIndices.count, content = tokens.count - newlines
        guard k - newlines >= 1, k - newlines <= content else {
            throw PruningError.impossibleBudget(newlines == 0
                ? "keep \(k) of \(tokens.count) visual tokens (need 1...\(tokens.count))"
                : "keep \(k) of \(tokens.count) visual tokens: the \(newlines) newline tokens are always kept, so the budget must be in \(newlines + 1)...\(tokens.count)")
        }
        return k - newlines
    }

    /// `k` tokens: every newline, and the best-scoring content tokens for the rest, chosen over all views
    /// (`.global`) or per view (`.perView`). Ascending indices.
    /// - Throws: `PruningError.nonFiniteScore` for NaN, `.impossibleBudget` for a budget that cannot be met.
    public static func select(_ scores: [Float], tokens: VisualTokenMap, k: Int, allocation: ViewAllocation = .global,
                              scorer: String = "scores") throws -> [Int] {
        if let bad = scores.firstIndex(where: { $0.isNaN }) { throw PruningError.nonFiniteScore(scorer: scorer, index: bad) }
        guard scores.count == tokens.count else {
            throw PruningError.invalidScores(scorer: scorer, reason: "\(scores.count) scores for \(tokens.count) visual tokens")
        }
        var kept = tokens.newlineIndices
        for group in try groups(keeping: k, tokens: tokens, allocation: allocation) where group.quota > 0 {
            kept += try TopK.indices(of: group.indices.map { scores[$0] }, k: group.quota).map { group.indices[$0] }
        }
        return kept.sorted()
    }

    /// Content tokens that share one part of a budget.
    public struct Group: Sendable, Equatable {
        /// Ascending visual-token indices of the group.
        public var indices: [Int]
        /// How many of them to keep.
        public var quota: Int
    }

    /// The content tokens (newlines excluded) of a budget of `k` split as `allocation` says: one group over all
    /// views (`.global`) or one per view (`.perView`: the base view, each crop, OneVision's downsampled grid),
    /// with shares proportional to their sizes. Set-selecting methods (DPP, diversity) run once per group.
    /// - Throws: `PruningError.impossibleBudget` for a budget that cannot be met.
    public static func groups(keeping k: Int, tokens: VisualTokenMap, allocation: ViewAllocation) throws -> [Group] {
        let budget = try contentBudget(k, tokens: tokens), content = tokens.contentIndices
        switch allocation {
        case .global:
            return [Group(indices: content, quota: budget)]
        case .perView:
            var byView = [[Int]](repeating: [], count: tokens.viewCount + 1)
            for i in content { byView[tokens.allocationGroup(tokens.origins[i])!].append(i) }
            let groups = byView.filter { !$0.isEmpty }
            return zip(groups, proportionalQuotas(budget, sizes: groups.map(\.count))).map { Group(indices: $0, quota: $1) }
        }
    }

    /// Splits `total` into shares proportional to `sizes` (largest remainders first, ties to the earlier
    /// entry), each at most its size.
    static func proportionalQuotas(_ total: Int, sizes: [Int]) -> [Int] {
        let sum = sizes.reduce(0, +)
        var quotas = sizes.map { total * $0 / sum }
        let order = sizes.indices.sorted {
            let a = total * sizes[$0] % sum, b = total * sizes[$1] % sum
            return a != b ? a > b : $0 < $1
        }
        var left = total - quotas.reduce(0, +)
        for i in order where left > 0 && quotas[i] < sizes[i] { quotas[i] += 1; left -= 1 }
        return quotas
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
