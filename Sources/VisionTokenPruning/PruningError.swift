/// Errors from scoring, selection, withdrawal and the pipeline. Each case says what was wrong.
public enum PruningError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A budget that cannot be met: not in `1...available` (or a ratio outside (0, 1]).
    case impossibleBudget(String)
    /// A scorer needs an input the context lacks (e.g. [CLS] attention from an encoder without [CLS]).
    case missingInput(scorer: String, input: String)
    /// A score is NaN (infinite scores are ordered normally).
    case nonFiniteScore(scorer: String, index: Int)
    /// A scorer returned the wrong number of scores or invalid indices.
    case invalidScores(scorer: String, reason: String)
    /// A text span with no usable token.
    case emptyTextSpan(String)
    /// A layer index outside what the model has, or an inconsistent combination of options.
    case invalidConfiguration(String)
    /// A scorer that cannot run on this kind of model (e.g. [CLS] attention on a tower without [CLS]); the
    /// reason names the alternative.
    case unsupportedModel(scorer: String, reason: String)

    public var description: String {
        switch self {
        case let .impossibleBudget(s): return "impossible budget: \(s)"
        case let .missingInput(scorer, input): return "scorer '\(scorer)' needs \(input), which this model or call does not provide"
        case let .nonFiniteScore(scorer, index): return "scorer '\(scorer)' produced NaN for visual token \(index)"
        case let .invalidScores(scorer, reason): return "scorer '\(scorer)': \(reason)"
        case let .emptyTextSpan(s): return "empty text span: \(s)"
        case let .invalidConfiguration(s): return "invalid pruning configuration: \(s)"
        case let .unsupportedModel(scorer, reason): return "scorer '\(scorer)' cannot run on this model: \(reason)"
        }
    }
}
