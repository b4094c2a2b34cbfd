import TensorCore

/// The weights of a GGUF file under the canonical names the library's loaders ask for: a `llama` text model
/// (`language_model.model.layers.{i}.self_attn.q_proj.weight`, …) with llama.cpp's converter undone — the rows of
/// `attn_q` and `attn_k`, which `convert_hf_to_gguf.py` reorders from rotate-half to interleaved-pair RoPE, put back
/// in Hugging Face order — or a LLaVA `mmproj` file (`vision_tower.vision_model.*`, `multi_modal_projector.*`).
/// GGUF's contiguous-first dimensions are reversed into PyTorch's `[out, in]`. Matrices are dequantised row panel by
/// row panel into the chosen precision; quantised types load as BF16 under `.checkpoint`.
public struct GGUFWeights: WeightSource {
    private let file: GGUFFile
    /// Canonical name → GGUF name.
    private let storedName: [String: String]
    /// Heads by GGUF name for the tensors whose rows are permuted (`attn_q`: heads, `attn_k`: key-value heads).
    private let permutedHeads: [String: Int]
    private var consumed: Set<String> = []
    /// The precision matrices are packed in.
    public let precision: LoadPrecision

    /// Indexes the tensors of `file` (a `llama` text model with `configuration`).
    /// - Throws: `ModelError.invalidConfiguration` for a tensor name that is not part of a llama text model.
    public init(file: GGUFFile, configuration: LlamaConfiguration, precision: LoadPrecision = .checkpoint) throws {
        var heads: [String: Int] = [:]
        for name in file.tensorNames {
            if name.hasSuffix(".attn_q.weight") { heads[name] = configuration.headCount }
            if name.hasSuffix(".attn_k.weight") { heads[name] = configuration.kvHeadCount }
        }
        try self.init(file: file, naming: Self.canonicalName, what: "a llama text model", permutedHeads: heads, precision: precision)
    }

    /// Indexes the tensors of a LLaVA `mmproj` file as llama.cpp's `convert_image_encoder_to_gguf.py` writes it
    /// (`v.*`: the CLIP tower without `post_layernorm`, its layers cut after the feature layer; `mm.0`, `mm.2`:
    /// the MLP projector) under the canonical `vision_tower.vision_model.*` and `multi_modal_projector.*` names.
    /// Nothing is permuted.
    /// - Throws: `ModelError.invalidConfiguration` for a tensor name that is not part of such a file.
    public init(mmproj file: GGUFFile, precision: LoadPrecision = .checkpoint) throws {
        try self.init(file: file, naming: Self.mmprojCanonicalName, what: "a LLaVA mmproj (CLIP tower and MLP projector)",
                      permutedHeads: [:], precision: precision)
    }

    private init(file: GGUFFile, naming: (String) -> String?, what: String, permutedHeads: [String: Int],
                 precision: LoadPrecision) throws {
        var map: [String: String] = [:]
        for name in file.tensorNames {
            guard let canonical = naming(name) else {
                throw ModelError.invalidConfiguration(path: file.path, reason: "tensor '\(name)' is not part of \(what)")
            }
            map[canonical] = name
        }
        self.file = file
        storedName = map
        self.permutedHeads = permutedHeads
        self.precision = precision
    }

    /// Whether canonical tensor `name` is in this file.
    public func holds(_ name: String) -> Bool { storedName[name] != nil }

    /// The canonical name of an mmproj tensor name, nil when it is not one. llama.cpp's converter names CLIP's
    /// `mlp.fc1` `ffn_down` and `mlp.fc2` `ffn_up`.
    static func mmprojCanonicalName(_ name: String) -> String? {
        let tower = "vision_tower.vision_model"
        let global = ["v.class_embd": "\(tower).embeddings.class_embedding", "v.patch_embd.weight": "\(tower).embeddings.patch_embedding.weight",
                      "v.position_embd.weight": "\(tower).embeddings.position_embedding.weight",
                      "v.pre_ln.weight": "\(tower).pre_layrnorm.weight", "v.pre_ln.bias": "\(tower).pre_layrnorm.bias",
                      "mm.0.weight": "multi_modal_projector.linear_1.weight", "mm.0.bias": "multi_modal_projector.linear_1.bias",
                      "mm.2.weight": "multi_modal_projector.linear_2.weight", "mm.2.bias": "multi_modal_projector.linear_2.bias"]
        if let canonical = global[name] { return canonical }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "v", parts[1] == "blk", let layer = Int(parts[2]), layer >= 0, String(layer) == parts[2] else { return nil }
        let modules = ["attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_out": "self_attn.out_proj",
                       "ln1": "layer_norm1", "ln2": "layer_norm2", "ffn_down": "mlp.fc1", "ffn_up": "mlp.fc2"]
        guard let module = modules[String(parts[3])], ["weight", "bias"].contains(parts[4]) else { return nil }
        return "\(tower).encoder.layers.\(layer).\(module).\(parts[4])"
    }

    /// The canonical name of a llama GGUF tensor name, nil when it is not one.
    static func canonicalName(_ name: String) -> String? {
        let global = ["token_embd.weight": "language_model.model.embed_tokens.weight",
                      "output_norm.weight": "language_model.model.norm.weight",
                      "output.weight": "language_model.lm_head.weight"]
        if let canonical = global[name] { return canonical }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, String(layer) == parts[1] else { return nil }
        let modules = ["attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
                       "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                       "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
                       "ffn_down": "mlp.down_proj"]
        guard let module = modules[String(parts[2])], ["weight", "bias"].contains(parts[3]) else { return nil }
        return "language_model.model.layers.\(layer).\(module).\(parts[3])"
    }

    public mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let stored = try locate(name, shape: shape)
        defer { file.releasePages(of: stored) }
        return try finite(try file.floatTensor(stored), name: stored)
    }

    public mutating func matrix(_ names: [String], rowCounts: [Int], inputs: Int) throws -> PackedMatrix {
        let stored = try zip(names, rowCounts).map { try locate($0.0, shape: [$0.1, inputs]) }
        defer { for name in stored { file.releasePages(of: name) } }
        let type = try file.info(stored.first ?? "").type
        return try packStacked(names: stored, rowCounts: rowCounts, inputs: inputs, precision: precision.resolved(for: type)) { part, rows, out in
            let name = stored[part]
            guard let heads = permutedHeads[name] else { return try file.readRows(name, rows, into: out) }
            let headWidth = rowCounts[part] / heads
            for (k, row) in rows.enumerated() {
                let stored = Self.ggufRow(row, headWidth: headWidth)
                try file.readRows(name, stored..<(stored + 1), into: out + k * inputs)
            }
        }
    }

    /// The GGUF row holding Hugging Face row `row` of a q/k projection with heads of `headWidth` rows: inside a
    /// head, HF row `i` (first half) is GGUF row `2i`, HF row `headWidth/2 + i` is GGUF row `2i + 1`.
    static func ggufRow(_ row: Int, headWidth: Int) -> Int {
        let head = row / headWidth, i = row % headWidth, half = headWidth / 2
        return head * headWidth + (i < half ? 2 * i : 2 * (i - half) + 1)
    }

    /// The GGUF name of canonical tensor `name`, checked against `shape` and marked consumed.
    private mutating func locate(_ name: String, shape: [Int]) throws -> String {
        guard let stored = storedName[name] else { throw ModelError.missingTensor(name: name) }
        let info = try file.info(stored)
        guard info.shape == shape else { throw ModelError.tensorShapeMismatch(name: stored, expected: shape, actual: info.shape) }
        if let heads = permutedHeads[stored], shape[0] % heads != 0 || (shape[0] / heads) % 2 != 0 {
            throw ModelError.tensorShapeMismatch(name: stored, expected: [heads * 2, shape[1]], actual: info.shape)
        }
        consumed.insert(name)
        return stored
    }

    /// Throws `ModelError.unusedTensors` naming the GGUF tensors the model never requested.
    public func verifyAllConsumed() throws {
        let unused = storedName.filter { !consumed.contains($0.key) }.map(\.value).sorted()
        guard unused.isEmpty else { throw ModelError.unusedTensors(names: unused) }
    }
}
