extension LlamaConfiguration {
    /// The text model a `llama`-architecture GGUF file describes, from its `llama.*` and `tokenizer.ggml.*`
    /// metadata as transformers reads them: `block_count`, `embedding_length`, `feed_forward_length`,
    /// `attention.head_count` (and `head_count_kv`, default the same), `rope.freq_base` (default 10000),
    /// `attention.layer_norm_rms_epsilon`, `context_length`, `vocab_size` (default the vocabulary's length); tied
    /// embeddings exactly when `output.weight` is absent.
    /// - Throws: `ModelError.invalidConfiguration` naming the file and key for another architecture, a missing or
    ///   mistyped key, RoPE scaling or partial RoPE, or sizes outside `ConfigurationBounds`.
    public init(gguf file: GGUFFile) throws {
        func fail(_ reason: String) -> ModelError { .invalidConfiguration(path: file.path, reason: reason) }
        let architecture = try file.value("general.architecture")
        guard architecture.string == "llama" else {
            throw fail("general.architecture \(architecture) is not supported (only llama text models are)")
        }
        func integer(_ key: String, default value: Int? = nil) throws -> Int { try file.integer("llama." + key, default: value) }
        func float(_ key: String, default value: Double) throws -> Float {
            guard let stored = file.metadata["llama." + key] else { return Float(value) }
            guard case .float(let number, _) = stored else { throw fail("llama.\(key) is \(stored.typeName), expected a float") }
            return Float(number)
        }
        func token(_ key: String) throws -> Int? {
            guard let stored = file.metadata["tokenizer.ggml." + key] else { return nil }
            guard let id = stored.integer, id >= 0 else { throw fail("tokenizer.ggml.\(key) is \(stored), expected a token id") }
            return id
        }
        let vocabulary = try file.metadata["tokenizer.ggml.tokens"]?.array?.count ?? integer("vocab_size")
        let hidden = try integer("embedding_length"), heads = try integer("attention.head_count")
        self.init(vocabularySize: try integer("vocab_size", default: vocabulary), hiddenSize: hidden,
                  intermediateSize: try integer("feed_forward_length"), layerCount: try integer("block_count"),
                  headCount: heads, kvHeadCount: try integer("attention.head_count_kv", default: heads),
                  headDimension: try integer("attention.key_length", default: heads > 0 ? hidden / heads : 0),
                  rmsNormEps: try float("attention.layer_norm_rms_epsilon", default: 1e-5),
                  ropeTheta: try float("rope.freq_base", default: 10000),
                  maxPositionEmbeddings: try integer("context_length", default: 2048),
                  tieWordEmbeddings: file.tensors["output.weight"] == nil,
                  padTokenId: try token("padding_token_id"), bosTokenId: try token("bos_token_id"),
                  eosTokenIds: try token("eos_token_id").map { [$0] } ?? [])
        if let rotary = file.metadata["llama.rope.dimension_count"], rotary.integer != headDimension {
            throw fail("llama.rope.dimension_count \(rotary) differs from the head width \(headDimension): partial RoPE is not supported")
        }
        if let scaling = file.metadata["llama.rope.scaling.type"], scaling.string != "none" {
            throw fail("llama.rope.scaling.type \(scaling) is not supported")
        }
        let problems = problems()
        guard problems.isEmpty else { throw fail(problems.joined(separator: "; ")) }
    }
}
