import Foundation
import XCTest
import TensorCore
import VLMModels

/// An any-resolution fixture (tiny-llava-next, tiny-llava-onevision): the model and its reference samples (raw
/// image, unexpanded prompt).
public struct NextFixtureSamples: Sendable {
    /// The fixture model.
    public let model: LlavaModel
    /// `reference.safetensors`.
    public let reference: SafetensorsFile
    /// Per sample: the raw RGB image (`image.i`).
    public let images: [RGBImage]
    /// Per sample: the prompt with one placeholder (`input_ids.i`).
    public let prompts: [[Int]]

    /// Loads the tiny-llava-next fixture, or throws `XCTSkip` when it is absent.
    public static func load() throws -> NextFixtureSamples {
        try load(directory: try requireTinyLlavaNextFixture(), samples: 4)
    }

    /// Loads the tiny-llava-onevision fixture, or throws `XCTSkip` when it is absent.
    public static func loadOneVision() throws -> NextFixtureSamples {
        try load(directory: try requireFixture("tiny-llava-onevision"), samples: 5)
    }

    /// Loads the fixture in `dir` with `samples` reference images.
    static func load(directory dir: URL, samples: Int) throws -> NextFixtureSamples {
        let reference = try SafetensorsFile(url: dir.appendingPathComponent("reference.safetensors"))
        let images = try (0..<samples).map { i -> RGBImage in
            let raw = try reference.integerTensor("image.\(i)")
            return try RGBImage(width: raw.shape[1], height: raw.shape[0], pixels: raw.values.map(UInt8.init))
        }
        return NextFixtureSamples(model: try LlavaModel(directory: dir), reference: reference, images: images,
                                  prompts: try (0..<samples).map { try reference.integerTensor("input_ids.\($0)").values })
    }

    /// Integer reference tensor `name.i`.
    public func integers(_ name: String, _ i: Int) throws -> [Int] { try reference.integerTensor("\(name).\(i)").values }

    /// Float reference tensor `name.i`, flattened.
    public func floats(_ name: String, _ i: Int) throws -> [Float] { try reference.floatTensor("\(name).\(i)").scalars }

    /// Preprocesses reference image `i` from its PPM file in `directory`/images and checks what every
    /// any-resolution fixture records of it: the raw pixels, sizes, best resolution, grid, fit, padding, unpadded
    /// grid, token count and `pixel_values` bit for bit. Returns the preprocessed image for further checks.
    public func checkProcessor(image i: Int, file: String, in directory: URL,
                               sourceFile: StaticString = #filePath, line: UInt = #line) throws -> ImageInput {
        let ppm = try PortablePixmap.read(directory.appendingPathComponent("images/\(file).ppm"))
        XCTAssertEqual(ppm, images[i], "image \(i): the PPM file and image.\(i) hold the same pixels", file: sourceFile, line: line)
        XCTAssertEqual(try integers("image_sizes", i), [ppm.height, ppm.width], file: sourceFile, line: line)
        let input = try model.imageProcessor.preprocess(ppm)
        let layout = try XCTUnwrap(input.anyResolution)
        XCTAssertEqual(try integers("best_resolution", i), [layout.bestResolution.height, layout.bestResolution.width], "best \(i)",
                       file: sourceFile, line: line)
        XCTAssertEqual(try integers("grid_shape", i), [layout.gridRows, layout.gridColumns], "grid \(i)", file: sourceFile, line: line)
        XCTAssertEqual(try integers("resized_size", i), [layout.resizedSize.height, layout.resizedSize.width], "resized \(i)",
                       file: sourceFile, line: line)
        let p = try integers("padding", i)
        XCTAssertEqual([p[0], p[2]], [layout.padTop, layout.padLeft], "padding \(i)", file: sourceFile, line: line)
        XCTAssertEqual(p[0] + p[1] + layout.resizedSize.height, layout.bestResolution.height, file: sourceFile, line: line)
        XCTAssertEqual(p[2] + p[3] + layout.resizedSize.width, layout.bestResolution.width, file: sourceFile, line: line)
        XCTAssertEqual(try integers("unpadded_grid", i), [layout.keptRows.count, layout.keptColumns.count], "unpadded \(i)",
                       file: sourceFile, line: line)
        XCTAssertEqual(try integers("num_image_tokens", i), [layout.imageTokenCount], "image tokens \(i)", file: sourceFile, line: line)
        let expected = try floats("pixel_values", i), actual = input.views.flatMap(\.scalars)
        XCTAssertEqual(actual.count, expected.count, "views \(i)", file: sourceFile, line: line)
        XCTAssertEqual(zip(actual, expected).filter { $0 != $1 }.count, 0, "pixel_values \(i) must match exactly",
                       file: sourceFile, line: line)
        return input
    }
}
