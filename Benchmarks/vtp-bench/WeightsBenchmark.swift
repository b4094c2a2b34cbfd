import Foundation
import VisionTokenPruning

/// A model held in one weight precision, run with one activation precision.
struct WeightedModel {
    var precision: WeightPrecision
    var activations: ActivationPrecision = .f32
    var model: LlavaModel
    var loadSeconds: Double

    var label: String { activations == .f32 ? precision.rawValue : "\(precision) weights, \(activations) activations" }
}

/// `vtp-bench e2e` weight-precision part: the same model held in each precision, compared in one run, and a
/// LLaVA-1.5-7B-shaped checkpoint loaded from disk through the public loader.
struct WeightsBenchmark {
    /// Decode steps timed per run.
    var decodeSteps: Int
    var repetitions: Int

    /// Times unpruned prefill (TTFT) and greedy decoding of each model, alternating the models within each
    /// repetition and keeping the best; decode speed counts the tokens actually fed (generation may end early
    /// at an end-of-sequence id).
    func compare(models: [WeightedModel]) throws -> [[String: Any]] {
        let config = models[0].model.configuration
        let pixels = BenchModels.pixels(size: config.vision.imageSize)
        let prompt = BenchModels.prompt(imageToken: config.imageTokenId)
        let copy = MemoryBandwidth.copy(repetitions: 3), readBandwidth = MemoryBandwidth.read(repetitions: 3)
        var best = [PipelineResult?](repeating: nil, count: models.count)
        var ttft = [Double](repeating: .infinity, count: models.count)
        var decodeRate = [Double](repeating: 0, count: models.count)
        for rep in 0..<repetitions {
            for (i, m) in models.enumerated() {
                Progress.say("e2e weights [\(rep + 1)/\(repetitions)] \(m.label): prefill and \(decodeSteps) decode steps")
                let options = ComputeOptions.current.withActivations(m.activations)
                let r = try ComputeOptions.$current.withValue(options) {
                    try PruningPipeline(model: m.model).run(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: decodeSteps + 1)
                }
                let fed = r.generatedTokens.count - 1
                ttft[i] = min(ttft[i], r.report.seconds.total - r.report.seconds.decode)
                if fed > 0 { decodeRate[i] = max(decodeRate[i], Double(fed) / r.report.seconds.decode) }
                best[i] = r
            }
        }
        return models.enumerated().map { i, m in
            let bytes = m.model.language.decodeWeightBytes
            let read = Double(bytes) * decodeRate[i] / 1e9
            return [
                "weights": m.label, "load_s": m.loadSeconds, "ttft_s": ttft[i],
                "ttft_speedup_vs_first": ttft[0] / ttft[i],
                "decode_tokens_per_s": decodeRate[i], "decode_speedup_vs_first": decodeRate[i] / max(decodeRate[0], 1e-12),
                "tokens_generated": best[i]!.generatedTokens.count,
                "lm_weight_bytes": bytes, "decode_weight_gb_per_s": read, "copy_gb_per_s": copy,
                "weight_read_over_copy": read / copy, "read_gb_per_s": readBandwidth, "weight_read_over_read": read / readBandwidth,
            ]
        }
    }
}
