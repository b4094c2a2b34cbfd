/// How many visual tokens to keep: an absolute count or a fraction of the visual tokens, LLaVA-NeXT's newline
/// tokens included (they are always kept; see `TokenSelection`). On a multi-view image a ratio too small for
/// the newlines keeps the newlines and one content token; a count too small for them is an error.
public enum TokenBudget: Sendable, Equatable, CustomStringConvertible {
    /// Keep exactly this many tokens.
    case count(Int)
    /// Keep this fraction of the tokens, in (0, 1] (rounded to the nearest count, at least 1).
    case ratio(Double)

    /// The number of tokens to keep out of `available`.
    /// - Throws: `PruningError.impossibleBudget` unless the result is in `1...available`.
    public func resolve(available: Int) throws -> Int {
        switch self {
        case .count(let k):
            guard k >= 1, k <= available else {
                throw PruningError.impossibleBudget("keep \(k) of \(available) visual tokens (need 1...\(available))")
            }
            return k
        case .ratio(let r):
            guard r.isFinite, r > 0, r <= 1, available >= 1 else {
                throw PruningError.impossibleBudget("keep ratio \(r) of \(available) tokens (need a ratio in (0, 1])")
            }
            return min(available, max(1, Int((r * Double(available)).rounded())))
        }
    }

    /// Parses `"64"` (count) or `"25%"` (ratio).
    /// - Throws: `PruningError.impossibleBudget` for anything else.
    public init(parsing text: String) throws {
        if text.hasSuffix("%"), let p = Double(text.dropLast()) {
            self = .ratio(p / 100)
        } else if let k = Int(text) {
            self = .count(k)
        } else {
            throw PruningError.impossibleBudget("'\(text)' is neither a count (64) nor a percentage (25%)")
        }
    }

    public var description: String {
        switch self {
        case .count(let k): return "\(k)"
        case .ratio(let r): return "\(r * 100)%"
        }
    }
}

/// Position ids of the tokens that remain after pre-LLM pruning.
public enum PositionPolicy: String, Sendable, CaseIterable {
    /// Each token keeps the position it had in the unpruned sequence (gaps where tokens were dropped), as
    /// FastV and VTW do; keeps spatial/grounding information (default). A merged token takes its anchor's
    /// position (`MergedToken.anchor`), so positions need not rise along a merging method's rows.
    case keepOriginal = "keep"
    /// The remaining rows are numbered 0, 1, 2, … in sequence order, as VTC-CLS, FasterVLM, AdaV and VisionZip do.
    case renumber
}
