import Foundation
import VisionTokenPruning

/// `vtp-bench e2e`: time to first token and FLOPs of a LLaVA-1.5-shaped model (generated weights), unpruned
/// and with each scorer at 192/128/64 kept tokens, and with withdrawal at several layers, in one run; the
/// model held in each requested weight precision, compared in the same run. `--size 7b` instead writes (or
/// reuses) a LLaVA-1.5-7B-shaped BF16 checkpoint and measures loading it through the public loader.
struct EndToEndBenchmark {
    /// Model shapes `e2e` can run.
    enum Size: String {
        case oneBillion = "1b", sevenBillion = "7b", nextSevenBillion = "next-7b", oneVisionHalfBillion = "onevision-0.5b"
        case qwenThreeBillion = "qwen2.5-vl-3b"
    }

    var quick: Bool
    var size: Size = .oneBillion
    /// Weight precisions to compare; the pruning rows use the first.
    var precisions: [WeightPrecision] = [.f32]
    /// Where the 7B-shaped checkpoint is written or found (a temporary folder when nil).
    var checkpoint: URL?

    func run() throws -> [String: Any] {
        if size == .sevenBillion { return try runSevenBillion() }
        let config = quick ? BenchModels.llava15Shaped(visionLayers: 6, textLayers: 3) : BenchModels.llava15Shaped()
        var models: [WeightedModel] = []
        for precision in precisions {
            Progress.say("e2e: generating a \(config.vision.layerCount)-layer CLIP-L/336 + \(config.text.layerCount)-layer 1B-width model, \(precision) weights")
            var model: LlavaModel?
            let t = try Stopwatch.time { model = try LlavaModel.generated(configuration: config, seed: 7, precision: precision) }
            models.append(WeightedModel(precision: precision, model: model!, loadSeconds: t.wallSeconds))
        }
        // BF16 and int8 weights also run with activations of their precision where the CPU has the dot products.
        for (activations, available) in [(ActivationPrecision.bf16, CPUFeatures.hasBFloat16DotProduct),
                                         (.int8, CPUFeatures.hasInt8DotProduct)] where available {
            if var dot = models.first(where: { $0.precision.rawValue == activations.rawValue }) {
                dot.activations = activations
                models.append(dot)
            }
        }
        let model = models[0].model
        let pixels = BenchModels.pixels(size: config.vision.imageSize)
        let prompt = BenchModels.prompt(imageToken: config.imageTokenId)
        let budgets: [TokenBudget] = (quick ? [64] : [192, 128, 64]).map { .count($0) }
        let scorers = quick ? ["cls", "text-sim", "fastv"] : ["cls", "cls-ensemble", "text-sim", "mixture", "fastv", "divprune", "cdpruner", "vispruner", "visionzip", "hiprune", "dart", "random", "uniform"]
        let withdrawal = quick ? [2] : [4, 8, 12, 16]

        var cases = try EndToEndRows.scorerCases(model: model, scorers: scorers, budgets: budgets)
        for k in withdrawal { cases.append(("withdraw@\(k)", try PruningPipeline(model: model, withdrawalLayer: k))) }

        if !quick { _ = try cases[0].pipeline.run(image: ImageInput(pixels: pixels), tokenIds: prompt) }  // warm-up
        let runs = try EndToEndRows.bestOfAlternating(cases, repetitions: quick ? 1 : 3, progressLabel: "e2e") {
            try $0.run(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: 1).report
        }
        let kv = try kvRows(model: model, pixels: pixels, prompt: prompt)
        let weights = try WeightsBenchmark(decodeSteps: quick ? 4 : 16, repetitions: quick ? 1 : 3).compare(models: models)
        let report: [String: Any] = [
            "kv_budget": kv, "model": "CLIP-L/336 x\(config.vision.layerCount) + decoder \(config.text.hiddenSize)x\(config.text.layerCount)",
            "prompt_tokens": prompt.count - 1 + config.visualTokenCount, "weights": weights,
            "peak_rss_bytes": MemoryUsage.peakResidentBytes()]
        return report.merging(runs.sections(labels: cases.map(\.label))) { own, _ in own }
    }

    /// The 7B-shaped run: checkpoint on disk (written once), then per precision a load through
    /// `LlavaModel(directory:weights:)`, unpruned and 64-token (cls, mixture) TTFT, decode speed, peak RSS.
    private func runSevenBillion() throws -> [String: Any] {
        let config = BenchModels.llava15SevenB()
        let folder = checkpoint ?? FileManager.default.temporaryDirectory.appendingPathComponent("vtp-llava-7b-\(UUID())")
        defer { if checkpoint == nil { try? FileManager.default.removeItem(at: folder) } }
        let wall = Stopwatch.wallNow()
        if GeneratedCheckpoint.isGenerated(folder), FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            Progress.say("e2e 7b: reusing the checkpoint in \(folder.path)")
        } else {
            Progress.say("e2e 7b: writing a LLaVA-1.5-7B-shaped BF16 checkpoint to \(folder.path)")
            var lastReport = 0.0
            try GeneratedCheckpoint.write(configuration: config, to: folder, dtype: .bf16, seed: 7) { written, total in
                let now = Stopwatch.wallNow()
                if now - lastReport > 5 || written == total {
                    lastReport = now
                    Progress.say(String(format: "  %.1f of %.1f GB written", Double(written) / 1e9, Double(total) / 1e9))
                }
            }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".safetensors") }
        let checkpointBytes = try files.reduce(0) {
            $0 + ((try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent($1).path)[.size] as? Int) ?? 0)
        }
        let pixels = BenchModels.pixels(size: config.vision.imageSize)
        let prompt = BenchModels.prompt(imageToken: config.imageTokenId)
        var rows: [[String: Any]] = []
        for precision in precisions {
            MemoryUsage.resetPeak()
            Progress.say("e2e 7b: loading with \(precision) weights")
            var loaded: LlavaModel?
            let load = try Stopwatch.time { loaded = try LlavaModel(directory: folder, weights: .fixed(precision)) }
            let model = loaded!
            var row: [String: Any] = ["weights": precision.rawValue, "load_s": load.wallSeconds,
                                      "checkpoint_bytes": checkpointBytes, "lm_weight_bytes": model.language.decodeWeightBytes]
            let steps = quick ? 2 : 8
            for (label, scorer) in [("full", "none"), ("cls@64", "cls"), ("mixture@64", "mixture")] {
                Progress.say("e2e 7b \(precision): \(label)")
                let pipeline = scorer == "none" ? try PruningPipeline(model: model)
                    : try PruningPipeline(model: model, pruning: ScorerCatalog.pruning(named: scorer, for: config, keep: .count(64)))
                let r = try pipeline.run(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: label == "full" ? steps + 1 : 1)
                row["ttft_\(label)_s"] = r.report.seconds.total - r.report.seconds.decode
                if label == "full" {
                    let fed = r.generatedTokens.count - 1
                    row["decode_tokens_per_s"] = fed > 0 ? Double(fed) / r.report.seconds.decode : NSNull()
                    row["prefill_flops_full"] = r.report.flops.prefill
                }
            }
            let peak = MemoryUsage.peakResidentBytes()
            row["peak_rss_bytes"] = peak
            row["peak_rss_over_checkpoint"] = Double(peak) / Double(checkpointBytes)
            rows.append(row)
        }
        return ["model": "LLaVA-1.5-7B shape: CLIP-L/336 + LLaMA 4096x32, vocab 32064", "checkpoint": folder.path,
                "prompt_tokens": prompt.count - 1 + config.visualTokenCount, "rows": rows,
                "wall_s": Stopwatch.wallNow() - wall]
    }

    /// Decoding with PrefixKV budgets of 20/40/60 % against the full cache: KV bytes and decode tokens/s.
    private func kvRows(model: LlavaModel, pixels: Tensor, prompt: [Int]) throws -> [[String: Any]] {
        let steps = quick ? 4 : 12
        let sample = ImagePrompt(image: ImageInput(pixels: pixels), tokenIds: prompt)
        var cases: [(String, PrefixKVProfile?)] = [("full cache", nil)]
        for retained in quick ? [0.2] : [0.2, 0.4, 0.6] {
            Progress.say("e2e: calibrating a \(Int(retained * 100))% KV budget")
            cases.append(("kv \(Int(retained * 100))%", try PrefixKVProfile.calibrate(model: model, samples: [sample], retainedFraction: retained)))
        }
        var rows: [[String: Any]] = []
        var fullRate = 0.0, fullBytes = 0
        for (label, profile) in cases {
            Progress.say("e2e: decoding \(steps) tokens with \(label)")
            let r = try PruningPipeline(model: model, kvBudget: profile.map(KVCacheBudget.profile)).run(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: steps + 1)
            let rate = Double(r.generatedTokens.count - 1) / r.report.seconds.decode
            if profile == nil { fullRate = rate; fullBytes = r.report.kvCacheBytes }
            rows.append(["method": label, "kv_bytes": r.report.kvCacheBytes,
                         "kv_bytes_ratio": Double(r.report.kvCacheBytes) / Double(fullBytes),
                         "decode_tokens_per_s": rate, "decode_speedup": rate / fullRate,
                         "decode_flops": r.report.flops.decode])
        }
        return rows
    }
}
