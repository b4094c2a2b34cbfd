import Foundation
import TensorCore

// A port of transformers' Qwen2_5_VisionTransformerPretrainedModel (modeling_qwen2_5_vl.py) for still images.

/// What `Qwen25VisionTower.encode` returns, for one image.
public struct Qwen25VisionOutput: Sendable {
    /// The last block's output per merge unit, raster order over the merged grid, the 4 patch rows of a unit
    /// side by side: `[units, 4 · hidden]` (the merger's input before `ln_q`).
    public var unitFeatures: Tensor
    /// Requested blocks' hidden states after the block, window order, `[patches, hidden]`.
    public var blockOutputs: [Int: Tensor]
    /// Requested blocks' attention each patch receives: the head-mean probability summed over every query of
    /// the image (zero across windows), window order `[patches]`.
    public var patchAttentionReceived: [Int: [Float]] = [:]
    /// The same summed over each merge unit's patches, raster order `[units]`.
    public var unitAttentionReceived: [Int: [Float]]
    /// Requested blocks' keys (before the rotary embedding) averaged over the heads and over each unit's
    /// patches, raster order `[units, headDim]`.
    public var unitHeadMeanKeys: [Int: Tensor] = [:]
}

/// Qwen2.5-VL's vision transformer and PatchMerger. Patch embedding (the Conv3d as one GEMM), 2-D rotary
/// positions, blocks of RMSNorm, biased attention (per window, or over the image in `fullAttentionBlocks`) and a
/// biased SwiGLU MLP, then the merger (`ln_q`, 2x2 patches joined, Linear, exact GELU, Linear). Attention runs
/// window by window, so its cost grows with the number of windows, not the square of the patches.
public struct Qwen25VisionTower: Sendable {
    struct Block: Sendable {
        var norm1: RMSNorm
        var qkv: Linear
        var proj: Linear
        var norm2: RMSNorm
        var gateUp: Linear
        var down: Linear
    }

    /// The tower's configuration.
    public let configuration: Qwen25VisionConfiguration
    let patchWeight: Tensor  // [hidden, channels · temporal · patch²]
    let blocks: [Block]
    let mergerNorm: RMSNorm
    let mergerHidden: Linear
    let mergerOutput: Linear
    /// 1 / 10000^(2k / (headDim / 2)) for k < headDim / 4: each axis's frequencies.
    let inverseFrequencies: [Float]

    /// Loads the tower from `weights` (`visual.*`).
    /// - Throws: `ModelError` for missing or mis-shaped tensors.
    public init(configuration c: Qwen25VisionConfiguration, weights: inout some WeightSource) throws {
        configuration = c
        let h = c.hiddenSize, m = c.intermediateSize
        patchWeight = try wrapTensorErrors {
            try weights.tensor("visual.patch_embed.proj.weight", shape: [h, c.channelCount, c.temporalPatchSize, c.patchSize, c.patchSize])
                .reshaped([h, c.patchValues])
        }
        blocks = try (0..<c.depth).map { i in
            let p = "visual.blocks.\(i)"
            return Block(
                norm1: try weights.rmsNorm("\(p).norm1", width: h, eps: 1e-6),
                qkv: try weights.linear("\(p).attn.qkv", inputs: h, outputs: 3 * h, bias: true),
                proj: try weights.linear("\(p).attn.proj", inputs: h, outputs: h, bias: true),
                norm2: try weights.rmsNorm("\(p).norm2", width: h, eps: 1e-6),
                gateUp: try weights.linear(stacking: ["\(p).mlp.gate_proj", "\(p).mlp.up_proj"], inputs: h, outputs: [m, m], bias: true),
                down: try weights.linear("\(p).mlp.down_proj", inputs: m, outputs: h, bias: true))
        }
        let u = c.mergeUnit * h
        mergerNorm = try weights.rmsNorm("visual.merger.ln_q", width: h, eps: 1e-6)
        mergerHidden = try weights.linear("visual.merger.mlp.0", inputs: u, outputs: u, bias: true)
        mergerOutput = try weights.linear("visual.merger.mlp.2", inputs: u, outputs: c.outputHiddenSize, bias: true)
        let quarter = c.headDimension / 4
        inverseFrequencies = (0..<quarter).map { 1 / powf(10000, Float(2 * $0) / Float(2 * quarter)) }
    }

    /// The window partition of an image on `grid`.
    public func windows(for grid: PatchGrid) -> VisionWindowPartition {
        let m = configuration.spatialMergeSize
        return VisionWindowPartition(unitRows: grid.rows / m, unitColumns: grid.columns / m, windowUnits: configuration.windowUnits)
    }

    /// Runs every block on one image's patch rows (`ImageInput.views[0]`, merge-block order).
    /// - Parameters:
    ///   - blockOutputs: blocks whose output to return (window order).
    ///   - attentionReceived: blocks whose attention received per merge unit to return.
    ///   - headMeanKeys: blocks whose keys per merge unit to return.
    /// - Throws: `ModelError.invalidInput` for rows that do not fit the grid or the tower, a grid the merger
    ///   cannot divide, NaN pixels, or block indices out of range.
    public func encode(
        _ image: ImageInput, blockOutputs: Set<Int> = [], attentionReceived: Set<Int> = [], headMeanKeys: Set<Int> = []
    ) throws -> Qwen25VisionOutput {
        let c = configuration, m = c.spatialMergeSize, unit = c.mergeUnit
        guard let grid = image.patchGrid, image.views.count == 1 else {
            throw ModelError.invalidInput("Qwen2.5-VL takes one native-resolution patch grid (Qwen2VLImageProcessor), not square views")
        }
        guard grid.rows % m == 0, grid.columns % m == 0, grid.patchCount > 0 else {
            throw ModelError.invalidInput("a \(grid.rows) x \(grid.columns) patch grid cannot be merged in \(m) x \(m) blocks")
        }
        let pixels = image.views[0]
        guard pixels.shape == [grid.patchCount, c.patchValues] else {
            throw ModelError.invalidInput("patch rows \(pixels.shape), expected [\(grid.patchCount), \(c.patchValues)]")
        }
        if let bad = pixels.firstNonFiniteIndex {
            throw ModelError.invalidInput("pixel value \(bad % c.patchValues) of patch \(bad / c.patchValues) is NaN or infinite")
        }
        if let bad = blockOutputs.union(attentionReceived).union(headMeanKeys).first(where: { !(0..<c.depth).contains($0) }) {
            throw ModelError.invalidInput("vision block \(bad) is outside 0..<\(c.depth)")
        }
        let partition = windows(for: grid)
        // Window order: the units of each window in turn, each unit's patches consecutive.
        let order = partition.windowIndex.flatMap { u in (0..<unit).map { u * unit + $0 } }
        let windowSegments = partition.cumulativePatchLengths(patchesPerUnit: unit)
        var x = try wrapTensorErrors { try embedPatches(pixels).gatherRows(order) }
        let angles = rotaryAngles(grid: grid, order: order)
        var output = Qwen25VisionOutput(unitFeatures: Tensor(zeros: [0]), blockOutputs: [:], unitAttentionReceived: [:])
        for (i, block) in blocks.enumerated() {
            let full = c.fullAttentionBlocks.contains(i)
            let (received, keys) = try run(block, &x, angles: angles, segments: full ? [0, grid.patchCount] : windowSegments,
                                           wantsReceived: attentionReceived.contains(i), wantsKeys: headMeanKeys.contains(i))
            if let bad = x.firstNonFiniteIndex {
                throw ModelError.invalidInput("vision block \(i) produced a NaN or infinite value (patch \(bad / c.hiddenSize))")
            }
            if blockOutputs.contains(i) { output.blockOutputs[i] = x }
            if let received {
                output.patchAttentionReceived[i] = received
                // Sum over each unit's patches (consecutive in window order), then back to raster order.
                let inWindowOrder = (0..<partition.windowIndex.count).map { w in (0..<unit).reduce(Float(0)) { $0 + received[w * unit + $1] } }
                output.unitAttentionReceived[i] = partition.rasterToWindow.map { inWindowOrder[$0] }
            }
            if let keys {
                let d = c.headDimension, units = partition.windowIndex.count
                let perUnit = Tensor(shape: [units, d]) { out in
                    keys.withUnsafeBufferPointer { k in
                        for (u, w) in partition.rasterToWindow.enumerated() {
                            for p in 0..<unit { for j in 0..<d { out[u * d + j] += k[(w * unit + p) * d + j] / Float(unit) } }
                        }
                    }
                }
                output.unitHeadMeanKeys[i] = perUnit
            }
        }
        let rasterRows = partition.rasterToWindow.flatMap { w in (0..<unit).map { w * unit + $0 } }
        output.unitFeatures = try wrapTensorErrors {
            try x.gatherRows(rasterRows).reshaped([grid.patchCount / unit, unit * c.hiddenSize])
        }
        return output
    }

    /// The patch embedding (the Conv3d with kernel = stride, as one GEMM) of patch rows `[patches, values]`, in
    /// their order: `[patches, hidden]`.
    /// - Throws: `ModelError.invalidInput` for rows of the wrong width.
    public func embedPatches(_ patches: Tensor) throws -> Tensor {
        guard patches.shape.rank == 2, patches.shape[1] == configuration.patchValues else {
            throw ModelError.invalidInput("patch rows \(patches.shape), expected [patches, \(configuration.patchValues)]")
        }
        return try wrapTensorErrors { try patches.matmul(patchWeight, transposeOther: true) }
    }

    /// Each patch's (row, column) in the grid, in the processor's merge-block order: the positions the 2-D
    /// rotary embedding reads.
    public func rotaryPositionIds(grid: PatchGrid) -> [(row: Int, column: Int)] {
        let m = configuration.spatialMergeSize, unit = configuration.mergeUnit, unitColumns = grid.columns / m
        return (0..<grid.patchCount).map { patch in
            let u = patch / unit, inner = patch % unit
            return ((u / unitColumns) * m + inner / m, (u % unitColumns) * m + inner % m)
        }
    }

    /// The PatchMerger on merge-unit features `[units, 4 · hidden]`: `ln_q` on each patch's part, Linear, exact
    /// GELU, Linear to the language model's width.
    /// - Throws: `ModelError.invalidInput` for a wrong width.
    public func merge(_ unitFeatures: Tensor) throws -> Tensor {
        let c = configuration, width = c.mergeUnit * c.hiddenSize
        guard unitFeatures.shape.rank == 2, unitFeatures.shape[1] == width else {
            throw ModelError.invalidInput("merge-unit features \(unitFeatures.shape), expected [units, \(width)]")
        }
        let units = unitFeatures.shape[0]
        let normed = try mergerNorm(try wrapTensorErrors { try unitFeatures.reshaped([units * c.mergeUnit, c.hiddenSize]) })
        return try wrapTensorErrors {
            try mergerOutput(try mergerHidden(try normed.reshaped([units, width])).applying(.gelu))
        }
    }

    /// FLOPs of the blocks on one image on `grid` (2 per multiply-add), attention counted per segment.
    public func flops(grid: PatchGrid) -> Double {
        let c = configuration, partition = windows(for: grid), unit = c.mergeUnit
        let windowPairs = partition.windowSizes.reduce(0) { $0 + ($1 * unit) * ($1 * unit) }
        let full = c.fullAttentionBlocks.count, n = grid.patchCount
        return c.flops(patches: n, attendedPairs: full * n * n + (c.depth - full) * windowPairs)
    }

    /// cos and sin of every patch's 2-D rotary angles, in `order` (window order): `[patches, headDim / 2]` each,
    /// slot j < headDim/4 the row times frequency j, the rest the column times frequency j − headDim/4.
    private func rotaryAngles(grid: PatchGrid, order: [Int]) -> (cos: [Float], sin: [Float]) {
        let quarter = inverseFrequencies.count, half = 2 * quarter, ids = rotaryPositionIds(grid: grid)
        var cosines = [Float](repeating: 0, count: order.count * half), sines = cosines
        for (r, patch) in order.enumerated() {
            let (row, column) = ids[patch]
            for j in 0..<half {
                let angle = Float(j < quarter ? row : column) * inverseFrequencies[j % quarter]
                cosines[r * half + j] = cosf(angle)
                sines[r * half + j] = sinf(angle)
            }
        }
        return (cosines, sines)
    }

    /// One block in place on `x [patches, hidden]` (window order); attention within each segment of
    /// `segments` (cumulative patch offsets). Returns, when asked, each patch's head-mean attention summed over
    /// all queries, and its keys before the rotary embedding averaged over the heads `[patches, headDim]`.
    private func run(
        _ block: Block, _ x: inout Tensor, angles: (cos: [Float], sin: [Float]), segments: [Int], wantsReceived: Bool, wantsKeys: Bool
    ) throws -> (received: [Float]?, keys: Tensor?) {
        let c = configuration, h = c.hiddenSize, heads = c.headCount, d = c.headDimension, n = x.shape[0]
        let qkv = try block.qkv(try block.norm1(x))
        var q = try wrapTensorErrors { try qkv.columns(0..<h) }, k = try wrapTensorErrors { try qkv.columns(h..<(2 * h)) }
        let keys = wantsKeys ? try wrapTensorErrors { try EncoderLayer.headMean(k, heads: heads) } : nil
        let v = try wrapTensorErrors { try qkv.columns((2 * h)..<(3 * h)) }
        for i in 0..<2 {
            var target = i == 0 ? q : k
            target.withUnsafeMutableBufferPointer { p in
                angles.cos.withUnsafeBufferPointer { cosines in
                    angles.sin.withUnsafeBufferPointer { sines in
                        for row in 0..<n {
                            RotaryEmbedding.rotateHalf(p.baseAddress! + row * h, heads: heads, headDimension: d,
                                                       cosines: cosines.baseAddress! + row * d / 2, sines: sines.baseAddress! + row * d / 2)
                        }
                    }
                }
            }
            if i == 0 { q = target } else { k = target }
        }
        var attended = Tensor(zeros: [n, h])
        var received = wantsReceived ? [Float](repeating: 0, count: n) : nil
        for (start, end) in zip(segments, segments.dropFirst()) where end > start {
            let rows = start..<end
            let result = try wrapTensorErrors {
                try Attention.scaledDotProduct(query: q.rows(rows), key: k.rows(rows), value: v.rows(rows), heads: heads, kvHeads: heads,
                                               causal: false, probabilities: wantsReceived ? .columnSums : .none)
            }
            attended.withUnsafeMutableBufferPointer { out in
                result.output.withUnsafeBufferPointer { (out.baseAddress! + start * h).update(from: $0.baseAddress!, count: rows.count * h) }
            }
            if let sums = result.probabilities?.scalars { for (i, s) in sums.enumerated() { received![start + i] = s } }
        }
        try wrapTensorErrors { try x.add(try block.proj(attended)) }
        let gateUp = try block.gateUp(try block.norm2(x))
        let m = c.intermediateSize
        let activated = try wrapTensorErrors {
            try gateUp.columns(0..<m).applying(c.activation).multiplying(try gateUp.columns(m..<(2 * m)))
        }
        try wrapTensorErrors { try x.add(try block.down(activated)) }
        return (received, keys)
    }
}
