import Foundation

/// The parts of a checkpoint's `generation_config.json` that greedy decoding uses.
public struct GenerationConfiguration: Decodable, Sendable, Equatable {
    /// Token ids that end generation (`eos_token_id`: one id or a list), if the file names any.
    public var endOfSequenceIds: [Int]?

    /// A configuration with the given stop ids.
    public init(endOfSequenceIds: [Int]?) { self.endOfSequenceIds = endOfSequenceIds }

    enum CodingKeys: String, CodingKey { case endOfSequenceIds = "eos_token_id" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        endOfSequenceIds = c.contains(.endOfSequenceIds) ? try LlamaConfiguration.decodeTokenIds(c, .endOfSequenceIds) : nil
    }

    /// Reads `generation_config.json` in `directory`; nil when the folder has none.
    /// - Throws: `ModelError.invalidConfiguration` naming the file and key for a malformed file or eos list.
    public static func load(directory: URL) throws -> GenerationConfiguration? {
        let url = directory.appendingPathComponent("generation_config.json")
        guard RegularFile.isPresent(url) else { return nil }
        let data = try RegularFile.read(url, limit: RegularFile.configurationByteLimit)
        _ = try JSONValue.parseStrict(data, path: url.path)
        do {
            return try JSONDecoder().decode(GenerationConfiguration.self, from: data)
        } catch {
            throw ModelError.invalidConfiguration(path: url.path, reason: readableDecodingReason(error))
        }
    }
}
