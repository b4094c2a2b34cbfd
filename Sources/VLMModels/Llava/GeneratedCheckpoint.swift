import Foundation
import TensorCore

/// A checkpoint folder with generated weights (`GeneratedWeights`) for a configuration, written as a user's
/// download would look: `config.json`, llava-hf tensor names, F32/F16/BF16, sharded into
/// `model-0000i-of-0000n.safetensors` with `model.safetensors.index.json`. Tensors are generated and written
/// one at a time, so a 7B-shaped checkpoint can be written with about one tensor in memory.
public enum GeneratedCheckpoint {
    /// One tensor of a checkpoint: its classic llava-hf name and shape.
    public struct Entry: Sendable, Equatable {
        /// Tensor name, e.g. `language_model.model.layers.0.self_attn.q_proj.weight`.
        public var name: String
        /// Tensor shape.
        public var shape: [Int]
    }

    /// Every tensor a LLaVA-style checkpoint of `c` holds, in the order the model consumes them: `image_newline`
    /// for any-resolution families, the tower's family's embeddings, Qwen2's q/k/v biases.
    public static func entries(for c: LlavaConfiguration) -> [Entry] {
        var e: [Entry] = []
        let v = c.vision, vh = v.hiddenSize, vp = "vision_tower.vision_model"
        func norm(_ prefix: String, _ width: Int) {
            e += [Entry(name: prefix + ".weight", shape: [width]), Entry(name: prefix + ".bias", shape: [width])]
        }
        func linear(_ prefix: String, _ inputs: Int, _ outputs: Int, bias: Bool) {
            e.append(Entry(name: prefix + ".weight", shape: [outputs, inputs]))
            if bias { e.append(Entry(name: prefix + ".bias", shape: [outputs])) }
        }
        if c.isAnyResolution { e.append(Entry(name: "image_newline", shape: [c.text.hiddenSize])) }
        e.append(Entry(name: "\(vp).embeddings.patch_embedding.weight", shape: [vh, v.channelCount, v.patchSize, v.patchSize]))
        if v.family.hasPatchBias { e.append(Entry(name: "\(vp).embeddings.patch_embedding.bias", shape: [vh])) }
        if v.hasClassToken { e.append(Entry(name: "\(vp).embeddings.class_embedding", shape: [vh])) }
        e.append(Entry(name: "\(vp).embeddings.position_embedding.weight", shape: [v.tokenCount, vh]))
        if v.family.hasPreLayerNorm { norm("\(vp).pre_layrnorm", vh) }
        for i in 0..<v.layerCount {
            let p = "\(vp).encoder.layers.\(i)"
            norm("\(p).layer_norm1", vh)
            for part in ["q_proj", "k_proj", "v_proj", "out_proj"] { linear("\(p).self_attn.\(part)", vh, vh, bias: true) }
            norm("\(p).layer_norm2", vh)
            linear("\(p).mlp.fc1", vh, v.intermediateSize, bias: true)
            linear("\(p).mlp.fc2", v.intermediateSize, vh, bias: true)
        }
        norm("\(vp).post_layernorm", vh)
        let t = c.text, h = t.hiddenSize, d = t.headDimension, lp = "language_model.model"
        linear("multi_modal_projector.linear_1", vh, h, bias: c.projectorBias)
        linear("multi_modal_projector.linear_2", h, h, bias: c.projectorBias)
        e.append(Entry(name: "\(lp).embed_tokens.weight", shape: [t.vocabularySize, h]))
        for i in 0..<t.layerCount {
            let p = "\(lp).layers.\(i)"
            e.append(Entry(name: "\(p).input_layernorm.weight", shape: [h]))
            linear("\(p).self_attn.q_proj", h, t.headCount * d, bias: t.queryKeyValueBias)
            linear("\(p).self_attn.k_proj", h, t.kvHeadCount * d, bias: t.queryKeyValueBias)
            linear("\(p).self_attn.v_proj", h, t.kvHeadCount * d, bias: t.queryKeyValueBias)
            linear("\(p).self_attn.o_proj", t.headCount * d, h, bias: false)
            e.append(Entry(name: "\(p).post_attention_layernorm.weight", shape: [h]))
            linear("\(p).mlp.gate_proj", h, t.intermediateSize, bias: false)
            linear("\(p).mlp.up_proj", h, t.intermediateSize, bias: false)
            linear("\(p).mlp.down_proj", t.intermediateSize, h, bias: false)
        }
        e.append(Entry(name: "\(lp).norm.weight", shape: [h]))
        if !t.tieWordEmbeddings { e.append(Entry(name: "language_model.lm_head.weight", shape: [t.vocabularySize, h])) }
        return e
    }

    /// Writes `config.json` and generated weights (seed `seed`) stored as `dtype` into `directory`, in shards of at
    /// most `maxShardBytes` of tensor data (a single larger tensor gets its own shard). The folder must be new,
    /// empty, or an earlier generated checkpoint (its `markerFileName` file), so no other file is ever overwritten.
    /// - Parameter progress: called after each tensor with the bytes written so far and the total.
    /// - Throws: `ModelError.invalidInput` for a dtype other than F32/F16/BF16, a non-positive shard size, or a
    ///   folder holding other files (before anything is written); `ModelError.fileUnwritable` naming the file and
    ///   the system's reason when a file or the folder cannot be written.
    public static func write(
        configuration: LlavaConfiguration, to directory: URL, dtype: SafetensorsDType = .bf16, seed: UInt64 = 1,
        maxShardBytes: Int = 5_000_000_000, progress: (_ written: Int, _ total: Int) -> Void = { _, _ in }
    ) throws {
        guard [.f32, .f16, .bf16].contains(dtype) else {
            throw ModelError.invalidInput("generated checkpoints are F32, F16 or BF16, not \(dtype.rawValue)")
        }
        guard maxShardBytes > 0 else { throw ModelError.invalidInput("shard size must be positive, got \(maxShardBytes)") }
        try configuration.validate()
        try claim(directory)
        let entries = entries(for: configuration)
        func bytes(_ e: Entry) -> Int { e.shape.reduce(1, *) * dtype.byteSize }
        var shards: [[Entry]] = [[]]
        var shardBytes = 0
        for e in entries {
            if !shards[shards.count - 1].isEmpty && shardBytes + bytes(e) > maxShardBytes {
                shards.append([])
                shardBytes = 0
            }
            shards[shards.count - 1].append(e)
            shardBytes += bytes(e)
        }
        try RegularFile.write(try configuration.jsonData(), to: directory.appendingPathComponent("config.json"))
        let total = entries.reduce(0) { $0 + bytes($1) }
        var weights = GeneratedWeights(seed: seed)
        var written = 0
        var weightMap: [String: String] = [:]
        for (index, shard) in shards.enumerated() {
            let fileName = shards.count == 1 ? "model.safetensors"
                : String(format: "model-%05d-of-%05d.safetensors", index + 1, shards.count)
            let url = directory.appendingPathComponent(fileName)
            guard FileManager.default.createFile(atPath: url.path, contents: nil),
                  let handle = try? FileHandle(forWritingTo: url) else {
                throw ModelError.fileUnwritable(path: url.path, reason: "cannot create the file")
            }
            defer { try? handle.close() }
            func append(_ data: Data) throws {
                do { try handle.write(contentsOf: data) } catch {
                    throw ModelError.fileUnwritable(path: url.path, reason: RegularFile.systemReason(error))
                }
            }
            try append(SafetensorsWriter.header(for: shard.map { ($0.name, dtype, $0.shape) }, metadata: ["format": "pt"]))
            for e in shard {
                let tensor = try weights.tensor(e.name, shape: e.shape)
                try append(try SafetensorsWriter.payload(tensor, as: dtype))
                weightMap[e.name] = fileName
                written += bytes(e)
                progress(written, total)
            }
        }
        if shards.count > 1 {
            let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
            try RegularFile.write(try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys]),
                          to: directory.appendingPathComponent("model.safetensors.index.json"))
        }
    }

    /// The file that marks a folder as written by `write`: the writer replaces only folders it made.
    public static let markerFileName = ".vtp-generated-checkpoint"

    /// Whether `directory` holds a checkpoint `write` made (its marker file).
    public static func isGenerated(_ directory: URL) -> Bool {
        RegularFile.isPresent(directory.appendingPathComponent(markerFileName))
    }

    /// Makes `directory` the writer's: creates it (with its marker) when absent or empty, accepts it when it holds
    /// the marker, and refuses anything else, before a byte is written.
    /// - Throws: `ModelError.invalidInput` naming the folder and some of what it holds.
    private static func claim(_ directory: URL) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw ModelError.invalidInput("\(directory.path) is a file, not a folder for a generated checkpoint") }
            let listing = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            guard listing.isEmpty || listing.contains(markerFileName) else {
                throw ModelError.invalidInput(
                    "\(directory.path) holds other files (\(listing.sorted().prefix(3).joined(separator: ", "))\(listing.count > 3 ? ", …" : "")) and no \(markerFileName): a generated checkpoint is written only into a new or empty folder, or over an earlier generated one")
            }
        } else {
            do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                throw ModelError.fileUnwritable(path: directory.path, reason: "cannot create the folder: \(RegularFile.systemReason(error))")
            }
        }
        try RegularFile.write(Data("written by GeneratedCheckpoint.write; replaced by the next write\n".utf8),
                      to: directory.appendingPathComponent(markerFileName))
    }
}
