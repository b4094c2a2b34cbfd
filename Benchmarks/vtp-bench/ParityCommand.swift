import Foundation
import VisionTokenPruning

/// `vtp-bench parity --fixture DIR`: every check of a real-weight fixture that is too long for a debug test
/// run, in a release build, as a table of worst errors against the fixture README's tolerances. Exits with
/// an error when any check fails.
enum ParityCommand {
    /// One compared quantity.
    struct Check {
        var name: String
        var worst: Double
        var tolerance: Double
        var passed: Bool { worst <= tolerance }
        var row: [String: Any] {
            ["check": name, "worst": String(format: "%.3g", worst), "tolerance": String(format: "%.3g", tolerance),
             "result": passed ? "ok" : "FAIL"]
        }
    }

    static func run(_ args: inout Arguments, json: Bool) throws {
        guard let path = try args.value("--fixture") else { throw BenchError.usage("parity needs --fixture DIR") }
        try args.finish()
        let folder = URL(fileURLWithPath: path)
        let gguf = folder.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")
        guard FileManager.default.fileExists(atPath: gguf.path) else {
            throw BenchError.usage("\(path) is not a fixture this command knows (smollm2-135m-instruct)")
        }
        let checks = try smolLM2(gguf: gguf, reference: try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors")))
        try BenchCommand.emit(["parity": checks.map(\.row)], json: json)
        let failed = checks.filter { !$0.passed }.map(\.name)
        guard failed.isEmpty else { throw BenchError.usage("parity failed: \(failed.joined(separator: ", "))") }
    }

    /// SmolLM2-135M-Instruct from its GGUF against transformers' float32 reference: tokenizer ids, logits at
    /// every position (all of them for the short prompt, the last and the stored top 8 elsewhere), hidden states
    /// after layers 0, 14 and 29 (relative to each row's largest value), layer 0 and 15 attention averaged over
    /// heads on the 292-token prompt, and 24 greedy tokens per prompt.
    static func smolLM2(gguf: URL, reference: SafetensorsFile) throws -> [Check] {
        let model = try TextModel(gguf: gguf, weights: .fixed(.f32))
        let decoder = model.decoder, vocabulary = decoder.configuration.vocabularySize
        var checks: [Check] = []
        for prompt in ["plain_capital", "plain_digits", "chat_capital", "chat_nonascii", "chat_multiturn", "chat_long"] {
            Progress.say("parity: \(prompt)")
            func floats(_ name: String) throws -> [Float] { try reference.floatTensor("\(prompt).\(name)").scalars }
            let ids = try reference.integerTensor("\(prompt).input_ids").values
            let text = reference.metadata["\(prompt).prompt_text"] ?? ""
            checks.append(Check(name: "\(prompt) token ids", worst: try model.tokenizer.encode(text) == ids ? 0 : 1, tolerance: 0))
            var cache = decoder.makeCache()
            var state = try decoder.beginPrefill(embeddings: try decoder.embed(ids), positions: Array(ids.indices))
            var attention: [Int: Tensor] = [:]
            let wantsAttention = prompt == "chat_long"
            for (end, layer) in [(1, 0), (15, 14), (30, 29)] {
                let requests: [Int: AttentionProbabilityRequest] = wantsAttention ? [0: .all, 15: .all] : [:]
                attention.merge(try decoder.advance(&state, to: end, cache: &cache, attentions: requests.filter { $0.key < end && $0.key >= state.nextLayer })) { $1 }
                checks.append(Check(name: "\(prompt) hidden after layer \(layer) (row-relative)",
                                    worst: rowRelative(state.hidden.scalars, try floats("hidden_after_layer_\(layer)"), width: 576), tolerance: 1e-4))
            }
            let logits = try decoder.logits(state.hidden, rows: Array(ids.indices)).scalars
            if prompt == "plain_capital" {
                checks.append(Check(name: "\(prompt) logits, every position", worst: maxDifference(logits, try floats("logits")), tolerance: 5e-4))
            } else {
                checks.append(Check(name: "\(prompt) last logits", worst: maxDifference(Array(logits.suffix(vocabulary)), try floats("last_logits")), tolerance: 5e-4))
            }
            let topValues = try floats("topk_logits_values"), topIds = try reference.integerTensor("\(prompt).topk_logits_indices").values
            let gathered = topIds.enumerated().map { logits[($0.offset / 8) * vocabulary + $0.element] }
            checks.append(Check(name: "\(prompt) top-8 logits, every position", worst: maxDifference(gathered, topValues), tolerance: 5e-4))
            if wantsAttention {
                for layer in [0, 15] {
                    let p = try attention[layer].map(headMean) ?? []
                    checks.append(Check(name: "\(prompt) layer \(layer) attention, head mean",
                                        worst: maxDifference(p, try floats("attention_layer_\(layer)_head_mean")), tolerance: 1e-5))
                }
            }
            let generated = try model.generate(promptIds: ids, maxNewTokens: 24, stopAtEndOfSequence: false)
            let expected = try reference.integerTensor("\(prompt).generated_ids").values
            let firstMismatch = zip(generated, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            checks.append(Check(name: "\(prompt) 24 greedy tokens (mismatches)",
                                worst: Double(firstMismatch.map { 24 - $0 } ?? 0), tolerance: 0))
        }
        return checks
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs(Double($1.0) - Double($1.1))) }
    }

    /// The largest difference in any row over that row's largest reference magnitude.
    static func rowRelative(_ a: [Float], _ b: [Float], width: Int) -> Double {
        guard a.count == b.count else { return .infinity }
        return stride(from: 0, to: a.count, by: width).reduce(0) { worst, start in
            let row = start..<(start + width)
            let scale = b[row].reduce(0) { max($0, abs(Double($1))) }
            return max(worst, maxDifference(Array(a[row]), Array(b[row])) / max(scale, .leastNormalMagnitude))
        }
    }

    /// `[heads, rows, keys]` probabilities averaged over the heads, `[rows, keys]` flattened.
    static func headMean(_ p: Tensor) throws -> [Float] {
        let heads = p.shape[0], size = p.shape[1] * p.shape[2], values = p.scalars
        return (0..<size).map { i in (0..<heads).reduce(0) { $0 + values[$1 * size + i] } / Float(heads) }
    }
}
