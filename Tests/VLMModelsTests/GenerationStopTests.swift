import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// Greedy generation ends at the checkpoint's end-of-sequence ids, read from generation_config.json or
/// config.json, one id or a list.
final class GenerationStopTests: XCTestCase {
    private let configuration = minimalLlavaConfiguration
    private let prompt = [1, 4, 22, 9]

    private func folder(generationConfig: String?) throws -> URL {
        let url = try temporaryFolder()
        try GeneratedCheckpoint.write(configuration: configuration, to: url, dtype: .f32)
        if let generationConfig {
            try Data(generationConfig.utf8).write(to: url.appendingPathComponent("generation_config.json"))
        }
        return url
    }

    /// With no stop ids the model gives exactly N tokens; naming the third of them (or a list holding it) as
    /// end of sequence ends generation right after it, whichever file names it.
    func testGenerationStopsAfterTheFirstEndOfSequenceToken() throws {
        let pixels = randomTensor([3, 8, 8], seed: 2)
        let free = try LlavaModel(directory: try folder(generationConfig: #"{"eos_token_id": null}"#))
        XCTAssertEqual(free.endOfSequenceIds, [])
        let all = try free.generate(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: 8).tokens
        XCTAssertEqual(all.count, 8)
        let stop = all[2]
        let firstStop = all.firstIndex(of: stop)!
        for json in [#"{"eos_token_id": \#(stop)}"#, #"{"eos_token_id": [0, \#(stop)]}"#] {
            let model = try LlavaModel(directory: try folder(generationConfig: json))
            XCTAssertTrue(model.endOfSequenceIds.contains(stop))
            XCTAssertEqual(try model.generate(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: 8).tokens,
                           Array(all[...firstStop]), json)
            XCTAssertEqual(try model.generate(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: 8,
                                              stopAtEndOfSequence: false).tokens, all, "exactly N when asked")
        }
        // Without generation_config.json, config.json's text_config.eos_token_id (default 2) applies.
        XCTAssertEqual(try LlavaModel(directory: try folder(generationConfig: nil)).endOfSequenceIds, [2])
    }

    /// A malformed generation_config.json eos entry is a typed error naming the file and key.
    func testMalformedGenerationConfigIsRejected() throws {
        for json in [#"{"eos_token_id": [2, "x"]}"#, #"{"eos_token_id": "2"}"#, #"{"eos_token_id": [-3]}"#, "[1]"] {
            let url = try folder(generationConfig: json)
            XCTAssertThrowsError(try LlavaModel(directory: url), json) { error in
                guard case let .invalidConfiguration(path, reason)? = error as? ModelError else { return XCTFail("\(error)") }
                XCTAssertTrue(path.hasSuffix("generation_config.json"), path)
                if json != "[1]" { XCTAssertTrue(reason.contains("eos_token_id"), reason) }
            }
        }
    }
}
