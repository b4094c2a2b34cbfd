import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// Numbers from outside are bounded before they size anything, files cannot say one thing twice, and a key
/// of the wrong type is an error naming it (Reliability classes 1, 2, 5 and 11).
final class StrictInputTests: XCTestCase {
    private func assertConfigurationError(_ body: @autoclosure () throws -> Any, _ fragment: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) {
            guard case .invalidConfiguration(_, let reason) = $0 as? ModelError else { return XCTFail("\($0)", line: line) }
            XCTAssertTrue(reason.contains(fragment), "'\(reason)' lacks '\(fragment)'", line: line)
        }
    }

    private func processor(_ json: String) throws -> CLIPImageProcessor {
        try CLIPImageProcessor(preprocessorConfig: Data(json.utf8), path: "preprocessor_config.json", defaultSize: 8)
    }

    func testPreprocessorConfigIsBoundedAndTyped() throws {
        XCTAssertEqual(try processor(#"{"size": {"shortest_edge": 12}, "crop_size": 10}"#).cropWidth, 10)
        assertConfigurationError(try processor(#"{"size": {"shortest_edge": 0}}"#), "size.shortest_edge: 0 is outside 1 ... 16384")
        assertConfigurationError(try processor(#"{"size": 100000}"#), "size: 100000 is outside")
        assertConfigurationError(try processor(#"{"crop_size": 3.5}"#), "crop_size: expected an integer")
        assertConfigurationError(try processor(#"{"size": {"shortest_edge": "336"}}"#), "size.shortest_edge: expected an integer")
        assertConfigurationError(try processor(#"{"size": {"height": 336, "width": 336}}"#), "shortest_edge")
        assertConfigurationError(try processor(#"{"image_mean": [0.5, 0.5]}"#), "image_mean: expected 3 finite numbers")
        assertConfigurationError(try processor(#"{"image_std": [0.5, 0, 0.5]}"#), "image_std: every value must be positive")
        assertConfigurationError(try processor(#"{"rescale_factor": "1/255"}"#), "rescale_factor")
        assertConfigurationError(try processor(#"{"do_center_crop": false}"#), "do_center_crop: false is not implemented")
        assertConfigurationError(try processor(#"{"size": 8, "size": 9}"#), "key 'size' appears more than once")
        assertConfigurationError(try processor("[1, 2]"), "not a JSON object")
    }

    func testDerivedSizesCannotExplode() throws {
        // A 1 x 20000 strip resized to a 336-pixel shortest edge would be 6.7 million pixels long.
        let strip = try RGBImage(width: 20000, height: 1, pixels: [UInt8](repeating: 7, count: 60000))
        XCTAssertThrowsError(try CLIPImageProcessor(size: 336).preprocess(strip)) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("more than 16384") else { return XCTFail("\($0)") }
        }
        // Pinpoints that would cut an image into thousands of crops, or list too many sizes.
        let huge = [PixelSize(height: 42 * 20, width: 42 * 20)]
        assertConfigurationError(try LlavaNextImageProcessor(pinpoints: huge, viewSize: 42, patchSize: 14), "more than 64 crops")
        let many = (1...65).map { _ in PixelSize(height: 42, width: 84) }
        assertConfigurationError(try LlavaNextImageProcessor(pinpoints: many, viewSize: 42, patchSize: 14), "more than 64")
        // PPM sides are bounded before the pixel buffer is sized.
        assertThrows(try PortablePixmap.decode(Data("P6\n40000 40000\n255\n".utf8)), ModelError.self, "size 40000x40000 is outside 1...32768")
    }

    func testRepeatedKeysAreRefusedEverywhere() throws {
        func header(_ json: String) -> Data {
            var out = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: Array(json.utf8))
            return out + Data(count: 8)
        }
        let twice = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#
        for data in [header(twice), header(#"{"__metadata__": {"format": "pt", "format": "np"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#)] {
            XCTAssertThrowsError(try SafetensorsFile(data: data, label: "x")) {
                guard case .malformedSafetensors(_, let reason) = $0 as? ModelError, reason.contains("appears more than once") else {
                    return XCTFail("\($0)")
                }
            }
        }
        assertConfigurationError(try LlavaConfiguration.decode(Data(#"{"text_config": {"hidden_size": 8, "hidden_size": 16}}"#.utf8)),
                                 "key 'text_config.hidden_size' appears more than once")
        assertConfigurationError(try SafetensorsCheckpoint.weightMap(Data(#"{"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}}"#.utf8), path: "i"),
                                 "key 'weight_map.a' appears more than once")
        assertConfigurationError(try SafetensorsCheckpoint.weightMap(Data(#"{"weight_map": {"a": 3}}"#.utf8), path: "i"),
                                 "weight_map.a: expected a file name")
        let folder = try temporaryFolder()
        try Data(#"{"eos_token_id": 2, "eos_token_id": [2, 3]}"#.utf8).write(to: folder.appendingPathComponent("generation_config.json"))
        assertConfigurationError(try GenerationConfiguration.load(directory: folder), "eos_token_id")
        // A JSON document nested deeper than the reader allows is an error, not a stack overflow.
        assertThrows(try JSONValue.parse(Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)), ModelError.self, "nesting deeper than 256")
    }
}

extension StrictInputTests {
    /// A number of the wrong kind or a value of the wrong type names its key and file.
    func testWrongTypesNameTheKey() throws {
        for (json, key) in [(#"{"text_config": {"hidden_size": 64.5}}"#, "text_config.hidden_size"),
                            (#"{"text_config": {"num_hidden_layers": "3"}}"#, "text_config.num_hidden_layers"),
                            (#"{"vision_config": {"image_size": [336]}}"#, "vision_config.image_size"),
                            (#"{"image_token_index": true}"#, "image_token_index")] {
            assertConfigurationError(try LlavaConfiguration.decode(Data(json.utf8), path: "folder/config.json"), key)
        }
        var header = Data()
        let json = #"{"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}"#
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { header.append(contentsOf: $0) }
        header.append(contentsOf: Array(json.utf8))
        XCTAssertThrowsError(try SafetensorsFile(data: header + Data(count: 8), label: "x")) {
            guard case .malformedSafetensors(_, let reason) = $0 as? ModelError, reason.contains("'a'") else { return XCTFail("\($0)") }
        }
    }
}
