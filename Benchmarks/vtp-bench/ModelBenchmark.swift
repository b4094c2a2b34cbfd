import Foundation
import VisionTokenPruning

/// `vtp-bench models`: forward throughput of a CLIP ViT-L/14-336 encoder (577 tokens, 24 layers) and a
/// 1B-class decoder prefill (640 tokens), with generated weights, against the GEMM kernel on the same shapes.
struct ModelBenchmark {
    func run() throws -> [String: Any] {
        let options = ComputeOptions.current
        Progress.say("generating CLIP ViT-L/14-336 weights")
        var weights = GeneratedWeights(seed: 1)
        let visionConfig = VisionTowerConfiguration.clipViTLarge336
        let encoder = try VisionTower(configuration: visionConfig, weights: &weights, prefix: "vision")
        let pixels = BenchModels.pixels(size: visionConfig.imageSize)
        Progress.say("timing the encoder")
        let encoderTime = try Stopwatch.best(repetitions: 2) {
            _ = try encoder.encode(pixels: pixels, hiddenStates: [visionConfig.layerCount])
        }
        let encoderFlops = visionConfig.flops(layers: visionConfig.layerCount)

        Progress.say("generating the 1B-class decoder")
        let text = LlamaConfiguration.oneBillionClass
        let decoder = try LlamaDecoder(configuration: text, weights: &weights)
        let tokens = 640
        let embeddings = BenchData.tensor([tokens, text.hiddenSize], seed: 3)
        Progress.say("timing the decoder prefill")
        let prefillTime = try Stopwatch.best(repetitions: 2) {
            var cache = decoder.makeCache()
            var state = try decoder.beginPrefill(embeddings: embeddings, positions: Array(0..<tokens))
            try decoder.advance(&state, to: text.layerCount, cache: &cache)
        }
        let prefillFlops = Double(text.layerCount) * FlopsModel.decoderLayer(tokens: tokens, text)

        Progress.say("timing the GEMM kernel on the same shapes")
        let gemmVision = try gemmRate(m: 577, k: 1024, n: 4096)
        let gemmText = try gemmRate(m: 640, k: 2048, n: 5632)
        let encoderRate = encoderFlops / encoderTime.wallSeconds / 1e9
        let prefillRate = prefillFlops / prefillTime.wallSeconds / 1e9
        let overhead = try scorerOverhead(encoderSeconds: encoderTime.wallSeconds)
        let headline = String(format: "CLIP-L encoder %.0f GFLOP/s (%.0f%% of the GEMM kernel on its shape); 1B-class prefill %.0f GFLOP/s (%.0f%%)",
                              encoderRate, 100 * encoderRate / gemmVision, prefillRate, 100 * prefillRate / gemmText)
        return ["headline": headline, "threads": options.threads, "backend": "\(options.backend)", "scorer_overhead": overhead,
                "peak_rss_bytes": MemoryUsage.peakResidentBytes(), "models": [
            ["model": "CLIP ViT-L/14-336 encoder, 577 tokens, 24 layers", "seconds": encoderTime.wallSeconds,
             "cpu_per_wall": encoderTime.cpuPerWall, "gflops": encoderRate, "gemm_kernel_gflops": gemmVision,
             "fraction_of_gemm": encoderRate / gemmVision],
            ["model": "1B-class decoder prefill, 640 tokens, 22 layers", "seconds": prefillTime.wallSeconds,
             "cpu_per_wall": prefillTime.cpuPerWall, "gflops": prefillRate, "gemm_kernel_gflops": gemmText,
             "fraction_of_gemm": prefillRate / gemmText],
        ]]
    }

    /// Seconds each scorer takes to reduce 576 visual tokens to 64 (merging included), a 4096-wide LM and 32
    /// text tokens (LLaVA-1.5-7B shapes, synthetic inputs), as a share of the CLIP-L encoder's forward pass.
    private func scorerOverhead(encoderSeconds: Double) throws -> [[String: Any]] {
        var text = LlamaConfiguration(vocabularySize: 32064, hiddenSize: 4096, intermediateSize: 11008, layerCount: 32, headCount: 32)
        text.padTokenId = 0
        let config = LlavaConfiguration(vision: .clipViTLarge336, text: text, imageTokenId: 32000)
        let prompt = BenchModels.prompt(system: 35, question: 32)
        let layout = try PromptLayout(tokenIds: prompt, imageTokenId: 32000, imageTokenCount: 576)
        var attention: [Int: Tensor] = [:], received: [Int: Tensor] = [:], keys: [Int: Tensor] = [:]
        for layer in 0..<24 {
            attention[layer] = BenchData.tensor([1, 16, 577], seed: UInt64(layer), scale: 0.01)
            received[layer] = BenchData.tensor([1, 577], seed: UInt64(100 + layer), scale: 0.01)
            keys[layer] = BenchData.tensor([577, 64], seed: UInt64(200 + layer))
        }
        let embeddings = BenchData.tensor([layout.expandedLength, 4096], seed: 5)
        let context = ScoringContext(
            configuration: config, layout: layout, visionClassAttention: attention, visionAttentionReceived: received,
            visionKeys: keys, visionFeatures: BenchData.tensor([577, 1024], seed: 11), projectedTokens: try embeddings.gatherRows(Array(layout.imageSpan)), promptEmbeddings: embeddings,
            languageAttention: BenchData.tensor([32, 1, layout.expandedLength], seed: 9, scale: 0.01),
            languageKeys: BenchData.tensor([layout.expandedLength, 4096], seed: 12),
            languageHidden: BenchData.tensor([layout.expandedLength, 4096], seed: 13))
        return try ScorerCatalog.names.compactMap { try ScorerCatalog.scorer(named: $0, for: config) }.map { scorer in
            Progress.say("scorer overhead: \(scorer.name)")
            let t = try Stopwatch.best(repetitions: 5) { _ = try scorer.reduce(context, keep: 64) }
            return ["scorer": scorer.name, "seconds": t.wallSeconds, "share_of_encoder": t.wallSeconds / encoderSeconds]
        }
    }

    private func gemmRate(m: Int, k: Int, n: Int) throws -> Double {
        let a = BenchData.tensor([m, k], seed: 1), w = BenchData.tensor([n, k], seed: 2)
        let t = try Stopwatch.best(repetitions: 3) { _ = try a.matmul(w, transposeOther: true) }
        return 2 * Double(m * n * k) / t.wallSeconds / 1e9
    }
}
