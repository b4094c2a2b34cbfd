/// Qwen2.5-VL's key layouts mapped onto the names the library's loaders ask for: the hub's (and transformers
/// 5 `save_pretrained`'s) `visual.*`, `model.*`, `lm_head.weight`, and transformers 5's in-memory
/// `model.visual.*`, `model.language_model.*`. The decoder's tensors become `language_model.model.*` and
/// `language_model.lm_head.weight` (the names `LlamaDecoder` reads), the vision tower's stay `visual.*`.
public enum Qwen25VLWeightNames {
    /// The canonical name for a stored key, nil for recomputed buffers (`inv_freq`).
    public static func canonicalName(_ stored: String) -> String? {
        if stored.hasSuffix("inv_freq") { return nil }
        if stored == "lm_head.weight" { return "language_model.lm_head.weight" }
        if stored.hasPrefix("visual.") { return stored }
        if stored.hasPrefix("model.visual.") { return String(stored.dropFirst("model.".count)) }
        if stored.hasPrefix("model.language_model.") { return "language_model.model." + stored.dropFirst("model.language_model.".count) }
        if stored.hasPrefix("model.") { return "language_model." + stored }
        return stored
    }

    /// Throws `ModelError.mixedWeightLayouts` when the decoder's keys mix `model.language_model.*` and
    /// `model.*`, or the tower's `visual.*` and `model.visual.*`.
    public static func checkSingleLayout(_ stored: [String]) throws {
        func mixed(_ a: (String) -> Bool, _ b: (String) -> Bool) throws {
            if let x = stored.first(where: a), let y = stored.first(where: b) {
                throw ModelError.mixedWeightLayouts("'\(x)' and '\(y)' come from two Qwen2.5-VL key layouts")
            }
        }
        try mixed({ $0.hasPrefix("model.language_model.") },
                  { $0.hasPrefix("model.") && !$0.hasPrefix("model.language_model.") && !$0.hasPrefix("model.visual.") })
        try mixed({ $0.hasPrefix("visual.") }, { $0.hasPrefix("model.visual.") })
    }
}

extension WeightNaming {
    /// Qwen2.5-VL's layouts (`Qwen25VLWeightNames`).
    public static let qwen25VL = WeightNaming(canonicalName: Qwen25VLWeightNames.canonicalName,
                                              checkSingleLayout: Qwen25VLWeightNames.checkSingleLayout)
}
