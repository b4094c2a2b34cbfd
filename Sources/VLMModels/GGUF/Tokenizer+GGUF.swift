extension Tokenizer {
    /// The tokenizer a GGUF file carries in its `tokenizer.ggml.*` metadata, as llama.cpp applies it: a byte-level
    /// BPE (`tokenizer.ggml.model` "gpt2") from `tokens` (id = index) and `merges` (rank order), with the
    /// pre-tokenizer `tokenizer.ggml.pre` names: "gpt-2"/"default" (GPT-2's regex), "smollm" (every number
    /// character isolated first, then GPT-2's regex) or "qwen2"; or LLaMA's SentencePiece BPE ("llama"): spaces as
    /// `▁`, one leading `▁` with `add_space_prefix` (SentencePiece's dummy prefix, at the start of the text only;
    /// llama.cpp adds one after every special token too, as transformers' legacy LLaMA tokenizer does), merges in the
    /// order of the merged pieces' `scores`, bytes (`<0xXX>`) for characters outside the vocabulary. Control tokens
    /// (`token_type` 3) are special added tokens and user-defined ones (4) plain added tokens, matched before
    /// pre-tokenization; `add_bos_token` puts `bos_token_id` first.
    ///
    /// SmolLM's "smollm" splitting differs from transformers' GGUF-derived tokenizer, which drops the digit step,
    /// only in whitespace just before a number ("x =  42": `ĠĠ` here and upstream, `Ġ` `Ġ` there).
    /// - Throws: `TokenizerError.unsupported` for another model or pre-tokenizer,
    ///   `.malformed` naming the file and key for missing or mistyped metadata.
    public init(gguf file: GGUFFile) throws {
        func malformed(_ reason: String) -> TokenizerError { .malformed(path: file.path, reason: reason) }
        func strings(_ key: String) throws -> [String] {
            guard let values = file.metadata[key]?.array else { throw malformed("\(key) is missing or not an array") }
            return try values.map { value in
                guard let text = value.string else { throw malformed("\(key) holds a \(value.typeName), expected STRING") }
                return text
            }
        }
        let kind = file.metadata["tokenizer.ggml.model"]?.string
        guard kind == "gpt2" || kind == "llama" else {
            throw TokenizerError.unsupported(path: file.path, what: "tokenizer.ggml.model \(file.metadata["tokenizer.ggml.model"]?.description ?? "absent") (gpt2 byte-level BPE and llama SentencePiece are implemented)")
        }
        let sentencePiece = kind == "llama"
        // Spaces become ▁ and, with add_space_prefix (default true), the text starts with one more, as
        // SentencePiece's add_dummy_prefix does; decoding then drops that one leading space.
        let dummyPrefix = sentencePiece && (file.metadata["tokenizer.ggml.add_space_prefix"]?.bool ?? true)
        let splitting: PreTokenizer
        if sentencePiece {
            splitting = .sentencePiece(dummyPrefix: dummyPrefix)
        } else {
            let pre = file.metadata["tokenizer.ggml.pre"]?.string ?? "default"
            switch pre {
            case "default", "gpt-2": splitting = .gpt2Pieces(isolatingNumbers: false)
            case "smollm": splitting = .gpt2Pieces(isolatingNumbers: true)
            case "qwen2": splitting = .byteLevelPieces
            default: throw TokenizerError.unsupported(path: file.path, what: "tokenizer.ggml.pre '\(pre)' (gpt-2, default, smollm and qwen2 are implemented)")
            }
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        let types = try file.metadata["tokenizer.ggml.token_type"].map { value -> [Int] in
            guard let list = value.array?.compactMap(\.integer), list.count == tokens.count else {
                throw malformed("tokenizer.ggml.token_type must be \(tokens.count) integers, one per token")
            }
            return list
        } ?? Array(repeating: 1, count: tokens.count)
        var ids: [[UInt8]: Int] = [:], tokenBytes: [Int: [UInt8]] = [:], added: [AddedToken] = []
        for (id, token) in tokens.enumerated() {
            let bytes = Array(token.utf8)
            guard ids.updateValue(id, forKey: bytes) == nil else { throw malformed("tokenizer.ggml.tokens lists '\(token)' twice") }
            tokenBytes[id] = bytes
            // Control tokens (3) are special; user-defined ones (4) plain added tokens; SentencePiece's unknown (2) special.
            if types[id] == 3 || types[id] == 4 || (sentencePiece && types[id] == 2), !token.isEmpty {
                added.append(AddedToken(content: token, id: id, special: types[id] != 4, scalars: Array(token.unicodeScalars)))
            }
        }
        let merges: [([UInt8], [UInt8])]
        if sentencePiece {
            guard let scores = file.metadata["tokenizer.ggml.scores"]?.array?.compactMap(\.number), scores.count == tokens.count else {
                throw malformed("tokenizer.ggml.scores must be \(tokens.count) numbers, one per token")
            }
            merges = Self.sentencePieceMerges(tokens: tokens, scores: scores, types: types)
        } else {
            merges = try strings("tokenizer.ggml.merges").map { merge -> ([UInt8], [UInt8]) in
                let parts = Array(merge.utf8).split(separator: 0x20, maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw malformed("tokenizer.ggml.merges entry '\(merge)' is not two pieces") }
                return (Array(parts[0]), Array(parts[1]))
            }
        }
        func tokenId(_ key: String) throws -> Int? {
            guard let value = file.metadata[key] else { return nil }
            guard let id = value.integer, tokenBytes[id] != nil else { throw malformed("\(key) \(value) is not a token id of the vocabulary") }
            return id
        }
        let bos = try tokenId("tokenizer.ggml.bos_token_id")
        let addBOS = file.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? false
        if addBOS && bos == nil { throw malformed("tokenizer.ggml.add_bos_token is true but there is no bos_token_id") }
        let prefix = addBOS ? [bos!] : []
        if file.metadata["tokenizer.ggml.add_eos_token"]?.bool == true {
            throw TokenizerError.unsupported(path: file.path, what: "tokenizer.ggml.add_eos_token true")
        }
        self.init(normalizer: [], preTokenizer: splitting,
                  model: BytePairModel(ids: ids, mergeList: merges, unknownId: try tokenId("tokenizer.ggml.unknown_token_id"),
                                       byteFallback: sentencePiece, fuseUnknown: sentencePiece),
                  decoderSteps: sentencePiece
                    ? [.replace(Array("\u{2581}".utf8), [0x20]), .byteFallback, .fuse] + (dummyPrefix ? [.strip(" ", start: 1, stop: 0)] : [])
                    : [.byteLevel],
                  prefixIds: prefix, suffixIds: [], addedTokens: added, tokenBytes: tokenBytes)
    }

    /// SentencePiece BPE as merges: every split of a normal token into two vocabulary pieces, ranked by the merged
    /// token's score (highest first, then by id), which is the order SentencePiece and llama.cpp merge in.
    static func sentencePieceMerges(tokens: [String], scores: [Double], types: [Int]) -> [([UInt8], [UInt8])] {
        let known = Set(tokens.indices.filter { types[$0] == 1 }.map { tokens[$0] })
        let order = tokens.indices.filter { types[$0] == 1 }.sorted { (scores[$0], -$0) > (scores[$1], -$1) }
        var merges: [([UInt8], [UInt8])] = []
        for id in order {
            let scalars = Array(tokens[id].unicodeScalars)
            for cut in scalars.indices.dropFirst() {
                let left = String(String.UnicodeScalarView(scalars[..<cut])), right = String(String.UnicodeScalarView(scalars[cut...]))
                if known.contains(left), known.contains(right) { merges.append((Array(left.utf8), Array(right.utf8))) }
            }
        }
        return merges
    }
}
