import Foundation
import TensorCore
import TestSupport
@testable import VLMModels
import XCTest

/// The real SmolLM2-135M-Instruct, read from its shipped Q4_1 GGUF alone, against transformers' float32
/// reference (`../shared/fixtures/smollm2-135m-instruct`). These are the checks a debug build runs in seconds;
/// every logit, hidden state, attention map and 24-token continuation is checked by
/// `vtp-bench smollm2-parity` in a release build.
final class SmolLM2Tests: XCTestCase {
    private static let prompts = ["plain_capital", "plain_digits", "chat_capital", "chat_nonascii", "chat_multiturn", "chat_long"]

    private func fixture() throws -> (gguf: GGUFFile, reference: SafetensorsFile, folder: URL) {
        let folder = try requireFixture("smollm2-135m-instruct")
        return (try GGUFFile(url: folder.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")),
                try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors")), folder)
    }

    func testFileFactsAndConfiguration() throws {
        let (gguf, _, _) = try fixture()
        XCTAssertEqual(gguf.version, 3)
        XCTAssertEqual(gguf.metadataKeys.count, 33)
        XCTAssertEqual(gguf.tensorNames.count, 272)
        let types = Dictionary(grouping: gguf.tensors.values, by: \.type).mapValues(\.count)
        XCTAssertEqual(types, [.q8_0: 1, .q4_1: 210, .f32: 61])
        XCTAssertEqual(try gguf.info("token_embd.weight").shape, [49152, 576])
        XCTAssertEqual(try gguf.info("blk.3.attn_k.weight").shape, [192, 576])
        let c = try LlamaConfiguration(gguf: gguf)
        XCTAssertEqual([c.vocabularySize, c.hiddenSize, c.intermediateSize, c.layerCount, c.headCount, c.kvHeadCount, c.headDimension],
                       [49152, 576, 1536, 30, 9, 3, 64])
        XCTAssertEqual(c.ropeTheta, 100_000)
        XCTAssertEqual(c.rmsNormEps, 9.999999747378752e-06)
        XCTAssertEqual(c.maxPositionEmbeddings, 8192)
        XCTAssertTrue(c.tieWordEmbeddings, "no output.weight: lm_head is the embedding")
        XCTAssertEqual(c.bosTokenId, 1)
        XCTAssertEqual(c.eosTokenIds, [2])
        XCTAssertEqual(c.padTokenId, 2)
    }

    func testTokenizerIdsOnEveryPrompt() throws {
        let (gguf, reference, folder) = try fixture()
        let fromGGUF = try Tokenizer(gguf: gguf), fromJSON = try Tokenizer(directory: folder)
        for prompt in Self.prompts {
            let text = try XCTUnwrap(reference.metadata["\(prompt).prompt_text"])
            let expected = try reference.integerTensor("\(prompt).input_ids").values
            XCTAssertEqual(try fromGGUF.encode(text), expected, prompt)
            XCTAssertEqual(try fromJSON.encode(text), expected, prompt)
            XCTAssertEqual(try fromGGUF.decode(expected), text, prompt)
        }
    }

    /// The fixture README's table: transformers' GGUF-derived tokenizer.json drops SmolLM's digit step, which the
    /// GGUF's `tokenizer.ggml.pre = "smollm"` (and the upstream tokenizer) apply.
    func testWhitespaceBeforeNumbers() throws {
        let (gguf, _, folder) = try fixture()
        let fromGGUF = try Tokenizer(gguf: gguf), fromJSON = try Tokenizer(directory: folder)
        let cases: [(String, [Int], [Int])] = [
            ("Total: 3 apples", [17647, 42, 216, 35, 13855], [17647, 42, 216, 35, 13855]),
            ("10² m", [33, 32, 19133, 283], [33, 32, 19133, 283]),
            ("items:\n\n1. milk", [8416, 42, 198, 198, 33, 30, 4788], [8416, 42, 1116, 33, 30, 4788]),
            ("x =  42", [104, 446, 216, 216, 36, 34], [104, 446, 256, 36, 34]),
            ("a\n 7", [81, 198, 216, 39], [81, 3805, 39]),
            ("a ½ cup", [81, 3351, 138, 7118], [81, 216, 16738, 7118]),
            ("x ²", [104, 3351, 127], [104, 216, 19133]),
        ]
        for (text, json, upstream) in cases {
            XCTAssertEqual(try fromJSON.encode(text), json, text)
            XCTAssertEqual(try fromGGUF.encode(text), upstream, text)
        }
    }

    func testChatTemplateFromTheGGUF() throws {
        let (gguf, reference, _) = try fixture()
        let template = try ChatTemplate(try XCTUnwrap(gguf.metadata["tokenizer.chat_template"]?.string))
        let questions = [
            "chat_capital": "What is the capital of France?",
            "chat_nonascii": "Traduis en anglais : « Le café coûte trois euros à Zürich. » Réponds en une phrase — merci ! 🙂",
        ]
        for (prompt, question) in questions {
            let rendered = try template.render(messages: [.userQuestion(question, withImage: false)], textContent: true)
            XCTAssertEqual(rendered, reference.metadata["\(prompt).prompt_text"], prompt)
        }
    }

    /// Layer 0 of the real model on the 37-token chat prompt (RoPE layout, GQA mapping, norms and both
    /// quantisation types all show here), with a vocabulary cut to the prompt's own tokens so that a debug
    /// build dequantises only what it uses.
    func testFirstLayerMatchesTransformers() throws {
        let (gguf, reference, _) = try fixture()
        let ids = try reference.integerTensor("chat_capital.input_ids").values
        let vocabulary = Array(Set(ids)).sorted()
        var configuration = try LlamaConfiguration(gguf: gguf)
        configuration.layerCount = 1
        configuration.vocabularySize = vocabulary.count
        var weights = PromptVocabulary(inner: try GGUFWeights(file: gguf, configuration: configuration, precision: .fixed(.f32)),
                                       file: gguf, ids: vocabulary)
        let decoder = try LlamaDecoder(configuration: configuration, weights: &weights)
        let local = ids.map { vocabulary.firstIndex(of: $0)! }
        var state = try decoder.beginPrefill(embeddings: try decoder.embed(local), positions: Array(ids.indices))
        var cache = decoder.makeCache()
        try decoder.advance(&state, to: 1, cache: &cache)
        let expected = try reference.floatTensor("chat_capital.hidden_after_layer_0").scalars
        let actual = state.hidden.scalars
        for row in ids.indices {
            let slice = (row * 576)..<((row + 1) * 576)
            let scale = Double(expected[slice].map(abs).max()!)
            assertClose(Array(actual[slice]), expected[slice].map(Double.init), atol: 1e-4 * scale, "row \(row)")
        }
    }

    /// The GGUF weights with the token embedding cut to rows `ids` (in that order).
    private struct PromptVocabulary: WeightSource {
        var inner: GGUFWeights
        let file: GGUFFile
        let ids: [Int]

        mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor { try inner.tensor(name, shape: shape) }

        mutating func matrix(_ names: [String], rowCounts: [Int], inputs: Int) throws -> PackedMatrix {
            guard names == ["language_model.model.embed_tokens.weight"] else {
                return try inner.matrix(names, rowCounts: rowCounts, inputs: inputs)
            }
            let rows = try Tensor(shape: [ids.count, inputs]) { out in
                for (k, id) in ids.enumerated() { try file.readRows("token_embd.weight", id..<(id + 1), into: out.baseAddress! + k * inputs) }
            }
            return try PackedMatrix(rows, precision: .f32)
        }
    }
}
