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
}
