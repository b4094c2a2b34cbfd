import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// LLaVA-OneVision against `../shared/fixtures/tiny-llava-onevision/reference.safetensors` (transformers 5.25,
/// float32), from the raw images on, with the tolerances the fixture's README gives.
final class OneVisionParityTests: XCTestCase {
    func testConfigurationIsSigLIPQwen2AnyresMax9() throws {
        let c = try NextFixtureSamples.loadOneVision().model.configuration
        XCTAssertEqual(c.family, .llavaOneVision)
        XCTAssertEqual(c.vision.family, .siglip)
        XCTAssertFalse(c.vision.hasClassToken)
        XCTAssertEqual(c.vision.activation, .geluTanh)
        XCTAssertEqual(c.vision.patchesPerSide, 3)
        XCTAssertEqual(c.text.modelType, "qwen2")
        XCTAssertTrue(c.text.queryKeyValueBias)
        XCTAssertNil(c.text.slidingWindow, "use_sliding_window is false")
        XCTAssertEqual(c.maxGridViews, 9)
        XCTAssertEqual(c.visionFeatureHiddenState, 3)
        XCTAssertEqual(c.imageGridPinpoints?.count, 36)
    }

    func testProcessorMatchesTransformersBitForBit() throws {
        let f = try NextFixtureSamples.loadOneVision()
        let dir = try requireFixture("tiny-llava-onevision")
        let files = ["0_21x17", "1_100x31", "2_37x95", "3_121x118", "4_118x74"]
        for i in 0..<5 {
            let input = try f.checkProcessor(image: i, file: files[i], in: dir)
            let layout = try XCTUnwrap(input.anyResolution)
            XCTAssertEqual(try f.integers("final_grid", i), [layout.outputRows, layout.outputColumns], "final grid \(i)")
            XCTAssertEqual(try f.integers("newline_indices", i), try f.model.tokenMap(for: input).newlineIndices, "newlines \(i)")
        }
    }

    func testVisionAttentionProjectorAndPackingMatchTransformers() throws {
        let f = try NextFixtureSamples.loadOneVision()
        for i in 0..<5 {
            let input = try f.model.imageProcessor.preprocess(f.images[i])
            let encoded = try f.model.encodeImage(input, requesting: VisionRequest(attentionReceivedLayers: [1, 2]))
            assertClose(encoded.features.scalars, try f.floats("vision.feature_layer_hidden", i), atol: 1e-4, "feature layer \(i)")
            // Head-mean attention maps of the last two layers, view by view ([views, 9, 9]).
            for layer in 1...2 {
                let means = try input.views.flatMap { view -> [Float] in
                    let map = try f.model.vision.encode(pixels: view, hiddenStates: [], attentions: [layer: .all]).attentions[layer]!
                    let heads = map.shape[0], cells = map.shape[1] * map.shape[2]
                    return map.withUnsafeBufferPointer { p in (0..<cells).map { c in (0..<heads).reduce(0) { $0 + p[$1 * cells + c] } / Float(heads) } }
                }
                assertClose(means, try f.floats("vision.attention_mean.\(layer)", i), atol: 1e-5, "attention mean \(layer), image \(i)")
            }
            for layer in 1...2 {
                assertClose(encoded.attentionReceived[layer]!.scalars, try f.floats("vision.attention_received.\(layer)", i),
                            atol: 1e-5, "attention received, layer \(layer), image \(i)")
            }
            assertClose(try f.model.projector(encoded.features).scalars, try f.floats("image_features", i), atol: 5e-5,
                        "image_features \(i)")
            let packed = try f.model.visualEmbeddings(encoded)
            assertClose(packed.scalars, try f.floats("packed_features", i), atol: 5e-5, "packed_features \(i)")
            if i == 4 {
                assertClose(packed.scalars, try f.reference.floatTensor("spec64.packed_features.4").scalars, atol: 5e-5, "float64 packed")
            }
        }
    }

    func testExpandedPromptEmbeddingsLogitsAndGreedyTokens() throws {
        let f = try NextFixtureSamples.loadOneVision()
        for i in 0..<5 {
            let input = try f.model.imageProcessor.preprocess(f.images[i])
            let prefill = try f.model.beginPrefill(image: input, tokenIds: f.prompts[i])
            let layout = prefill.layout
            XCTAssertEqual((0..<layout.expandedLength).map(layout.expandedTokenId), try f.integers("input_ids_expanded", i))
            assertClose(prefill.state.hidden.scalars, try f.floats("inputs_embeds", i), atol: 5e-5, "inputs_embeds \(i)")
            let generation = try f.model.generate(image: input, tokenIds: f.prompts[i], maxNewTokens: 8, stopAtEndOfSequence: false)
            assertClose(generation.firstLogits, try f.floats("logits", i), atol: 1e-4, "logits \(i)")
            if i == 4 { assertClose(generation.firstLogits, try f.reference.floatTensor("spec64.logits.4").scalars, atol: 1e-4, "float64 logits") }
            XCTAssertEqual(generation.tokens, try f.integers("generated_ids", i), "greedy tokens \(i)")
        }
    }
}
