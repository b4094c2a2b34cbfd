import Dispatch
import TensorCore
import VLMModels

/// The result of one pipeline run.
public struct PipelineResult: Sendable {
    /// Next-token logits after the prompt, `[vocab]`.
    public var nextTokenLogits: [Float]
    /// Greedy continuation (`maxNewTokens` tokens; the first is the argmax of `nextTokenLogits`), or the
    /// forced continuation when one was given.
    public var generatedTokens: [Int]
    /// Logits after feeding each continuation token but the last (greedy) or after each forced token.
    public var continuationLogits: [[Float]]
    /// Ascending indices (0 ..< visual tokens) of the visual tokens kept by the scorer (all when none).
    public var keptVisualIndices: [Int]
    /// Costs and token counts.
    public var report: PipelineReport
}

/// Applies a token scorer between a LLaVA model's vision encoder and its language model, optionally with
/// layer withdrawal (VTW), and runs prefill and greedy decoding.
///
/// Pre-LLM scorers (CLS attention, text similarity, mixtures, baselines) choose the visual tokens that enter
/// the language model; in-LLM scorers (FastV) drop tokens at the input of their layer. Withdrawal removes all
/// remaining visual tokens at the input of `withdrawalLayer`. Removed tokens are absent from the KV cache of
/// every later layer; decoding continues at consistent positions.
///
/// ```swift
/// let model = try LlavaModel(directory: URL(fileURLWithPath: "llava-1.5-7b-hf"))
/// let pipeline = try PruningPipeline(model: model, scorer: ClassAttentionScorer(), budget: .count(64))
/// let image = try model.imageProcessor.preprocess(try PortablePixmap.read(url))
/// let result = try pipeline.run(image: image, tokenIds: prompt, maxNewTokens: 16)
/// print(result.generatedTokens, result.report.flops.prefill)
/// ```
public struct PruningPipeline: Sendable {
    /// The model.
    public let model: LlavaModel
    /// The token scorer, or nil for the unpruned model.
    public let scorer: (any TokenScorer)?
    /// Visual tokens to keep (required with a scorer).
    public let budget: TokenBudget?
    /// Positions of the tokens left after pre-LLM pruning (in-LLM removal always keeps positions, as its
    /// earlier layers' caches already hold them).
    public let positions: PositionPolicy
    /// Decoder layer at whose input every visual token is withdrawn (VTW), or nil.
    public let withdrawalLayer: Int?
    /// What the scorer needs computed.
    public let requirements: ScoringRequirements
    /// Per-layer KV-cache budget (PrefixKV) applied after prefill and during decoding, or nil.
    public let kvBudget: PrefixKVProfile?

    /// Validates and builds a pipeline.
    /// - Throws: `PruningError` for a scorer without budget, an impossible budget, a withdrawal layer outside
    ///   `0..<layers`, or withdrawal at or before an in-LLM pruning layer.
    public init(model: LlavaModel, scorer: (any TokenScorer)? = nil, budget: TokenBudget? = nil,
                positions: PositionPolicy = .keepOriginal, withdrawalLayer: Int? = nil,
                kvBudget: PrefixKVProfile? = nil) throws {
        let c = model.configuration
        if let kvBudget, kvBudget.retainedRatios.count != c.text.layerCount {
            throw PruningError.invalidConfiguration(
                "KV budget has \(kvBudget.retainedRatios.count) layer ratios, the model \(c.text.layerCount) layers")
        }
        self.kvBudget = kvBudget
        self.model = model
        self.scorer = scorer
        self.budget = budget
        self.positions = positions
        self.withdrawalLayer = withdrawalLayer
        requirements = try scorer?.requirements(for: c) ?? ScoringRequirements()
        if scorer != nil {
            guard let budget else { throw PruningError.impossibleBudget("a scorer needs a budget") }
            // LLaVA-NeXT's visual-token count depends on each image; its budget is resolved per run.
            if !c.isAnyResolution { _ = try budget.resolve(available: c.visualTokenCount) }
        }
        if let k = withdrawalLayer {
            guard (0..<c.text.layerCount).contains(k) else {
                throw PruningError.invalidConfiguration("withdrawal layer \(k) must be in 0..<\(c.text.layerCount)")
            }
            if let scoring = requirements.languageAttentionLayer, k <= scoring + 1 {
                throw PruningError.invalidConfiguration(
                    "withdrawal at layer \(k) leaves no visual token for in-LLM pruning at layer \(scoring + 1)")
            }
        }
    }

    /// Runs the model on one image and prompt.
    /// - Parameters:
    ///   - image: the preprocessed image (`model.imageProcessor.preprocess`, or `ImageInput(pixels:)`).
    ///   - tokenIds: the prompt with exactly one image placeholder (unexpanded).
    ///   - maxNewTokens: most greedy tokens to generate (0: logits only); ignored when `forcedContinuation` is given.
    ///   - stopAtEndOfSequence: end after the first of `model.endOfSequenceIds` (default); false generates
    ///     exactly `maxNewTokens`.
    ///   - forcedContinuation: tokens to feed instead of the argmax (teacher forcing), to compare the
    ///     distributions of two configurations step by step.
    ///   - onToken: called with each generated token as soon as it is chosen (to stream the answer).
    /// - Throws: `ModelError` for bad inputs, `PruningError` from scoring.
    public func run(
        image: ImageInput, tokenIds: [Int], maxNewTokens: Int = 0, stopAtEndOfSequence: Bool = true,
        forcedContinuation: [Int]? = nil, onToken: (Int) throws -> Void = { _ in }
    ) throws -> PipelineResult {
        guard maxNewTokens >= 0 else { throw ModelError.invalidInput("maxNewTokens must be >= 0") }
        var run = PipelineRun(pipeline: self, tokenIds: tokenIds)
        try run.encode(image)
        try run.selectBeforeLanguageModel()
        try run.prefill()
        let logits = try run.promptLogits()
        let (generated, continuation) = try run.decode(
            from: logits, choosing: forcedContinuation.map { .forced($0) }
                ?? .greedy(maxCount: maxNewTokens, stopAt: stopAtEndOfSequence ? model.endOfSequenceIds : []),
            onToken: onToken)
        let report = PipelineReport(
            visualTokens: run.layout.imageTokenCount, keptVisualTokens: run.kept.count, tokensPerLayer: run.tokensPerLayer,
            seconds: run.seconds, flops: run.flops, kvCacheBytes: run.cache.byteCount)
        return PipelineResult(nextTokenLogits: logits, generatedTokens: generated, continuationLogits: continuation,
                              keptVisualIndices: run.kept, report: report)
    }
}

/// Runs `body` and returns its result with its wall-clock seconds.
func measured<R>(_ body: () throws -> R) rethrows -> (R, Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    return (result, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
}
