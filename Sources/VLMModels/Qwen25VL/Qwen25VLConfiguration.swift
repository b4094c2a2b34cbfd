import Foundation
import TensorCore

/// A Qwen2.5-VL checkpoint's `config.json` (`model_type` "qwen2_5_vl"), in the hub's flat layout (text keys at the
/// top, `rope_scaling.mrope_section`) or the nested one transformers 5 writes (`text_config` with
/// `rope_parameters.mrope_section`).
public struct Qwen25VLConfiguration: Sendable, Equatable {
    /// The Qwen2 decoder with M-RoPE.
    public var text: LlamaConfiguration
    /// The vision transformer and merger.
    public var vision: Qwen25VisionConfiguration
    /// `<|image_pad|>` (`image_token_id`): the prompt's one image placeholder, repeated once per merged token.
    public var imageTokenId: Int
    /// `<|vision_start|>` (`vision_start_token_id`).
    public var visionStartTokenId: Int
    /// `<|vision_end|>` (`vision_end_token_id`).
    public var visionEndTokenId: Int

    /// Reads `config.json` in `directory`.
    /// - Throws: `ModelError.fileUnreadable` or `.invalidConfiguration`.
    public static func load(directory: URL) throws -> Qwen25VLConfiguration {
        let url = directory.appendingPathComponent("config.json")
        return try decode(try RegularFile.read(url, limit: RegularFile.configurationByteLimit), path: url.path)
    }

    /// Decodes `config.json` bytes; `path` names the file in errors.
    /// - Throws: `ModelError.invalidConfiguration` for bad JSON, a repeated key, another model type, sizes out of
    ///   bounds or inconsistent (`mrope_section` not summing to half the head width, a vision width that is not the
    ///   merger's input), or token ids outside the vocabulary.
    public static func decode(_ data: Data, path: String = "config.json") throws -> Qwen25VLConfiguration {
        func invalid(_ reason: String) -> ModelError { .invalidConfiguration(path: path, reason: reason) }
        let root = try JSONValue.parseStrict(data, path: path)
        guard root["model_type"]?.string == "qwen2_5_vl" else {
            throw invalid("model_type '\(root["model_type"]?.string ?? "none")' is not 'qwen2_5_vl'")
        }
        let nested = root["text_config"].map { !$0.isNull } ?? false
        guard !nested || root["text_config"]?.members != nil else { throw invalid("text_config is not an object") }
        var text: LlamaConfiguration
        do {
            let textData = nested
                ? try JSONSerialization.data(withJSONObject: (JSONSerialization.jsonObject(with: data) as! [String: Any])["text_config"]!)
                : data
            text = try JSONDecoder().decode(LlamaConfiguration.self, from: textData)
        } catch {
            throw invalid("text configuration: \(readableDecodingReason(error))")
        }
        if nested, root["text_config"]?["tie_word_embeddings"] == nil, let tied = root["tie_word_embeddings"]?.bool {
            text.tieWordEmbeddings = tied
        }
        guard text.mropeSection != nil else { throw invalid("no mrope_section under rope_scaling or rope_parameters") }
        let problems = text.problems()
        guard problems.isEmpty else { throw invalid(problems.joined(separator: "; ")) }
        let vision = try Qwen25VisionConfiguration.decode(root["vision_config"] ?? .object([]), path: path)
        guard vision.outputHiddenSize == text.hiddenSize else {
            throw invalid("vision_config.out_hidden_size \(vision.outputHiddenSize) is not the text hidden_size \(text.hiddenSize)")
        }
        func tokenId(_ key: String, _ fallback: Int) throws -> Int {
            let id = root[key]?.integer ?? fallback
            guard (0..<text.vocabularySize).contains(id) else { throw invalid("\(key) \(id) is outside the vocabulary 0..<\(text.vocabularySize)") }
            return id
        }
        return Qwen25VLConfiguration(
            text: text, vision: vision, imageTokenId: try tokenId("image_token_id", 151655),
            visionStartTokenId: try tokenId("vision_start_token_id", 151652), visionEndTokenId: try tokenId("vision_end_token_id", 151653))
    }
}
