import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// The Qwen2.5-VL model against transformers (`../shared/fixtures/tiny-qwen2.5-vl`, README rules 13-19): expanded
/// ids, 3-D positions and rope deltas exactly, input embeddings and logits within the README's tolerances,
/// greedy tokens exactly, and the kept-subset run with original 3-D positions.
final class Qwen25VLParityTests: XCTestCase {
    private static let files = ["0_30x20", "1_170x130", "2_98x70", "3_45x160", "4_84x56"]

    private func load() throws -> (URL, SafetensorsFile, Qwen25VLModel) {
        let dir = try requireFixture("tiny-qwen2.5-vl")
        return (dir, try SafetensorsFile(url: dir.appendingPathComponent("reference.safetensors")), try Qwen25VLModel(directory: dir))
    }

    func testPositionsEmbeddingsLogitsAndGreedyTokensMatchTransformers() throws {
        let (dir, reference, model) = try load()
        XCTAssertEqual(try ModelRegistry.modelType(directory: dir), "qwen2_5_vl")
        for (i, file) in Self.files.enumerated() {
            let image = try model.preprocess(try PortablePixmap.read(dir.appendingPathComponent("images/\(file).ppm")))
            let prompt = try reference.integerTensor("input_ids.\(i)").values
            let encoded = try model.encodeImage(image)
            XCTAssertEqual(encoded.tokens.count, try reference.integerTensor("num_image_tokens.\(i)").values[0])
            let layout = try model.layout(tokenIds: prompt, imageTokenCount: encoded.tokens.count)
            XCTAssertEqual((0..<layout.expandedLength).map(layout.expandedTokenId(row:)), try reference.integerTensor("input_ids_expanded.\(i)").values)
            XCTAssertEqual((0..<layout.expandedLength).map { layout.imageSpan.contains($0) ? 1 : 0 },
                           try reference.integerTensor("mm_token_type_ids.\(i)").values, "mm_token_type_ids \(i)")
            let positions = model.rotaryPositions(layout: layout, tokens: encoded.tokens)
            let expected = try reference.integerTensor("position_ids.\(i)").values, t = layout.expandedLength
            XCTAssertEqual(positions.map(\.temporal), Array(expected[0..<t]), "t \(i)")
            XCTAssertEqual(positions.map(\.height), Array(expected[t..<(2 * t)]), "h \(i)")
            XCTAssertEqual(positions.map(\.width), Array(expected[(2 * t)...]), "w \(i)")
            let prefill = try model.beginPrefill(image: image, tokenIds: prompt)
            XCTAssertEqual(prefill.state.nextPosition - t, try reference.integerTensor("rope_deltas.\(i)").values[0], "rope delta \(i)")
            assertClose(prefill.state.hidden.scalars, try reference.floatTensor("inputs_embeds.\(i)").scalars, atol: 5e-5, "inputs_embeds \(i)")
            let generation = try model.generate(image: image, tokenIds: prompt, maxNewTokens: 8, stopAtEndOfSequence: false)
            assertClose(generation.firstLogits, try reference.floatTensor("logits.\(i)").scalars, atol: 2e-4, "logits \(i)")
            XCTAssertEqual(generation.tokens, try reference.integerTensor("generated_ids.\(i)").values, "greedy \(i)")
        }
    }

    /// The kept run: the text before the image, the kept visual tokens and the text after, each at its ORIGINAL
    /// 3-D position; decoding continues at the unpruned run's positions.
    func testKeptSubsetWithOriginalPositionsMatchesTransformers() throws {
        let (dir, reference, model) = try load()
        for (i, file) in Self.files.enumerated() {
            let image = try model.preprocess(try PortablePixmap.read(dir.appendingPathComponent("images/\(file).ppm")))
            let prompt = try reference.integerTensor("input_ids.\(i)").values
            let kept = try reference.integerTensor("kept.token_indices.\(i)").values
            let encoded = try model.encodeImage(image)
            let layout = try model.layout(tokenIds: prompt, imageTokenCount: encoded.tokens.count)
            let all = model.rotaryPositions(layout: layout, tokens: encoded.tokens)
            let rows = Array(layout.textBeforeImage) + kept.map { layout.imageStart + $0 } + Array(layout.textAfterImage)
            let positions = rows.map { all[$0] }, n = rows.count
            let expected = try reference.integerTensor("kept.position_ids.\(i)").values
            XCTAssertEqual(positions.map(\.temporal) + positions.map(\.height) + positions.map(\.width),
                           expected, "kept positions \(i)")
            let embeddings = try model.embeddings(layout: layout, splicing: try model.visualEmbeddings(encoded, keeping: kept))
            var state = try model.language.beginPrefill(embeddings: embeddings, rotaryPositions: positions)
            XCTAssertEqual(state.nextPosition - n, try reference.integerTensor("kept.rope_deltas.\(i)").values[0])
            var cache = model.language.makeCache()
            try model.language.advance(&state, to: model.language.configuration.layerCount, cache: &cache)
            let logits = try model.language.logits(state.hidden, rows: [n - 1]).scalars
            assertClose(logits, try reference.floatTensor("kept.logits.\(i)").scalars, atol: 2e-4, "kept logits \(i)")
            let tokens = try model.language.continuation(from: logits, nextPosition: state.nextPosition,
                                                         choosing: .greedy(maxCount: 8, stopAt: []), cache: &cache).tokens
            XCTAssertEqual(tokens, try reference.integerTensor("kept.generated_ids.\(i)").values, "kept greedy \(i)")
        }
    }

    /// Image 3 against the fixture's independent float64 computation.
    func testFloat64Reference() throws {
        let (dir, reference, model) = try load()
        let image = try model.preprocess(try PortablePixmap.read(dir.appendingPathComponent("images/3_45x160.ppm")))
        let embeds = try model.visualEmbeddings(try model.encodeImage(image))
        let spec = try reference.floatTensor("spec64.image_embeds.3").scalars
        assertClose(embeds.scalars, spec, atol: 5e-5, "image_embeds vs float64")
        let logits = try model.nextTokenLogits(image: image, tokenIds: try reference.integerTensor("input_ids.3").values)
        assertClose(logits, try reference.floatTensor("spec64.logits.3").scalars, atol: 2e-4, "logits vs float64")
    }
}
