/// The largest sizes a `config.json` may declare. A configuration beyond them is refused (naming the file,
/// the key and the bound) before any size is multiplied or anything is allocated, so hostile numbers can
/// neither overflow an integer nor ask for an unbounded allocation. Every real checkpoint is far inside.
public enum ConfigurationBounds {
    /// Layers of the vision tower or the language model.
    public static let layers = 1024
    /// Widths: hidden size, MLP size, and heads × head dimension (262,144).
    public static let width = 1 << 18
    /// Attention heads (query or key-value).
    public static let heads = 4096
    /// Vocabulary entries (16,777,216).
    public static let vocabulary = 1 << 24
    /// Positions (`max_position_embeddings`, 16,777,216).
    public static let positions = 1 << 24
    /// Image side in pixels (`image_size`) and patch side.
    public static let imageSide = 16384
    /// Image channels.
    public static let channels = 16

    /// Sentences for every `(key, value, bound)` whose value exceeds its bound, keys prefixed with `section`.
    static func problems(_ section: String, _ checks: [(key: String, value: Int, bound: Int)]) -> [String] {
        checks.filter { $0.value > $0.bound }.map { "\(section).\($0.key) \($0.value) exceeds the bound \($0.bound)" }
    }
}

extension KeyedDecodingContainer {
    /// An integer value, refusing a fractional number with an error at its key (Foundation's decoder reports
    /// one as "not valid JSON" without naming the key).
    func decodeIntegerIfPresent(forKey key: Key) throws -> Int? {
        guard contains(key), !(try decodeNil(forKey: key)) else { return nil }
        if let value = try? decode(Int.self, forKey: key) { return value }
        if let number = try? decode(Double.self, forKey: key) {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "expected an integer, got \(number)")
        }
        return try decode(Int.self, forKey: key)
    }
}
