import VLMModels

/// The analytic FLOPs model used by FastV and SparseVLM to compare pruning methods.
public enum FlopsModel {
    /// One LLaMA decoder layer over `n` tokens: 4nd² + 2n²d + 3ndm.
    public static func decoderLayer(tokens n: Int, _ c: LlamaConfiguration) -> Double {
        let n = Double(n), d = Double(c.hiddenSize), m = Double(c.intermediateSize)
        return 4 * n * d * d + 2 * n * n * d + 3 * n * d * m
    }

    /// One decoding step of one layer attending to `cacheLength` entries: 4d² + 2Sd + 3dm.
    public static func decodeStep(cacheLength s: Int, _ c: LlamaConfiguration) -> Double {
        let d = Double(c.hiddenSize), m = Double(c.intermediateSize)
        return 4 * d * d + 2 * Double(s) * d + 3 * d * m
    }

    /// `layers` CLIP encoder layers over `n` tokens: (4nd² + 2n²d + 2ndm) each, plus the patch embedding.
    public static func visionEncoder(layers: Int, _ c: CLIPVisionConfiguration) -> Double {
        let n = Double(c.tokenCount), d = Double(c.hiddenSize), m = Double(c.intermediateSize)
        let patchInput = Double(c.channelCount * c.patchSize * c.patchSize)
        return Double(layers) * (4 * n * d * d + 2 * n * n * d + 2 * n * d * m) + 2 * Double(c.patchCount) * patchInput * d
    }

    /// The projector over `n` tokens: two linears.
    public static func projector(tokens n: Int, _ c: LlavaConfiguration) -> Double {
        let dv = Double(c.vision.hiddenSize), dt = Double(c.text.hiddenSize)
        return 2 * Double(n) * (dv * dt + dt * dt)
    }
}
