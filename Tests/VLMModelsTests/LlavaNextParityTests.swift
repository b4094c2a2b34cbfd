import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// LLaVA-NeXT against `../shared/fixtures/tiny-llava-next/reference.safetensors` (transformers 5.23, float32),
/// from the raw images on, with the tolerances the fixture's README gives.
final class LlavaNextParityTests: XCTestCase {
    func testProcessorMatchesTransformersBitForBit() throws {
        let f = try NextFixtureSamples.load()
        let dir = try requireTinyLlavaNextFixture()
        let files = ["0_55x70", "1_40x90", "2_42x42", "3_130x45"]
        for i in 0..<4 {
            let layout = try XCTUnwrap(try f.checkProcessor(image: i, file: files[i], in: dir).anyResolution)
            XCTAssertEqual(try f.integers("feature_lens", i), [layout.imageTokenCount])
        }
    }

    func testVisionProjectorAndPackingMatchTransformers() throws {
        let f = try NextFixtureSamples.load()
        for i in 0..<4 {
            let input = try f.model.imageProcessor.preprocess(f.images[i])
            let encoded = try f.model.encodeImage(input, requesting: VisionRequest(classAttentionLayers: [0, 1, 2]))
            assertClose(encoded.features.scalars, try f.floats("vision.feature_layer_hidden", i), atol: 1e-4, "feature layer \(i)")
            for layer in 0..<3 {
                assertClose(encoded.classAttention[layer]!.scalars, try f.floats("vision.cls_attention.\(layer)", i),
                            atol: 2e-5, "[CLS] attention \(layer), image \(i)")
            }
            // Every view's projected patches in view order ([CLS] rows skipped).
            let patchRows = (0..<input.views.count).flatMap { v in (1..<10).map { v * 10 + $0 } }
            let projected = try f.model.projector(try encoded.features.gatherRows(patchRows))
            assertClose(projected.scalars, try f.floats("image_features", i), atol: 5e-5, "image_features \(i)")
            let packed = try f.model.visualEmbeddings(encoded)
            assertClose(packed.scalars, try f.floats("packed_features", i), atol: 5e-5, "packed_features \(i)")
            if i == 1 {
                assertClose(packed.scalars, try f.floats("spec64.packed_features", 1), atol: 5e-5, "float64 packed_features")
            }
        }
    }

    func testExpandedPromptEmbeddingsLogitsAndGreedyTokens() throws {
        let f = try NextFixtureSamples.load()
        for i in 0..<4 {
            let input = try f.model.imageProcessor.preprocess(f.images[i])
            let prefill = try f.model.beginPrefill(image: input, tokenIds: f.prompts[i])
            let layout = prefill.layout, state = prefill.state
            XCTAssertEqual((0..<layout.expandedLength).map(layout.expandedTokenId), try f.integers("input_ids_expanded", i))
            assertClose(state.hidden.scalars, try f.floats("inputs_embeds", i), atol: 5e-5, "inputs_embeds \(i)")
            let generation = try f.model.generate(image: input, tokenIds: f.prompts[i], maxNewTokens: 5,
                                                  stopAtEndOfSequence: false)
            let tokens = generation.tokens, logits = generation.firstLogits
            assertClose(logits, try f.floats("logits", i), atol: 5e-5, "logits \(i)")
            if i == 1 { assertClose(logits, try f.floats("spec64.logits", 1), atol: 5e-5, "float64 logits") }
            XCTAssertEqual(tokens, try f.integers("generated_ids", i), "greedy tokens \(i)")
        }
    }

    /// The transformers-5 key layout (`model.image_newline`, `model.vision_tower.*`, …) and a Mistral text
    /// config (same architecture, a sliding window longer than the prompt) give the same tokens.
    func testTransformers5LayoutAndMistralTextConfig() throws {
        let dir = try requireTinyLlavaNextFixture()
        let f = try NextFixtureSamples.load()
        let folder = try temporaryFolder()
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
        var text = config["text_config"] as! [String: Any]
        text["model_type"] = "mistral"
        text["sliding_window"] = 4096
        config["text_config"] = text
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: dir.appendingPathComponent("preprocessor_config.json"),
                                         to: folder.appendingPathComponent("preprocessor_config.json"))
        let source = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for name in source.tensorNames { try writer.add(FixtureParityTests.transformers5Name(name), try source.floatTensor(name)) }
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        let model = try LlavaModel(directory: folder)
        XCTAssertEqual(model.configuration.text.modelType, "mistral")
        XCTAssertEqual(model.configuration.text.slidingWindow, 4096)
        let image = try model.imageProcessor.preprocess(f.images[3])
        XCTAssertEqual(try model.generate(image: image, tokenIds: f.prompts[3], maxNewTokens: 5, stopAtEndOfSequence: false).tokens,
                       try f.integers("generated_ids", 3))
        // A preprocessor whose pinpoints disagree with config.json's is refused.
        var pre = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("preprocessor_config.json"))) as! [String: Any]
        pre["image_grid_pinpoints"] = [[42, 84]]
        try JSONSerialization.data(withJSONObject: pre).write(to: folder.appendingPathComponent("preprocessor_config.json"))
        XCTAssertThrowsError(try LlavaModel(directory: folder)) {
            guard case .invalidConfiguration(_, let reason) = $0 as? ModelError, reason.contains("differ from config.json") else {
                return XCTFail("\($0)")
            }
        }
    }
}
