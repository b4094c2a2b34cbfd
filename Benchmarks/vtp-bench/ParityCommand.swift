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
        let reference = folder.appendingPathComponent("reference.safetensors")
        let checks: [Check]
        if FileManager.default.fileExists(atPath: gguf.path) {
            checks = try smolLM2(gguf: gguf, reference: try SafetensorsFile(url: reference))
        } else if (try? ModelRegistry.modelType(directory: folder)) == "dinov2" {
            checks = try dinov2(folder: folder, reference: try SafetensorsFile(url: reference))
        } else {
            throw BenchError.usage("\(path) is not a fixture this command knows (smollm2-135m-instruct, dinov2-small-photos)")
        }
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

    /// DINOv2-small on the four photos against transformers' float32 reference: preprocessing, hidden states after
    /// layers 5 and 11, `last_hidden_state`, every layer's [CLS] attention row per head, and the top 64 patches by
    /// the last layer's head-mean [CLS] attention (as a set).
    static func dinov2(folder: URL, reference: SafetensorsFile) throws -> [Check] {
        let model = try StandaloneVisionTower(directory: folder, weights: .fixed(.f32))
        let layers = model.tower.configuration.layerCount, tokens = model.tower.configuration.tokenCount, width = 384
        let pixels = try reference.floatTensor("pixel_values").scalars, size = 3 * 224 * 224, plane = tokens * width
        let after5 = try reference.floatTensor("hidden_state_after_layer_5").scalars
        let after11 = try reference.floatTensor("hidden_state_after_layer_11").scalars
        let last = try reference.floatTensor("last_hidden_state").scalars
        let attention = try reference.floatTensor("cls_attention").scalars, row = 6 * tokens
        let top = try reference.integerTensor("topk_patch_indices").values
        var checks: [Check] = []
        for (i, photo) in ["0_astronaut", "1_chelsea", "2_coffee", "3_rocket"].enumerated() {
            Progress.say("parity: \(photo)")
            let image = try PortablePixmap.read(folder.appendingPathComponent("images/\(photo).ppm"))
            let input = try model.processor.preprocess(image)
            checks.append(Check(name: "\(photo) pixel values", worst: maxDifference(input.scalars, Array(pixels[(i * size)..<((i + 1) * size)])), tolerance: 0))
            let output = try model.tower.encode(pixels: input, hiddenStates: [6, 12],
                                                attentions: Dictionary(uniqueKeysWithValues: (0..<layers).map { ($0, .rows([0])) }))
            func slice(_ values: [Float]) -> [Float] { Array(values[(i * plane)..<((i + 1) * plane)]) }
            let h6 = output.hiddenStates[6]!, h12 = output.hiddenStates[12]!
            checks.append(Check(name: "\(photo) hidden after layer 5", worst: maxDifference(h6.scalars, slice(after5)), tolerance: 2e-5))
            checks.append(Check(name: "\(photo) hidden after layer 11", worst: maxDifference(h12.scalars, slice(after11)), tolerance: 7e-4))
            checks.append(Check(name: "\(photo) last_hidden_state", worst: maxDifference(try model.tower.finalNorm(h12).scalars, slice(last)), tolerance: 4e-4))
            var worstAttention = 0.0
            for layer in 0..<layers {
                let start = (i * layers + layer) * row
                worstAttention = max(worstAttention, maxDifference(output.attentions[layer]!.scalars, Array(attention[start..<(start + row)])))
            }
            checks.append(Check(name: "\(photo) [CLS] attention, 12 layers x 6 heads", worst: worstAttention, tolerance: 3e-5))
            // The last layer's [CLS] row is already here: its head mean over the patches ([CLS] column dropped).
            let scores = Array(try headMean(output.attentions[layers - 1]!).dropFirst())
            let kept = Set(try TopK.indices(of: scores, k: 64))
            let expected = Set(top[(i * 64)..<((i + 1) * 64)])
            checks.append(Check(name: "\(photo) top-64 patches (differing)", worst: Double(kept.symmetricDifference(expected).count / 2), tolerance: 0))
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
