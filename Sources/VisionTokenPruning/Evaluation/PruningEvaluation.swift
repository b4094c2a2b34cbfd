import Foundation
import TensorCore
import VLMModels

/// Aggregate results of one method on an evaluation set (the `vtp-bench eval --json` keys).
public struct EvaluationSummary: Sendable, Codable, Equatable {
    /// Samples evaluated.
    public var samples: Int
    /// Fraction whose top-1 next token equals `answer_ids`.
    public var accuracy: Double
    /// Fraction whose top-1 next token equals the unpruned model's.
    public var agreement: Double
    /// Mean KL(pruned ‖ unpruned) of the next-token distribution, in nats.
    public var meanKL: Double
    /// Mean fraction of target patches kept (samples with a non-empty mask), nil without masks.
    public var targetRecall: Double?
    /// The same over small-target samples, nil when none is marked.
    public var smallTargetRecall: Double?
    /// Mean kept visual tokens per sample, merged tokens included (`PipelineReport.keptVisualTokens`).
    public var keptVisualTokens: Double
    /// Mean merged tokens per sample among them (`PipelineResult.mergedVisualTokens`; 0 for pure selections).
    public var mergedVisualTokens: Double
    /// Total wall-clock seconds of the pruned runs.
    public var seconds: Double
    /// Mean FLOPs per sample of the pruned runs, all stages (`FlopsModel`: 2 per multiply-add).
    public var flops: Double

    enum CodingKeys: String, CodingKey {
        case samples, accuracy, agreement, meanKL = "mean_kl", targetRecall = "target_recall"
        case smallTargetRecall = "small_target_recall", keptVisualTokens = "kept_visual_tokens"
        case mergedVisualTokens = "merged_visual_tokens", seconds, flops
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(samples, forKey: .samples)
        try c.encode(accuracy, forKey: .accuracy)
        try c.encode(agreement, forKey: .agreement)
        try c.encode(meanKL, forKey: .meanKL)
        try c.encode(targetRecall, forKey: .targetRecall)  // explicit null when absent
        try c.encode(smallTargetRecall, forKey: .smallTargetRecall)
        try c.encode(keptVisualTokens, forKey: .keptVisualTokens)
        try c.encode(mergedVisualTokens, forKey: .mergedVisualTokens)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(flops, forKey: .flops)
    }
}

/// Per-sample outputs of an evaluation, for `--dump`.
public struct EvaluationOutputs: Sendable {
    /// Next-token logits per sample.
    public var nextTokenLogits: [[Float]]
    /// Kept visual-token indices per sample, ascending (merged tokens not included).
    public var keptIndices: [[Int]]
    /// Per sample, the anchors (`MergedToken.anchor`) of its merged tokens in row order; empty for selections.
    public var mergedAnchors: [[Int]]

    /// Outputs from their parts.
    public init(nextTokenLogits: [[Float]], keptIndices: [[Int]], mergedAnchors: [[Int]] = []) {
        self.nextTokenLogits = nextTokenLogits
        self.keptIndices = keptIndices
        self.mergedAnchors = mergedAnchors
    }
}

/// How closely a configuration follows the unpruned model over several decoding steps (teacher-forced on
/// the unpruned greedy continuation), the measure for KV-cache budgets, which leave the first token unchanged.
public struct ContinuationFidelity: Sendable, Codable, Equatable {
    /// Decoding steps compared per sample.
    public var steps: Int
    /// Fraction of steps whose argmax equals the unpruned model's next token.
    public var agreement: Double
    /// Mean KL(configuration ‖ unpruned) over steps and samples, in nats.
    public var meanKL: Double
    /// Mean KV-cache bytes at the end of a sample.
    public var kvBytes: Double
    /// Mean decoding tokens per second.
    public var decodeTokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case steps, agreement, meanKL = "mean_kl", kvBytes = "kv_bytes", decodeTokensPerSecond = "decode_tokens_per_s"
    }
}

/// Runs a pipeline over an evaluation set and compares it with the unpruned model.
public enum PruningEvaluation {
    /// The unpruned model's greedy continuation (`steps + 1` tokens) and its distributions after each of
    /// the first `steps` tokens, per sample.
    public static func referenceContinuations(model: any VisionLanguageModel, set: EvaluationSet, steps: Int) throws
        -> [LlamaDecoder.Continuation]
    {
        guard steps >= 1 else { throw PruningError.invalidConfiguration("continuation steps must be >= 1") }
        try set.validate(for: model.modelDescription)
        let pipeline = try PruningPipeline(model: model)
        return try (0..<set.count).map { i in
            let r = try pipeline.run(image: set.image(i, for: model), tokenIds: set.prompts[i], maxNewTokens: steps + 1,
                                     stopAtEndOfSequence: false)
            return LlamaDecoder.Continuation(tokens: r.generatedTokens, logits: r.continuationLogits)
        }
    }

    /// Feeds each sample's unpruned continuation to `pipeline` and compares the distributions step by step.
    public static func continuationFidelity(
        _ pipeline: PruningPipeline, set: EvaluationSet, reference: [LlamaDecoder.Continuation]
    ) throws -> ContinuationFidelity {
        guard reference.count == set.count, let steps = reference.first?.logits.count, steps > 0 else {
            throw PruningError.invalidConfiguration("reference continuations do not match the set")
        }
        var agree = 0, kl = 0.0, bytes = 0.0, rate = 0.0
        for i in 0..<set.count {
            let fed = Array(reference[i].tokens.prefix(steps))
            let r = try pipeline.run(image: set.image(i, for: pipeline.model), tokenIds: set.prompts[i], forcedContinuation: fed)
            for s in 0..<steps {
                if LlamaDecoder.argmax(r.continuationLogits[s]) == reference[i].tokens[s + 1] { agree += 1 }
                kl += try Divergence.kl(p: r.continuationLogits[s], q: reference[i].logits[s])
            }
            bytes += Double(r.report.kvCacheBytes)
            rate += r.report.seconds.decode > 0 ? Double(steps) / r.report.seconds.decode : 0
        }
        let total = Double(set.count * steps), n = Double(set.count)
        return ContinuationFidelity(steps: steps, agreement: Double(agree) / total, meanKL: kl / total,
                                    kvBytes: bytes / n, decodeTokensPerSecond: rate / n)
    }

    /// Unpruned next-token logits for every sample (compute once, reuse across methods).
    public static func referenceLogits(model: any VisionLanguageModel, set: EvaluationSet, progress: ((Int, Int) -> Void)? = nil) throws -> [[Float]] {
        try set.validate(for: model.modelDescription)
        let pipeline = try PruningPipeline(model: model)
        return try (0..<set.count).map { i in
            defer { progress?(i + 1, set.count) }
            return try pipeline.run(image: set.image(i, for: model), tokenIds: set.prompts[i]).nextTokenLogits
        }
    }

    /// What `evaluate` returns.
    public struct Result: Sendable {
        /// The scores over the set.
        public var summary: EvaluationSummary
        /// Each sample's logits and kept tokens.
        public var outputs: EvaluationOutputs
    }

    /// Evaluates `pipeline` on `set` against `reference` logits (from `referenceLogits`).
    public static func evaluate(
        _ pipeline: PruningPipeline, set: EvaluationSet, reference: [[Float]], progress: ((Int, Int) -> Void)? = nil
    ) throws -> Result {
        try set.validate(for: pipeline.model.modelDescription)
        guard reference.count == set.count else {
            throw PruningError.invalidConfiguration("\(reference.count) reference logits for \(set.count) samples")
        }
        var correct = 0, agree = 0, kl = 0.0, kept = 0.0, merged = 0.0, seconds = 0.0, flops = 0.0
        var recalls: [Double] = [], smallRecalls: [Double] = []
        var outputs = EvaluationOutputs(nextTokenLogits: [], keptIndices: [])
        for i in 0..<set.count {
            let result = try pipeline.run(image: set.image(i, for: pipeline.model), tokenIds: set.prompts[i])
            let top = LlamaDecoder.argmax(result.nextTokenLogits)
            if top == set.answerIds[i] { correct += 1 }
            if top == LlamaDecoder.argmax(reference[i]) { agree += 1 }
            kl += try Divergence.kl(p: result.nextTokenLogits, q: reference[i])
            kept += Double(result.report.keptVisualTokens)
            merged += Double(result.mergedVisualTokens.count)
            seconds += result.report.seconds.total
            flops += result.report.flops.total
            if let mask = set.targetPatchMask?[i], mask.contains(true) {
                let keptSet = Set(result.keptVisualIndices)
                let targets = mask.indices.filter { mask[$0] }
                let recall = Double(targets.filter { keptSet.contains($0) }.count) / Double(targets.count)
                recalls.append(recall)
                if set.isSmallTarget?[i] == true { smallRecalls.append(recall) }
            }
            outputs.nextTokenLogits.append(result.nextTokenLogits)
            outputs.keptIndices.append(result.keptVisualIndices)
            outputs.mergedAnchors.append(result.mergedVisualTokens.map(\.anchor))
            progress?(i + 1, set.count)
        }
        let n = Double(set.count)
        let mean = { (v: [Double]) in v.isEmpty ? nil : v.reduce(0, +) / Double(v.count) }
        let summary = EvaluationSummary(
            samples: set.count, accuracy: Double(correct) / n, agreement: Double(agree) / n, meanKL: kl / n,
            targetRecall: mean(recalls), smallTargetRecall: mean(smallRecalls), keptVisualTokens: kept / n,
            mergedVisualTokens: merged / n, seconds: seconds, flops: flops / n)
        return Result(summary: summary, outputs: outputs)
    }

    /// The `--dump` file: `next_token_logits` F32 [n, vocab], `kept_indices` I64 [n, k] (−1 where fewer) and,
    /// when a method merged tokens, `merged_anchors` I64 [n, m] (−1 where fewer).
    public static func dump(_ outputs: EvaluationOutputs) throws -> Data {
        let n = outputs.nextTokenLogits.count, vocab = outputs.nextTokenLogits.first?.count ?? 0
        let k = outputs.keptIndices.map(\.count).max() ?? 0, m = outputs.mergedAnchors.map(\.count).max() ?? 0
        var writer = SafetensorsWriter(metadata: ["format": "vtp-eval-dump-1"])
        try writer.add("next_token_logits", Tensor(shape: [n, vocab], scalars: outputs.nextTokenLogits.flatMap { $0 }))
        try writer.add("kept_indices", integers: outputs.keptIndices.flatMap { $0 + Array(repeating: -1, count: k - $0.count) },
                       shape: [n, k])
        if m > 0 {
            try writer.add("merged_anchors", integers: outputs.mergedAnchors.flatMap { $0 + Array(repeating: -1, count: m - $0.count) },
                           shape: [n, m])
        }
        return try writer.data()
    }
}
