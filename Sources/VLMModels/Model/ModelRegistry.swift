import Foundation

/// Which type loads a checkpoint folder, by the `model_type` in its `config.json`: adding a family is a type
/// that conforms to `VisionLanguageModel` and one entry here.
public enum ModelRegistry {
    /// Loads a checkpoint folder holding weights in the given precision.
    public typealias Loader = @Sendable (_ directory: URL, _ weights: LoadPrecision) throws -> any VisionLanguageModel

    /// The loader of each supported `model_type`.
    public static let loaders: [String: Loader] = [
        LlavaFamily.llava.rawValue: { try LlavaModel(directory: $0, weights: $1) },
        LlavaFamily.llavaNext.rawValue: { try LlavaModel(directory: $0, weights: $1) },
        LlavaFamily.llavaOneVision.rawValue: { try LlavaModel(directory: $0, weights: $1) },
        "qwen2_5_vl": { try Qwen25VLModel(directory: $0, weights: $1) },
    ]

    /// The `model_type` of `config.json` in `directory` ("llava" when the key is absent, as transformers reads
    /// LLaVA configurations).
    /// - Throws: `ModelError.fileUnreadable` or `.invalidConfiguration` for a missing, malformed or non-string value.
    public static func modelType(directory: URL) throws -> String {
        let url = directory.appendingPathComponent("config.json")
        let json = try JSONValue.readStrict(url)
        guard json.members != nil else { throw ModelError.invalidConfiguration(path: url.path, reason: "not a JSON object") }
        guard let value = json["model_type"] else { return LlavaFamily.llava.rawValue }
        guard let type = value.string else {
            throw ModelError.invalidConfiguration(path: url.path, reason: "model_type: expected a string")
        }
        return type
    }

    /// The model in `directory`, loaded by its family's type with matrices in `weights` precision.
    /// - Throws: `ModelError.invalidConfiguration` naming the supported types for an unknown `model_type`, and
    ///   whatever the family's loader throws.
    public static func load(directory: URL, weights: LoadPrecision = .checkpoint) throws -> any VisionLanguageModel {
        let type = try modelType(directory: directory)
        guard let loader = loaders[type] else {
            throw ModelError.invalidConfiguration(
                path: directory.appendingPathComponent("config.json").path,
                reason: "model_type '\(type)' is not supported; supported: \(loaders.keys.sorted().joined(separator: ", "))")
        }
        return try loader(directory, weights)
    }
}
