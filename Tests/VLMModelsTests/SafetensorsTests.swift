import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// The safetensors reader and writer, including every malformed case the reader must reject.
final class SafetensorsTests: XCTestCase {
    /// A file from a raw header string and data section.
    private func file(header: String, data: [UInt8] = []) -> Data {
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: data)
        return out
    }

    private func assertMalformed(_ data: Data, containing fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile(data: data, label: "x"), file: file, line: line) { error in
            guard case let .malformedSafetensors(_, reason) = error as? ModelError else {
                return XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertTrue(reason.contains(fragment), "'\(reason)' lacks '\(fragment)'", file: file, line: line)
        }
    }

    func testRoundTripAllDTypes() throws {
        let t = try Tensor(shape: [2, 3], scalars: [1, -2.5, 0.1, 65504, 3e-5, -0.0])
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        try writer.add("a.f32", t, as: .f32)
        try writer.add("b.f16", t, as: .f16)
        try writer.add("c.bf16", t, as: .bf16)
        try writer.add("ids", integers: [5, -1, 300], shape: [3], as: .i64)
        try writer.add("mask", integers: [0, 1, 1, 0], shape: [2, 2], as: .u8)
        let data = try writer.data()
        let headerLength = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(headerLength % 8, 0, "header padded to 8 bytes")
        let f = try SafetensorsFile(data: data)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(try f.floatTensor("a.f32"), t)
        // Expected values after rounding, worked out by hand from the F16 / BF16 formats.
        XCTAssertEqual(try f.floatTensor("b.f16").scalars, [1, -2.5, 0.099975586, 65504, 2.9981136e-05, -0.0])
        XCTAssertEqual(try f.floatTensor("c.bf16").scalars, [1, -2.5, 0.100097656, 65536, 3.0040741e-05, -0.0])
        XCTAssertEqual(try f.integerTensor("ids").values, [5, -1, 300])
        XCTAssertEqual(try f.integerTensor("mask").shape, [2, 2])
        assertThrows(try f.floatTensor("ids"), ModelError.self, "tensor 'ids' has dtype I64, which cannot be read here")
        assertThrows(try f.integerTensor("a.f32"), ModelError.self, "tensor 'a.f32' has dtype F32, which cannot be read here")
        XCTAssertThrowsError(try f.floatTensor("nope")) { XCTAssertEqual($0 as? ModelError, .missingTensor(name: "nope")) }
        assertThrows(try writer.add("ids", integers: [1], shape: [1]), ModelError.self, "tensor name 'ids' is reserved or already used")
    }

    func testRejectsEveryMalformedCase() {
        assertMalformed(Data([1, 2, 3]), containing: "shorter than the 8-byte")
        assertMalformed(file(header: "{}").prefix(9), containing: "larger than the file")
        var huge = Data()
        withUnsafeBytes(of: UInt64(200_000_000).littleEndian) { huge.append(contentsOf: $0) }
        assertMalformed(huge, containing: "exceeds the limit")
        assertMalformed(file(header: "{not json"), containing: "not valid JSON")
        assertMalformed(file(header: "[1,2]"), containing: "not a JSON object")
        assertMalformed(file(header: #"{"t":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                        containing: "unknown dtype 'F7'")
        assertMalformed(file(header: #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                        containing: "needs 8")
        assertMalformed(file(header: #"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                        containing: "non-negative integers")
        assertMalformed(file(header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
                        containing: "begin <= end")
        assertMalformed(file(header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0]),
                        containing: "data section holds 2")
        assertMalformed(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
                             data: [UInt8](repeating: 0, count: 6)), containing: "overlaps")
        assertMalformed(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                             data: [UInt8](repeating: 0, count: 8)), containing: "hole before")
        assertMalformed(file(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                             data: [0, 0, 0, 0]), containing: "overflows")
        assertMalformed(file(header: #"{"__metadata__":{"k":1}}"#), containing: "not a string")
        // Dimensions and offsets are integers written as such: not booleans, decimals or strings.
        for shape in ["[true]", "[1.0]", "[\"1\"]", "[1e0]"] {
            assertMalformed(file(header: #"{"t":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                            containing: "non-negative integers")
        }
        assertMalformed(file(header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#, data: [0, 0, 0, 0]),
                        containing: "begin <= end")
        // Two names that are the same text in different Unicode forms (é precomposed, e + combining acute).
        assertMalformed(file(header: #"{"\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e\u0301":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                             data: [UInt8](repeating: 0, count: 8)), containing: "same text")
        XCTAssertThrowsError(try SafetensorsFile(url: URL(fileURLWithPath: "/nonexistent/x.safetensors"))) {
            guard case .fileUnreadable = $0 as? ModelError else { return XCTFail("\($0)") }
        }
    }

    func testCheckpointLoadingReportsMissingWrongShapeAndUnusedTensors() throws {
        let dir = try requireTinyLlavaFixture()
        let source = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        let config = try LlavaConfiguration.load(directory: dir)
        func files(_ edit: (inout SafetensorsWriter) throws -> Void, skipping: String? = nil) throws -> SafetensorsCheckpoint {
            var writer = SafetensorsWriter()
            for name in source.tensorNames where name != skipping { try writer.add(name, try source.floatTensor(name)) }
            try edit(&writer)
            return try SafetensorsCheckpoint(files: [SafetensorsFile(data: writer.data())])
        }
        let missing = "language_model.model.layers.1.mlp.up_proj.weight"
        var weights = try CheckpointWeights(checkpoint: files({ _ in }, skipping: missing))
        XCTAssertThrowsError(try LlavaModel(configuration: config, weights: &weights)) {
            XCTAssertEqual($0 as? ModelError, .missingTensor(name: missing))
        }
        weights = try CheckpointWeights(checkpoint: files({ try $0.add(missing, Tensor(zeros: [160, 65])) }, skipping: missing))
        XCTAssertThrowsError(try LlavaModel(configuration: config, weights: &weights)) {
            XCTAssertEqual($0 as? ModelError, .tensorShapeMismatch(name: missing, expected: [160, 64], actual: [160, 65]))
        }
        weights = try CheckpointWeights(checkpoint: files({ try $0.add("language_model.model.layers.7.extra", Tensor(zeros: [1])) }))
        _ = try LlavaModel(configuration: config, weights: &weights)
        XCTAssertThrowsError(try weights.verifyAllConsumed()) {
            XCTAssertEqual($0 as? ModelError, .unusedTensors(names: ["language_model.model.layers.7.extra"]))
        }
        // The same weight under both layouts is ambiguous.
        XCTAssertThrowsError(try CheckpointWeights(checkpoint: files({ try $0.add("lm_head.weight", Tensor(zeros: [300, 64])) }))) {
            XCTAssertEqual($0 as? ModelError, .duplicateTensor(name: "language_model.lm_head.weight"))
        }
    }

    func testShardedCheckpointThroughIndex() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vtp-shards-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var first = SafetensorsWriter(), second = SafetensorsWriter()
        try first.add("a", Tensor(zeros: [2], repeating: 1))
        try second.add("b", Tensor(zeros: [3], repeating: 2))
        try first.write(to: folder.appendingPathComponent("model-00001-of-00002.safetensors"))
        try second.write(to: folder.appendingPathComponent("model-00002-of-00002.safetensors"))
        let index = #"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        let checkpoint = try SafetensorsCheckpoint(directory: folder)
        XCTAssertEqual(checkpoint.tensorNames, ["a", "b"])
        XCTAssertEqual(try checkpoint.floatTensor("b").scalars, [2, 2, 2])
        let wrong = #"{"weight_map":{"a":"model-00002-of-00002.safetensors"}}"#
        try Data(wrong.utf8).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        assertThrows(try SafetensorsCheckpoint(directory: folder), ModelError.self, "index places 'a' in model-00002-of-00002.safetensors, which lacks it")
    }

    func testWeightNameMapping() {
        XCTAssertEqual(LlavaWeightNames.canonicalName("model.vision_tower.encoder.layers.0.mlp.fc1.weight"),
                       "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight")
        XCTAssertEqual(LlavaWeightNames.canonicalName("vision_tower.embeddings.class_embedding"),
                       "vision_tower.vision_model.embeddings.class_embedding")
        XCTAssertEqual(LlavaWeightNames.canonicalName("model.language_model.norm.weight"), "language_model.model.norm.weight")
        XCTAssertEqual(LlavaWeightNames.canonicalName("model.multi_modal_projector.linear_1.bias"), "multi_modal_projector.linear_1.bias")
        XCTAssertEqual(LlavaWeightNames.canonicalName("lm_head.weight"), "language_model.lm_head.weight")
        XCTAssertEqual(LlavaWeightNames.canonicalName("language_model.model.layers.0.self_attn.q_proj.weight"),
                       "language_model.model.layers.0.self_attn.q_proj.weight")
        XCTAssertNil(LlavaWeightNames.canonicalName("language_model.model.layers.0.self_attn.rotary_emb.inv_freq"))
    }
}
