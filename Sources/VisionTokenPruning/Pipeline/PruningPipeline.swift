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
/// let result = try pipeline.run(pixels: pixels, tokenIds: prompt, maxNewTokens: 16)
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
    /// Visual tokens kept per image.
    public let keptCount: Int
    /// Per-layer KV-cache budget (PrefixKV) applied after prefill and during decoding, or nil.
    public let kvBudget: PrefixKVProfile?

    /// Validates and builds a pipeline.
    /// - Throws: `PruningError` for a scorer without budget, an impossible budget, a withdrawal layer outside
    ///   `0..<layers`, or withdrawal at or before an in-LLM pruning layer.
    public init(model: LlavaModel, scorer: (any TokenScorer)? = nil, budget: TokenBudget? = nil,
                positions: PositionPolicy = .keepOriginal, withdrawalLayer: Int? = nil,
                kvBudget: PrefixKVProfile? = nil) throws {
        let c = model.configuration
        if let kvBudget, kvBudget.evictionRatios.count != c.text.layerCount {
            throw PruningError.invalidConfiguration(
                "KV budget has \(kvBudget.evictionRatios.count) layer ratios, the model \(c.text.layerCount) layers")
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
            keptCount = try budget.resolve(available: c.visualTokenCount)
        } else {
            keptCount = c.visualTokenCount
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
    ///   - pixels: normalised image `[3, imageSize, imageSize]`.
    ///   - tokenIds: the prompt with exactly one image placeholder (unexpanded).
    ///   - maxNewTokens: greedy tokens to generate (0: logits only); ignored when `forcedContinuation` is given.
    ///   - forcedContinuation: tokens to feed instead of the argmax (teacher forcing), to compare the
    ///     distributions of two configurations step by step.
    /// - Throws: `ModelError` for bad inputs, `PruningError` from scoring.
    public func run(pixels: Tensor, tokenIds: [Int], maxNewTokens: Int = 0, forcedContinuation: [Int]? = nil) throws -> PipelineResult {
        guard maxNewTokens >= 0 else { throw ModelError.invalidInput("maxNewTokens must be >= 0") }
        let c = model.configuration
        let layout = try model.layout(tokenIds: tokenIds)
        var seconds = StageFigures(), flops = StageFigures()

        let attentionRequests = Dictionary(uniqueKeysWithValues: requirements.visionAttentionLayers.map {
            ($0, AttentionProbabilityRequest.rows([0]))
        })
        let encoderDepth = max(c.resolvedVisionFeatureLayer, (requirements.visionAttentionLayers.max() ?? -1) + 1)
        let (features, vision) = try timed(&seconds.encoder) {
            try model.encodeImage(pixels: pixels, attentions: attentionRequests)
        }
        flops.encoder = FlopsModel.visionEncoder(layers: encoderDepth, c.vision)

        // Pre-LLM selection. Scorers that read projected tokens need every token projected first;
        // the others score on encoder outputs and only the kept tokens are projected.
        let preLLM = scorer != nil && requirements.languageAttentionLayer == nil
        let needsProjection = requirements.projectedTokens || requirements.promptEmbeddings
        var kept = Array(0..<layout.imageTokenCount)
        var embeddings: Tensor
        func context(_ projected: Tensor?, _ prompt: Tensor?, _ languageAttention: Tensor? = nil) -> ScoringContext {
            ScoringContext(configuration: c, layout: layout,
                           visionClassAttention: vision.attentions, projectedTokens: projected,
                           promptEmbeddings: prompt, languageAttention: languageAttention)
        }
        if preLLM, let scorer, !needsProjection {
            kept = try timed(&seconds.scoring) { try scorer.select(context(nil, nil), keep: keptCount) }
            let projected = try timed(&seconds.projector) { try model.projector(try features.gatherRows(kept)) }
            flops.projector = FlopsModel.projector(tokens: kept.count, c)
            embeddings = try model.language.embed(layout.tokenIds)  // placeholder row replaced below
            embeddings = try Self.splice(text: embeddings, visual: projected, layout: layout)
        } else {
            let projected = try timed(&seconds.projector) { try model.projector(features) }
            flops.projector = FlopsModel.projector(tokens: layout.imageTokenCount, c)
            embeddings = try model.inputEmbeddings(layout: layout, visual: projected)
            if preLLM, let scorer {
                let full = embeddings
                kept = try timed(&seconds.scoring) { try scorer.select(context(projected, full), keep: keptCount) }
                let rows = Array(layout.textBeforeImage) + kept.map { layout.imageStart + $0 } + Array(layout.textAfterImage)
                embeddings = try full.gatherRows(rows)
            }
        }
        try Self.checkSelection(kept, count: layout.imageTokenCount, scorer: scorer)

        // Rows of the prefill sequence, their original (expanded) positions and which are visual.
        let originalPositions = Array(layout.textBeforeImage) + kept.map { layout.imageStart + $0 }
            + Array(layout.textAfterImage)
        let positionIds = preLLM && positions == .renumber ? Array(originalPositions.indices) : originalPositions
        var cache = model.language.makeCache()
        var state = try model.language.beginPrefill(embeddings: embeddings, positions: positionIds)
        var tokensPerLayer: [Int] = []
        let layerCount = c.text.layerCount
        let isVisual = { (row: Int) in layout.imageSpan.contains(originalPositions[state.sourceRows[row]]) }

        // Importance of every cached entry per layer (column sums), when a KV budget needs it.
        var importance: [Int: [Float]] = [:]
        func advance(to layer: Int, queryRows: (layer: Int, rows: [Int])? = nil) throws -> Tensor? {
            let n = state.positions.count
            let start = state.nextLayer
            var requests: [Int: AttentionProbabilityRequest] = [:]
            if kvBudget != nil { for l in start..<layer { requests[l] = .columnSums } }
            if let q = queryRows { requests[q.layer] = kvBudget != nil ? .all : .rows(q.rows) }
            let result = try timed(&seconds.prefill) {
                try model.language.advance(&state, to: layer, cache: &cache, attentions: requests)
            }
            for _ in start..<layer {
                tokensPerLayer.append(n)
                flops.prefill += FlopsModel.decoderLayer(tokens: n, c.text)
            }
            var queried: Tensor?
            for (l, probabilities) in result {
                if let q = queryRows, l == q.layer, kvBudget != nil {
                    importance[l] = try Self.columnSums(probabilities)
                    queried = try Self.rows(probabilities, q.rows)
                } else if let q = queryRows, l == q.layer {
                    queried = probabilities
                } else {
                    importance[l] = probabilities.scalars
                }
            }
            return queried
        }

        if let scorer, let scoringLayer = requirements.languageAttentionLayer {
            let queries = requirements.languageAttentionQueries.rows(in: layout)
            let attention = try advance(to: scoringLayer + 1, queryRows: (scoringLayer, queries))
            kept = try timed(&seconds.scoring) { try scorer.select(context(nil, nil, attention), keep: keptCount) }
            try Self.checkSelection(kept, count: layout.imageTokenCount, scorer: scorer)
            let keptRows = Set(kept.map { layout.imageStart + $0 })
            let rows = state.positions.indices.filter { !layout.imageSpan.contains($0) || keptRows.contains($0) }
            try state.keepRows(rows)
        }
        if let k = withdrawalLayer {
            _ = try advance(to: k)
            let textRows = state.positions.indices.filter { !isVisual($0) }
            try state.keepRows(textRows)
        }
        _ = try advance(to: layerCount)

        let logits = try model.language.logits(state.hidden, rows: [state.positions.count - 1]).scalars
        var eviction = kvBudget.map(PrefixKVEviction.init)
        if eviction != nil {
            try eviction!.evictAfterPrefill(cache: &cache, scores: (0..<layerCount).map { importance[$0]! })
        }
        var generated: [Int] = [], continuation: [[Float]] = []
        try timed(&seconds.decode) {
            let steps = forcedContinuation?.count ?? maxNewTokens
            var current = logits, position = state.positions.last! + 1
            var processed = originalPositions.count
            for step in 0..<steps {
                let token = forcedContinuation?[step] ?? LlamaDecoder.argmax(current)
                generated.append(token)
                if step == steps - 1 && forcedContinuation == nil { break }
                let lengths = cache.layers.map(\.count)
                current = try model.language.decode(token: token, position: position, cache: &cache)
                for length in lengths { flops.decode += FlopsModel.decodeStep(cacheLength: length + 1, c.text) }
                continuation.append(current)
                position += 1
                processed += 1
                try eviction?.evictDuringDecode(cache: &cache, tokensProcessed: processed)
            }
        }
        let report = PipelineReport(
            visualTokensIn: layout.imageTokenCount, visualTokensKept: kept.count, tokensPerLayer: tokensPerLayer,
            seconds: seconds, flops: flops, kvCacheBytes: cache.byteCount)
        return PipelineResult(nextTokenLogits: logits, generatedTokens: generated, continuationLogits: continuation,
                              keptVisualIndices: kept, report: report)
    }

    /// Text embeddings of the unexpanded prompt with the placeholder row replaced by `visual` rows.
    static func splice(text: Tensor, visual: Tensor, layout: PromptLayout) throws -> Tensor {
        let before = try text.rows(0..<layout.imageStart)
        let after = try text.rows((layout.imageStart + 1)..<layout.tokenIds.count)
        return try Tensor.concatenateRows([before, visual, after].filter { $0.shape[0] > 0 })
    }

    /// Σ over heads and query rows / heads of a `[heads, queries, keys]` map: `[keys]`.
    private static func columnSums(_ map: Tensor) throws -> [Float] {
        let heads = map.shape[0], rows = map.shape[1], keys = map.shape[2]
        var sums = [Float](repeating: 0, count: keys)
        map.withUnsafeBufferPointer { p in
            for h in 0..<heads { for r in 0..<rows { for j in 0..<keys { sums[j] += p[(h * rows + r) * keys + j] } } }
        }
        return sums.map { $0 / Float(heads) }
    }

    /// The given query rows of a `[heads, queries, keys]` map: `[heads, rows.count, keys]`.
    private static func rows(_ map: Tensor, _ rows: [Int]) throws -> Tensor {
        let heads = map.shape[0], queries = map.shape[1], keys = map.shape[2]
        let flat = try map.reshaped([heads * queries, keys])
        let picked = try flat.gatherRows((0..<heads).flatMap { h in rows.map { h * queries + $0 } })
        return try picked.reshaped([heads, rows.count, keys])
    }

    private static func checkSelection(_ kept: [Int], count: Int, scorer: (any TokenScorer)?) throws {
        guard zip(kept, kept.dropFirst()).allSatisfy({ $0 < $1 }), kept.allSatisfy({ (0..<count).contains($0) }) else {
            throw PruningError.invalidScores(scorer: scorer?.name ?? "none",
                                             reason: "selection must be ascending indices within 0..<\(count)")
        }
    }
}

/// Runs `body`, adding its wall-clock seconds to `total`.
func timed<R>(_ total: inout Double, _ body: () throws -> R) rethrows -> R {
    let start = DispatchTime.now().uptimeNanoseconds
    defer { total += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
    return try body()
}
