import Foundation

extension Tokenizer {
    /// Most Unicode scalars normalization may turn a segment of n scalars into: `maximumNormalizedGrowth · n + 64`.
    public static let maximumNormalizedGrowth = 4

    /// The token ids of `text`; with `addSpecialTokens` the post-processor's tokens (LLaMA's BOS) are added.
    /// With `maximumTokens` (a model's context), encoding stops as soon as the ids exceed it.
    /// - Throws: `TokenizerError.unknownCharacter` when the model cannot represent a character,
    ///   `.tooManyTokens` past `maximumTokens`, `.normalizationGrowth` when a normalizer grows a segment beyond
    ///   `maximumNormalizedGrowth` times its length.
    public func encode(_ text: String, addSpecialTokens: Bool = true, maximumTokens: Int? = nil) throws -> [Int] {
        var out = addSpecialTokens ? prefixIds : []
        let limit = maximumTokens ?? Int.max
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0, i = 0
        while i < scalars.count {
            if let token = addedTokenMatcher.longestMatch(in: scalars, at: i) {
                try encodeSegment(scalars[segmentStart..<i], atStart: segmentStart == 0, into: &out, limit: limit)
                out.append(token.id)
                try Self.check(out.count, limit)
                i += token.scalars.count
                segmentStart = i
            } else {
                i += 1
            }
        }
        try encodeSegment(scalars[segmentStart..<scalars.count], atStart: segmentStart == 0, into: &out, limit: limit)
        if addSpecialTokens { out += suffixIds }
        try Self.check(out.count, limit)
        return out
    }

    private static func check(_ count: Int, _ limit: Int) throws {
        guard count <= limit else { throw TokenizerError.tooManyTokens(limit: limit) }
    }

    /// Normalizes, pre-tokenizes and BPE-encodes the text between two added tokens.
    private func encodeSegment(_ segment: ArraySlice<Unicode.Scalar>, atStart: Bool, into out: inout [Int], limit: Int) throws {
        guard !segment.isEmpty else { return }
        var text = Array(segment)
        let bound = Self.maximumNormalizedGrowth * segment.count + 64
        func allow(_ length: Int) throws {
            guard length <= bound else { throw TokenizerError.normalizationGrowth(from: segment.count, to: length, bound: bound) }
        }
        for step in normalizer {
            switch step {
            case .prepend(let prefix): text = prefix + text
            case let .replace(pattern, content):
                // The resulting length is known before anything is built: refuse a runaway replacement up front.
                if content.count > pattern.count {
                    try allow(text.count + Self.occurrences(of: pattern, in: text) * (content.count - pattern.count))
                }
                text = Self.replacing(pattern, with: content, in: text)
            case .nfc: text = Array(String(String.UnicodeScalarView(text)).precomposedStringWithCanonicalMapping.unicodeScalars)
            case .lowercase: text = Self.lowercased(text)
            case .replaceWhitespaceRuns(let content):
                var out: [Unicode.Scalar] = [], inRun = false
                for s in text {
                    if PiecewiseSplitter.isSpace(s) {
                        if !inRun {
                            out += content
                            try allow(out.count)
                        }
                        inRun = true
                    } else {
                        out.append(s)
                        inRun = false
                    }
                }
                text = out
            }
            try allow(text.count)
        }
        switch preTokenizer {
        case .none:
            try model.encode(text, into: &out)
        case .sentencePiece(let dummyPrefix):
            text = (dummyPrefix && atStart ? ["\u{2581}"] : []) + text.map { $0 == " " ? "\u{2581}" : $0 }
            try model.encode(text, into: &out)
        case let .metaspace(replacement, scheme):
            text = text.map { $0 == " " ? replacement : $0 }
            let prepend = scheme == .always || (scheme == .first && atStart)
            if prepend, text.first != replacement { text.insert(replacement, at: 0) }
            try model.encode(text, into: &out)
        case .byteLevelPieces:
            for piece in PiecewiseSplitter.split(text) { try encodeByteLevel(piece, into: &out, limit: limit) }
        case .clipPieces(let literals):
            for piece in CLIPSplitter.split(text, literals: literals) { try encodeByteLevel(piece, into: &out, limit: limit) }
        case .gpt2Pieces(let isolatingNumbers):
            for piece in GPT2Splitter.split(text, isolatingNumbers: isolatingNumbers) { try encodeByteLevel(piece, into: &out, limit: limit) }
        }
        try Self.check(out.count, limit)
    }

    /// BPE of one pre-tokenized piece in the byte-level alphabet, stopping once the ids exceed `limit`.
    private func encodeByteLevel(_ piece: ArraySlice<Unicode.Scalar>, into out: inout [Int], limit: Int) throws {
        let mapped = String(String.UnicodeScalarView(piece)).utf8.map { ByteLevelAlphabet.characters[Int($0)] }
        try model.encode(mapped, into: &out)
        try Self.check(out.count, limit)
    }

    /// Non-overlapping occurrences of `pattern` in `text`, scanned left to right as `replacing` does.
    static func occurrences<Element: Equatable>(of pattern: [Element], in text: [Element]) -> Int {
        guard !pattern.isEmpty else { return 0 }
        var count = 0, i = 0
        while i + pattern.count <= text.count {
            if text[i..<(i + pattern.count)].elementsEqual(pattern) { count += 1; i += pattern.count } else { i += 1 }
        }
        return count
    }

    /// The `Lowercase` normalizer: each scalar's full lowercase mapping on its own (`tokenizers` maps char by
    /// char, so a word-final Σ becomes σ, not ς).
    static func lowercased(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.flatMap { $0.properties.lowercaseMapping.unicodeScalars }
    }

    /// `text` with every non-overlapping occurrence of `pattern`, left to right, replaced by `content`
    /// (scalars for normalizers, bytes for decoders).
    static func replacing<Element: Equatable>(_ pattern: [Element], with content: [Element], in text: [Element]) -> [Element] {
        guard !pattern.isEmpty else { return text }
        var out: [Element] = [], i = 0
        while i < text.count {
            if i + pattern.count <= text.count, text[i..<(i + pattern.count)].elementsEqual(pattern) {
                out += content
                i += pattern.count
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// The text of `ids`, as the tokenizer's decoder writes it; `skipSpecialTokens` drops special added tokens
    /// first. Invalid UTF-8 from byte tokens becomes U+FFFD as the decoder defines.
    /// - Throws: `TokenizerError.unknownId` for an id the tokenizer does not have.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
        var tokens: [[UInt8]] = []
        for id in ids {
            guard let bytes = tokenBytes[id] else { throw TokenizerError.unknownId(id) }
            if skipSpecialTokens && specialIds.contains(id) { continue }
            tokens.append(bytes)
        }
        return String(decoding: decodeBytes(tokens), as: UTF8.self)
    }

    /// Runs the decoder steps over token byte strings and returns the text's UTF-8 bytes.
    func decodeBytes(_ input: [[UInt8]]) -> [UInt8] {
        var tokens = input
        for step in decoderSteps {
            switch step {
            case let .replace(pattern, content):
                tokens = tokens.map { Self.replacing(pattern, with: content, in: $0) }
            case .byteFallback:
                tokens = Self.fallbackBytes(tokens)
            case .fuse:
                tokens = [tokens.flatMap { $0 }]
            case let .strip(character, start, stop):
                let c = Array(String(character).utf8)
                tokens = tokens.map { token in
                    var t = token[...]
                    for _ in 0..<start where t.starts(with: c) { t = t.dropFirst(c.count) }
                    for _ in 0..<stop where t.reversed().starts(with: c.reversed()) { t = t.dropLast(c.count) }
                    return Array(t)
                }
            case .byteLevel:
                tokens = tokens.map { token in
                    String(decoding: token, as: UTF8.self).unicodeScalars.flatMap { s -> [UInt8] in
                        ByteLevelAlphabet.bytes[s].map { [$0] } ?? Array(String(s).utf8)
                    }
                }
            }
        }
        return tokens.flatMap { $0 }
    }

    /// SentencePiece byte fallback: runs of `<0xHH>` tokens become their bytes when those are valid UTF-8,
    /// else one U+FFFD per byte of the run.
    static func fallbackBytes(_ tokens: [[UInt8]]) -> [[UInt8]] {
        var out: [[UInt8]] = [], run: [UInt8] = []
        func flush() {
            guard !run.isEmpty else { return }
            out.append(String(validating: run, as: UTF8.self) != nil ? run : Array(String(repeating: "\u{FFFD}", count: run.count).utf8))
            run = []
        }
        for token in tokens {
            if token.count == 6, token.starts(with: Array("<0x".utf8)), token[5] == UInt8(ascii: ">"),
               let byte = UInt8(String(decoding: token[3..<5], as: UTF8.self), radix: 16) {
                run.append(byte)
            } else {
                flush()
                out.append(token)
            }
        }
        flush()
        return out
    }
}
