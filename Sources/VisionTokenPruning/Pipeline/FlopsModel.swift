import VLMModels

/// Floating-point operations of each stage, counted as the kernels compute them: 2 FLOPs per multiply-add of
/// every matrix product. That covers the projections, the attention scores and their mixing of the values, the
/// MLP, the patch embedding, the projector and the output head.
///
/// A model's vision tower and projector are counted by the model itself (`VisionLanguageModel.visionFlops`,
/// `.projectorFlops`), whatever its family.
///
/// Grouped-query attention counts its narrower key and value projections as they are. Attention counts every
/// key of every query: the kernel computes the whole score matrix and masks it, so a causal prefill of n tokens
/// counts n × n scores. Norms, softmax, activations and rotary embeddings are not counted (well under 1 % at
/// LLaVA shapes). `vtp-bench kernels` and `models` rate their kernels with the same 2 FLOPs per multiply-add.
public enum FlopsModel {
    /// One LLaMA decoder layer over `queries` new tokens attending to `keys` cache entries (equal in prefill):
    /// 2·q·d·(2·h·dₕ + 2·g·dₕ) + 4·q·s·h·dₕ + 6·q·d·m, with d = hidden size, h heads and g key/value heads of
    /// width dₕ, and m = MLP width.
    public static func decoderLayer(queries q: Int, keys s: Int, _ c: LlamaConfiguration) -> Double {
        let q = Double(q), s = Double(s), d = Double(c.hiddenSize), m = Double(c.intermediateSize)
        let queryWidth = Double(c.headCount * c.headDimension), keyValueWidth = Double(c.kvHeadCount * c.headDimension)
        return 2 * q * d * (2 * queryWidth + 2 * keyValueWidth) + 4 * q * s * queryWidth + 6 * q * d * m
    }

    /// One decoder layer's prefill over `n` tokens (`decoderLayer(queries: n, keys: n)`).
    public static func decoderLayer(tokens n: Int, _ c: LlamaConfiguration) -> Double {
        decoderLayer(queries: n, keys: n, c)
    }

    /// One decoding step of one layer: the new token attends to `cacheLength` entries, itself included.
    public static func decodeStep(cacheLength s: Int, _ c: LlamaConfiguration) -> Double {
        decoderLayer(queries: 1, keys: s, c)
    }

    /// The output head (final norm not counted) producing `rows` rows of logits: 2·rows·d·vocabulary.
    public static func outputHead(rows: Int, _ c: LlamaConfiguration) -> Double {
        2 * Double(rows) * Double(c.hiddenSize) * Double(c.vocabularySize)
    }
}
