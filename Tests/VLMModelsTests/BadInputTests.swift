import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// Every public model API with arguments rejects bad ones with a typed error instead of trapping.
final class BadInputTests: XCTestCase {
    private func assertInvalidInput(_ body: @autoclosure () throws -> some Any, _ fragment: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case let .invalidInput(reason) = error as? ModelError else {
                return XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertTrue(reason.contains(fragment), "'\(reason)' lacks '\(fragment)'", file: file, line: line)
        }
    }

    func testModelEntryPointsRejectBadArguments() throws {
        let f = try FixtureSamples.load()
        let model = f.model
        assertInvalidInput(try model.vision.encode(pixels: f.pixels[0], hiddenStates: [4]), "hidden state 4")
        assertInvalidInput(try model.vision.encode(pixels: f.pixels[0], hiddenStates: [], attentions: [3: .all]), "attention layer 3")
        var inf = f.pixels[0]
        inf[2, 55, 55] = .infinity
        assertInvalidInput(try model.encodeImage(ImageInput(pixels: inf)), "NaN or infinite")
        assertInvalidInput(try model.language.embed([0, 300]), "token id 300")
        assertInvalidInput(try model.language.embed([-1]), "token id -1")
        assertInvalidInput(try model.layout(tokenIds: [], imageTokenCount: 16), "no image placeholder")
        assertInvalidInput(try model.inputEmbeddings(layout: model.layout(tokenIds: f.prompts[0], imageTokenCount: 16), visual: Tensor(zeros: [15, 64])),
                           "visual tokens")
        assertInvalidInput(try model.language.beginPrefill(embeddings: Tensor(zeros: [2, 64]), positions: [0]), "positions")
        assertInvalidInput(try model.language.beginPrefill(embeddings: Tensor(zeros: [1, 64]), positions: [-3]), "negative position")
        assertInvalidInput(try model.language.beginPrefill(embeddings: Tensor(zeros: [1, 64], repeating: .nan), positions: [0]),
                           "NaN or infinite")
        var cache = model.language.makeCache()
        var state = try model.language.beginPrefill(embeddings: Tensor(zeros: [3, 64]), positions: [0, 1, 2])
        try model.language.advance(&state, to: 2, cache: &cache)
        assertInvalidInput(try model.language.advance(&state, to: 1, cache: &cache), "cannot advance")
        assertInvalidInput(try model.language.advance(&state, to: 4, cache: &cache), "cannot advance")
        assertInvalidInput(try state.keepRows([2, 1]), "ascending")
        assertInvalidInput(try state.keepRows([]), "non-empty")
        assertInvalidInput(try state.keepRows([3]), "0..<3")
        assertInvalidInput(try cache.retain(layer: 0, rows: [5]), "0..<3")
        var foreign = try KVCache(layerCount: 1, rowWidth: 32)
        assertInvalidInput(try KVCache(layerCount: -1, rowWidth: 32), "layerCount")
        assertInvalidInput(try model.language.decode(token: 5, position: 3, cache: &foreign), "KV cache has 1 layers")
        assertThrows(try Linear(weight: Tensor(zeros: [4, 3]), bias: Tensor(zeros: [3])), ModelError.self, "linear weight [4, 3] and bias [3] do not fit")
        assertThrows(try Shape(checking: [2, -1]), TensorError.self, "negative dimension in [2, -1]")
        assertThrows(try Shape(checking: [1 << 40, 1 << 40]), TensorError.self, "[1099511627776, 1099511627776] overflows")
        XCTAssertEqual(try Shape(checking: [2, 3]).count, 6)
    }
}
