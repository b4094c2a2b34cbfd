import Foundation
import TensorCore

extension LlavaModel {
    /// Loads a LLaVA-1.5 model from the GGUF pair llama.cpp runs (`llama-mtmd-cli -m TEXT --mmproj MMPROJ`): a
    /// `llama` text model and an `mmproj` file with the CLIP tower and the MLP projector, as llama.cpp's converters
    /// write them (`convert_hf_to_gguf.py`, `convert_image_encoder_to_gguf.py --llava-projector`). The tower ends at
    /// its feature layer (the converter drops the rest), whose patches (no [CLS]) feed the projector; images are
    /// preprocessed as CLIP does at `clip.vision.image_size` with the file's mean and std.
    /// - Parameters:
    ///   - imageTokenId: the id of the image placeholder; by default the text file's `<image>` token.
    /// - Throws: `ModelError.invalidConfiguration` naming the file and key for another architecture or projector,
    ///   any-resolution metadata (LLaVA-NeXT pairs are not read yet), a missing key or no `<image>` token; what
    ///   `LlamaConfiguration(gguf:)` and the weights throw.
    public init(gguf text: URL, mmproj: URL, imageTokenId: Int? = nil, weights precision: LoadPrecision = .checkpoint) throws {
        let textFile = try GGUFFile(url: text), visionFile = try GGUFFile(url: mmproj)
        func fail(_ reason: String) -> ModelError { .invalidConfiguration(path: visionFile.path, reason: reason) }
        guard visionFile.metadata["general.architecture"]?.string == "clip",
              visionFile.metadata["clip.has_vision_encoder"]?.bool == true,
              visionFile.metadata["clip.has_llava_projector"]?.bool == true else {
            throw fail("not a LLaVA mmproj file (general.architecture 'clip' with a vision encoder and a llava projector)")
        }
        let projector = visionFile.metadata["clip.projector_type"]?.string ?? "mlp"
        guard projector == "mlp" else { throw fail("clip.projector_type '\(projector)' is not supported (mlp is)") }
        for key in ["clip.vision.image_grid_pinpoints", "clip.vision.mm_patch_merge_type", "clip.vision.feature_layer"]
        where visionFile.metadata[key] != nil {
            throw fail("\(key) is set: any-resolution (LLaVA-NeXT) mmproj files are not supported yet")
        }
        func integer(_ key: String) throws -> Int { try visionFile.integer("clip.vision." + key) }
        func triple(_ key: String) throws -> [Float] {
            guard let values = visionFile.metadata["clip.vision." + key]?.array?.compactMap(\.number), values.count == 3 else {
                throw fail("clip.vision.\(key) must be 3 numbers")
            }
            return values.map(Float.init)
        }
        guard case .float(let eps, _)? = visionFile.metadata["clip.vision.attention.layer_norm_epsilon"] else {
            throw fail("clip.vision.attention.layer_norm_epsilon must be a float")
        }
        let vision = VisionTowerConfiguration(
            hiddenSize: try integer("embedding_length"), intermediateSize: try integer("feed_forward_length"),
            layerCount: try integer("block_count"), headCount: try integer("attention.head_count"),
            imageSize: try integer("image_size"), patchSize: try integer("patch_size"),
            activation: visionFile.metadata["clip.use_gelu"]?.bool == true ? .gelu : .quickGelu, layerNormEps: Float(eps))
        let image = try imageTokenId ?? {
            guard let id = textFile.metadata["tokenizer.ggml.tokens"]?.array?.firstIndex(of: .string("<image>")) else {
                throw ModelError.invalidConfiguration(path: textFile.path, reason: "no <image> token in tokenizer.ggml.tokens; pass imageTokenId")
            }
            return id
        }()
        let configuration = LlavaConfiguration(vision: vision, text: try LlamaConfiguration(gguf: textFile), imageTokenId: image,
                                               visionFeatureLayer: -1, visionFeatureSelection: .patchesOnly)
        try configuration.validate(path: visionFile.path)
        var processor = CLIPImageProcessor(size: vision.imageSize)
        processor.mean = try triple("image_mean")
        processor.std = try triple("image_std")
        guard processor.std.allSatisfy({ $0 > 0 }) else { throw fail("clip.vision.image_std must be positive") }
        var weights = GGUFPairWeights(text: try GGUFWeights(file: textFile, configuration: configuration.text, precision: precision),
                                      vision: try GGUFWeights(mmproj: visionFile, precision: precision))
        try self.init(configuration: configuration, weights: &weights, imageProcessor: .singleView(processor))
        try weights.text.verifyAllConsumed()
        try weights.vision.verifyAllConsumed()
    }
}

/// The weights of a GGUF pair: each canonical name from the file that holds it.
struct GGUFPairWeights: WeightSource {
    var text: GGUFWeights
    var vision: GGUFWeights

    mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        vision.holds(name) ? try vision.tensor(name, shape: shape) : try text.tensor(name, shape: shape)
    }

    mutating func matrix(_ names: [String], rowCounts: [Int], inputs: Int) throws -> PackedMatrix {
        names.first.map(vision.holds) == true
            ? try vision.matrix(names, rowCounts: rowCounts, inputs: inputs) : try text.matrix(names, rowCounts: rowCounts, inputs: inputs)
    }
}
