import Foundation
import XCTest
import TensorCore
import VLMModels

/// The tiny-llava fixture: the model and the two reference samples (image, unpadded prompt).
public struct FixtureSamples: Sendable {
    /// The fixture model.
    public let model: LlavaModel
    /// `reference.safetensors`.
    public let reference: SafetensorsFile
    /// Per sample: normalised pixels `[3, 56, 56]`.
    public let pixels: [Tensor]
    /// Per sample: the unpadded, unexpanded prompt.
    public let prompts: [[Int]]

    /// Loads the fixture, or throws `XCTSkip` when it is absent.
    public static func load() throws -> FixtureSamples {
        let dir = try requireTinyLlavaFixture()
        let model = try LlavaModel(directory: dir)
        let reference = try SafetensorsFile(url: dir.appendingPathComponent("reference.safetensors"))
        let ids = try reference.integerTensor("input_ids_unexpanded"), lengths = try reference.integerTensor("input_lengths").values
        let allPixels = try reference.floatTensor("pixel_values")
        let pixels = try (0..<2).map { try allPixels.rows($0..<($0 + 1)).reshaped([3, 56, 56]) }
        let prompts = (0..<2).map { b in Array(ids.values[(b * ids.shape[1])..<(b * ids.shape[1] + lengths[b])]) }
        return FixtureSamples(model: model, reference: reference, pixels: pixels, prompts: prompts)
    }

    /// Sample `b` of a reference tensor whose first dimension is the batch.
    public func referenceSample(_ name: String, _ b: Int) throws -> Tensor {
        let t = try reference.floatTensor(name)
        return try t.rows(b..<(b + 1)).reshaped(Shape(Array(t.shape.dims.dropFirst())))
    }
}
