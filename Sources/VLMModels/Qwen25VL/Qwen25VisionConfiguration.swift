import TensorCore

/// Qwen2.5-VL's vision transformer (`vision_config`): 14-px patches over two temporal copies, 2-D rotary
/// positions, window attention with a few full-attention blocks, RMSNorm and SwiGLU blocks, and the 2x2
/// PatchMerger to the language model's width. Absent keys take `Qwen2_5_VLVisionConfig`'s defaults.
public struct Qwen25VisionConfiguration: Sendable, Equatable {
    /// Blocks (`depth`).
    public var depth: Int
    /// Width of the residual stream (`hidden_size`).
    public var hiddenSize: Int
    /// Attention heads (`num_heads`).
    public var headCount: Int
    /// Width of the SwiGLU MLP (`intermediate_size`).
    public var intermediateSize: Int
    /// Patch side in pixels (`patch_size`, or the hub's `spatial_patch_size`).
    public var patchSize: Int
    /// Frames per patch (`temporal_patch_size`; a still image is repeated).
    public var temporalPatchSize: Int
    /// Side of the square of patches the merger joins (`spatial_merge_size`).
    public var spatialMergeSize: Int
    /// Side of an attention window in pixels (`window_size`).
    public var windowSize: Int
    /// 0-based blocks that attend over the whole image (`fullatt_block_indexes`); the others attend per window.
    public var fullAttentionBlocks: [Int]
    /// The merger's output width, the language model's hidden size (`out_hidden_size`).
    public var outputHiddenSize: Int
    /// Input channels (`in_chans`, or transformers 5's `in_channels`).
    public var channelCount: Int
    /// MLP gate activation (`hidden_act`).
    public var activation: Activation

    /// Width of one attention head.
    public var headDimension: Int { hiddenSize / headCount }
    /// Values in one patch row of `pixel_values`: channels · temporal copies · patch².
    public var patchValues: Int { channelCount * temporalPatchSize * patchSize * patchSize }
    /// Patches one merged token joins.
    public var mergeUnit: Int { spatialMergeSize * spatialMergeSize }
    /// Pixel side of one merged token (28 for Qwen2.5-VL).
    public var mergedTokenSide: Int { patchSize * spatialMergeSize }
    /// Merged units per window side (`window_size / merge / patch`, 4 for Qwen2.5-VL).
    public var windowUnits: Int { windowSize / spatialMergeSize / patchSize }

    /// Reads `vision_config`.
    /// - Throws: `ModelError.invalidConfiguration` for a non-integer, out-of-bound or inconsistent size, an
    ///   unsupported activation or a full-attention block outside the tower.
    static func decode(_ v: JSONValue, path: String) throws -> Qwen25VisionConfiguration {
        func invalid(_ reason: String) -> ModelError { .invalidConfiguration(path: path, reason: "vision_config." + reason) }
        func integer(_ keys: [String], _ fallback: Int, bound: Int) throws -> Int {
            guard let key = keys.first(where: { v[$0] != nil && !(v[$0]!.isNull) }) else { return fallback }
            guard let n = v[key]!.integer else { throw invalid("\(key) is not an integer") }
            guard (1...bound).contains(n) else { throw invalid("\(key) \(n) is outside 1...\(bound)") }
            return n
        }
        typealias B = ConfigurationBounds
        var c = Qwen25VisionConfiguration(
            depth: try integer(["depth"], 32, bound: B.layers), hiddenSize: try integer(["hidden_size"], 3584, bound: B.width),
            headCount: try integer(["num_heads"], 16, bound: B.heads),
            intermediateSize: try integer(["intermediate_size"], 3420, bound: B.width),
            patchSize: try integer(["patch_size", "spatial_patch_size"], 14, bound: B.imageSide),
            temporalPatchSize: try integer(["temporal_patch_size"], 2, bound: B.channels),
            spatialMergeSize: try integer(["spatial_merge_size"], 2, bound: B.channels),
            windowSize: try integer(["window_size"], 112, bound: B.imageSide), fullAttentionBlocks: [7, 15, 23, 31],
            outputHiddenSize: try integer(["out_hidden_size"], 3584, bound: B.width),
            channelCount: try integer(["in_chans", "in_channels"], 3, bound: B.channels), activation: .silu)
        if let list = v["fullatt_block_indexes"], !list.isNull {
            guard let values = list.array?.map(\.integer), values.allSatisfy({ $0 != nil }) else {
                throw invalid("fullatt_block_indexes is not a list of integers")
            }
            c.fullAttentionBlocks = values.map { $0! }
        }
        if let act = v["hidden_act"]?.string {
            do { c.activation = try Activation(huggingFaceName: act) } catch { throw invalid("hidden_act '\(act)' is not supported") }
        }
        var problems: [String] = []
        if c.hiddenSize % c.headCount != 0 || c.headDimension % 4 != 0 {
            problems.append("hidden_size \(c.hiddenSize) over num_heads \(c.headCount) must give a head width divisible by 4 (2-D RoPE)")
        }
        if let bad = c.fullAttentionBlocks.first(where: { !(0..<c.depth).contains($0) }) {
            problems.append("fullatt_block_indexes holds \(bad), outside 0..<\(c.depth)")
        }
        if c.windowSize % c.mergedTokenSide != 0 {
            problems.append("window_size \(c.windowSize) is not a multiple of patch_size · spatial_merge_size = \(c.mergedTokenSide)")
        }
        guard problems.isEmpty else { throw invalid(problems.joined(separator: "; ")) }
        return c
    }

    /// FLOPs of the tower before the merger over `patches` patches (2 per multiply-add): the patch embedding,
    /// every block's projections and MLP, and attention over `attendedPairs` (query, key) pairs summed over the
    /// blocks (the merger is the projector, counted apart).
    public func flops(patches: Int, attendedPairs: Int) -> Double {
        let n = Double(patches), d = Double(hiddenSize), m = Double(intermediateSize)
        let perBlock = 2 * n * d * 3 * d + 2 * n * d * d + 2 * n * d * m * 3
        return 2 * n * Double(patchValues) * d + Double(depth) * perBlock + 4 * Double(attendedPairs) * d
    }
}
