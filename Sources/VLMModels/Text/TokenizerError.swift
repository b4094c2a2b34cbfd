/// Errors from reading tokenizer files and from encoding or decoding.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A file, or a part of one, that this reader does not implement (named with its path and JSON location).
    case unsupported(path: String, what: String)
    /// A file that is not what its format says.
    case malformed(path: String, reason: String)
    /// A character outside the vocabulary of a model with neither byte fallback nor an unknown token.
    case unknownCharacter(Unicode.Scalar)
    /// An id outside the tokenizer's vocabulary.
    case unknownId(Int)
    /// A text whose ids exceed the limit given to `encode` (a model's context), found before encoding it all.
    case tooManyTokens(limit: Int)
    /// A normalizer that would grow a segment of `from` scalars to `to`, beyond `bound`
    /// (`Tokenizer.maximumNormalizedGrowth`).
    case normalizationGrowth(from: Int, to: Int, bound: Int)

    public var description: String {
        switch self {
        case let .unsupported(path, what): return "unsupported tokenizer \(path): \(what)"
        case let .malformed(path, reason): return "malformed tokenizer \(path): \(reason)"
        case let .unknownCharacter(s): return "character U+\(String(s.value, radix: 16, uppercase: true)) is outside the vocabulary"
        case let .unknownId(id): return "token id \(id) is outside the tokenizer's vocabulary"
        case let .tooManyTokens(limit): return "the text is longer than \(limit) tokens, the model's context"
        case let .normalizationGrowth(from, to, bound):
            return "the tokenizer's normalizer would grow \(from) characters to \(to), beyond the bound of \(bound)"
        }
    }
}
