import TensorCore

/// The decoder-only language model of a LLaVA-style checkpoint (`text_config` in `config.json`): LLaMA, Mistral
/// (the same architecture) or Qwen2 (LLaMA with biases on the q/k/v projections). Absent keys take
/// `transformers.LlamaConfig`'s defaults.
public struct LlamaConfiguration: Codable, Sendable, Equatable {
    /// Vocabulary size (`vocab_size`).
    public var vocabularySize: Int
    /// Width of the residual stream (`hidden_size`).
    public var hiddenSize: Int
    /// Width of the SwiGLU MLP (`intermediate_size`).
    public var intermediateSize: Int
    /// Number of decoder layers (`num_hidden_layers`).
    public var layerCount: Int
    /// Query heads (`num_attention_heads`).
    public var headCount: Int
    /// Key/value heads (`num_key_value_heads`, default = query heads).
    public var kvHeadCount: Int
    /// Width of one head (`head_dim`, default hidden / heads).
    public var headDimension: Int
    /// MLP gate activation (`hidden_act`).
    public var activation: Activation
    /// RMSNorm epsilon (`rms_norm_eps`).
    public var rmsNormEps: Float
    /// RoPE base (`rope_theta` or `rope_parameters.rope_theta`).
    public var ropeTheta: Float
    /// Longest position the checkpoint was trained for (`max_position_embeddings`); prompts and generation
    /// beyond it are refused.
    public var maxPositionEmbeddings: Int
    /// Whether `lm_head` shares the embedding matrix (`tie_word_embeddings`).
    public var tieWordEmbeddings: Bool
    /// Padding token id (`pad_token_id`), if any.
    public var padTokenId: Int?
    /// Beginning-of-sequence token id (`bos_token_id`).
    public var bosTokenId: Int?
    /// End-of-sequence token ids (`eos_token_id`: one id or a list; empty for an explicit null).
    public var eosTokenIds: [Int]
    /// Mistral's attention window in positions (`sliding_window`), nil for full attention. Prompts reaching
    /// position `slidingWindow` are refused rather than attended differently.
    public var slidingWindow: Int?
    /// `model_type`: "llama", "mistral", "qwen2", or Qwen2.5-VL's text model ("qwen2_5_vl" in the hub's flat
    /// config, "qwen2_5_vl_text" in transformers 5's `text_config`).
    public var modelType: String = "llama"
    /// M-RoPE's frequency slots per axis (temporal, height, width; `mrope_section` under `rope_scaling` or
    /// `rope_parameters`), summing to `headDimension / 2`; nil for 1-D RoPE.
    public var mropeSection: [Int]?
    /// Whether the q, k and v projections have biases (Qwen2 and Qwen2.5-VL; o_proj and the MLP never do).
    public var queryKeyValueBias: Bool { Self.qwenTypes.contains(modelType) }
    static let qwenTypes: Set<String> = ["qwen2", "qwen2_5_vl", "qwen2_5_vl_text"]

    /// A configuration with every size given; the rest take LLaMA defaults.
    public init(vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int? = nil, headDimension: Int? = nil, rmsNormEps: Float = 1e-6, ropeTheta: Float = 10000,
                maxPositionEmbeddings: Int = 4096, tieWordEmbeddings: Bool = false,
                padTokenId: Int? = 0, bosTokenId: Int? = 1, eosTokenIds: [Int] = [2]) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount ?? headCount
        self.headDimension = headDimension ?? hiddenSize / max(headCount, 1)
        activation = .silu
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.padTokenId = padTokenId
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
    }

    /// A 1B-class decoder (TinyLlama-1.1B shape: 22 layers, width 2048, MLP 5632, 32 heads, 4 KV heads).
    public static let oneBillionClass = LlamaConfiguration(
        vocabularySize: 32000, hiddenSize: 2048, intermediateSize: 5632, layerCount: 22, headCount: 32, kvHeadCount: 4)

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers", headCount = "num_attention_heads", kvHeadCount = "num_key_value_heads"
        case headDimension = "head_dim", activation = "hidden_act", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings", padTokenId = "pad_token_id", bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id", attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window", modelType = "model_type"
    }

    private struct RopeParameters: Codable {
        var rope_theta: Float?
        var rope_type: String?
        /// The hub's Qwen2.5-VL key ("mrope"); transformers 5 writes `rope_type` "default" instead.
        var type: String?
        var mrope_section: [Int]?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "llama"
        guard ["llama", "mistral"].contains(modelType) || Self.qwenTypes.contains(modelType) else {
            throw DecodingError.dataCorruptedError(
                forKey: .modelType, in: c, debugDescription: "text model_type '\(modelType)' is not 'llama', 'mistral', 'qwen2' or 'qwen2_5_vl'")
        }
        // Qwen2 writes a window size but attends fully unless `use_sliding_window` is true.
        let windowed = try !Self.qwenTypes.contains(modelType) || (c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? false)
        slidingWindow = windowed ? try c.decodeIntegerIfPresent(forKey: .slidingWindow) : nil
        vocabularySize = try c.decodeIntegerIfPresent(forKey: .vocabularySize) ?? 32000
        hiddenSize = try c.decodeIntegerIfPresent(forKey: .hiddenSize) ?? 4096
        intermediateSize = try c.decodeIntegerIfPresent(forKey: .intermediateSize) ?? 11008
        layerCount = try c.decodeIntegerIfPresent(forKey: .layerCount) ?? 32
        headCount = try c.decodeIntegerIfPresent(forKey: .headCount) ?? 32
        kvHeadCount = try c.decodeIntegerIfPresent(forKey: .kvHeadCount) ?? headCount
        headDimension = try c.decodeIntegerIfPresent(forKey: .headDimension) ?? hiddenSize / max(headCount, 1)
        let act = try c.decodeIfPresent(String.self, forKey: .activation) ?? "silu"
        do { activation = try Activation(huggingFaceName: act) } catch {
            throw DecodingError.dataCorruptedError(forKey: .activation, in: c, debugDescription: "unsupported hidden_act '\(act)'")
        }
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        let parameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        let scaling = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling)
        for p in [parameters, scaling].compactMap({ $0 }) {
            for type in [p.rope_type, p.type].compactMap({ $0 }) where !(type == "default" || (type == "mrope" && p.mrope_section != nil)) {
                throw DecodingError.dataCorruptedError(
                    forKey: .ropeParameters, in: c, debugDescription: "RoPE type '\(type)' is not supported (only default, and mrope with mrope_section)")
            }
        }
        mropeSection = parameters?.mrope_section ?? scaling?.mrope_section
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? parameters?.rope_theta ?? 10000
        maxPositionEmbeddings = try c.decodeIntegerIfPresent(forKey: .maxPositionEmbeddings) ?? 2048
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        padTokenId = try c.decodeIntegerIfPresent(forKey: .padTokenId)
        bosTokenId = try Self.decodeTokenId(c, .bosTokenId, absent: 1)
        eosTokenIds = c.contains(.eosTokenId) ? try Self.decodeTokenIds(c, .eosTokenId) : [2]
        for key in [CodingKeys.attentionBias, .mlpBias] where try c.decodeIfPresent(Bool.self, forKey: key) == true {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(key.rawValue) = true is not supported")
        }
    }

    /// A special-token id: `absent` when the key is missing (transformers' default), nil for an explicit
    /// null, the first entry of a list (transformers allows several EOS ids), or a type-mismatch error.
    private static func decodeTokenId(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, absent: Int
    ) throws -> Int? {
        guard c.contains(key) else { return absent }
        if try c.decodeNil(forKey: key) { return nil }
        if let list = try? c.decode([Int].self, forKey: key) { return list.first }
        return try c.decode(Int.self, forKey: key)
    }

    /// One token id or a list of them (`eos_token_id` in config.json and generation_config.json): an explicit
    /// null is empty; anything but non-negative integers is a data-corrupted error naming the key.
    static func decodeTokenIds<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> [Int] {
        if try c.decodeNil(forKey: key) { return [] }
        let ids = (try? c.decode(Int.self, forKey: key)).map { [$0] } ?? (try? c.decode([Int].self, forKey: key))
        guard let ids, ids.allSatisfy({ $0 >= 0 }) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "expected a token id >= 0 or a list of them")
        }
        return ids
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(kvHeadCount, forKey: .kvHeadCount)
        try c.encode(headDimension, forKey: .headDimension)
        try c.encode(activation.rawValue, forKey: .activation)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        // Explicit nulls, so that a decoded configuration encodes back to itself (absent keys take defaults).
        try c.encode(padTokenId, forKey: .padTokenId)
        try c.encode(bosTokenId, forKey: .bosTokenId)
        try c.encode(eosTokenIds, forKey: .eosTokenId)
        try c.encode(modelType, forKey: .modelType)
        try c.encodeIfPresent(slidingWindow, forKey: .slidingWindow)
        if Self.qwenTypes.contains(modelType) { try c.encode(slidingWindow != nil, forKey: .useSlidingWindow) }
        if let mropeSection {
            try c.encode(RopeParameters(rope_theta: ropeTheta, rope_type: "default", type: nil, mrope_section: mropeSection),
                         forKey: .ropeParameters)
        }
    }

    /// Every inconsistency found, as readable sentences (empty when the configuration is usable).
    func problems() -> [String] {
        var p: [String] = []
        for (name, v) in [("vocab_size", vocabularySize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                          ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                          ("num_key_value_heads", kvHeadCount), ("head_dim", headDimension)] where v <= 0 {
            p.append("text_config.\(name) must be positive, got \(v)")
        }
        typealias B = ConfigurationBounds
        p += B.problems("text_config", [
            ("vocab_size", vocabularySize, B.vocabulary), ("hidden_size", hiddenSize, B.width),
            ("intermediate_size", intermediateSize, B.width), ("num_hidden_layers", layerCount, B.layers),
            ("num_attention_heads", headCount, B.heads), ("num_key_value_heads", kvHeadCount, B.heads),
            ("head_dim", headDimension, B.width), ("max_position_embeddings", maxPositionEmbeddings, B.positions),
        ])
        if p.isEmpty && headCount * headDimension > B.width {
            p.append("text_config: num_attention_heads × head_dim = \(headCount * headDimension) exceeds the bound \(B.width)")
        }
        if p.isEmpty {
            if headCount % kvHeadCount != 0 { p.append("\(headCount) attention heads are not a multiple of \(kvHeadCount) key-value heads") }
            if headDimension % 2 != 0 { p.append("head_dim \(headDimension) must be even for RoPE") }
        }
        if vocabularySize > 0 {
            for (key, id) in eosTokenIds.map({ ("eos_token_id", $0) }) + [("bos_token_id", bosTokenId), ("pad_token_id", padTokenId)].compactMap({ key, id in id.map { (key, $0) } })
            where !(0..<vocabularySize).contains(id) {
                p.append("text_config.\(key) \(id) is outside the vocabulary 0..<\(vocabularySize)")
            }
        }
        if !(rmsNormEps > 0) { p.append("rms_norm_eps must be positive") }
        if !(ropeTheta > 0) { p.append("rope_theta must be positive") }
        if let w = slidingWindow, w < 1 { p.append("text_config.sliding_window must be positive, got \(w)") }
        if let s = mropeSection, s.count != 3 || s.contains(where: { !(0...headDimension).contains($0) }) || s.reduce(0, +) * 2 != headDimension {
            p.append("mrope_section \(s) must be three counts summing to head_dim / 2 = \(headDimension / 2)")
        }
        return p
    }

    /// The ids generation stops at: `generationIds` (`generation_config.json`'s `eos_token_id`) when given, else
    /// this configuration's `eosTokenIds`.
    /// - Throws: `ModelError.invalidConfiguration` naming `generation_config.json` for an id outside the vocabulary.
    func endOfSequenceSet(_ generationIds: [Int]?) throws -> Set<Int> {
        if let bad = generationIds?.first(where: { !(0..<vocabularySize).contains($0) }) {
            throw ModelError.invalidConfiguration(
                path: "generation_config.json", reason: "eos_token_id \(bad) is outside the vocabulary 0..<\(vocabularySize)")
        }
        return Set(generationIds ?? eosTokenIds)
    }
}
