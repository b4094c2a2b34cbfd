import Foundation
import TensorCore

/// The text side of a CLIP checkpoint (`config.json` of a `CLIPModel`, `model_type` "clip", with `text_config`;
/// or of a `CLIPTextModelWithProjection`, `model_type` "clip_text_model"). Absent keys take
/// `transformers.CLIPTextConfig`'s defaults.
public struct CLIPTextConfiguration: Sendable, Equatable {
    /// Token vocabulary size (`vocab_size`).
    public var vocabularySize: Int
    /// Width of the residual stream (`hidden_size`).
    public var hiddenSize: Int
    /// Width of the MLP (`intermediate_size`).
    public var intermediateSize: Int
    /// Encoder layers (`num_hidden_layers`).
    public var layerCount: Int
    /// Attention heads (`num_attention_heads`).
    public var headCount: Int
    /// Longest token sequence, special tokens included (`max_position_embeddings`, 77 for OpenAI CLIP).
    public var maxPositions: Int
    /// MLP activation (`hidden_act`).
    public var activation: Activation
    /// LayerNorm epsilon (`layer_norm_eps`).
    public var layerNormEps: Float
    /// `eos_token_id`: 2 is transformers' legacy value, which pools at the largest id (the end-of-text token of
    /// OpenAI's vocabularies); any other id pools at its first occurrence.
    public var endOfTextId: Int
    /// Width of the shared text/image embedding (`projection_dim`: the top level's for a `CLIPModel`).
    public var projectionDim: Int
    /// The vision tower's width when the checkpoint is a `CLIPModel` (its `visual_projection` input), else nil.
    public var visionHiddenSize: Int?

    /// Reads `config.json` in `directory`.
    /// - Throws: `ModelError.fileUnreadable` or `.invalidConfiguration` (bad JSON, a repeated key, another
    ///   model type, a non-integer or out-of-bound size, an unsupported activation).
    public static func load(directory: URL) throws -> CLIPTextConfiguration {
        let url = directory.appendingPathComponent("config.json")
        return try decode(try RegularFile.read(url, limit: RegularFile.configurationByteLimit), path: url.path)
    }

    /// Decodes `config.json` bytes; `path` names the file in errors.
    /// - Throws: `ModelError.invalidConfiguration`.
    public static func decode(_ data: Data, path: String = "config.json") throws -> CLIPTextConfiguration {
        func invalid(_ reason: String) -> ModelError { .invalidConfiguration(path: path, reason: reason) }
        let root = try JSONValue.parseStrict(data, path: path)
        let type = root["model_type"]?.string
        guard type == "clip" || type == "clip_text_model" else {
            throw invalid("model_type '\(type ?? "none")' is not a CLIP checkpoint ('clip' or 'clip_text_model')")
        }
        let text = type == "clip" ? root["text_config"] ?? .object([]) : root
        func integer(_ section: JSONValue, _ key: String, _ fallback: Int, bound: Int) throws -> Int {
            guard let value = section[key], !value.isNull else { return fallback }
            guard let n = value.integer else { throw invalid("\(key) is not an integer") }
            guard (1...bound).contains(n) else { throw invalid("\(key) \(n) is outside 1...\(bound)") }
            return n
        }
        let width = ConfigurationBounds.width
        var c = CLIPTextConfiguration(
            vocabularySize: try integer(text, "vocab_size", 49408, bound: ConfigurationBounds.vocabulary),
            hiddenSize: try integer(text, "hidden_size", 512, bound: width),
            intermediateSize: try integer(text, "intermediate_size", 2048, bound: width),
            layerCount: try integer(text, "num_hidden_layers", 12, bound: ConfigurationBounds.layers),
            headCount: try integer(text, "num_attention_heads", 8, bound: ConfigurationBounds.heads),
            maxPositions: try integer(text, "max_position_embeddings", 77, bound: ConfigurationBounds.positions),
            activation: .quickGelu, layerNormEps: 1e-5, endOfTextId: 2,
            projectionDim: try integer(type == "clip" ? root : text, "projection_dim", 512, bound: width),
            visionHiddenSize: nil)
        if let act = text["hidden_act"]?.string {
            do { c.activation = try Activation(huggingFaceName: act) } catch { throw invalid("unsupported hidden_act '\(act)'") }
        }
        if let eps = text["layer_norm_eps"], !eps.isNull {
            guard case .number(let value, _) = eps, value > 0, value < 1 else { throw invalid("layer_norm_eps is not a number in (0, 1)") }
            c.layerNormEps = Float(value)
        }
        if let eos = text["eos_token_id"], !eos.isNull {
            guard let id = eos.integer, (0..<c.vocabularySize).contains(id) else {
                throw invalid("eos_token_id is not an id in 0..<\(c.vocabularySize)")
            }
            c.endOfTextId = id
        }
        if type == "clip" { c.visionHiddenSize = try integer(root["vision_config"] ?? .object([]), "hidden_size", 768, bound: width) }
        guard c.hiddenSize % c.headCount == 0 else {
            throw invalid("hidden_size \(c.hiddenSize) is not a multiple of num_attention_heads \(c.headCount)")
        }
        return c
    }
}
