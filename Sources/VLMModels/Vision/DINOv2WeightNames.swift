/// Maps the on-disk key layout of a Hugging Face `Dinov2Model` checkpoint (facebook/dinov2-* on the hub, and what
/// transformers 5 `save_pretrained` writes) onto the canonical vision tower names `VisionTower` asks for under
/// `vision_tower.vision_model`.
public enum DINOv2WeightNames {
    /// The canonical prefix the tower is loaded under.
    public static let prefix = "vision_tower.vision_model"

    /// The canonical name of a stored `Dinov2Model` key, or nil when it is not one.
    public static func canonicalName(_ stored: String) -> String? {
        let fixed = ["embeddings.cls_token": "embeddings.class_embedding", "embeddings.mask_token": "embeddings.mask_token",
                     "embeddings.position_embeddings": "embeddings.position_embedding.weight",
                     "embeddings.patch_embeddings.projection.weight": "embeddings.patch_embedding.weight",
                     "embeddings.patch_embeddings.projection.bias": "embeddings.patch_embedding.bias",
                     "layernorm.weight": "post_layernorm.weight", "layernorm.bias": "post_layernorm.bias"]
        if let name = fixed[stored] { return "\(prefix).\(name)" }
        let parts = stored.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "encoder", parts[1] == "layer", let layer = Int(parts[2]), String(layer) == parts[2] else {
            return nil
        }
        let modules = ["norm1.weight": "layer_norm1.weight", "norm1.bias": "layer_norm1.bias",
                       "norm2.weight": "layer_norm2.weight", "norm2.bias": "layer_norm2.bias",
                       "attention.attention.query.weight": "self_attn.q_proj.weight", "attention.attention.query.bias": "self_attn.q_proj.bias",
                       "attention.attention.key.weight": "self_attn.k_proj.weight", "attention.attention.key.bias": "self_attn.k_proj.bias",
                       "attention.attention.value.weight": "self_attn.v_proj.weight", "attention.attention.value.bias": "self_attn.v_proj.bias",
                       "attention.output.dense.weight": "self_attn.out_proj.weight", "attention.output.dense.bias": "self_attn.out_proj.bias",
                       "layer_scale1.lambda1": "layer_scale1.lambda1", "layer_scale2.lambda1": "layer_scale2.lambda1",
                       "mlp.fc1.weight": "mlp.fc1.weight", "mlp.fc1.bias": "mlp.fc1.bias",
                       "mlp.fc2.weight": "mlp.fc2.weight", "mlp.fc2.bias": "mlp.fc2.bias"]
        return modules[String(parts[3])].map { "\(prefix).encoder.layers.\(layer).\($0)" }
    }

    /// The naming for `CheckpointWeights`: keys outside the layout are refused by name.
    public static let naming = WeightNaming(canonicalName: { canonicalName($0) ?? "unknown.\($0)" }, checkSingleLayout: { _ in })
}
