import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// Qwen2.5-VL's image processor and vision tower against transformers (`../shared/fixtures/tiny-qwen2.5-vl`,
/// README rules 1-12): sizes, grids and pixels exactly, the window partition exactly, block outputs, attention
/// received per merge unit and the merger's output within the README's tolerances.
final class Qwen25VLVisionParityTests: XCTestCase {
    private static let files = ["0_30x20", "1_170x130", "2_98x70", "3_45x160", "4_84x56"]

    private func load() throws -> (URL, SafetensorsFile, Qwen25VLConfiguration) {
        let dir = try requireFixture("tiny-qwen2.5-vl")
        return (dir, try SafetensorsFile(url: dir.appendingPathComponent("reference.safetensors")), try Qwen25VLConfiguration.load(directory: dir))
    }

    /// The fixture's processor, vision tower and reference, and reference image `i` preprocessed.
    private func loadTower() throws -> (processor: Qwen2VLImageProcessor, tower: Qwen25VisionTower, reference: SafetensorsFile, images: [ImageInput]) {
        let (dir, reference, config) = try load()
        let processor = try Qwen2VLImageProcessor(directory: dir, vision: config.vision)
        var weights = try CheckpointWeights(checkpoint: SafetensorsCheckpoint(directory: dir), naming: .qwen25VL)
        let images = try Self.files.map { try processor.preprocess(try PortablePixmap.read(dir.appendingPathComponent("images/\($0).ppm"))) }
        return (processor, try Qwen25VisionTower(configuration: config.vision, weights: &weights), reference, images)
    }

    func testProcessorMatchesTransformersExactly() throws {
        let (dir, reference, config) = try load()
        let processor = try Qwen2VLImageProcessor(directory: dir, vision: config.vision)
        XCTAssertEqual([processor.minPixels, processor.maxPixels], [3136, 9408])
        for (i, file) in Self.files.enumerated() {
            let image = try PortablePixmap.read(dir.appendingPathComponent("images/\(file).ppm"))
            let raw = try reference.integerTensor("image.\(i)").values
            XCTAssertEqual(image.pixels.map(Int.init), raw, "image \(i)")
            let size = try processor.resizedSize(height: image.height, width: image.width)
            XCTAssertEqual([size.height, size.width], try reference.integerTensor("resized_size.\(i)").values, "resized \(i)")
            let input = try processor.preprocess(image)
            let grid = try XCTUnwrap(input.patchGrid)
            XCTAssertEqual([1, grid.rows, grid.columns], try reference.integerTensor("image_grid_thw.\(i)").values, "grid \(i)")
            XCTAssertEqual(input.views[0].scalars, try reference.floatTensor("pixel_values.\(i)").scalars, "pixel_values \(i) bit for bit")
        }
    }

    /// smart_resize's branches: Python's half-to-even rounding (98 x 70 → 112 x 56, not 112 x 84), the strict
    /// max_pixels test (exactly on it is kept), the min and max branches, and the bounds.
    func testSmartResize() throws {
        var p = Qwen2VLImageProcessor(vision: try load().2.vision)
        p.minPixels = 3136
        p.maxPixels = 9408
        func size(_ h: Int, _ w: Int) throws -> [Int] { let s = try p.resizedSize(height: h, width: w); return [s.height, s.width] }
        XCTAssertEqual(try size(70, 98), [56, 112])  // 2.5 → 2, 3.5 → 4
        XCTAssertEqual(try size(42, 126), [56, 112])  // 1.5 → 2, 4.5 → 4
        XCTAssertEqual(try size(20, 30), [56, 84])  // min branch: ceil
        XCTAssertEqual(try size(130, 170), [84, 84])  // max branch: floor of H / beta / 28
        XCTAssertEqual(try size(160, 45), [168, 56])  // exactly max_pixels: kept
        XCTAssertEqual(try size(56, 84), [56, 84])
        p.maxPixels = 12_845_056
        XCTAssertEqual(try size(480, 640), [476, 644])  // MODELS-2025 §2.3 with the hub caps
        XCTAssertEqual(try size(899, 1024), [896, 1036])
        XCTAssertEqual(try size(2048, 2048), [2044, 2044])
        XCTAssertThrowsError(try size(1, 201)) { guard case .invalidInput(let m) = $0 as? ModelError, m.contains("aspect ratio") else { return XCTFail("\($0)") } }
        p.maxPixels = 700
        XCTAssertThrowsError(try size(100, 100)) { guard case .invalidInput(let m) = $0 as? ModelError, m.contains("no room") else { return XCTFail("\($0)") } }
        p.minPixels = 784
        p.maxPixels = 800
        XCTAssertEqual(try size(28, 28), [28, 28])
        // 10 x 150: the min branch's ceil gives 28 x 112 = 3136 pixels, beyond max_pixels: refused, not run larger.
        XCTAssertThrowsError(try size(10, 150)) {
            guard case .invalidInput(let m) = $0 as? ModelError, m.contains("resizes to 112x28"), m.contains("max_pixels 800") else {
                return XCTFail("\($0)")
            }
        }
    }

    /// Windows of 2 x 2 units over non-square grids, partial at the edges; empty windows dropped.
    func testWindowPartitionMatchesTransformers() throws {
        let (_, tower, reference, images) = try loadTower()
        for (i, input) in images.enumerated() {
            let partition = tower.windows(for: try XCTUnwrap(input.patchGrid))
            XCTAssertEqual(partition.windowIndex, try reference.integerTensor("vision.window_index.\(i)").values, "window index \(i)")
            XCTAssertEqual(partition.cumulativePatchLengths(patchesPerUnit: 4), try reference.integerTensor("vision.cu_window_seqlens.\(i)").values,
                           "cu_window_seqlens \(i)")
        }
        // By hand: 3 x 5 units in windows of 2: [0,1,5,6] [2,3,7,8] [4,9] [10,11] [12,13] [14].
        let p = VisionWindowPartition(unitRows: 3, unitColumns: 5, windowUnits: 2)
        XCTAssertEqual(p.windowIndex, [0, 1, 5, 6, 2, 3, 7, 8, 4, 9, 10, 11, 12, 13, 14])
        XCTAssertEqual(p.windowSizes, [4, 4, 2, 2, 2, 1])
        XCTAssertEqual(p.rasterToWindow[9], 9)
        XCTAssertEqual(p.rasterToWindow[5], 2)
    }

    func testVisionTowerMatchesTransformers() throws {
        let (_, tower, reference, images) = try loadTower()
        for (i, input) in images.enumerated() {
            let grid = try XCTUnwrap(input.patchGrid)
            XCTAssertEqual(tower.rotaryPositionIds(grid: grid).flatMap { [$0.row, $0.column] },
                           try reference.integerTensor("vision.rotary_pos_ids.\(i)").values, "rotary ids \(i)")
            XCTAssertEqual([0, grid.patchCount], try reference.integerTensor("vision.cu_seqlens.\(i)").values)
            assertClose(try tower.embedPatches(input.views[0]).scalars, try reference.floatTensor("vision.patch_embeds.\(i)").scalars,
                        atol: 1e-4, "patch embeds \(i)")
            let out = try tower.encode(input, blockOutputs: [0, 1, 2, 3], attentionReceived: [1, 3])
            for b in 0..<4 {
                assertClose(out.blockOutputs[b]!.scalars, try reference.floatTensor("vision.block_output.\(b).\(i)").scalars, atol: 2e-4,
                            "block \(b) image \(i)")
            }
            let patches = Float(try XCTUnwrap(input.patchGrid).patchCount)
            for b in [1, 3] {
                assertClose(out.patchAttentionReceived[b]!.map { $0 / patches },
                            try reference.floatTensor("vision.attention_received.\(b).\(i)").scalars, atol: 2e-5, "patch received \(b) image \(i)")
                assertClose(out.unitAttentionReceived[b]!.map { $0 / patches },
                            try reference.floatTensor("vision.token_attention_received.\(b).\(i)").scalars, atol: 2e-5, "received \(b) image \(i)")
            }
            assertClose(try tower.merge(out.unitFeatures).scalars, try reference.floatTensor("image_embeds.\(i)").scalars, atol: 5e-5,
                        "image_embeds \(i)")
        }
    }
}
