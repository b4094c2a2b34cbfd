import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import XCTest

/// Valid but unusual inputs either run or explain why they cannot (Reliability class 10): a 4-pixel image
/// of 2-pixel patches, a one-layer language model, an image smaller than one patch, a prompt that is only
/// the image placeholder.
final class UnusualInputTests: XCTestCase {
    private static let tiny: LlavaConfiguration = {
        let vision = VisionTowerConfiguration(hiddenSize: 4, intermediateSize: 8, layerCount: 1, headCount: 1, imageSize: 4, patchSize: 2)
        let text = LlamaConfiguration(vocabularySize: 12, hiddenSize: 4, intermediateSize: 6, layerCount: 1, headCount: 1,
                                      padTokenId: 0, bosTokenId: 1, eosTokenIds: [2])
        return LlavaConfiguration(vision: vision, text: text, imageTokenId: 11, visionFeatureLayer: -1)
    }()

    func testTinyModelsTinyImagesAndPlaceholderOnlyPrompts() throws {
        let model = try LlavaModel.generated(configuration: Self.tiny)
        // A 1 x 1 image (smaller than one patch) through the model's own preprocessing: 4 visual tokens.
        let image = try model.imageProcessor.preprocess(try RGBImage(width: 1, height: 1, pixels: [200, 10, 30]))
        let full = try PruningPipeline(model: model).run(image: image, tokenIds: [1, 11, 5], maxNewTokens: 2, stopAtEndOfSequence: false)
        XCTAssertEqual(full.report.visualTokens, 4)
        XCTAssertEqual(full.generatedTokens.count, 2)
        // Every catalogued scorer that fits a one-layer model runs at 1 kept token (not the in-LLM ones).
        for name in ScorerCatalog.names where !["none", "fastv", "dart"].contains(name) {
            let r = try PruningPipeline(model: model, pruning: ScorerCatalog.pruning(named: name, for: Self.tiny, keep: .count(1)))
                .run(image: image, tokenIds: [1, 11, 5])
            XCTAssertEqual(r.keptVisualIndices.count + r.mergedVisualTokens.count, 1, name)
        }
        // FastV needs a layer before its pruning layer: a one-layer model cannot have one.
        XCTAssertThrowsError(try PruningPipeline(model: model, pruning: TokenPruning(FastVScorer(), keep: .count(1)))) {
            guard case .invalidConfiguration = $0 as? PruningError else { return XCTFail("\($0)") }
        }
        // A prompt that is only the placeholder: the unpruned model runs; text similarity has no text to read.
        let alone = try PruningPipeline(model: model).run(image: image, tokenIds: [11])
        XCTAssertEqual(alone.nextTokenLogits.count, 12)
        XCTAssertThrowsError(try PruningPipeline(model: model, pruning: TokenPruning(TextSimilarityScorer(), keep: .count(2))).run(image: image, tokenIds: [11])) {
            guard case .emptyTextSpan = $0 as? PruningError else { return XCTFail("\($0)") }
        }
        // Positions beyond max_position_embeddings are refused, not extrapolated silently.
        var short = Self.tiny
        short.text.maxPositionEmbeddings = 4
        let shortModel = try LlavaModel.generated(configuration: short)
        XCTAssertThrowsError(try PruningPipeline(model: shortModel).run(image: image, tokenIds: [1, 11, 5], maxNewTokens: 0)) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("max_position_embeddings 4") else { return XCTFail("\($0)") }
        }
        // Withdrawing every visual token of a placeholder-only prompt would leave nothing to run.
        XCTAssertThrowsError(try PruningPipeline(model: model, withdrawalLayer: 0).run(image: image, tokenIds: [11])) {
            guard case .invalidConfiguration(let reason) = $0 as? PruningError, reason.contains("no text besides the image") else {
                return XCTFail("\($0)")
            }
        }
    }
}
