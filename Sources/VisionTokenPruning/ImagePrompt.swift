import TensorCore
import VLMModels

/// One image with its prompt: the unit that pipelines, batches and calibrations consume.
public struct ImagePrompt: Sendable {
    /// The preprocessed image.
    public var image: ImageInput
    /// Prompt token ids with one image placeholder (unexpanded); lengths may differ between prompts.
    public var tokenIds: [Int]

    /// An image and its prompt.
    public init(image: ImageInput, tokenIds: [Int]) {
        self.image = image
        self.tokenIds = tokenIds
    }
}
