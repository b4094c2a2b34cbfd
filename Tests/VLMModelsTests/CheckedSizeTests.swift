import Foundation
@testable import VLMModels
import XCTest

/// Numbers from outside that would overflow an `Int` are typed errors, never traps.
final class CheckedSizeTests: XCTestCase {
    private func assertInvalid(_ json: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try LlavaConfiguration.decode(Data(json.utf8)), file: file, line: line) { error in
            guard case .invalidConfiguration("config.json", let reason)? = error as? ModelError else {
                return XCTFail("\(error)", file: file, line: line)
            }
            XCTAssertTrue(reason.contains(fragment), "'\(reason)' does not say '\(fragment)'", file: file, line: line)
        }
    }

    func testHugeLayerCountsAndFeatureLayers() {
        assertInvalid(#"{"model_type": "llava", "vision_config": {"num_hidden_layers": 9223372036854775807}, "text_config": {}}"#,
                      "vision_config.num_hidden_layers 9223372036854775807 exceeds the bound 1024")
        assertInvalid(#"{"model_type": "llava", "vision_config": {"num_hidden_layers": 9223372036854775807}, "text_config": {}}"#,
                      "is outside the 9223372036854775807 + 1 hidden states")
        assertInvalid(#"{"model_type": "llava", "vision_feature_layer": -9223372036854775807, "text_config": {}}"#,
                      "vision_feature_layer -9223372036854775807 is outside the 25 hidden states")
        assertInvalid(#"{"model_type": "llava", "vision_feature_layer": 9223372036854775807, "text_config": {}}"#,
                      "vision_feature_layer 9223372036854775807 is outside")
    }

    func testHugePinpoints() {
        for pinpoint in ["[9223372036854775807, 336]", "[4611686018427387904, 4611686018427387904]", "[336, 3037000500]"] {
            assertInvalid(#"{"model_type": "llava_next", "image_grid_pinpoints": [\#(pinpoint)], "text_config": {}}"#,
                          "makes more than 64 crops or exceeds 16384 pixels")
        }
    }

    func testSums() {
        XCTAssertEqual(CheckedSize.sum(Int.max - 1, 1), Int.max)
        XCTAssertNil(CheckedSize.sum(Int.max, 1))
        XCTAssertNil(CheckedSize.product(Int.max / 2, 3))
        XCTAssertEqual(CheckedSize.product(3, 5, 7), 105)
    }
}

/// Special-token ids from outside must name tokens of the vocabulary.
final class TokenIdBoundsTests: XCTestCase {
    func testSpecialTokenIdsOutsideTheVocabularyAreRefused() {
        for (key, value) in [("eos_token_id", "300"), ("eos_token_id", "[2, 9999]"), ("bos_token_id", "-1"), ("pad_token_id", "300")] {
            let json = #"{"model_type": "llava", "text_config": {"vocab_size": 300, "\#(key)": \#(value)}}"#
            XCTAssertThrowsError(try LlavaConfiguration.decode(Data(json.utf8)), "\(key) \(value)") { error in
                guard case .invalidConfiguration(_, let reason)? = error as? ModelError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("text_config.\(key)") && reason.contains("outside the vocabulary 0..<300"), reason)
            }
        }
    }
}

/// JSON files from outside are size-bounded before they are read, and read strictly.
final class JSONFileBoundsTests: XCTestCase {
    /// A sparse file of `size` bytes (nothing is written but its length).
    private func sparse(_ url: URL, size: UInt64) throws {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: size)
        try handle.close()
    }

    func testOversizedFilesAreRefusedBeforeReading() throws {
        let folder = try temporaryFolder()
        try sparse(folder.appendingPathComponent("tokenizer.json"), size: 100 << 20)
        XCTAssertThrowsError(try Tokenizer(directory: folder)) {
            guard case .fileUnreadable(let path, let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(path.hasSuffix("tokenizer.json"))
            XCTAssertTrue(reason.contains("more than the 67108864-byte limit"), reason)
        }
        for name in ["config.json", "chat_template.json"] {
            try sparse(folder.appendingPathComponent(name), size: 20 << 20)
        }
        XCTAssertThrowsError(try LlavaConfiguration.load(directory: folder)) {
            guard case .fileUnreadable(_, let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("16777216-byte limit"), reason)
        }
        XCTAssertThrowsError(try ChatTemplate(directory: folder)) {
            guard case .fileUnreadable(_, let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("16777216-byte limit"), reason)
        }
    }

    func testChatTemplateFilesAreReadStrictly() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("chat_template.json")
        try Data(#"{"chat_template": "a", "chat_template": "b"}"#.utf8).write(to: url)
        XCTAssertThrowsError(try ChatTemplate(directory: folder)) {
            XCTAssertEqual($0 as? ModelError, .invalidConfiguration(path: url.path, reason: "key 'chat_template' appears more than once"))
        }
    }
}
