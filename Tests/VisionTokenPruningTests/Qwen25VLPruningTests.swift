import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import VLMModels
import XCTest

/// Pruning on Qwen2.5-VL: visual tokens are the merger's outputs, kept tokens keep their 3-D positions, the
/// attention-received scorer reads the last (full-attention) block per merge unit, and the fixture's eval set.
final class Qwen25VLPruningTests: XCTestCase {
    private static let files = ["0_30x20", "1_170x130", "2_98x70", "3_45x160", "4_84x56"]

    private func load() throws -> (URL, SafetensorsFile, Qwen25VLModel) {
        let dir = try requireFixture("tiny-qwen2.5-vl")
        return (dir, try SafetensorsFile(url: dir.appendingPathComponent("reference.safetensors")), try Qwen25VLModel(directory: dir))
    }

    private func image(_ dir: URL, _ model: Qwen25VLModel, _ i: Int) throws -> ImageInput {
        try model.preprocess(try PortablePixmap.read(dir.appendingPathComponent("images/\(Self.files[i]).ppm")))
    }

    /// The pipeline keeping the fixture's kept tokens reproduces transformers' kept run: the same logits and
    /// greedy continuation (original 3-D positions, decoding at the unpruned run's positions).
    func testPipelineKeepsOriginalThreeDimensionalPositions() throws {
        let (dir, reference, model) = try load()
        for i in 0..<5 {
            let kept = try reference.integerTensor("kept.token_indices.\(i)").values
            let prompt = try reference.integerTensor("input_ids.\(i)").values
            let pipeline = try PruningPipeline(model: model, pruning: TokenPruning(FixedSelection(indices: kept), keep: .count(kept.count)))
            let result = try pipeline.run(image: try image(dir, model, i), tokenIds: prompt, maxNewTokens: 8, stopAtEndOfSequence: false)
            XCTAssertEqual(result.keptVisualIndices, kept)
            assertClose(result.nextTokenLogits, try reference.floatTensor("kept.logits.\(i)").scalars, atol: 2e-4, "kept logits \(i)")
            XCTAssertEqual(result.generatedTokens, try reference.integerTensor("kept.generated_ids.\(i)").values, "kept greedy \(i)")
            // Renumbering puts every row at 0, 1, 2, … on all three axes: a different run.
            let renumbered = try pipeline.with { $0.positions = .renumber }.run(image: try image(dir, model, i), tokenIds: prompt)
            XCTAssertGreaterThan(zip(renumbered.nextTokenLogits, result.nextTokenLogits).map { abs($0 - $1) }.max()!, 1e-3)
        }
    }

    /// `received` keeps the merged tokens with the most attention received in the last block (full attention),
    /// per merge unit: transformers' `vision.token_attention_received.3`, top-k.
    func testAttentionReceivedScorerReadsTheFullAttentionBlockPerMergeUnit() throws {
        let (dir, reference, model) = try load()
        XCTAssertEqual(try AttentionReceivedScorer().requirements(for: model.configuration).visionAttentionReceivedLayers, [3])
        for i in 0..<5 {
            let scores = try reference.floatTensor("vision.token_attention_received.3.\(i)").scalars.map(Double.init)
            let k = max(1, scores.count / 3)
            let expected = Array(scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k)).sorted()
            let result = try PruningPipeline(model: model, pruning: TokenPruning(AttentionReceivedScorer(), keep: .count(k)))
                .run(image: try image(dir, model, i), tokenIds: try reference.integerTensor("input_ids.\(i)").values)
            XCTAssertEqual(result.keptVisualIndices, expected, "image \(i)")
        }
    }

    func testEvaluationSetScoresTwelveOfTwelveUnpruned() throws {
        let (dir, _, model) = try load()
        let set = try EvaluationSet(url: dir.appendingPathComponent("eval.safetensors"))
        XCTAssertEqual(set.count, 12)
        let reference = try PruningEvaluation.referenceLogits(model: model, set: set)
        let summary = try PruningEvaluation.evaluate(try PruningPipeline(model: model), set: set, reference: reference).summary
        XCTAssertEqual(summary.accuracy, 1)
        XCTAssertEqual(summary.agreement, 1)
    }

    /// Every method that can run on a model without [CLS] runs, alone and with withdrawal and a KV budget, and
    /// keeps the budget; [CLS] methods are refused with the alternative named.
    func testEveryMethodRunsAndClassTokenMethodsAreRefused() throws {
        let (dir, reference, model) = try load()
        let input = try image(dir, model, 3), prompt = try reference.integerTensor("input_ids.3").values  // 12 tokens
        let names = ScorerCatalog.names(for: model.configuration)
        XCTAssertFalse(names.contains("cls"))
        for name in names where name != "none" {
            let pruning = try ScorerCatalog.pruning(named: name, for: model.configuration, keep: .count(5))
            let result = try PruningPipeline(model: model, pruning: pruning).run(image: input, tokenIds: prompt, maxNewTokens: 2)
            XCTAssertEqual(result.report.keptVisualTokens, 5, name)
            XCTAssertEqual(result.generatedTokens.count, 2, name)
            let combined = try PruningPipeline(model: model, pruning: pruning, withdrawalLayer: name == "dart" || name == "fastv" ? nil : 2,
                                               kvBudget: .calibratedPerRequest(retainedFraction: 0.5))
                .run(image: input, tokenIds: prompt, maxNewTokens: 2)
            XCTAssertEqual(combined.keptVisualIndices, result.keptVisualIndices, name)
        }
        for name in ["cls", "cls-global", "cls-ensemble"] {
            XCTAssertThrowsError(try PruningPipeline(model: model, pruning: ScorerCatalog.pruning(named: name, for: model.configuration, keep: .count(4)))) {
                guard case .unsupportedModel(_, let reason) = $0 as? PruningError, reason.contains("use 'received'") else { return XCTFail("\($0)") }
            }
        }
    }

    func testBadInputIsTyped() throws {
        let (dir, _, model) = try load()
        // A grid the 2x2 merger cannot divide.
        let odd = try ImageInput(patches: Tensor(zeros: [3 * 4, 1176]), grid: PatchGrid(rows: 3, columns: 4))
        XCTAssertThrowsError(try model.encodeImage(odd)) {
            guard case .invalidInput(let m) = $0 as? ModelError, m.contains("multiples of 2") else { return XCTFail("\($0)") }
        }
        // mrope_section must sum to half the head width; min_pixels may not exceed max_pixels.
        var config = try String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(of: "\"mrope_section\": [\n      2,\n      3,\n      3\n    ]", with: "\"mrope_section\": [2, 3, 4]")
        XCTAssertThrowsError(try Qwen25VLConfiguration.decode(Data(config.utf8))) {
            guard case .invalidConfiguration(_, let m) = $0 as? ModelError, m.contains("mrope_section [2, 3, 4]") else { return XCTFail("\($0)") }
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("qwen-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        try Data(#"{"min_pixels": 9408, "max_pixels": 3136}"#.utf8).write(to: scratch.appendingPathComponent("preprocessor_config.json"))
        XCTAssertThrowsError(try Qwen2VLImageProcessor(directory: scratch, vision: model.configuration.vision)) {
            guard case .invalidConfiguration(_, let m) = $0 as? ModelError, m.contains("above max_pixels") else { return XCTFail("\($0)") }
        }
    }
}

/// Asking Qwen2.5-VL through the assistant: the hub's chat template (default system turn, the image inline as
/// `<|vision_start|><|image_pad|><|vision_end|>`), a Qwen2 byte-level tokenizer with those added tokens, and a
/// generated Qwen2.5-VL model over its vocabulary.
final class Qwen25VLAssistantTests: XCTestCase {
    static let template = """
    {% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system
    You are a helpful assistant.<|im_end|>
    {% endif %}<|im_start|>{{ message['role'] }}
    {% if message['content'] is string %}{{ message['content'] }}<|im_end|>
    {% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>
    {% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
    {% endif %}
    """

    func testAnswerThroughTheChatTemplateEqualsTheModelsGreedyTokens() throws {
        let folder = try requireFixture("tokenizers/byte-level")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("tokenizer.json"))) as! [String: Any]
        var added = json["added_tokens"] as! [[String: Any]]
        for (id, content) in [(3000, "<|vision_start|>"), (3001, "<|vision_end|>"), (3002, "<|image_pad|>")] {
            added.append(["id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true])
        }
        json["added_tokens"] = added
        let tokenizer = try Tokenizer(data: try JSONSerialization.data(withJSONObject: json))
        let config = try Qwen25VLConfiguration.decode(Data("""
        {"model_type": "qwen2_5_vl", "vocab_size": 3003, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
         "num_attention_heads": 2, "num_key_value_heads": 1, "rope_theta": 1000000.0, "tie_word_embeddings": true,
         "eos_token_id": 2997, "image_token_id": 3002, "vision_start_token_id": 3000, "vision_end_token_id": 3001,
         "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
         "vision_config": {"depth": 2, "hidden_size": 16, "num_heads": 2, "intermediate_size": 24, "window_size": 56,
          "fullatt_block_indexes": [1], "out_hidden_size": 32}}
        """.utf8))
        let model = try Qwen25VLModel.generated(configuration: config, seed: 3)
        let assistant = try LlavaAssistant(model: model, tokenizer: tokenizer, template: try ChatTemplate(Self.template))
        let ids = try assistant.promptIds(question: "What is it?")
        let rendered = try tokenizer.decode(ids)
        XCTAssertTrue(rendered.hasPrefix("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is it?"),
                      rendered)
        XCTAssertTrue(rendered.hasSuffix("<|im_start|>assistant\n"), rendered)
        let picture = try RGBImage(width: 60, height: 40, pixels: (0..<(60 * 40 * 3)).map { UInt8(($0 * 29) % 253) })
        let answer = try assistant.answer(image: picture, question: "What is it?", maxNewTokens: 5)
        let expected = try model.generate(image: try model.preprocess(picture), tokenIds: ids, maxNewTokens: 5).tokens
        XCTAssertEqual(answer.tokens, expected)
        XCTAssertEqual(answer.report.visualTokens, 6)  // 60 x 40 → 84 x 56 (min_pixels) → 3 x 2 merged tokens
        // A tokenizer without the model's image token is refused.
        XCTAssertThrowsError(try LlavaAssistant(model: model, tokenizer: try Tokenizer(directory: folder), template: try ChatTemplate(Self.template))) {
            guard case .invalidConfiguration(_, let m) = $0 as? ModelError, m.contains("image_token_index 3002") else { return XCTFail("\($0)") }
        }
    }
}
