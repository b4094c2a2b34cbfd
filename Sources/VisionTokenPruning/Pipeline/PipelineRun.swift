import TensorCore
import VLMModels

/// The state of one `PruningPipeline.run`, stage by stage: encode → select before the language model →
/// prefill (with in-LLM pruning and withdrawal) → decode (with KV-budget eviction).
struct PipelineRun {
    let pipeline: PruningPipeline
    let tokenIds: [Int]
    /// The prompt layout, known once the image is encoded (LLaVA-NeXT's token count depends on the image).
    var layout: PromptLayout!
    var seconds = StageFigures()
    var flops = StageFigures()
    /// Visual tokens to keep (the budget resolved against this image's visual tokens).
    var keptVisualTokens = 0
    /// The rows that replace the image in the language model (all visual tokens when unpruned; in-LLM scorers
    /// replace it at their layer).
    var reduction = TokenReduction(rows: [])
    /// Vision output: every view's features, the token map and the [CLS] attention rows the scorer asked for.
    var encoded: EncodedImage!
    /// Prefill input rows and the expanded-sequence row each came from (a merged token: its anchor's).
    var embeddings = Tensor(zeros: [0])
    var originalPositions: [Int] = []
    /// The unpruned sequence's rotary position of every expanded row (`VisionLanguageModel.rotaryPositions`).
    var expandedPositions: [RotaryPosition] = []
    var state: DecoderState!
    var cache: KVCache
    var tokensPerLayer: [Int] = []
    /// Per layer, each cached entry's attention importance (column sums), when a KV budget needs it.
    var importance: [Int: [Float]] = [:]
    /// The KV budget's per-layer shares for this request, if the pipeline has a KV budget.
    var kvProfile: PrefixKVProfile?

    private var model: any VisionLanguageModel { pipeline.model }
    private var description: any ModelDescription { pipeline.model.modelDescription }
    private var text: LlamaConfiguration { pipeline.model.language.configuration }

    init(pipeline: PruningPipeline, tokenIds: [Int]) {
        self.pipeline = pipeline
        self.tokenIds = tokenIds
        cache = pipeline.model.language.makeCache()
    }

    private func context(
        projected: Tensor? = nil, prompt: Tensor? = nil, languageAttention: Tensor? = nil, languageKeys: Tensor? = nil,
        languageHidden: Tensor? = nil
    ) -> ScoringContext {
        ScoringContext(configuration: description, layout: layout, tokens: encoded.tokens,
                       visionClassAttention: encoded.classAttention, visionAttentionReceived: encoded.attentionReceived,
                       visionKeys: encoded.headMeanKeys, visionFeatures: encoded.features, projectedTokens: projected, promptEmbeddings: prompt,
                       languageAttention: languageAttention, languageKeys: languageKeys, languageHidden: languageHidden)
    }

    /// Runs the vision tower on every view as deep as the projector and the scorer need, lays out the prompt
    /// and resolves the budget against the image's visual tokens.
    mutating func encode(_ image: ImageInput) throws {
        let request = pipeline.requirements.visionRequest
        let featureDepth = (description.visionFeatureEncoderLayer ?? -1) + 1
        let depth = max(featureDepth, request.deepestLayer + 1)
        let (encoded, encoderSeconds) = try measured { try model.encodeImage(image, requesting: request) }
        seconds.encoder += encoderSeconds
        self.encoded = encoded
        layout = try model.layout(tokenIds: tokenIds, imageTokenCount: encoded.tokens.count)
        expandedPositions = model.rotaryPositions(layout: layout, tokens: encoded.tokens)
        reduction = TokenReduction(kept: Array(0..<layout.imageTokenCount))
        let budget = pipeline.pruning?.budget
        keptVisualTokens = try budget.map { try $0.resolve(available: layout.imageTokenCount) } ?? layout.imageTokenCount
        if case .ratio = budget {
            // A share too small for the always-kept newlines keeps them and one content token.
            keptVisualTokens = max(keptVisualTokens, min(layout.imageTokenCount, encoded.tokens.newlineIndices.count + 1))
        }
        flops.encoder = model.visionFlops(image: image, layers: depth)
    }

    /// Pre-LLM reduction and the prefill input. Scorers that read projected tokens need every token projected
    /// first; the others score on encoder outputs, and only the kept tokens are projected. Merged tokens are
    /// combined in the vision feature space and projected after.
    mutating func selectBeforeLanguageModel() throws {
        let requirements = pipeline.requirements
        let scorer = pipeline.stage == .beforeLanguageModel ? pipeline.pruning?.scorer : nil
        var projected: Tensor?, full: Tensor?
        if scorer == nil || requirements.projectedTokens || requirements.promptEmbeddings {
            let (all, projectorSeconds) = try measured { try model.visualEmbeddings(encoded) }
            seconds.projector += projectorSeconds
            flops.projector = model.projectorFlops(rows: encoded.projectedRowCount(of: reduction.keptIndices))
            projected = all
            full = try model.inputEmbeddings(layout: layout, visual: all)
            embeddings = full!
        }
        if let scorer {
            let (choice, scoringSeconds) = try measured {
                try scorer.reduce(context(projected: projected, prompt: full), keep: keptVisualTokens)
            }
            seconds.scoring += scoringSeconds
            try choice.validate(against: encoded.tokens, scorer: scorer.name)
            reduction = choice
            let (visual, projectorSeconds) = try measured { try visualRows(projected: projected) }
            seconds.projector += projectorSeconds
            embeddings = try model.embeddings(layout: layout, splicing: visual)
        }
        originalPositions = Array(layout.textBeforeImage) + reduction.rows.map { layout.imageStart + $0.anchor }
            + Array(layout.textAfterImage)
    }

    /// The language-model rows of `reduction`, in its order: kept tokens from `projected` (every visual token,
    /// when the scorer needed them) or projected now, merged tokens combined from the vision features and
    /// projected. Counts the projector FLOPs of what is projected here.
    private mutating func visualRows(projected: Tensor?) throws -> Tensor {
        let kept = reduction.keptIndices, merged = reduction.mergedTokens
        var keptRows: Tensor?
        if let projected {
            keptRows = try projected.gatherRows(kept)
        } else if !kept.isEmpty {
            keptRows = try model.visualEmbeddings(encoded, keeping: kept)
            flops.projector = model.projectorFlops(rows: encoded.projectedRowCount(of: kept))
        }
        var mergedRows: Tensor?
        if !merged.isEmpty {
            mergedRows = try model.projectFeatures(try reduction.mergedFeatures(encoded.features, tokens: encoded.tokens))
            flops.projector += model.projectorFlops(rows: merged.count)
        }
        let width = text.hiddenSize
        let keptRow = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($1, $0) })
        return Tensor(shape: [reduction.count, width]) { out in
            var nextMerged = 0
            for (i, row) in reduction.rows.enumerated() {
                let source: Tensor, at: Int
                switch row {
                case .kept(let index): (source, at) = (keptRows!, keptRow[index]!)
                case .merged: (source, at) = (mergedRows!, nextMerged); nextMerged += 1
                }
                source.withUnsafeBufferPointer { (out.baseAddress! + i * width).update(from: $0.baseAddress! + at * width, count: width) }
            }
        }
    }

    /// Prefill through every layer, dropping tokens at the in-LLM pruning layer and at the withdrawal layer.
    mutating func prefill() throws {
        let renumber = pipeline.stage == .beforeLanguageModel && pipeline.options.positions == .renumber
        // Renumbering is 1-D (0, 1, 2, … on every axis, also under M-RoPE); keeping positions keeps all three axes.
        state = try model.language.beginPrefill(
            embeddings: embeddings,
            rotaryPositions: renumber ? originalPositions.indices.map(RotaryPosition.init) : originalPositions.map { expandedPositions[$0] })
        if let scorer = pipeline.pruning?.scorer, case .insideLanguageModel(let scoringLayer, let queryRows) = pipeline.stage {
            // No pre-LLM pruning happened, so rows are still the expanded prompt's rows.
            let queries = queryRows.rows(in: layout)
            let attention = try advance(to: scoringLayer + 1, queryRows: (scoringLayer, queries))
            let (choice, scoringSeconds) = try measured {
                var keys: Tensor?, hidden: Tensor?
                if pipeline.requirements.languageKeysAndHidden {
                    let entry = cache.layers[scoringLayer]
                    keys = try entry.keys.rows(0..<entry.count)
                    hidden = try model.language.finalNorm(state.hidden)
                }
                return try scorer.select(context(languageAttention: attention, languageKeys: keys, languageHidden: hidden),
                                         keep: keptVisualTokens)
            }
            seconds.scoring += scoringSeconds
            try PipelineRun.checkSelection(choice, count: layout.imageTokenCount, scorer: scorer)
            reduction = TokenReduction(kept: choice)
            let keptRows = Set(choice.map { layout.imageStart + $0 })
            let rows = state.positions.indices.filter { !layout.imageSpan.contains($0) || keptRows.contains($0) }
            try state.keepRows(rows)
        }
        if let k = pipeline.options.withdrawalLayer {
            _ = try advance(to: k)
            let textRows = state.positions.indices.filter {
                !layout.imageSpan.contains(originalPositions[state.sourceRows[$0]])
            }
            guard !textRows.isEmpty else {
                throw PruningError.invalidConfiguration(
                    "withdrawal at layer \(k) would leave no token: the prompt has no text besides the image placeholder")
            }
            try state.keepRows(textRows)
        }
        _ = try advance(to: text.layerCount)
    }

    /// The next-token logits after the prompt (`[vocab]`), from the last prefill row; counted in the prefill.
    mutating func promptLogits() throws -> [Float] {
        let hidden = state.hidden, last = state.positions.count - 1, language = model.language
        let (logits, elapsed) = try measured { try language.logits(hidden, rows: [last]).scalars }
        seconds.prefill += elapsed
        flops.prefill += FlopsModel.outputHead(rows: 1, text)
        return logits
    }

    /// Runs layers up to `layer`, recording token counts and FLOPs, importance for a KV budget, and the
    /// attention rows of `queryRows` (returned) for in-LLM scoring.
    private mutating func advance(to layer: Int, queryRows: (layer: Int, rows: [Int])? = nil) throws -> Tensor? {
        let n = state.positions.count, start = state.nextLayer
        let budgeted = pipeline.options.kvBudget != nil
        var requests: [Int: AttentionProbabilityRequest] = [:]
        if budgeted { for l in start..<layer { requests[l] = .columnSums } }
        if let q = queryRows { requests[q.layer] = budgeted ? .all : .rows(q.rows) }
        let language = model.language
        let (result, prefillSeconds) = try measured {
            try language.advance(&state, to: layer, cache: &cache, attentions: requests)
        }
        seconds.prefill += prefillSeconds
        for _ in start..<layer {
            tokensPerLayer.append(n)
            flops.prefill += FlopsModel.decoderLayer(tokens: n, text)
        }
        var queried: Tensor?
        for (l, probabilities) in result {
            if let q = queryRows, l == q.layer {
                if budgeted {
                    importance[l] = try AttentionMap.columnSums(probabilities)
                    queried = try AttentionMap.queryRows(q.rows, of: probabilities)
                } else {
                    queried = probabilities
                }
            } else {
                importance[l] = probabilities.scalars
            }
        }
        return queried
    }

    /// Greedy (or forced) decoding after the prefill, with KV-budget eviction when configured.
    mutating func decode(
        from logits: [Float], choosing: LlamaDecoder.TokenChoice, onToken: (Int) throws -> Void
    ) throws -> LlamaDecoder.Continuation {
        let language = model.language, text = self.text
        var eviction = kvProfile.map(PrefixKVEviction.init)
        if eviction != nil {
            try eviction!.evictAfterPrefill(cache: &cache, scores: (0..<text.layerCount).map { importance[$0]! })
        }
        let evictor = eviction, nextPosition = state.nextPosition
        var processed = originalPositions.count, decodeFlops = 0.0
        let (result, elapsed) = try measured {
            try language.continuation(from: logits, nextPosition: nextPosition,
                                      choosing: choosing, cache: &cache, onToken: onToken) { cache in
                // Each layer has just attended over its cache, now one entry longer.
                for l in 0..<cache.layers.count { decodeFlops += FlopsModel.decodeStep(cacheLength: cache.count(layer: l), text) }
                decodeFlops += FlopsModel.outputHead(rows: 1, text)
                processed += 1
                try evictor?.evictDuringDecode(cache: &cache, tokensProcessed: processed)
            }
        }
        seconds.decode += elapsed
        flops.decode += decodeFlops
        return result
    }

    /// Throws unless a selection is ascending and within the visual tokens (user scorers can get this wrong).
    static func checkSelection(_ kept: [Int], count: Int, scorer: (any TokenScorer)?) throws {
        guard zip(kept, kept.dropFirst()).allSatisfy({ $0 < $1 }), kept.allSatisfy({ (0..<count).contains($0) }) else {
            throw PruningError.invalidScores(scorer: scorer?.name ?? "none",
                                             reason: "selection must be ascending indices within 0..<\(count)")
        }
    }
}
