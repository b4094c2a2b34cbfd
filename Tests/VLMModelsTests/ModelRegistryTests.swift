import Foundation
import TestSupport
import VLMModels
import XCTest

/// `ModelRegistry` picks the family's loader by `config.json`'s `model_type`.
final class ModelRegistryTests: XCTestCase {
    func testEachFixtureLoadsThroughItsModelType() throws {
        for (name, family) in [("tiny-llava", LlavaFamily.llava), ("tiny-llava-next", .llavaNext), ("tiny-llava-onevision", .llavaOneVision)] {
            let dir = try requireFixture(name)
            XCTAssertEqual(try ModelRegistry.modelType(directory: dir), family.rawValue)
            let model = try ModelRegistry.load(directory: dir)
            XCTAssertEqual(model.modelDescription.modelType, family.rawValue)
            XCTAssertEqual((model as? LlavaModel)?.configuration.family, family)
            XCTAssertEqual(model.modelDescription.visionHasClassToken, family != .llavaOneVision)
            XCTAssertEqual(model.modelDescription.fixedVisualTokens == nil, family != .llava)
        }
    }

    func testUnknownOrMalformedModelTypeIsATypedError() throws {
        let folder = try temporaryFolder()
        for (json, reason) in [(#"{"model_type": "qwen3_vl"}"#, "model_type 'qwen3_vl' is not supported; supported: llava, llava_next, llava_onevision, qwen2_5_vl"),
                               (#"{"model_type": 7}"#, "model_type: expected a string"),
                               (#"[1]"#, "not a JSON object")] {
            try Data(json.utf8).write(to: folder.appendingPathComponent("config.json"))
            XCTAssertThrowsError(try ModelRegistry.load(directory: folder)) {
                guard case .invalidConfiguration(_, let message) = $0 as? ModelError else { return XCTFail("\($0)") }
                XCTAssertEqual(message, reason)
            }
        }
    }
}
