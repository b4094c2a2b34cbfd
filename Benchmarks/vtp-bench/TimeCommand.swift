import Foundation
import VisionTokenPruning

/// `vtp-bench time`: one part of a model on disk timed as llama-bench reports its runs — one warm-up, then the
/// mean and standard deviation of the rate over `--reps` repetitions — so `Benchmarks/peers` can set it beside
/// llama.cpp and PyTorch on the same files.
/// - `--part decoder`: prefill of `--prompt-tokens` pseudo-random ids from an empty cache (llama-bench `pp`), then
///   runs of `--decode-tokens` single-token steps continuing that context (llama-bench `tg` at `-d`; a warm-up
///   run, then one per repetition), next-token logits included.
/// - `--part vision`: the vision tower's forward pass through every layer on one view.
enum TimeCommand {
    static func run(_ args: inout Arguments, json: Bool) throws {
        guard let path = try args.value("--model") else {
            throw BenchError.usage("time needs --model DIR (a LLaVA checkpoint folder) or --model TEXT.gguf")
        }
        let part = try args.value("--part") ?? "decoder"
        let precision = try LoadPrecision(parsing: try args.value("--weights") ?? "checkpoint")
        let repetitions = try args.integer("--reps") ?? 3
        let promptTokens = try args.integer("--prompt-tokens") ?? 640
        let decodeTokens = try args.integer("--decode-tokens") ?? 32
        try args.finish()
        guard (1...100).contains(repetitions) else { throw BenchError.usage("--reps is 1 ... 100, got \(repetitions)") }
        guard (1...100_000).contains(promptTokens), (1...100_000).contains(decodeTokens) else {
            throw BenchError.usage("--prompt-tokens and --decode-tokens are 1 ... 100000")
        }
        let url = URL(fileURLWithPath: path)
        let load = Stopwatch.wallNow()
        var report: [String: Any] = ["model": path, "weights": "\(precision)", "repetitions": repetitions,
                                     "threads": ComputeOptions.current.threads,
                                     "activations": ComputeOptions.current.activations.rawValue]
        switch part {
        case "decoder":
            let decoder = path.hasSuffix(".gguf")
                ? try TextModel(gguf: url, weights: precision).decoder
                : try LlavaModel(directory: url, weights: precision).language
            report["load_s"] = Stopwatch.wallNow() - load
            report.merge(try timeDecoder(decoder, promptTokens: promptTokens, decodeTokens: decodeTokens,
                                         repetitions: repetitions)) { $1 }
        case "vision":
            guard !path.hasSuffix(".gguf") else { throw BenchError.usage("--part vision needs a LLaVA checkpoint folder") }
            let tower = try LlavaModel(directory: url, weights: precision).vision
            report["load_s"] = Stopwatch.wallNow() - load
            let c = tower.configuration
            let pixels = BenchModels.pixels(size: c.imageSize)
            let seconds = try measure(repetitions: repetitions) {
                _ = try tower.encode(pixels: pixels, hiddenStates: [c.layerCount])
            }
            report["vision_layers"] = c.layerCount
            report["vision_s"] = Summary(seconds).dictionary
        default:
            throw BenchError.usage("--part is decoder or vision, got '\(part)'")
        }
        try BenchCommand.emit(report, json: json)
    }

    /// Prefill and decode rates (tokens/s, mean and standard deviation) of `decoder`.
    private static func timeDecoder(
        _ decoder: LlamaDecoder, promptTokens: Int, decodeTokens: Int, repetitions: Int
    ) throws -> [String: Any] {
        let c = decoder.configuration
        let positions = promptTokens + (repetitions + 1) * decodeTokens
        guard positions <= c.maxPositionEmbeddings else {
            throw BenchError.usage("\(promptTokens) + \(repetitions + 1) x \(decodeTokens) tokens exceed the model's \(c.maxPositionEmbeddings) positions")
        }
        var random = SplitMix64(seed: 7)
        let ids = (0..<positions).map { _ in 3 + Int(random.next() % UInt64(c.vocabularySize - 3)) }
        func prefill() throws -> KVCache {
            var cache = decoder.makeCache()
            var state = try decoder.beginPrefill(embeddings: try decoder.embed(Array(ids[..<promptTokens])),
                                                 positions: Array(0..<promptTokens))
            try decoder.advance(&state, to: c.layerCount, cache: &cache)
            _ = try decoder.logits(state.hidden, rows: [promptTokens - 1])
            return cache
        }
        let prefillSeconds = try measure(repetitions: repetitions) { _ = try prefill() }
        // Decoding continues one cache: a warm-up run of steps, then one timed run per repetition.
        var cache = try prefill(), position = promptTokens
        var decodeSeconds: [Double] = []
        for rep in 0...repetitions {
            let start = Stopwatch.wallNow()
            for _ in 0..<decodeTokens {
                _ = try decoder.decode(token: ids[position], position: position, cache: &cache)
                position += 1
            }
            if rep > 0 { decodeSeconds.append(Stopwatch.wallNow() - start) }
        }
        return [
            "prompt_tokens": promptTokens, "decode_tokens": decodeTokens, "decode_weight_bytes": decoder.decodeWeightBytes,
            "prefill_tokens_per_s": Summary(prefillSeconds.map { Double(promptTokens) / $0 }).dictionary,
            "decode_tokens_per_s": Summary(decodeSeconds.map { Double(decodeTokens) / $0 }).dictionary,
        ]
    }

    /// Wall seconds of each of `repetitions` runs of `body`, after one warm-up run.
    private static func measure(repetitions: Int, _ body: () throws -> Void) throws -> [Double] {
        try body()
        return try (0..<repetitions).map { _ in try Stopwatch.time(body).wallSeconds }
    }

    /// A few measurements with their mean and sample standard deviation.
    private struct Summary {
        var samples: [Double]
        var mean: Double
        var standardDeviation: Double

        init(_ values: [Double]) {
            samples = values
            let mean = values.reduce(0, +) / Double(values.count)
            let squares = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
            self.mean = mean
            standardDeviation = values.count > 1 ? (squares / Double(values.count - 1)).squareRoot() : 0
        }

        var dictionary: [String: Any] { ["mean": mean, "sd": standardDeviation, "samples": samples] }
    }
}
