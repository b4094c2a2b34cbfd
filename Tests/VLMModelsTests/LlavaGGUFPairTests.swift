import Foundation
import TensorCore
import TestSupport
@testable import VLMModels
import XCTest

/// A LLaVA-1.5 checkpoint and the GGUF pair llama.cpp's own converters made of it (`Tests/Fixtures/tiny-llava-gguf`):
/// the pair gives exactly the checkpoint's logits (F32 files; the converter's F16 patch and projector weights were
/// generated F16-representable).
final class LlavaGGUFPairTests: XCTestCase {
    private let folder = tinyLlavaGGUFFixture

    private func logits(_ model: LlavaModel, _ ids: [Int], _ image: RGBImage) throws -> [Float] {
        let layout = try model.layout(tokenIds: ids, imageTokenCount: 16)
        let visual = try model.visualEmbeddings(try model.encodeImage(try model.preprocess(image)))
        var cache = model.language.makeCache()
        var state = try model.language.beginPrefill(embeddings: try model.inputEmbeddings(layout: layout, visual: visual),
                                                    positions: Array(0..<layout.expandedLength))
        try model.language.advance(&state, to: model.language.configuration.layerCount, cache: &cache)
        return try model.language.logits(state.hidden, rows: Array(0..<layout.expandedLength)).scalars
    }

    func testThePairGivesTheCheckpointsLogits() throws {
        let source = try LlavaModel(directory: folder.appendingPathComponent("source"), weights: .fixed(.f32))
        let pair = try LlavaModel(gguf: folder.appendingPathComponent("text-model-f32.gguf"),
                                  mmproj: folder.appendingPathComponent("mmproj-model-f32.gguf"))
        XCTAssertEqual(pair.configuration.imageTokenId, source.configuration.imageTokenId, "<image> found in the GGUF vocabulary")
        XCTAssertEqual(pair.configuration.text, source.configuration.text)
        XCTAssertEqual(pair.configuration.vision.layerCount, 2, "the converter drops the layers after the feature layer")
        XCTAssertEqual(pair.configuration.visionFeatureHiddenState, source.configuration.visionFeatureHiddenState)
        let pixels: [UInt8] = (0..<(61 * 47 * 3)).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 29 + i / 7) }
        let image = try RGBImage(width: 61, height: 47, pixels: pixels)
        XCTAssertEqual(try pair.preprocess(image).views[0].scalars, try source.preprocess(image).views[0].scalars)
        let ids = [1, 50, 3, 60, 70, 80]
        XCTAssertEqual(try logits(pair, ids, image), try logits(source, ids, image))
    }

    /// The text GGUF's SentencePiece vocabulary (`tokenizer.ggml.model` "llama": scores, byte tokens, a control
    /// `<image>`) encodes as SentencePiece itself does on the fixture's cases, and decodes back.
    func testSentencePieceTokenizerFromTheGGUF() throws {
        let tokenizer = try Tokenizer(gguf: try GGUFFile(url: folder.appendingPathComponent("text-model-f32.gguf")))
        let cases = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("tokenizer-cases.json"))) as! [[String: Any]]
        XCTAssertEqual(cases.count, 6)
        for entry in cases {
            let text = entry["text"] as! String, ids = entry["ids"] as! [Int]
            XCTAssertEqual(try tokenizer.encode(text), ids, text)
            XCTAssertEqual(try tokenizer.decode(Array(ids.dropFirst())), text, text)
        }
    }

    func testFilesOfAnotherKindAreRefusedByName() throws {
        let text = folder.appendingPathComponent("text-model-f32.gguf"), mmproj = folder.appendingPathComponent("mmproj-model-f32.gguf")
        XCTAssertThrowsError(try LlavaModel(gguf: mmproj, mmproj: text)) {
            guard case .invalidConfiguration(let path, let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, text.path)
            XCTAssertTrue(reason.contains("not a LLaVA mmproj file"), reason)
        }
        XCTAssertThrowsError(try TextModel(gguf: mmproj)) {
            XCTAssertEqual($0 as? ModelError, .invalidConfiguration(
                path: mmproj.path, reason: "general.architecture \"clip\" is not supported (only llama text models are)"))
        }
    }
}
