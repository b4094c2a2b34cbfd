import Foundation
import VisionTokenPruning

/// `vtp-bench e2e --size next-7b`: a LLaVA-NeXT-7B-shaped model (generated weights) on a 672x672 image, which
/// anyres turns into a base view and a 2x2 grid of crops: 5 x 576 patch tokens and 48 newline tokens. Time to
/// first token and prefill FLOPs unpruned and for each method at 320 and 160 kept tokens (newlines included).
struct AnyResolutionBenchmark {
    var quick: Bool
    /// Weight precision of the generated model (BF16 keeps the 7B shape within 16 GB).
    var precision: WeightPrecision

    /// LLaVA-NeXT-7B's shape: CLIP ViT-L/14-336, vicuna-7b (4096 x 32), transformers' default pinpoints.
    static func configuration(quick: Bool) -> LlavaConfiguration {
        var config = quick ? BenchModels.llava15Shaped(visionLayers: 4, textLayers: 3) : BenchModels.llava15SevenB()
        config.imageGridPinpoints = LlavaConfiguration.defaultPinpoints336
        return config
    }

    /// A deterministic `width x height` picture with smooth structure and a bright square (so attention is not
    /// uniform).
    static func picture(width: Int, height: Int) throws -> RGBImage {
        var bytes = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let fx = Double(x) / Double(width), fy = Double(y) / Double(height)
                let square = fx > 0.55 && fx < 0.8 && fy > 0.2 && fy < 0.45
                for c in 0..<3 {
                    let wave = 0.5 + 0.5 * sin(6 * fx + Double(c)) * cos(4 * fy)
                    bytes[(y * width + x) * 3 + c] = square ? 250 : UInt8(wave * 200)
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: bytes)
    }

    func run() throws -> [String: Any] {
        let config = Self.configuration(quick: quick)
        Progress.say("e2e next: generating a LLaVA-NeXT model (\(config.vision.layerCount)-layer CLIP-L/336, decoder \(config.text.hiddenSize)x\(config.text.layerCount)), \(precision) weights")
        let model = try LlavaModel.generated(configuration: config, seed: 7, precision: precision)
        let image = try model.imageProcessor.preprocess(try Self.picture(width: 672, height: 672))
        let prompt = BenchModels.prompt(imageToken: config.imageTokenId)
        let scorers = quick ? ["cls", "text-sim", "fastv"] : ["cls", "cls-global", "cls-ensemble", "text-sim", "mixture", "fastv", "divprune", "cdpruner", "vispruner", "visionzip", "hiprune", "dart", "uniform", "random"]
        let cases = try EndToEndRows.scorerCases(model: model, scorers: scorers, budgets: [.count(320), .count(160)])
        // Best of 3, alternating (one run with --quick): the unpruned row alone takes minutes, so a full run
        // takes most of an hour on 2 cores. The encoder spread shows disturbances.
        let runs = try EndToEndRows.bestOfAlternating(cases, repetitions: quick ? 1 : 3, progressLabel: "e2e next") {
            try $0.run(image: image, tokenIds: prompt).report
        }
        let layout = image.anyResolution!, visualTokens = runs.reports[0].visualTokens
        let report: [String: Any] = [
            "model": "LLaVA-NeXT-7B shape: CLIP-L/336 x\(config.vision.layerCount) + decoder \(config.text.hiddenSize)x\(config.text.layerCount), \(precision) weights",
            "image": "672x672 -> \(layout.viewCount) views, \(visualTokens) visual tokens (\(layout.newlineCount) newlines)",
            "prompt_tokens": prompt.count - 1 + visualTokens, "peak_rss_bytes": MemoryUsage.peakResidentBytes()]
        return report.merging(runs.sections(labels: cases.map(\.label))) { own, _ in own }
    }
}
