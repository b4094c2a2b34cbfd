import Foundation
import TensorCore

/// A vision tower loaded on its own, without a language model, with its image preprocessing: a DINOv2 checkpoint
/// folder (`config.json` with `model_type` "dinov2", `model.safetensors` in the hub layout,
/// `preprocessor_config.json` of a `BitImageProcessor`: shortest edge, centre crop, ImageNet mean and std). The
/// tower encodes the crop size, its position table resized from the checkpoint's native grid.
public struct StandaloneVisionTower: Sendable {
    /// The tower (configured for the preprocessor's crop).
    public let tower: VisionTower
    /// Resize, crop and normalisation (`BitImageProcessor` has the same steps as CLIP's processor).
    public let processor: CLIPImageProcessor

    /// Loads the folder, matrices in `weights` precision.
    /// - Throws: `ModelError.invalidConfiguration` naming `config.json` for another model type or unsupported
    ///   settings, or the preprocessor file for a crop that is not square or not a multiple of the patch size;
    ///   `.unusedTensors` (or `.missingTensor`) for a checkpoint of another layout.
    public init(directory: URL, weights precision: LoadPrecision = .checkpoint) throws {
        let configURL = directory.appendingPathComponent("config.json")
        let data = try RegularFile.read(configURL, limit: RegularFile.configurationByteLimit)
        let json = try JSONValue.parseStrict(data, path: configURL.path)
        guard json["model_type"]?.string == VisionTowerFamily.dinov2.rawValue else {
            throw ModelError.invalidConfiguration(
                path: configURL.path, reason: "model_type '\(json["model_type"]?.string ?? "none")' is not a standalone vision tower this library loads (dinov2)")
        }
        var configuration: VisionTowerConfiguration
        do { configuration = try JSONDecoder().decode(VisionTowerConfiguration.self, from: data) } catch let error as DecodingError {
            throw ModelError.invalidConfiguration(path: configURL.path, reason: error.readableReason)
        }
        let processor = try CLIPImageProcessor(directory: directory, defaultSize: 224)
        guard processor.cropWidth == processor.cropHeight, processor.cropWidth % configuration.patchSize == 0 else {
            throw ModelError.invalidConfiguration(
                path: directory.appendingPathComponent("preprocessor_config.json").path,
                reason: "crop \(processor.cropWidth)x\(processor.cropHeight) is not a square multiple of patch_size \(configuration.patchSize)")
        }
        configuration.imageSize = processor.cropWidth
        let problems = configuration.problems()
        guard problems.isEmpty else { throw ModelError.invalidConfiguration(path: configURL.path, reason: problems.joined(separator: "; ")) }
        var source = try CheckpointWeights(checkpoint: SafetensorsCheckpoint(directory: directory), precision: precision,
                                           naming: DINOv2WeightNames.naming)
        tower = try VisionTower(configuration: configuration, weights: &source, prefix: DINOv2WeightNames.prefix)
        try source.verifyAllConsumed()
        self.processor = processor
    }

    /// The [CLS] token's attention to each patch in `layer`, averaged over the heads: `[patches]`, row-major over
    /// the patch grid (the [CLS] column dropped).
    /// - Throws: `ModelError.invalidInput` for pixels of the wrong shape or a layer out of range.
    public func classAttention(pixels: Tensor, layer: Int) throws -> [Float] {
        let output = try tower.encode(pixels: pixels, hiddenStates: [], attentions: [layer: .rows([0])])
        guard let p = output.attentions[layer] else { throw ModelError.invalidInput("no attention for layer \(layer)") }
        let heads = p.shape[0], tokens = p.shape[2], values = p.scalars
        return (1..<tokens).map { t in (0..<heads).reduce(0) { $0 + values[$1 * tokens + t] } / Float(heads) }
    }
}
