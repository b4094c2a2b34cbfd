import Foundation
import TensorCore
import TestSupport
@testable import VLMModels
import XCTest

/// A generated llama text model written as llama.cpp's converter writes GGUF files: loading it gives the same
/// decoder as the Hugging Face layout it came from (q/k rows un-permuted, dimensions reversed, tied embeddings),
/// and `TextModel` answers through the file's own tokenizer and chat template.
final class GGUFTextModelTests: XCTestCase {
    private func logits(_ decoder: LlamaDecoder, _ ids: [Int]) throws -> [Float] {
        var cache = decoder.makeCache()
        var state = try decoder.beginPrefill(embeddings: try decoder.embed(ids), positions: Array(ids.indices))
        try decoder.advance(&state, to: decoder.configuration.layerCount, cache: &cache)
        return try decoder.logits(state.hidden, rows: Array(ids.indices)).scalars
    }

    func testF32FileGivesTheSourceModelsLogitsExactly() throws {
        let fixture = try TextGGUFFixture()
        let file = try GGUFFile(data: fixture.data, label: "tiny.gguf")
        let model = try TextModel(decoder: try loadDecoder(file, precision: .checkpoint), tokenizer: try Tokenizer(gguf: file), template: nil)
        XCTAssertEqual(model.decoder.configuration, TextGGUFFixture.configuration)
        let ids = [259, 104, 101, 108, 108, 111, 260, 12, 200]
        XCTAssertEqual(try logits(model.decoder, ids), try logits(fixture.reference, ids))
    }

    func testF16FileMatchesTheSourceRoundedToF16() throws {
        let fixture = try TextGGUFFixture(type: 1)
        let file = try GGUFFile(data: fixture.data)
        let decoder = try loadDecoder(file, precision: .checkpoint)
        XCTAssertEqual(decoder.embeddingTable.precision, .f16)
        var weights = GeneratedWeights(seed: 7, precision: .f16)
        let rounded = try LlamaDecoder(configuration: TextGGUFFixture.configuration, weights: &weights)
        let ids = [3, 1, 4, 1, 5, 9, 2, 6]
        XCTAssertEqual(try logits(decoder, ids), try logits(rounded, ids))
    }

    func testRowsLeftInHuggingFaceOrderGiveAnotherModel() throws {
        let unpermuted = try GGUFFile(data: try TextGGUFFixture(permuting: false).data)
        XCTAssertNotEqual(try logits(try loadDecoder(unpermuted, precision: .checkpoint), [1, 2, 3]),
                          try logits(try TextGGUFFixture().reference, [1, 2, 3]))
    }

    func testTensorsOutsideTheArchitectureAndMissingOnesAreNamed() throws {
        var fused = GGUFBuilder()
        fused.addF32("blk.0.attn_qkv.weight", dimensions: [2, 2], values: [1, 2, 3, 4])
        XCTAssertThrowsError(try GGUFWeights(file: try GGUFFile(data: fused.data, label: "fused.gguf"), configuration: TextGGUFFixture.configuration)) {
            XCTAssertEqual($0 as? ModelError, .invalidConfiguration(path: "fused.gguf", reason: "tensor 'blk.0.attn_qkv.weight' is not part of a llama text model"))
        }
        var empty = GGUFBuilder()
        empty.addF32("output_norm.weight", dimensions: [32], values: Array(repeating: 1, count: 32))
        var weights = try GGUFWeights(file: try GGUFFile(data: empty.data), configuration: TextGGUFFixture.configuration)
        XCTAssertThrowsError(try LlamaDecoder(configuration: TextGGUFFixture.configuration, weights: &weights)) {
            XCTAssertEqual($0 as? ModelError, .missingTensor(name: "language_model.model.embed_tokens.weight"))
        }
        XCTAssertThrowsError(try weights.verifyAllConsumed()) {
            XCTAssertEqual($0 as? ModelError, .unusedTensors(names: ["output_norm.weight"]))
        }
    }

    func testTextModelAnswersThroughTheFilesTemplateAndTokenizer() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("tiny.gguf")
        try TextGGUFFixture().data.write(to: url)
        let model = try TextModel(gguf: url, weights: .fixed(.f32))
        XCTAssertEqual(try model.tokenizer.encode("hello"), [258, 111])  // "hell" "o"
        let ids = try model.promptIds(messages: [.userQuestion("hello", withImage: false)])
        XCTAssertEqual(try model.tokenizer.decode(ids), "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n")
        let answer = try model.answer("hello", maxNewTokens: 5)
        // Greedy decoding recomputed by hand: full forward passes over the growing sequence.
        var sequence = ids, expected: [Int] = []
        for _ in 0..<5 {
            let all = try logits(model.decoder, sequence)
            let next = LlamaDecoder.argmax(Array(all.suffix(261)))
            expected.append(next)
            if next == 260 { break }
            sequence.append(next)
        }
        XCTAssertEqual(answer.tokens, expected)
        XCTAssertEqual(answer.promptIds, ids)
        XCTAssertEqual(answer.text, try model.tokenizer.decode(expected.filter { $0 != 260 }, skipSpecialTokens: true))
        XCTAssertThrowsError(try model.generate(promptIds: ids, maxNewTokens: 200)) {
            guard case .invalidInput(let m)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("exceed the model's context of 128 positions"), m)
        }
    }

    private func loadDecoder(_ file: GGUFFile, precision: LoadPrecision) throws -> LlamaDecoder {
        let configuration = try LlamaConfiguration(gguf: file)
        var weights = try GGUFWeights(file: file, configuration: configuration, precision: precision)
        let decoder = try LlamaDecoder(configuration: configuration, weights: &weights)
        try weights.verifyAllConsumed()
        return decoder
    }
}
