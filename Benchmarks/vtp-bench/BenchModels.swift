import Foundation
import VisionTokenPruning

/// Generated-weight models in the shapes the benchmarks measure.
enum BenchModels {
    /// LLaVA-1.5's vision side (CLIP ViT-L/14-336, 576 patches) with a 1B-class decoder; `visionLayers` and
    /// `textLayers` shrink it for quick runs.
    static func llava15Shaped(visionLayers: Int = 24, textLayers: Int = 22) -> LlavaConfiguration {
        var vision = VisionTowerConfiguration.clipViTLarge336
        vision.layerCount = visionLayers
        var text = LlamaConfiguration.oneBillionClass
        text.layerCount = textLayers
        text.vocabularySize = 32064
        return LlavaConfiguration(vision: vision, text: text, imageTokenId: 32000)
    }

    /// LLaVA-1.5-7B's shape: CLIP ViT-L/14-336 and a 4096-wide 32-layer LLaMA (vicuna-7b), vocabulary 32064.
    static func llava15SevenB() -> LlavaConfiguration {
        let text = LlamaConfiguration(vocabularySize: 32064, hiddenSize: 4096, intermediateSize: 11008, layerCount: 32,
                                      headCount: 32, rmsNormEps: 1e-5)
        return LlavaConfiguration(vision: .clipViTLarge336, text: text, imageTokenId: 32000)
    }

    /// A LLaVA-1.5-like prompt: BOS, `system − 1` system tokens, the image placeholder, `question` tokens.
    static func prompt(system: Int = 35, question: Int = 30, imageToken: Int = 32000) -> [Int] {
        var random = SplitMix64(seed: 12345)
        func next() -> Int { 3 + Int(random.next() % 31000) }
        return [1] + (0..<(system - 1)).map { _ in next() } + [imageToken] + (0..<question).map { _ in next() }
    }

    /// A deterministic normalised image `[3, size, size]` with smooth structure (so attention is not uniform).
    static func pixels(size: Int) -> Tensor {
        Tensor(shape: [3, size, size]) { p in
            for c in 0..<3 {
                for y in 0..<size {
                    for x in 0..<size {
                        let fx = Float(x) / Float(size), fy = Float(y) / Float(size)
                        let wave: Float = sinf(6 * fx + Float(c)) * cosf(4 * fy)
                        let block: Float = fx * fy > 0.3 ? 1 : 0
                        p[(c * size + y) * size + x] = wave + block
                    }
                }
            }
        }
    }
}
