import VLMModels

/// The built-in scorers by their command-line names.
public enum ScorerCatalog {
    /// Every name `scorer(named:for:)` accepts, in display order.
    public static let names = [
        "none", "random", "uniform", "cls", "cls-global", "cls-ensemble", "received", "received-global", "text-sim", "mixture",
        "fastv", "divprune", "cdpruner", "vispruner", "visionzip", "hiprune", "dart",
    ]

    /// The names whose scorers run on `model` (no [CLS] scorer on a tower without [CLS]).
    public static func names(for model: any ModelDescription) -> [String] {
        names.filter { name in
            do {
                _ = try scorer(named: name, for: model)?.requirements(for: model)
                return true
            } catch PruningError.unsupportedModel {
                return false
            } catch {
                return true
            }
        }
    }

    /// The scorer called `name` with its published defaults (nil for `none`). `cls` shares a multi-view budget
    /// per view (FasterVLM), `cls-global` over all views. `cls-ensemble` sums the seven
    /// layers up to the feature layer (VTC-CLS's default 16...22 on LLaVA-1.5), fewer on shallower towers.
    /// `received` scores by attention received in the feature layer (towers without [CLS]), per view;
    /// `received-global` over all views. The 2025 methods: `divprune` (max-min diversity), `cdpruner`
    /// (conditional DPP, relevance from the language model's embeddings), `vispruner` (saliency then duplicate
    /// removal), `visionzip` (dominant tokens plus contextual tokens merged before the projector), `hiprune` (anchors, buffers and registers from attention received), `dart` (pivots and
    /// least-similar tokens inside the language model).
    /// - Throws: `PruningError.invalidConfiguration` for an unknown name.
    public static func scorer(named name: String, for model: any ModelDescription) throws -> (any TokenScorer)? {
        switch name {
        case "none": return nil
        case "random": return RandomScorer()
        case "uniform": return UniformScorer()
        case "cls": return ClassAttentionScorer()
        case "cls-global": return ClassAttentionScorer(allocation: .global)
        case "cls-ensemble":
            return ClassAttentionScorer(layers: .ensemble(start: max(0, (model.visionFeatureEncoderLayer ?? 0) - 6)))
        case "received": return AttentionReceivedScorer()
        case "received-global": return AttentionReceivedScorer(allocation: .global)
        case "text-sim": return TextSimilarityScorer()
        case "mixture": return AdaptiveMixtureScorer()
        case "fastv": return FastVScorer()
        case "divprune": return DivPruneScorer()
        case "cdpruner": return CDPrunerScorer()
        case "vispruner": return VisPrunerScorer()
        case "visionzip": return VisionZipScorer()
        case "hiprune": return HiPruneScorer()
        case "dart": return DARTScorer()
        default:
            throw PruningError.invalidConfiguration("unknown scorer '\(name)'; known: \(names.joined(separator: ", "))")
        }
    }

    /// The scorer called `name` keeping `budget`, nil for `none` (the unpruned model).
    /// - Throws: `PruningError.invalidConfiguration` for an unknown name.
    public static func pruning(named name: String, for model: any ModelDescription, keep budget: TokenBudget) throws
        -> TokenPruning?
    {
        try scorer(named: name, for: model).map { TokenPruning($0, keep: budget) }
    }
}
