/// Maps the checkpoint key layouts LLaVA models are saved in onto one canonical layout, the classic
/// llava-hf one (`vision_tower.vision_model.*`, `multi_modal_projector.*`, `language_model.model.*`,
/// `language_model.lm_head.weight`).
public enum LlavaWeightNames {
    /// The canonical name for a stored key, or nil for buffers that are recomputed rather than loaded
    /// (`rotary_emb.inv_freq`, `position_ids`). Handles the transformers 5 layout (`model.vision_tower.*`,
    /// `model.language_model.*`, `model.multi_modal_projector.*`, `lm_head.weight`) and its hybrid save
    /// format (`vision_tower.embeddings.*`).
    public static func canonicalName(_ stored: String) -> String? {
        if stored.hasSuffix("rotary_emb.inv_freq") || stored.hasSuffix(".position_ids") { return nil }
        var name = stored
        if name == "lm_head.weight" { return "language_model.lm_head.weight" }
        if name.hasPrefix("model.language_model.") {
            return "language_model.model." + name.dropFirst("model.language_model.".count)
        }
        if name.hasPrefix("model.") { name = String(name.dropFirst("model.".count)) }
        if name.hasPrefix("vision_tower."), !name.hasPrefix("vision_tower.vision_model.") {
            return "vision_tower.vision_model." + name.dropFirst("vision_tower.".count)
        }
        return name
    }

    /// The key layouts found among `stored` names, by the two ways they differ: whether top-level modules sit
    /// under `model.` (transformers 5 in memory) and whether the vision tower's keys go through `vision_model.`.
    /// - Throws: `ModelError.mixedWeightLayouts` when one checkpoint mixes both forms of either (a merge of two
    ///   conversions, whose tensors could otherwise load under each other's names).
    public static func checkSingleLayout(_ stored: [String]) throws {
        let modules = stored.filter { canonicalName($0) != nil && $0 != "lm_head.weight" }
        let underModel = modules.filter { $0.hasPrefix("model.") }
        if !underModel.isEmpty && underModel.count < modules.count {
            let other = modules.first { !$0.hasPrefix("model.") }!
            throw ModelError.mixedWeightLayouts("'\(underModel[0])' is under 'model.' but '\(other)' is not")
        }
        let vision = modules.filter { $0.contains("vision_tower.") }
        let throughVisionModel = vision.filter { $0.contains("vision_tower.vision_model.") }
        if !throughVisionModel.isEmpty && throughVisionModel.count < vision.count {
            let other = vision.first { !$0.contains("vision_tower.vision_model.") }!
            throw ModelError.mixedWeightLayouts("'\(throughVisionModel[0])' goes through 'vision_model.' but '\(other)' does not")
        }
    }
}
