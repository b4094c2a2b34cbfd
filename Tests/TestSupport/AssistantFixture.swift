import Foundation
import TensorCore
import VLMModels
import XCTest

/// A tiny generated LLaVA checkpoint whose vocabulary matches the `llama-sp` tokenizer fixture (3000 ids,
/// `<image>` = 2998, EOS 2), with that folder's tokenizer files and a PPM image: a complete folder to ask
/// questions of (random weights: the answers are nonsense, the mechanics are not).
public enum AssistantFixture {
    /// Writes the folder into `directory` and returns the image's path.
    /// - Throws: `XCTSkip` when the tokenizer fixture is absent.
    public static func write(to directory: URL) throws -> URL {
        let tokenizer = try requireTinyLlavaFixture().deletingLastPathComponent().appendingPathComponent("tokenizers/llama-sp")
        guard FileManager.default.fileExists(atPath: tokenizer.appendingPathComponent("tokenizer.json").path) else {
            throw XCTSkip("../shared/fixtures/tokenizers/llama-sp is absent")
        }
        var config = minimalLlavaConfiguration
        config.vision = VisionTowerConfiguration(hiddenSize: 16, intermediateSize: 32, layerCount: 2, headCount: 2, imageSize: 28, patchSize: 14)
        config.text = LlamaConfiguration(vocabularySize: 3000, hiddenSize: 16, intermediateSize: 24, layerCount: 3, headCount: 2,
                                         padTokenId: 2999, bosTokenId: 1, eosTokenIds: [2])
        config.imageTokenId = 2998
        try GeneratedCheckpoint.write(configuration: config, to: directory, dtype: .f32, seed: 5)
        for file in ["tokenizer.json", "tokenizer_config.json", "chat_template.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(at: tokenizer.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        let image = directory.appendingPathComponent("picture.ppm")
        let pixels = (0..<(40 * 30 * 3)).map { UInt8(($0 * 37) % 251) }
        try PortablePixmap.encode(try RGBImage(width: 40, height: 30, pixels: pixels)).write(to: image)
        return image
    }
}
