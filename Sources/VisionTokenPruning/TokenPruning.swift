/// A token scorer and the visual-token budget it keeps: neither can be given without the other.
///
/// ```swift
/// let pruning = TokenPruning(ClassAttentionScorer(), keep: .count(64))
/// ```
public struct TokenPruning: Sendable {
    /// The method that chooses the visual tokens.
    public var scorer: any TokenScorer
    /// How many visual tokens it keeps.
    public var budget: TokenBudget

    /// `scorer` keeping `budget` visual tokens.
    public init(_ scorer: any TokenScorer, keep budget: TokenBudget) {
        self.scorer = scorer
        self.budget = budget
    }
}
