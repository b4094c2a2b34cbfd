import Foundation
import TensorCore
import TestSupport
@testable import VLMModels
import XCTest

/// Loading keeps (or converts to) the chosen precision, streams from the file, and stays faithful.
final class WeightPrecisionLoadingTests: XCTestCase {
    /// A small LLaVA whose sizes are not multiples of 16 (so panels are padded).
    private let configuration = LlavaConfiguration(
        vision: VisionTowerConfiguration(hiddenSize: 24, intermediateSize: 40, layerCount: 2, headCount: 2,
                                         imageSize: 8, patchSize: 4),
        text: LlamaConfiguration(vocabularySize: 37, hiddenSize: 20, intermediateSize: 36, layerCount: 2,
                                 headCount: 2, kvHeadCount: 1),
        imageTokenId: 36)

    /// Every matrix of the model with its expected `[outputs, inputs]`.
    private func matrices(_ m: LlavaModel) -> [(String, PackedMatrix, Int, Int)] {
        let t = configuration.text, v = configuration.vision, d = t.headDimension
        var out: [(String, PackedMatrix, Int, Int)] = [
            ("embed", m.language.embeddingTable, t.vocabularySize, t.hiddenSize),
            ("lm_head", m.language.lmHead, t.vocabularySize, t.hiddenSize),
            ("projector.1", m.projector.linear1.weight, t.hiddenSize, v.hiddenSize),
        ]
        for l in m.language.layers {
            out += [("qkv", l.qkv.weight, (t.headCount + 2 * t.kvHeadCount) * d, t.hiddenSize),
                    ("gateUp", l.gateUp.weight, 2 * t.intermediateSize, t.hiddenSize),
                    ("down", l.down.weight, t.hiddenSize, t.intermediateSize)]
        }
        for l in m.vision.layers { out += [("clip qkv", l.qkv.weight, 3 * v.hiddenSize, v.hiddenSize), ("fc2", l.fc2.weight, v.hiddenSize, v.intermediateSize)] }
        return out
    }

    /// A BF16 (or F16) sharded checkpoint loaded as stored keeps every matrix in 16 bits: storage is exactly
    /// 2 bytes per padded weight (no Float32 panel exists), and the values are the file's, stacked in order.
    func testSixteenBitCheckpointIsKeptInSixteenBits() throws {
        for dtype in [SafetensorsDType.bf16, .f16] {
            let folder = try temporaryFolder()
            try GeneratedCheckpoint.write(configuration: configuration, to: folder, dtype: dtype, maxShardBytes: 4000)
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors.index.json").path))
            let model = try LlavaModel(directory: folder)
            let precision: WeightPrecision = dtype == .bf16 ? .bf16 : .f16
            for (name, matrix, outputs, inputs) in matrices(model) {
                XCTAssertEqual(matrix.precision, precision, name)
                XCTAssertEqual([matrix.outputs, matrix.inputs], [outputs, inputs], name)
                XCTAssertEqual(matrix.storageBytes, (outputs + 15) / 16 * 16 * inputs * 2, name)
            }
            // Stacked q/k/v rows are the file's q, k and v rows in that order, exactly.
            let checkpoint = try SafetensorsCheckpoint(directory: folder)
            let p = "language_model.model.layers.1.self_attn."
            let expected = try ["q_proj", "k_proj", "v_proj"].flatMap { try checkpoint.floatTensor(p + $0 + ".weight").scalars }
            XCTAssertEqual(model.language.layers[1].qkv.weight.unpacked().scalars, expected)
            XCTAssertEqual(try model.language.embed([3, 0]).scalars,
                           try checkpoint.floatTensor("language_model.model.embed_tokens.weight").rows(3..<4).scalars
                            + checkpoint.floatTensor("language_model.model.embed_tokens.weight").rows(0..<1).scalars)
        }
    }

    /// Forcing a precision converts at load; the F32 model of an upcast file computes the same logits as the
    /// 16-bit model of the same file (the only difference is where the widening happens).
    func testForcedPrecisionAndUpcastGiveSameLogits() throws {
        let folder = try temporaryFolder()
        try GeneratedCheckpoint.write(configuration: configuration, to: folder, dtype: .bf16)
        let kept = try LlavaModel(directory: folder)
        let upcast = try LlavaModel(directory: folder, weights: .fixed(.f32))
        XCTAssertEqual(upcast.language.layers[0].qkv.weight.precision, .f32)
        let pixels = randomTensor([3, 8, 8], seed: 3)
        let prompt = [1, 5, 36, 7, 9]
        let a = try kept.nextTokenLogits(image: ImageInput(pixels: pixels), tokenIds: prompt)
        let b = try upcast.nextTokenLogits(image: ImageInput(pixels: pixels), tokenIds: prompt)
        assertClose(a, b, atol: 1e-5, "bf16 kept vs upcast")
        let int8 = try LlavaModel(directory: folder, weights: .fixed(.int8))
        XCTAssertEqual(int8.language.layers[0].gateUp.weight.precision, .int8)
        let c = try int8.nextTokenLogits(image: ImageInput(pixels: pixels), tokenIds: prompt)
        let spread = b.map { Double($0) }.map { abs($0) }.max()!
        let error = zip(b, c).map { Double(abs($0 - $1)) }.max()!
        XCTAssertLessThan(error, 0.05 * spread, "int8 logits stay within 5% of the largest logit")
        XCTAssertGreaterThan(error, 0, "int8 quantisation changes the logits")
    }

    /// A 4-bit load of a BF16 checkpoint converts each matrix while it is packed: every matrix holds only its
    /// 4-bit storage (half a byte per weight, one 2-byte scale per 32), each holds the checkpoint's values
    /// quantised by the documented scheme (stacked q/k/v rows and the embedding table checked), and the
    /// logits differ from the checkpoint's own.
    func testInt4LoadOfABFloat16CheckpointHoldsOnlyFourBitMatrices() throws {
        let folder = try temporaryFolder()
        try GeneratedCheckpoint.write(configuration: configuration, to: folder, dtype: .bf16)
        let kept = try LlavaModel(directory: folder)
        let int4 = try LlavaModel(directory: folder, weights: .fixed(.int4))
        for (name, matrix, outputs, inputs) in matrices(int4) {
            XCTAssertEqual(matrix.precision, .int4, name)
            let depth = (inputs + 31) / 32 * 32
            XCTAssertEqual(matrix.storageBytes, (outputs + 15) / 16 * (depth * 8 + depth / 32 * 32), name)
        }
        let checkpoint = try SafetensorsCheckpoint(directory: folder)
        let p = "language_model.model.layers.1.self_attn."
        let qkv = try ["q_proj", "k_proj", "v_proj"].flatMap { try checkpoint.floatTensor(p + $0 + ".weight").scalars }
        XCTAssertEqual(int4.language.layers[1].qkv.weight.unpacked().scalars, referenceInt4(qkv, inputs: configuration.text.hiddenSize))
        let table = try checkpoint.floatTensor("language_model.model.embed_tokens.weight")
        XCTAssertEqual(int4.language.embeddingTable.unpacked().scalars, referenceInt4(table.scalars, inputs: configuration.text.hiddenSize))
        let pixels = randomTensor([3, 8, 8], seed: 3)
        let prompt = [1, 5, 36, 7, 9]
        let a = try kept.nextTokenLogits(image: ImageInput(pixels: pixels), tokenIds: prompt)
        let b = try int4.nextTokenLogits(image: ImageInput(pixels: pixels), tokenIds: prompt)
        XCTAssertNotEqual(a, b, "int4 quantisation changes the logits")
    }

    /// A NaN inside a stored matrix is reported with the tensor's name and the flat index inside it.
    func testNonFiniteWeightNamesTheTensor() throws {
        let folder = try temporaryFolder()
        try GeneratedCheckpoint.write(configuration: configuration, to: folder, dtype: .f32)
        let url = folder.appendingPathComponent("model.safetensors")
        let file = try SafetensorsFile(url: url)
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        let target = "language_model.model.layers.0.self_attn.k_proj.weight"
        for name in file.tensorNames {
            var t = try file.floatTensor(name)
            if name == target { t[flat: 25] = .nan }
            try writer.add(name, t)
        }
        try writer.write(to: url)
        for precision in [LoadPrecision.checkpoint, .fixed(.bf16), .fixed(.int8)] {
            XCTAssertThrowsError(try LlavaModel(directory: folder, weights: precision)) { error in
                guard case let .tensor(.nonFinite(operation, index))? = error as? ModelError else { return XCTFail("\(error)") }
                XCTAssertTrue(operation.contains(target), operation)
                XCTAssertEqual(index, 25)
            }
        }
    }

    /// A NaN or infinity in a bias, a norm or an embedding is reported where it is loaded, with the tensor's name
    /// and the element's position (not later, under a layer's name).
    func testNonFiniteSmallTensorsNameTheTensorAndPosition() throws {
        let cases: [(String, Int, Float, [Int])] = [
            ("multi_modal_projector.linear_1.bias", 3, .nan, [3]),
            ("language_model.model.layers.0.input_layernorm.weight", 1, .infinity, [1]),
            ("vision_tower.vision_model.embeddings.position_embedding.weight", 26, -.infinity, [1, 2]),
        ]
        for (target, flat, value, position) in cases {
            let folder = try temporaryFolder()
            try GeneratedCheckpoint.write(configuration: configuration, to: folder, dtype: .f32)
            let url = folder.appendingPathComponent("model.safetensors")
            let file = try SafetensorsFile(url: url)
            var writer = SafetensorsWriter(metadata: ["format": "pt"])
            for name in file.tensorNames {
                var t = try file.floatTensor(name)
                if name == target { t[flat: flat] = value }
                try writer.add(name, t)
            }
            try writer.write(to: url)
            XCTAssertThrowsError(try LlavaModel(directory: folder)) { error in
                guard case let .tensor(.nonFinite(operation, index))? = error as? ModelError else { return XCTFail("\(error)") }
                XCTAssertEqual(operation, "tensor '\(target)' at \(position)")
                XCTAssertEqual(index, flat)
            }
        }
    }

    /// The command-line spellings parse; anything else is a typed error naming the accepted values.
    func testLoadPrecisionParsing() throws {
        XCTAssertEqual(try LoadPrecision(parsing: "checkpoint"), .checkpoint)
        XCTAssertEqual(try LoadPrecision(parsing: "int8"), .fixed(.int8))
        XCTAssertEqual(try LoadPrecision(parsing: "int4"), .fixed(.int4))
        XCTAssertEqual(try LoadPrecision(parsing: "bf16"), .fixed(.bf16))
        XCTAssertThrowsError(try LoadPrecision(parsing: "q4")) { error in
            guard case let .invalidInput(message)? = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("'q4'") && message.contains("int8"), message)
        }
    }

    /// The listed tensors are exactly what the model consumes: a generated checkpoint loads with no tensor
    /// missing or unused, and dropping any one entry is reported as missing.
    func testGeneratedCheckpointListsEveryTensor() throws {
        let entries = GeneratedCheckpoint.entries(for: configuration)
        XCTAssertEqual(Set(entries.map(\.name)).count, entries.count)
        let folder = try temporaryFolder()
        try GeneratedCheckpoint.write(configuration: configuration, to: folder, dtype: .f32)
        XCTAssertNoThrow(try LlavaModel(directory: folder))
        let file = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Set(file.tensorNames), Set(entries.map(\.name)))
    }
}
