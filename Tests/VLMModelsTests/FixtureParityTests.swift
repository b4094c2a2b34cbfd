import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// Every stage against `../shared/fixtures/tiny-llava/reference.safetensors` (transformers 5.23, float32),
/// with the tolerances the fixture's README gives.
final class FixtureParityTests: XCTestCase {
    private func load() throws -> (model: LlavaModel, reference: SafetensorsFile) {
        let dir = try requireTinyLlavaFixture()
        return (try LlavaModel(directory: dir),
                try SafetensorsFile(url: dir.appendingPathComponent("reference.safetensors")))
    }

    /// Sample `b` of a reference tensor whose first dimension is the batch.
    private func sample(_ file: SafetensorsFile, _ name: String, _ b: Int) throws -> Tensor {
        let t = try file.floatTensor(name)
        return try t.rows(b..<(b + 1)).reshaped(Shape(Array(t.shape.dims.dropFirst())))
    }

    func testVisionTowerEveryStage() throws {
        let (model, ref) = try load()
        for b in 0..<2 {
            let pixels = try sample(ref, "pixel_values", b)
            let out = try model.vision.encode(pixels: pixels, hiddenStates: [0, 1, 2, 3],
                                              attentions: [0: .all, 1: .all, 2: .all])
            assertClose(out.embeddings.scalars, try sample(ref, "vision.embeddings", b).scalars, atol: 2e-5, "embeddings \(b)")
            for i in 0...3 {
                assertClose(out.hiddenStates[i]!.scalars, try sample(ref, "vision.hidden_states.\(i)", b).scalars,
                            atol: 1e-4, "vision hidden state \(i), sample \(b)")
            }
            for i in 0..<3 {
                assertClose(out.attentions[i]!.scalars, try sample(ref, "vision.attentions.\(i)", b).scalars,
                            atol: 2e-5, "vision attention \(i), sample \(b)")
            }
            let features = try model.encodeImage(ImageInput(pixels: pixels)).features.rows(1..<17)
            assertClose(features.scalars, try sample(ref, "vision.selected_features", b).scalars, atol: 1e-4, "selected \(b)")
            assertClose(try model.projector(features).scalars, try sample(ref, "image_features", b).scalars,
                        atol: 5e-5, "image_features \(b)")
        }
    }

    func testLanguageModelEveryStageIncludingPadding() throws {
        let (model, ref) = try load()
        let ids = try ref.integerTensor("input_ids_unexpanded")
        let width = ids.shape[1]
        for b in 0..<2 {
            let pixels = try sample(ref, "pixel_values", b)
            let layout = try model.layout(tokenIds: Array(ids.values[(b * width)..<((b + 1) * width)]), imageTokenCount: 16)
            XCTAssertEqual(layout.imageStart, try ref.integerTensor("image_token_start").values[b])
            let visual = try model.visualEmbeddings(try model.encodeImage(ImageInput(pixels: pixels)))
            let embeddings = try model.inputEmbeddings(layout: layout, visual: visual)
            assertClose(embeddings.scalars, try sample(ref, "lm.hidden_states.0", b).scalars, atol: 1e-5, "inputs_embeds \(b)")
            var cache = model.language.makeCache()
            var state = try model.language.beginPrefill(embeddings: embeddings, positions: Array(0..<layout.expandedLength))
            for layer in 0..<3 {
                let probs = try model.language.advance(&state, to: layer + 1, cache: &cache, attentions: [layer: .all])
                assertClose(probs[layer]!.scalars, try sample(ref, "lm.attentions.\(layer)", b).scalars,
                            atol: 5e-5, "lm attention \(layer), sample \(b)")
                let expected = layer < 2 ? "lm.hidden_states.\(layer + 1)" : "lm.final_layer_prenorm"
                assertClose(state.hidden.scalars, try sample(ref, expected, b).scalars, atol: 2e-4, "\(expected) \(b)")
            }
            assertClose(try model.language.finalNorm(state.hidden).scalars, try sample(ref, "lm.hidden_states.3", b).scalars,
                        atol: 2e-4, "final norm \(b)")
            let logits = try model.language.logits(state.hidden, rows: Array(0..<layout.expandedLength))
            assertClose(logits.scalars, try sample(ref, "logits", b).scalars, atol: 1e-4, "logits \(b)")
        }
    }

    func testGreedyContinuationWithKVCacheMatchesTransformers() throws {
        let (model, ref) = try load()
        let ids = try ref.integerTensor("input_ids_unexpanded"), lengths = try ref.integerTensor("input_lengths").values
        let generated = try ref.integerTensor("generated_ids")
        for b in 0..<2 {
            let prompt = Array(ids.values[(b * ids.shape[1])..<(b * ids.shape[1] + lengths[b])])
            let result = try model.generate(image: ImageInput(pixels: try sample(ref, "pixel_values", b)), tokenIds: prompt, maxNewTokens: 5,
                                            stopAtEndOfSequence: false)
            XCTAssertEqual(result.tokens, Array(generated.values[(b * 5)..<(b * 5 + 5)]), "sample \(b)")
            XCTAssertEqual(result.tokens.first, try ref.integerTensor("greedy_next_token").values[b])
        }
    }

    /// The fixture re-saved in half precision (weights kept in 16 bits) and under the transformers 5 key names
    /// gives transformers' greedy tokens; 16-bit weights give the logits of the same file upcast to Float32 at
    /// load (what transformers does with a half file in float32).
    func testHalfPrecisionAndTransformers5LayoutGiveSameGreedyTokens() throws {
        let dir = try requireTinyLlavaFixture()
        let (_, ref) = try load()
        let source = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        let ids = try ref.integerTensor("input_ids_unexpanded"), lengths = try ref.integerTensor("input_lengths").values
        let generated = try ref.integerTensor("generated_ids").values
        for (dtype, renamed) in [(SafetensorsDType.f16, false), (.bf16, false), (.f32, true)] {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vtp-\(dtype.rawValue)-\(renamed)-\(UUID())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try FileManager.default.copyItem(at: dir.appendingPathComponent("config.json"),
                                             to: folder.appendingPathComponent("config.json"))
            var writer = SafetensorsWriter(metadata: ["format": "pt"])
            for name in source.tensorNames {
                try writer.add(renamed ? Self.transformers5Name(name) : name, try source.floatTensor(name), as: dtype)
            }
            try writer.write(to: folder.appendingPathComponent("model.safetensors"))
            let model = try LlavaModel(directory: folder)
            let upcast = try LlavaModel(directory: folder, weights: .fixed(.f32))
            XCTAssertEqual(model.language.embeddingTable.precision, dtype == .bf16 ? .bf16 : dtype == .f16 ? .f16 : .f32)
            for b in 0..<2 {
                let prompt = Array(ids.values[(b * ids.shape[1])..<(b * ids.shape[1] + lengths[b])])
                let pixels = try sample(ref, "pixel_values", b)
                let result = try model.generate(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: 5,
                                            stopAtEndOfSequence: false)
                XCTAssertEqual(result.tokens, Array(generated[(b * 5)..<(b * 5 + 5)]), "\(dtype) renamed=\(renamed) sample \(b)")
                assertClose(result.firstLogits, try upcast.nextTokenLogits(image: ImageInput(pixels: pixels), tokenIds: prompt), atol: 1e-5,
                            "\(dtype) kept vs upcast, sample \(b)")
            }
        }
    }

    /// transformers 5's in-memory names for a classic llava-hf key.
    static func transformers5Name(_ classic: String) -> String {
        if classic == "language_model.lm_head.weight" { return "lm_head.weight" }
        if classic.hasPrefix("language_model.model.") { return "model.language_model." + classic.dropFirst(21) }
        if classic.hasPrefix("vision_tower.vision_model.") { return "model.vision_tower." + classic.dropFirst(26) }
        return "model." + classic
    }
}
