import Foundation
import VisionTokenPruning

/// `vtp-bench e2e --size onevision-0.5b`: a LLaVA-OneVision-0.5B-shaped model (generated weights: SigLIP-so400m/384
/// with 26 layers, Qwen2-0.5B) on a 384x384 image (one crop: 1,485 visual tokens) and a 1152x768 image (a 2x3
/// grid: 5,157). Time to first token, encoder and prefill seconds and FLOPs, unpruned and for each method that
/// runs without [CLS] at 25 % and 11 % of the visual tokens (newlines included).
struct OneVisionBenchmark {
    var quick: Bool
    /// Weight precision of the generated model.
    var precision: WeightPrecision

    /// LLaVA-OneVision-0.5B's shape: SigLIP-so400m/384 without its last layer, Qwen2-0.5B (896 x 24, 14 heads,
    /// 2 key-value heads, MLP 4864, vocabulary 151,936, tied embeddings), anyres_max_9 over 384-pixel crops.
    static func configuration(quick: Bool) -> LlavaConfiguration {
        var vision = VisionTowerConfiguration.siglipSo400m384
        var text = LlamaConfiguration(vocabularySize: 151_936, hiddenSize: 896, intermediateSize: 4864, layerCount: 24,
                                      headCount: 14, kvHeadCount: 2, ropeTheta: 1e6, maxPositionEmbeddings: 32768,
                                      tieWordEmbeddings: true, padTokenId: nil, bosTokenId: nil, eosTokenIds: [151_645])
        text.modelType = "qwen2"
        if quick {
            vision.layerCount = 4
            text.layerCount = 3
        }
        return LlavaConfiguration(vision: vision, text: text, imageTokenId: 151_646, visionFeatureLayer: -1,
                                  visionFeatureSelection: .all, imageGridPinpoints: LlavaConfiguration.defaultPinpoints384,
                                  maxGridViews: 9)
    }

    func run() throws -> [String: Any] {
        let config = Self.configuration(quick: quick)
        Progress.say("e2e onevision: generating a LLaVA-OneVision model (\(config.vision.layerCount)-layer SigLIP-so400m/384, Qwen2 \(config.text.hiddenSize)x\(config.text.layerCount)), \(precision) weights")
        let model = try LlavaModel.generated(configuration: config, seed: 7, precision: precision)
        let prompt = BenchModels.prompt(imageToken: config.imageTokenId)
        let scorers = quick ? ["received", "text-sim", "fastv"]
            : ["received", "received-global", "text-sim", "mixture", "fastv", "divprune", "cdpruner", "vispruner", "visionzip", "hiprune", "dart", "uniform", "random"]
        let cases = try EndToEndRows.scorerCases(model: model, scorers: scorers, budgets: [.ratio(0.25), .ratio(0.11)])
        var report: [String: Any] = [
            "model": "LLaVA-OneVision-0.5B shape: SigLIP-so400m/384 x\(config.vision.layerCount) + Qwen2 \(config.text.hiddenSize)x\(config.text.layerCount), \(precision) weights"]
        let sizes: [(width: Int, height: Int)] = quick ? [(384, 384)] : [(384, 384), (1152, 768)]
        for (n, size) in sizes.enumerated() {
            let width = size.width, height = size.height
            let image = try model.imageProcessor.preprocess(try AnyResolutionBenchmark.picture(width: width, height: height))
            // Best of 2, alternating (one run with --quick): an unpruned 1152x768 run takes over a minute on 2 cores.
            let runs = try EndToEndRows.bestOfAlternating(cases, repetitions: quick ? 1 : 2, progressLabel: "e2e onevision \(width)x\(height)") {
                try $0.run(image: image, tokenIds: prompt).report
            }
            let layout = image.anyResolution!
            let section: [String: Any] = [
                "image": "\(width)x\(height) -> \(layout.viewCount) views, \(runs.reports[0].visualTokens) visual tokens (\(layout.newlineCount) newlines)",
                "prompt_tokens": prompt.count - 1 + runs.reports[0].visualTokens]
            report["image \(n + 1): \(width)x\(height)"] =
                section.merging(runs.sections(labels: cases.map(\.label), headlineMethod: "received")) { own, _ in own }
        }
        report["peak_rss_bytes"] = MemoryUsage.peakResidentBytes()
        return report
    }
}
