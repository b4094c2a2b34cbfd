import Foundation

/// A Hugging Face `tokenizer.json` (BPE models as LLaMA/Vicuna/Mistral and Qwen2/LLaMA-3 checkpoints ship
/// them), encoding and decoding exactly as the `tokenizers` library does with that file.
///
/// Supported: added tokens (split out first, leftmost-longest); normalizers `Prepend`, `Replace` (a string, or
/// the regex `\s+`), `NFC`, `Lowercase` and sequences of them; pre-tokenizers `Metaspace` (prepend scheme
/// first/always/never, no split), the Qwen2 `Split` regex followed by `ByteLevel`, CLIP's `Split` regex
/// (removed, inverted) followed by `ByteLevel`, and `ByteLevel` with GPT-2's regex (after `Digits` with
/// `individual_digits`, or alone); BPE with byte fallback, CLIP's `end_of_word_suffix` and merges in
/// both encodings; post-processors `TemplateProcessing`, `RobertaProcessing` and `ByteLevel`; decoders `Replace`/`ByteFallback`/`Fuse`/`Strip` sequences and
/// `ByteLevel`. Anything else is `TokenizerError.unsupported`. Text is handled per Unicode scalar.
public struct Tokenizer: Sendable {
    enum NormalizerStep: Sendable {
        case prepend([Unicode.Scalar]), replace([Unicode.Scalar], [Unicode.Scalar]), nfc, lowercase
        /// Every run of whitespace replaced by the content (`Replace` with the regex `\s+`).
        case replaceWhitespaceRuns([Unicode.Scalar])
    }
    enum PrependScheme: String, Sendable { case first, always, never }
    enum PreTokenizer: Sendable {
        case none, metaspace(Unicode.Scalar, PrependScheme), byteLevelPieces
        /// CLIP's split (with its literal alternatives), then the byte-level alphabet.
        case clipPieces([[Unicode.Scalar]])
        /// GPT-2's regex (`ByteLevel` with `use_regex`), optionally after isolating every number character.
        case gpt2Pieces(isolatingNumbers: Bool)
        /// SentencePiece's own whitespace handling (GGUF "llama" vocabularies): spaces become `▁`, and with
        /// `dummyPrefix` the text gets one leading `▁` even when it already starts with a space.
        case sentencePiece(dummyPrefix: Bool)
    }
    enum DecoderStep: Sendable { case replace([UInt8], [UInt8]), byteFallback, fuse, strip(Unicode.Scalar, start: Int, stop: Int), byteLevel }

    /// An added token: its text, id and whether it is special (skipped by `decode(skipSpecialTokens: true)`).
    public struct AddedToken: Sendable, Equatable {
        /// The token's text.
        public let content: String
        /// Its id.
        public let id: Int
        /// Whether it is a special token.
        public let special: Bool
        let scalars: [Unicode.Scalar]
    }

    let normalizer: [NormalizerStep]
    let preTokenizer: PreTokenizer
    let model: BytePairModel
    let decoderSteps: [DecoderStep]
    /// Ids the post-processor puts before and after the text when special tokens are added.
    let prefixIds: [Int], suffixIds: [Int]
    /// Added tokens, longest first.
    public let addedTokens: [AddedToken]
    /// The added tokens as a trie, for leftmost-longest matching.
    let addedTokenMatcher: AddedTokenMatcher
    /// Token bytes by id (added tokens and vocabulary).
    let tokenBytes: [Int: [UInt8]]
    let specialIds: Set<Int>

    /// Ids `0 ..< vocabularySize` may occur (the largest id + 1).
    public var vocabularySize: Int { (tokenBytes.keys.max() ?? -1) + 1 }

    /// The id of `token` (an added token or a vocabulary entry), nil when it has none.
    public func id(of token: String) -> Int? {
        let bytes = Array(token.utf8)
        return addedTokens.first { Array($0.content.utf8) == bytes }?.id ?? model.ids[bytes]
    }

    /// The token text of `id` (as stored: `▁` and `Ġ`-mapped characters included).
    /// - Throws: `TokenizerError.unknownId`.
    public func token(_ id: Int) throws -> String {
        guard let bytes = tokenBytes[id] else { throw TokenizerError.unknownId(id) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads `tokenizer.json` in `directory`.
    /// - Throws: `ModelError.fileUnreadable`, `TokenizerError.malformed` or `.unsupported`.
    public init(directory: URL) throws {
        let url = directory.appendingPathComponent("tokenizer.json")
        try self.init(data: try RegularFile.read(url, limit: RegularFile.tokenizerByteLimit), path: url.path)
    }

    /// Parses `tokenizer.json` bytes; `path` names the file in errors.
    /// - Throws: `TokenizerError.malformed` (also for a repeated key, a string that is not UTF-8, or a member of
    ///   the wrong kind, such as `"byte_fallback": "yes"`) or `.unsupported`.
    public init(data: Data, path: String = "tokenizer.json") throws {
        func malformed(_ reason: String) -> TokenizerError { .malformed(path: path, reason: reason) }
        func unsupported(_ what: String) -> TokenizerError { .unsupported(path: path, what: what) }
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch { throw malformed("\(error)") }
        if let key = json.firstDuplicateKey { throw malformed("key '\(key)' appears more than once") }
        if let mismatch = json.firstKindMismatch(Self.memberKinds, namedBy: Self.tokenNamedObjects) { throw malformed(mismatch) }
        guard let model = json["model"], model["type"]?.string ?? "BPE" == "BPE", model["vocab"]?.members != nil else {
            throw unsupported("model type '\(json["model"]?["type"]?.string ?? "none")' (only BPE is implemented)")
        }
        for key in ["dropout"] where !(model[key]?.isNull ?? true) { throw unsupported("BPE \(key)") }
        if let v = model["continuing_subword_prefix"], !v.isNull, v.string != "" {
            throw unsupported("BPE continuing_subword_prefix '\(v.string ?? "?")'")
        }
        let suffix = model["end_of_word_suffix"].flatMap { $0.isNull ? nil : $0 }
        guard suffix == nil || suffix?.string != nil else { throw malformed("BPE end_of_word_suffix is not a string") }
        if model["ignore_merges"]?.bool == true { throw unsupported("BPE ignore_merges true") }
        var ids: [[UInt8]: Int] = [:], tokenBytes: [Int: [UInt8]] = [:]
        for member in model["vocab"]!.members! {
            let key = member.key, value = member.value
            guard let id = value.integer, id >= 0 else { throw malformed("vocabulary entry with a non-integer id") }
            guard ids.updateValue(id, forKey: key) == nil else { throw malformed("vocabulary lists '\(String(decoding: key, as: UTF8.self))' twice") }
            tokenBytes[id] = key
        }
        var mergeList: [([UInt8], [UInt8])] = []
        for entry in model["merges"]?.array ?? [] {
            if case .string(let bytes) = entry {
                let parts = bytes.split(separator: 0x20, maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw malformed("merge '\(String(decoding: bytes, as: UTF8.self))' is not two pieces") }
                mergeList.append((Array(parts[0]), Array(parts[1])))
            } else if let pair = entry.array, pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] {
                mergeList.append((a, b))
            } else {
                throw malformed("a merge is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        var added: [AddedToken] = []
        for entry in json["added_tokens"]?.array ?? [] {
            guard let id = entry["id"]?.integer, id >= 0, case .string(let content)? = entry["content"], !content.isEmpty else {
                throw malformed("an added token needs an integer id and non-empty content")
            }
            for flag in ["lstrip", "rstrip", "single_word", "normalized"] where entry[flag]?.bool == true {
                throw unsupported("added token with \(flag) true")
            }
            let text = String(decoding: content, as: UTF8.self)
            added.append(AddedToken(content: text, id: id, special: entry["special"]?.bool ?? false, scalars: Array(text.unicodeScalars)))
            tokenBytes[id] = content
        }
        let unknown = model["unk_token"]?.string
        let unknownId: Int? = try unknown.map { name in
            guard let id = ids[Array(name.utf8)] ?? added.first(where: { $0.content == name })?.id else {
                throw malformed("unk_token '\(name)' is not in the vocabulary")
            }
            return id
        }
        let (prefixIds, suffixIds) = try Self.postProcessor(json["post_processor"], unsupported, malformed)
        self.init(normalizer: try Self.normalizer(json["normalizer"], unsupported),
                  preTokenizer: try Self.preTokenizer(json["pre_tokenizer"], unsupported),
                  model: BytePairModel(ids: ids, mergeList: mergeList, unknownId: unknownId,
                                       byteFallback: model["byte_fallback"]?.bool ?? false, fuseUnknown: model["fuse_unk"]?.bool ?? false,
                                       endOfWordSuffix: suffix?.string.flatMap { $0.isEmpty ? nil : Array($0.utf8) }),
                  decoderSteps: try Self.decoder(json["decoder"], unsupported), prefixIds: prefixIds, suffixIds: suffixIds,
                  addedTokens: added, tokenBytes: tokenBytes)
    }

    /// A tokenizer from its parts; added tokens are sorted longest first here.
    init(normalizer: [NormalizerStep], preTokenizer: PreTokenizer, model: BytePairModel, decoderSteps: [DecoderStep],
         prefixIds: [Int], suffixIds: [Int], addedTokens added: [AddedToken], tokenBytes: [Int: [UInt8]]) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.decoderSteps = decoderSteps
        self.prefixIds = prefixIds
        self.suffixIds = suffixIds
        addedTokens = added.sorted { $0.scalars.count > $1.scalars.count }
        addedTokenMatcher = AddedTokenMatcher(added)
        self.tokenBytes = tokenBytes
        specialIds = Set(added.filter(\.special).map(\.id))
    }

    private static func scalars(_ value: JSONValue?) -> [Unicode.Scalar]? { value?.string.map { Array($0.unicodeScalars) } }

    private static func normalizer(_ value: JSONValue?, _ unsupported: (String) -> TokenizerError) throws -> [NormalizerStep] {
        guard let value, !value.isNull else { return [] }
        switch value["type"]?.string {
        case "Sequence": return try (value["normalizers"]?.array ?? []).flatMap { try normalizer($0, unsupported) }
        case "Prepend": return [.prepend(scalars(value["prepend"]) ?? [])]
        case "Replace":
            if value["pattern"]?["Regex"]?.string == #"\s+"#, let content = scalars(value["content"]) {
                return [.replaceWhitespaceRuns(content)]
            }
            guard let pattern = scalars(value["pattern"]?["String"]), let content = scalars(value["content"]) else {
                throw unsupported("Replace normalizer with a regex pattern other than \\s+")
            }
            return [.replace(pattern, content)]
        case "NFC": return [.nfc]
        case "Lowercase": return [.lowercase]
        case let other: throw unsupported("normalizer '\(other ?? "?")'")
        }
    }

    private static func preTokenizer(_ value: JSONValue?, _ unsupported: (String) -> TokenizerError) throws -> PreTokenizer {
        guard let value, !value.isNull else { return .none }
        switch value["type"]?.string {
        case "Metaspace":
            guard value["split"]?.bool != true else { throw unsupported("Metaspace with split true") }
            let replacement = scalars(value["replacement"]) ?? ["\u{2581}"]
            guard replacement.count == 1 else { throw unsupported("Metaspace replacement of \(replacement.count) characters") }
            let scheme = value["prepend_scheme"]?.string.flatMap(PrependScheme.init(rawValue:))
                ?? (value["add_prefix_space"]?.bool == false ? .never : .always)
            return .metaspace(replacement[0], scheme)
        case "ByteLevel":
            guard value["add_prefix_space"]?.bool != true, value["use_regex"]?.bool ?? true else {
                throw unsupported("ByteLevel pre-tokenizer with add_prefix_space true or without its regex")
            }
            return .gpt2Pieces(isolatingNumbers: false)
        case "Sequence":
            let steps = value["pretokenizers"]?.array ?? []
            if steps.count == 2, steps[0]["type"]?.string == "Digits", steps[0]["individual_digits"]?.bool == true,
               case .gpt2Pieces(false) = try preTokenizer(steps[1], unsupported) {
                return .gpt2Pieces(isolatingNumbers: true)
            }
            if steps.count == 2, steps[0]["type"]?.string == "Split", let regex = steps[0]["pattern"]?["Regex"]?.string,
               let literals = CLIPSplitter.literals(in: regex), steps[0]["behavior"]?.string == "Removed",
               steps[0]["invert"]?.bool == true, steps[1]["type"]?.string == "ByteLevel", steps[1]["add_prefix_space"]?.bool != true {
                return .clipPieces(literals)
            }
            guard steps.count == 2, steps[0]["type"]?.string == "Split",
                  steps[0]["pattern"]?["Regex"]?.string == PiecewiseSplitter.qwen2Pattern,
                  steps[0]["behavior"]?.string == "Isolated", steps[0]["invert"]?.bool != true,
                  steps[1]["type"]?.string == "ByteLevel", steps[1]["add_prefix_space"]?.bool != true,
                  steps[1]["use_regex"]?.bool == false else {
                throw unsupported("pre-tokenizer sequence other than the Qwen2 or CLIP Split regex + ByteLevel")
            }
            return .byteLevelPieces
        case let other: throw unsupported("pre-tokenizer '\(other ?? "?")'")
        }
    }

    private static func decoder(_ value: JSONValue?, _ unsupported: (String) -> TokenizerError) throws -> [DecoderStep] {
        guard let value, !value.isNull else { return [] }
        switch value["type"]?.string {
        case "Sequence": return try (value["decoders"]?.array ?? []).flatMap { try decoder($0, unsupported) }
        case "Replace":
            guard let pattern = value["pattern"]?["String"]?.string, let content = value["content"]?.string else {
                throw unsupported("Replace decoder with a regex pattern")
            }
            return [.replace(Array(pattern.utf8), Array(content.utf8))]
        case "ByteFallback": return [.byteFallback]
        case "Fuse": return [.fuse]
        case "Strip":
            guard let content = scalars(value["content"]), content.count == 1 else { throw unsupported("Strip of several characters") }
            let start = value["start"]?.integer ?? 0, stop = value["stop"]?.integer ?? 0
            guard (0...1024).contains(start), (0...1024).contains(stop) else {
                throw unsupported("Strip decoder with start \(start) and stop \(stop) (each must be 0 ... 1024)")
            }
            return [.strip(content[0], start: start, stop: stop)]
        case "ByteLevel": return [.byteLevel]
        case let other: throw unsupported("decoder '\(other ?? "?")'")
        }
    }

    private static func postProcessor(
        _ value: JSONValue?, _ unsupported: (String) -> TokenizerError, _ malformed: (String) -> TokenizerError
    ) throws -> ([Int], [Int]) {
        guard let value, !value.isNull else { return ([], []) }
        switch value["type"]?.string {
        case "ByteLevel": return ([], [])
        case "RobertaProcessing":
            guard let cls = value["cls"]?.array, cls.count == 2, let clsId = cls[1].integer,
                  let sep = value["sep"]?.array, sep.count == 2, let sepId = sep[1].integer else {
                throw malformed("RobertaProcessing needs cls and sep as [token, id]")
            }
            return ([clsId], [sepId])
        case "TemplateProcessing":
            var before: [Int] = [], after: [Int] = [], seenSequence = false
            for piece in value["single"]?.array ?? [] {
                if piece["Sequence"] != nil { seenSequence = true; continue }
                guard let name = piece["SpecialToken"]?["id"]?.string, let ids = value["special_tokens"]?[name]?["ids"]?.array else {
                    throw malformed("post-processor template names an unknown special token")
                }
                let list = try ids.map { v -> Int in guard let i = v.integer else { throw malformed("special token ids") }; return i }
                if seenSequence { after += list } else { before += list }
            }
            return (before, after)
        case let other: throw unsupported("post-processor '\(other ?? "?")'")
        }
    }
}
