import Foundation
import TensorCore
import TestSupport
@testable import VLMModels
import XCTest

/// The real DINOv2-small on real photos (`../shared/fixtures/dinov2-small-photos`) against transformers' float32
/// reference: what a debug build checks in seconds (preprocessing, the resized position table, layer 0's [CLS]
/// attention). Every layer, hidden state and top-25 % patch set on all four photos is checked by
/// `vtp-bench parity --fixture …/dinov2-small-photos` in a release build.
final class DINOv2Tests: XCTestCase {
    private static let photos = ["0_astronaut", "1_chelsea", "2_coffee", "3_rocket"]

    private func fixture() throws -> (model: StandaloneVisionTower, reference: SafetensorsFile, folder: URL) {
        let folder = try requireFixture("dinov2-small-photos")
        return (try StandaloneVisionTower(directory: folder, weights: .fixed(.f32)),
                try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors")), folder)
    }

    func testConfigurationAndPositionTable() throws {
        let (model, reference, _) = try fixture()
        let c = model.tower.configuration
        XCTAssertEqual(c.family, .dinov2)
        XCTAssertEqual([c.hiddenSize, c.intermediateSize, c.layerCount, c.headCount, c.patchSize, c.imageSize, c.tokenCount],
                       [384, 1536, 12, 6, 14, 224, 257])
        XCTAssertEqual(c.nativeImageSize, 518)
        XCTAssertEqual(c.activation, .gelu)
        XCTAssertEqual(c.layerNormEps, 1e-6)
        // PyTorch's bicubic resize of the 37 x 37 table to 16 x 16, [CLS] row untouched.
        assertClose(model.tower.positionEmbedding.scalars, try reference.floatTensor("position_embeddings_224").scalars, atol: 1e-6)
    }

    func testPreprocessingIsBitExactOnEveryPhoto() throws {
        let (model, reference, folder) = try fixture()
        let pixels = try reference.floatTensor("pixel_values").scalars, size = 3 * 224 * 224
        for (i, photo) in Self.photos.enumerated() {
            let image = try PortablePixmap.read(folder.appendingPathComponent("images/\(photo).ppm"))
            XCTAssertEqual(try reference.integerTensor("image_sizes").values[(2 * i)...(2 * i + 1)].map { $0 }, [image.height, image.width])
            XCTAssertEqual(try model.processor.preprocess(image).scalars, Array(pixels[(i * size)..<((i + 1) * size)]), photo)
        }
    }

    func testFirstLayerClassAttentionOnTheCat() throws {
        let (model, reference, _) = try fixture()
        let pixels = try reference.floatTensor("pixel_values").scalars, size = 3 * 224 * 224
        let cat = try Tensor(shape: [3, 224, 224], scalars: Array(pixels[size..<(2 * size)]))
        let output = try model.tower.encode(pixels: cat, hiddenStates: [], attentions: [0: .rows([0])])
        // cls_attention [4, 12, 6, 257]: photo 1, layer 0, every head's [CLS] row.
        let all = try reference.floatTensor("cls_attention").scalars, row = 6 * 257
        assertClose(try XCTUnwrap(output.attentions[0]).scalars, Array(all[(12 * row)..<(13 * row)]), atol: 3e-5)
    }

    func testOtherModelTypesAndUnsupportedSettingsAreRefused() throws {
        let folder = try temporaryFolder()
        try Data(#"{"model_type": "vit"}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try StandaloneVisionTower(directory: folder)) {
            guard case .invalidConfiguration(_, let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("model_type 'vit'"), reason)
        }
        try Data(#"{"model_type": "dinov2", "use_swiglu_ffn": true}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try StandaloneVisionTower(directory: folder)) {
            guard case .invalidConfiguration(_, let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("use_swiglu_ffn = true is not supported"), reason)
        }
        XCTAssertEqual(DINOv2WeightNames.canonicalName("encoder.layer.3.attention.output.dense.bias"),
                       "vision_tower.vision_model.encoder.layers.3.self_attn.out_proj.bias")
        XCTAssertNil(DINOv2WeightNames.canonicalName("encoder.layer.03.norm1.weight"))
    }

    func testBicubicWeightsMatchPyTorchsRule() {
        // 37 -> 16: output 0 samples 0.65625 (taps -1..2 clamped to 0, 0, 1, 2), output 15 samples 35.34375.
        let w = PositionGridInterpolation.weights(37, 16)
        XCTAssertEqual(w[0].map(\.0), [0, 0, 1, 2])
        XCTAssertEqual(w[15].map(\.0), [34, 35, 36, 36])
        let t = 0.65625, a = -0.75
        XCTAssertEqual(w[0][1].1, ((a + 2) * t - (a + 3)) * t * t + 1, accuracy: 1e-15)
        for taps in w { XCTAssertEqual(taps.reduce(0) { $0 + $1.1 }, 1, accuracy: 1e-12) }
        // Equal sizes reproduce the grid.
        let grid = try! Tensor(shape: [9, 2], scalars: (0..<18).map(Float.init))
        XCTAssertEqual(PositionGridInterpolation.bicubic(grid, from: (3, 3), to: (3, 3)).scalars, grid.scalars)
    }
}
