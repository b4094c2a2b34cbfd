/// Turns generated token ids into text as they arrive, emitting only complete text: a piece is held back
/// while it ends in an unfinished UTF-8 sequence (byte tokens of one character) and released once the
/// sequence completes. The concatenated pieces equal `tokenizer.decode(ids, skipSpecialTokens: true)`.
public struct TextStream: Sendable {
    /// The tokenizer that decodes.
    public let tokenizer: Tokenizer
    private var ids: [Int] = []
    private var emitted: [Unicode.Scalar] = []

    /// An empty stream.
    public init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    /// Adds `id` and returns the text it completes (possibly empty).
    /// - Throws: `TokenizerError.unknownId`.
    public mutating func append(_ id: Int) throws -> String {
        ids.append(id)
        let text = Array(try tokenizer.decode(ids, skipSpecialTokens: true).unicodeScalars)
        // An unfinished multi-byte character decodes as U+FFFD for now: wait for the next token.
        var end = text.count
        if text.last == "\u{FFFD}", let last = try? tokenizer.token(id), last.hasPrefix("<0x") || !last.unicodeScalars.allSatisfy({ $0.value < 0x80 }) {
            while end > emitted.count, text[end - 1] == "\u{FFFD}" { end -= 1 }
        }
        guard end > emitted.count, text[..<emitted.count].elementsEqual(emitted) else { return "" }
        let piece = text[emitted.count..<end]
        emitted = Array(text[..<end])
        return String(String.UnicodeScalarView(piece))
    }

    /// Text held back at the end (an unfinished character, as U+FFFD), to flush when generation stops.
    public mutating func finish() throws -> String {
        let text = Array(try tokenizer.decode(ids, skipSpecialTokens: true).unicodeScalars)
        guard text.count > emitted.count, text[..<emitted.count].elementsEqual(emitted) else { return "" }
        defer { emitted = text }
        return String(String.UnicodeScalarView(text[emitted.count...]))
    }
}
