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
    /// Ascending indices (0 ..< visual tokens) of the visual tokens kept unchanged by the scorer (all when none).
    public var keptVisualIndices: [Int]
    /// Tokens a merging method (VisionZip) built from several vision tokens, in sequence order; empty otherwise.
    public var mergedVisualTokens: [MergedToken]
    /// Costs and token counts.
    public var report: PipelineReport
}

/// Applies a token scorer between a vision-language model's vision encoder and its language model, optionally with
/// layer withdrawal (VTW) and a KV budget (PrefixKV), and runs prefill and greedy decoding.
///
/// Each scorer declares where it acts (`ScoringStage`). Before the language model (CLS attention, text
/// similarity, mixtures, baselines) it chooses the visual tokens that enter it; inside it (FastV) it drops tokens
/// at the input of the layer after the one it reads. Withdrawal removes all remaining visual tokens at the input
/// of `withdrawalLayer`. Removed tokens are absent from the KV cache of every later layer; decoding continues at
/// consistent positions.
///
/// ```swift
/// let model = try LlavaModel(directory: URL(fileURLWithPath: "llava-1.5-7b-hf"))
/// let pipeline = try PruningPipeline(model: model, pruning: TokenPruning(ClassAttentionScorer(), keep: .count(64)))
/// let image = try model.imageProcessor.preprocess(try PortablePixmap.read(url))
/// let result = try pipeline.run(image: image, tokenIds: prompt, maxNewTokens: 16)
/// print(result.generatedTokens, result.report.flops.prefill)
/// let renumbered = try pipeline.with { $0.positions = .renumber }
/// ```
public struct PruningPipeline: Sendable {
    /// The model (any family: `LlavaModel` for LLaVA-1.5, NeXT and OneVision).
    public let model: any VisionLanguageModel
    /// How this pipeline prunes.
    public let options: PruningOptions
    /// What the scorer needs computed (empty without a scorer).
    public let requirements: ScoringRequirements
    /// Where the scorer acts, nil without a scorer.
    public let stage: ScoringStage?

    /// The scorer and its budget, if any (`options.pruning`).
    public var pruning: TokenPruning? { options.pruning }

    /// Validates `options` against `model` and builds a pipeline.
    /// - Throws: `PruningError` for an impossible budget, a scorer that cannot run on the model, a withdrawal
    ///   layer outside `0..<layers` or at or before the layer after an in-LLM scorer's, or a KV budget that
    ///   does not fit the model.
    public init(model: any VisionLanguageModel, options: PruningOptions = .none) throws {
        let c = model.modelDescription
        try options.kvBudget?.validate(layers: c.textLayerCount)
        self.model = model
        self.options = options
        requirements = try options.pruning?.scorer.requirements(for: c) ?? ScoringRequirements()
        stage = try options.pruning?.scorer.stage(for: c)
        // An any-resolution model's visual-token count depends on each image; its budget is resolved per run.
        if let pruning = options.pruning, let fixed = c.fixedVisualTokens { _ = try pruning.budget.resolve(available: fixed.count) }
        if let k = options.withdrawalLayer {
            guard (0..<c.textLayerCount).contains(k) else {
                throw PruningError.invalidConfiguration("withdrawal layer \(k) must be in 0..<\(c.textLayerCount)")
            }
            if let scoring = stage?.attentionLayer, k <= scoring + 1 {
                throw PruningError.invalidConfiguration(
                    "withdrawal at layer \(k) leaves no visual token for in-LLM pruning at layer \(scoring + 1)")
            }
        }
    }

    /// A pipeline from the parts of `PruningOptions`.
    /// - Throws: as `init(model:options:)`.
    public init(model: any VisionLanguageModel, pruning: TokenPruning? = nil, positions: PositionPolicy = .keepOriginal,
                withdrawalLayer: Int? = nil, kvBudget: KVCacheBudget? = nil) throws {
        try self.init(model: model, options: PruningOptions(
            pruning: pruning, positions: positions, withdrawalLayer: withdrawalLayer, kvBudget: kvBudget))
    }

    /// This pipeline with its options changed by `change`, validated again.
    /// - Throws: as `init(model:options:)`.
    public func with(_ change: (inout PruningOptions) -> Void) throws -> PruningPipeline {
        var changed = options
        change(&changed)
        return try PruningPipeline(model: model, options: changed)
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
        run.kvProfile = try options.kvBudget?.profile(model: model, image: image, tokenIds: tokenIds)
        try run.encode(image)
        try run.selectBeforeLanguageModel()
        try run.prefill()
        let logits = try run.promptLogits()
        let continuation = try run.decode(
            from: logits, choosing: forcedContinuation.map { .forced($0) }
                ?? .greedy(maxCount: maxNewTokens, stopAt: stopAtEndOfSequence ? model.endOfSequenceIds : []),
            onToken: onToken)
        let report = PipelineReport(
            visualTokens: run.layout.imageTokenCount, keptVisualTokens: run.reduction.count, tokensPerLayer: run.tokensPerLayer,
            seconds: run.seconds, flops: run.flops, kvCacheBytes: run.cache.byteCount)
        return PipelineResult(nextTokenLogits: logits, generatedTokens: continuation.tokens, continuationLogits: continuation.logits,
                              keptVisualIndices: run.reduction.keptIndices, mergedVisualTokens: run.reduction.mergedTokens,
                              report: report)
    }
}

/// Runs `body` and returns its result with its wall-clock seconds.
func measured<R>(_ body: () throws -> R) rethrows -> (R, Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    return (result, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
}
