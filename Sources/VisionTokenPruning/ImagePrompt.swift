import TensorCore

/// One image with its prompt: the unit that pipelines, batches and calibrations consume.
public struct ImagePrompt: Sendable {
    /// Normalised image `[3, imageSize, imageSize]`.
    public var pixels: Tensor
    /// Prompt token ids with one image placeholder (unexpanded); lengths may differ between prompts.
    public var tokenIds: [Int]

    /// An image and its prompt.
    public init(pixels: Tensor, tokenIds: [Int]) {
        self.pixels = pixels
        self.tokenIds = tokenIds
    }
}
