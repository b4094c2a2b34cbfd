import Foundation
import TensorCore
import VLMModels
import XCTest

/// A tiny generated LLaVA checkpoint whose vocabulary matches a tokenizer fixture, with that folder's tokenizer
/// files and a PPM image: a complete folder to ask questions of (random weights: the answers are nonsense, the
/// mechanics are not). LLaVA-1.5 pairs with `llama-sp` (3000 ids, `<image>` = 2998, EOS 2); OneVision (SigLIP,
/// Qwen2, anyres_max_9, ChatML) with `byte-level` (`<image>` = 2998, EOS `<|im_end|>` = 2997).
public enum AssistantFixture {
    /// Writes the folder into `directory` and returns the image's path.
    /// - Throws: `XCTSkip` when the tokenizer fixture is absent.
    public static func write(to directory: URL, family: LlavaFamily = .llava) throws -> URL {
        let style = family == .llavaOneVision ? "byte-level" : "llama-sp"
        let tokenizer = try requireFixture("tokenizers/\(style)")
        var config = minimalLlavaConfiguration
        if family == .llavaOneVision {
            var text = LlamaConfiguration(vocabularySize: 3000, hiddenSize: 16, intermediateSize: 24, layerCount: 3, headCount: 2,
                                          kvHeadCount: 1, ropeTheta: 1e6, tieWordEmbeddings: true, padTokenId: 2995, bosTokenId: nil,
                                          eosTokenIds: [2997])
            text.modelType = "qwen2"
            config = LlavaConfiguration(
                vision: VisionTowerConfiguration(family: .siglip, hiddenSize: 16, intermediateSize: 32, layerCount: 2, headCount: 2,
                                                 imageSize: 30, patchSize: 14),
                text: text, imageTokenId: 2998, visionFeatureLayer: -1, visionFeatureSelection: .all,
                imageGridPinpoints: [[30, 30], [30, 60], [60, 30], [60, 60]].map { PixelSize(height: $0[0], width: $0[1]) },
                maxGridViews: 1)
        } else {
            config.vision = VisionTowerConfiguration(hiddenSize: 16, intermediateSize: 32, layerCount: 2, headCount: 2, imageSize: 28, patchSize: 14)
            config.text = LlamaConfiguration(vocabularySize: 3000, hiddenSize: 16, intermediateSize: 24, layerCount: 3, headCount: 2,
                                             padTokenId: 2999, bosTokenId: 1, eosTokenIds: [2])
            config.imageTokenId = 2998
        }
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
