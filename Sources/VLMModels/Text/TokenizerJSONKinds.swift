extension Tokenizer {
    /// The kinds `tokenizer.json` members may have, by key, as the `tokenizers` library's (serde) reader
    /// accepts them: a value of another kind is refused there, so it is refused here too instead of falling
    /// back to a default. Keys whose kind depends on where they sit (`id`: a number in `added_tokens`, a
    /// name in a template's `SpecialToken`) are checked where they are read.
    static let memberKinds: [String: Set<JSONValue.Kind>] = {
        var kinds: [String: Set<JSONValue.Kind>] = [:]
        for key in ["byte_fallback", "fuse_unk", "ignore_merges", "special", "normalized", "single_word", "lstrip", "rstrip",
                    "add_prefix_space", "trim_offsets", "use_regex", "split", "individual_digits", "invert",
                    "strip_left", "strip_right", "lowercase", "clean_text", "handle_chinese_chars"] {
            kinds[key] = [.boolean]
        }
        for key in ["type", "content", "prepend", "replacement", "prepend_scheme", "behavior", "String", "Regex"] {
            kinds[key] = [.string]
        }
        for key in ["unk_token", "continuing_subword_prefix", "end_of_word_suffix"] { kinds[key] = [.string, .null] }
        for key in ["start", "stop", "type_id"] { kinds[key] = [.number] }
        kinds["dropout"] = [.number, .null]
        for key in ["model", "special_tokens", "pattern"] { kinds[key] = [.object] }
        for key in ["normalizer", "pre_tokenizer", "post_processor", "decoder", "truncation", "padding"] { kinds[key] = [.object, .null] }
        for key in ["added_tokens", "merges", "normalizers", "pretokenizers", "decoders", "single", "pair", "ids", "tokens", "cls", "sep"] {
            kinds[key] = [.array]
        }
        return kinds
    }()
}

extension Tokenizer {
    /// Keys whose object's members are named by the file (tokens), not by the schema.
    static let tokenNamedObjects: Set<String> = ["vocab", "special_tokens"]
}
