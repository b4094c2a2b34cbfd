import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// The any-resolution arithmetic on hand-checked cases and on the fixture README's table of eval images (made
/// by transformers), and the typed errors for inputs LLaVA-NeXT cannot take.
final class AnyResolutionTests: XCTestCase {
    /// The fixture's pinpoints, (height, width): grids 1x2, 2x1, 2x2, 1x3, 3x1 of 42-pixel views.
    static let pinpoints = [[42, 84], [84, 42], [84, 84], [42, 126], [126, 42]].map { PixelSize(height: $0[0], width: $0[1]) }

    func testBestResolutionTiesSmallImagesAndExtremeAspectRatios() throws {
        // A square image fits [42, 84] and [84, 42] equally (same kept and wasted area): the first listed wins.
        let square = PixelSize(height: 42, width: 42)
        XCTAssertEqual(AnyResolutionLayout.bestResolution(for: square, among: Self.pinpoints), PixelSize(height: 42, width: 84))
        XCTAssertEqual(AnyResolutionLayout.bestResolution(for: square, among: [Self.pinpoints[1], Self.pinpoints[0]]),
                       PixelSize(height: 84, width: 42))
        // README table (W x H -> best (h, w) and image tokens), from transformers on the eval images: smaller than
        // a view, aspect ratios beyond 3, every pinpoint chosen.
        let table: [(w: Int, h: Int, best: [Int], tokens: Int)] = [
            (92, 142, [84, 84], 39), (47, 43, [84, 84], 51), (30, 23, [42, 84], 24), (85, 22, [42, 126], 39),
            (124, 51, [42, 126], 33), (145, 32, [42, 126], 19), (33, 123, [126, 42], 45), (87, 86, [84, 84], 51),
            (45, 103, [126, 42], 37), (59, 38, [42, 84], 24), (141, 95, [84, 84], 37), (65, 130, [84, 42], 33),
        ]
        for row in table {
            let layout = try AnyResolutionLayout(imageSize: PixelSize(height: row.h, width: row.w), pinpoints: Self.pinpoints,
                                                 viewSize: 42, patchSize: 14)
            XCTAssertEqual([layout.bestResolution.height, layout.bestResolution.width], row.best, "\(row.w)x\(row.h)")
            XCTAssertEqual(layout.imageTokenCount, row.tokens, "\(row.w)x\(row.h)")
        }
        // 40 x 90 into (126, 42): width fills, height = ceil(90 · 42/40) = ceil(94.5) = 95 rows (not 94).
        XCTAssertEqual(AnyResolutionLayout.fittedSize(of: PixelSize(height: 90, width: 40), into: PixelSize(height: 126, width: 42)),
                       PixelSize(height: 95, width: 42))
    }

    func testUnpadTruncatesAfterRoundingToSevenDecimals() throws {
        // 55 x 70 on a 6x6 map: 55 · 6 / 70 = 4.71 columns -> 4 (not 5), one removed from each side.
        let a = AnyResolutionLayout.unpaddedRanges(rows: 6, columns: 6, imageSize: PixelSize(height: 70, width: 55))
        XCTAssertEqual(a.rows, 0..<6)
        XCTAssertEqual(a.columns, 1..<5)
        // 40 x 90 on 9x3: 90 · 3 / 40 = 6.75 rows -> 6, p = (9 − 6) / 2 = 1 from each side: 7 rows survive.
        XCTAssertEqual(AnyResolutionLayout.unpaddedRanges(rows: 9, columns: 3, imageSize: PixelSize(height: 90, width: 40)).rows, 1..<8)
        // int(round(2.99999997, 7)) = 3, but int(round(2.9999997, 7)) = 2 (checked in Python).
        XCTAssertEqual(AnyResolutionLayout.unpaddedRanges(
            rows: 3, columns: 4, imageSize: PixelSize(height: 100_000_001, width: 100_000_000)).columns, 0..<4)
        XCTAssertEqual(AnyResolutionLayout.unpaddedRanges(
            rows: 3, columns: 4, imageSize: PixelSize(height: 10_000_001, width: 10_000_000)).columns, 1..<3)
        // Nothing removed when fewer than two rows are padding (130 x 45 on 3x9: 45 · 9 / 130 = 3.1 -> 3).
        XCTAssertEqual(AnyResolutionLayout.unpaddedRanges(rows: 3, columns: 9, imageSize: PixelSize(height: 45, width: 130)).rows, 0..<3)
    }

    func testBadInputsAreTypedErrors() throws {
        func assertConfiguration(_ body: @autoclosure () throws -> Any, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) {
                guard case .invalidConfiguration(_, let reason) = $0 as? ModelError, reason.contains(fragment) else {
                    return XCTFail("\($0)", line: line)
                }
            }
        }
        assertConfiguration(try LlavaNextImageProcessor(pinpoints: [PixelSize(height: 42, width: 80)], viewSize: 42, patchSize: 14),
                            "not a positive multiple of the view size 42")
        assertConfiguration(try LlavaNextImageProcessor(pinpoints: [], viewSize: 42, patchSize: 14), "empty")
        var config = minimalLlavaConfiguration
        config.imageGridPinpoints = [PixelSize(height: 8, width: 12)]
        assertConfiguration(try config.validate(), "[8, 12] is not a positive multiple of the view size 8")
        config.imageGridPinpoints = [PixelSize(height: 8, width: 16)]
        config.visionFeatureSelection = .all
        assertConfiguration(try config.validate(), "must be 'default'")
        let json = #"{"model_type": "llava_next", "image_grid_pinpoints": [[42, 84, 1]]}"#
        assertConfiguration(try LlavaConfiguration.decode(Data(json.utf8)), "[height, width]")

        XCTAssertThrowsError(try AnyResolutionLayout(imageSize: PixelSize(height: 5, width: 0), pinpoints: Self.pinpoints,
                                                     viewSize: 42, patchSize: 14)) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("at least 1") else { return XCTFail("\($0)") }
        }
        assertThrows(try RGBImage(width: 0, height: 5, pixels: []), ModelError.self, "positive width and height, got 0x5")
        // Two placeholders for one image.
        XCTAssertThrowsError(try PromptLayout(tokenIds: [1, 9, 9, 4], imageTokenId: 9, imageTokenCount: 3)) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("2 image placeholders") else { return XCTFail("\($0)") }
        }
    }

    func testModelsRefuseImagesOfTheOtherFamily() throws {
        let next = try NextFixtureSamples.load()
        let single = try FixtureSamples.load()
        XCTAssertThrowsError(try next.model.encodeImage(ImageInput(pixels: Tensor(zeros: [3, 42, 42])))) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("any-resolution") else { return XCTFail("\($0)") }
        }
        let views = try next.model.imageProcessor.preprocess(next.images[0])
        XCTAssertThrowsError(try single.model.encodeImage(views)) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("single view") else { return XCTFail("\($0)") }
        }
        // A Mistral text model with a sliding window refuses positions beyond it instead of attending wrongly.
        var config = minimalLlavaConfiguration
        config.text.modelType = "mistral"
        config.text.slidingWindow = 4
        let model = try LlavaModel.generated(configuration: config)
        XCTAssertThrowsError(try model.language.beginPrefill(embeddings: Tensor(zeros: [5, 8]), positions: Array(0..<5))) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("sliding attention window") else { return XCTFail("\($0)") }
        }
        XCTAssertNoThrow(try model.language.beginPrefill(embeddings: Tensor(zeros: [4, 8]), positions: Array(0..<4)))
    }
}
