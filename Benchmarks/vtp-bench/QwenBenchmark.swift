import Foundation
import VisionTokenPruning

/// `vtp-bench e2e --size qwen2.5-vl-3b`: a Qwen2.5-VL-3B-shaped model (generated weights: the 32-block vision
/// tower, width 1280, 16 heads, MLP 3420, full attention at blocks 7/15/23/31, 112-px windows; the Qwen2.5-3B
/// decoder, 2048 x 36, 16 heads, 2 key-value heads, MLP 11008, vocabulary 151,936, tied) on 448x448, 896x896 and
/// 1344x896 images (256, 1,024 and 1,536 visual tokens). Time to first token, encoder and prefill seconds and
/// FLOPs, unpruned and for the methods at 25 % and 11 % of the visual tokens, best of alternated runs.
struct QwenBenchmark {
    var quick: Bool
    /// Weight precision of the generated model.
    var precision: WeightPrecision

    /// Qwen2.5-VL-3B-Instruct's `config.json` shape (hub layout); `quick` keeps 4 vision blocks and 3 layers.
    static func configuration(quick: Bool) throws -> Qwen25VLConfiguration {
        let json = """
        {"model_type": "qwen2_5_vl", "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 11008,
         "num_hidden_layers": \(quick ? 3 : 36), "num_attention_heads": 16, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
         "rope_theta": 1000000.0, "max_position_embeddings": 128000, "tie_word_embeddings": true, "use_sliding_window": false,
         "bos_token_id": 151643, "eos_token_id": 151645, "image_token_id": 151655, "vision_start_token_id": 151652,
         "vision_end_token_id": 151653, "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
         "vision_config": {"depth": \(quick ? 4 : 32), "hidden_size": 1280, "num_heads": 16, "intermediate_size": 3420,
          "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2, "window_size": 112,
          "fullatt_block_indexes": \(quick ? "[1, 3]" : "[7, 15, 23, 31]"), "out_hidden_size": 2048, "in_chans": 3, "hidden_act": "silu"}}
        """
        return try Qwen25VLConfiguration.decode(Data(json.utf8), path: "qwen2.5-vl-3b (generated)")
    }

    func run() throws -> [String: Any] {
        let config = try Self.configuration(quick: quick)
        Progress.say("e2e qwen2.5-vl: generating a Qwen2.5-VL-3B-shaped model (\(config.vision.depth)-block vision tower, decoder \(config.text.hiddenSize)x\(config.text.layerCount)), \(precision) weights")
        let model = try Qwen25VLModel.generated(configuration: config, seed: 7, precision: precision)
        var prompt = BenchModels.prompt(imageToken: config.imageTokenId)
        let image = prompt.firstIndex(of: config.imageTokenId)!
        prompt.insert(config.visionEndTokenId, at: image + 1)
        prompt.insert(config.visionStartTokenId, at: image)
        let all = ["received", "text-sim", "mixture", "fastv", "divprune", "cdpruner", "vispruner", "visionzip", "hiprune", "dart",
                   "uniform", "random"]
        // The two large images run a core list once each: an unpruned 1344x896 run takes minutes on 2 cores.
        let core = ["received", "text-sim", "fastv", "visionzip", "divprune", "random"]
        var report: [String: Any] = [
            "model": "Qwen2.5-VL-3B shape: vision \(config.vision.depth) x \(config.vision.hiddenSize) + Qwen2.5 \(config.text.hiddenSize)x\(config.text.layerCount), \(precision) weights"]
        let sizes: [(width: Int, height: Int)] = quick ? [(448, 448)] : [(448, 448), (896, 896), (1344, 896)]
        for (n, size) in sizes.enumerated() {
            let scorers = quick ? ["received", "text-sim", "fastv"] : n == 0 ? all : core
            let cases = try EndToEndRows.scorerCases(model: model, scorers: scorers, budgets: [.ratio(0.25), .ratio(0.11)])
            let input = try model.preprocess(try AnyResolutionBenchmark.picture(width: size.width, height: size.height))
            let runs = try EndToEndRows.bestOfAlternating(cases, repetitions: quick || n > 0 ? 1 : 2,
                                                          progressLabel: "e2e qwen2.5-vl \(size.width)x\(size.height)") {
                try $0.run(image: input, tokenIds: prompt).report
            }
            let grid = input.patchGrid!
            let section: [String: Any] = [
                "image": "\(size.width)x\(size.height) -> \(grid.rows)x\(grid.columns) patches, \(runs.reports[0].visualTokens) visual tokens, \(model.vision.windows(for: grid).windowSizes.count) windows",
                "prompt_tokens": prompt.count - 1 + runs.reports[0].visualTokens]
            report["image \(n + 1): \(size.width)x\(size.height)"] =
                section.merging(runs.sections(labels: cases.map(\.label), headlineMethod: "received")) { own, _ in own }
        }
        report["peak_rss_bytes"] = MemoryUsage.peakResidentBytes()
        return report
    }
}
