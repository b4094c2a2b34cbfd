import Foundation
import XCTest
import TensorCore
import VLMModels
import VisionTokenPruning
import TestSupport

/// `FlopsModel` against counts made another way: by hand, and from the shapes of the weights a checkpoint
/// actually holds (2 FLOPs per multiply-add, attention over every key).
final class FlopCountTests: XCTestCase {
    func testDecoderLayerMatchesAHandCount() {
        // tiny-llava's decoder: d = 64, 4 query heads and 2 key/value heads of width 16, MLP 160.
        let c = LlamaConfiguration(vocabularySize: 300, hiddenSize: 64, intermediateSize: 160, layerCount: 3,
                                   headCount: 4, kvHeadCount: 2, headDimension: 16)
        // 10 tokens: q, o 2·10·64·64 each = 81,920 each; k, v 2·10·64·32 = 40,960 each; scores and mixing
        // 2·10·10·64 each = 12,800 each; gate, up, down 2·10·64·160 = 204,800 each.
        let prefill: Double = 2 * 81_920 + 2 * 40_960 + 2 * 12_800 + 3 * 204_800
        XCTAssertEqual(FlopsModel.decoderLayer(tokens: 10, c), prefill)
        // One new token over a 25-entry cache: the projections and MLP of one row, 2·25·64 twice for attention.
        let step: Double = 2 * 8_192 + 2 * 4_096 + 2 * 3_200 + 3 * 20_480
        XCTAssertEqual(FlopsModel.decodeStep(cacheLength: 25, c), step)
        XCTAssertEqual(FlopsModel.outputHead(rows: 2, c), 76_800)
    }

    func testPipelineReportMatchesTheCheckpointsWeightShapes() throws {
        let f = try FixtureSamples.load()
        let weights = try SafetensorsFile(url: try requireTinyLlavaFixture().appendingPathComponent("model.safetensors"))
        /// Multiply-adds per input row of every matrix (rank ≥ 2) whose name starts with `prefix`.
        func macsPerRow(_ prefix: String) -> Double {
            Double(weights.tensors.values.filter { $0.name.hasPrefix(prefix) && $0.shape.count >= 2 }
                .reduce(0) { $0 + $1.elementCount })
        }
        let queryWidth = Double(try weights.info("language_model.model.layers.0.self_attn.q_proj.weight").shape[0])
        let outputHead = 2 * macsPerRow("language_model.lm_head.")
        /// One decoder layer: every weight once per query row, then scores and value mixing per (query, key).
        func layer(_ l: Int, queries: Double, keys: Double) -> Double {
            2 * queries * macsPerRow("language_model.model.layers.\(l).") + 2 * 2 * queries * keys * queryWidth
        }

        let steps = 3
        let result = try PruningPipeline(model: f.model).run(
            image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0], maxNewTokens: steps, stopAtEndOfSequence: false)
        let n = Double(f.prompts[0].count + 15)
        XCTAssertEqual(result.report.flops.prefill, (0..<3).map { layer($0, queries: n, keys: n) }.reduce(0, +) + outputHead)
        // Each of the 2 fed tokens attends to the prompt, the tokens fed before it and itself.
        let decode = (1..<steps).map { j in (0..<3).map { layer($0, queries: 1, keys: n + Double(j)) }.reduce(0, +) + outputHead }
        XCTAssertEqual(result.report.flops.decode, decode.reduce(0, +))

        // The encoder runs the patch embedding and the 2 layers up to vision_feature_layer −2 over 16 + 1 tokens.
        let tokens = 17.0, visionWidth = 64.0
        let vision = "vision_tower.vision_model."
        let encoder = 2 * 16 * macsPerRow(vision + "embeddings.patch_embedding.")
            + (0..<2).map { 2 * tokens * macsPerRow(vision + "encoder.layers.\($0).") + 4 * tokens * tokens * visionWidth }.reduce(0, +)
        XCTAssertEqual(result.report.flops.encoder, encoder)
        XCTAssertEqual(result.report.flops.projector, 2 * 16 * macsPerRow("multi_modal_projector."))
    }
}
