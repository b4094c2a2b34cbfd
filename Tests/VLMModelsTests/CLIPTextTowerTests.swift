import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// The CLIP BPE tokenizer and the CLIP text tower against what tokenizers 0.23.3 and transformers 5.23.0 compute
/// on the repository's tiny CLIP fixture (`Tests/Fixtures/make_tiny_clip.py`).
final class CLIPTextTowerTests: XCTestCase {
    private func cases() throws -> [(text: String, ids: [Int], plain: [Int])] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: tinyClipFixture.appendingPathComponent("cases.json"))) as! [String: Any]
        return (json["cases"] as! [[String: Any]]).map { ($0["text"] as! String, $0["ids"] as! [Int], $0["ids_without_special"] as! [Int]) }
    }

    /// NFC, whitespace runs, lowercasing (char by char: a final Σ becomes σ), CLIP's split, `</w>` word ends and the
    /// start/end tokens, case by case.
    func testTokenizerMatchesTokenizers() throws {
        let tokenizer = try Tokenizer(directory: tinyClipFixture)
        let all = try cases()
        XCTAssertGreaterThan(all.count, 20)
        for c in all {
            XCTAssertEqual(try tokenizer.encode(c.text), c.ids, c.text)
            XCTAssertEqual(try tokenizer.encode(c.text, addSpecialTokens: false), c.plain, c.text)
        }
    }

    func testTextTowerMatchesTransformers() throws {
        let tower = try CLIPTextTower(directory: tinyClipFixture)
        let reference = try SafetensorsFile(url: tinyClipFixture.appendingPathComponent("reference.safetensors"))
        for i in 0..<5 {
            let ids = try reference.integerTensor("text.input_ids.\(i)").values
            // Case 4 is longer than the 24 positions: truncated with the end token kept.
            XCTAssertEqual(try tower.tokenIds(try caseText(i)), ids, "case \(i)")
            assertClose(try tower.hiddenStates(ids: ids).scalars, try reference.floatTensor("text.last_hidden_state.\(i)").scalars,
                        atol: 1e-5, "hidden \(i)")
            assertClose(try tower.textEmbedding(ids: ids), try reference.floatTensor("text.text_embeds.\(i)").scalars, atol: 1e-5, "embeds \(i)")
        }
        assertClose(try tower.imageEmbeddings(try reference.floatTensor("image.features")).scalars,
                    try reference.floatTensor("image.image_embeds").scalars, atol: 1e-5, "image embeds")
    }

    private func caseText(_ i: Int) throws -> String {
        ["What is in the image?", "what color is the cat", "Is there a DOG on the left?", "a",
         "The program is distributed in the hope that it will be useful, but without any warranty; see the license for details."][i]
    }

    func testBadInputIsTyped() throws {
        let tower = try CLIPTextTower(directory: tinyClipFixture)
        XCTAssertThrowsError(try tower.hiddenStates(ids: Array(repeating: 5, count: 25))) {
            guard case .invalidInput(let m) = $0 as? ModelError, m.contains("1...24") else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try tower.textEmbedding(ids: [1113])) {
            guard case .invalidInput(let m) = $0 as? ModelError, m.contains("outside the CLIP vocabulary") else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try tower.imageEmbeddings(Tensor(zeros: [2, 32]))) {
            guard case .invalidInput(let m) = $0 as? ModelError, m.contains("64 wide") else { return XCTFail("\($0)") }
        }
        for (json, reason) in [(#"{"model_type": "llava"}"#, "not a CLIP checkpoint"),
                               (#"{"model_type": "clip_text_model", "hidden_size": 30, "num_attention_heads": 4}"#, "not a multiple"),
                               (#"{"model_type": "clip", "text_config": {"vocab_size": 2.5}}"#, "vocab_size is not an integer"),
                               (#"{"model_type": "clip", "text_config": {"eos_token_id": 99, "vocab_size": 10}}"#, "eos_token_id")] {
            XCTAssertThrowsError(try CLIPTextConfiguration.decode(Data(json.utf8))) {
                guard case .invalidConfiguration(_, let m) = $0 as? ModelError, m.contains(reason) else { return XCTFail("\($0)") }
            }
        }
    }
}
