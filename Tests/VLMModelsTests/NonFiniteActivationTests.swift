import Foundation
import TensorCore
import TestSupport
@testable import VLMModels
import XCTest

/// A value that overflows inside the network is reported with the stage and layer where it appeared
/// (Reliability class 7), never passed on as garbage logits.
final class NonFiniteActivationTests: XCTestCase {
    /// Generated weights with the tensors named by `culprit` scaled by 1e38: finite, but what follows overflows.
    private struct OverflowingWeights: WeightSource {
        var base = GeneratedWeights(seed: 1)
        let culprit: String

        mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
            let t = try base.tensor(name, shape: shape)
            return name.contains(culprit) ? t.scaled(by: 1e38) : t
        }

        mutating func matrix(_ names: [String], rowCounts: [Int], inputs: Int) throws -> PackedMatrix {
            let parts = try names.indices.map { try tensor(names[$0], shape: [rowCounts[$0], inputs]) }
            return try packStacked(names: names, rowCounts: rowCounts, inputs: inputs, precision: .f32) { part, rows, out in
                parts[part].withUnsafeBufferPointer { out.update(from: $0.baseAddress! + rows.lowerBound * inputs, count: rows.count * inputs) }
            }
        }
    }

    func testOverflowNamesTheDecoderLayer() throws {
        var weights = OverflowingWeights(culprit: "layers.1.post_attention_layernorm.weight")
        let decoder = try LlamaDecoder(configuration: minimalLlavaConfiguration.text, weights: &weights)
        var state = try decoder.beginPrefill(embeddings: randomTensor([3, 8], seed: 2), positions: [0, 1, 2])
        var cache = decoder.makeCache()
        XCTAssertThrowsError(try decoder.advance(&state, to: 2, cache: &cache)) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.hasPrefix("decoder layer 1 produced a NaN or infinite value") else {
                return XCTFail("\($0)")
            }
        }
    }

    func testOverflowNamesTheVisionLayer() throws {
        var weights = OverflowingWeights(culprit: "encoder.layers.0.self_attn")
        let vision = try VisionTower(configuration: minimalLlavaConfiguration.vision, weights: &weights, prefix: "v")
        XCTAssertThrowsError(try vision.encode(pixels: randomTensor([3, 8, 8], seed: 1), hiddenStates: [1])) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.hasPrefix("vision layer 0 produced") else {
                return XCTFail("\($0)")
            }
        }
    }
}
