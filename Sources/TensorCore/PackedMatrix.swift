/// A weight matrix `W [outputs, inputs]` (PyTorch linear layout) stored once, in a chosen `WeightPrecision`,
/// in the SIMD GEMM's panel layout: groups of 16 outputs interleaved along the inputs
/// (`[outputs/16][inputs][16]`, zero-padded), plus one Float32 scale per output for `int8`, or one IEEE half
/// scale per 32 inputs of each output for `int4` (`[outputs/16][groups][16]`).
///
/// Products read the panels directly and widen them to Float32 in registers, so a 16-bit matrix costs half
/// the memory and half the bandwidth of a Float32 one, with no second copy. Packing also skips the per-call
/// packing of the weights, which otherwise costs a sizeable part of products with few rows (pruned
/// prefills, decoding).
public struct PackedMatrix: Sendable, Equatable {
    /// Output features (rows of W).
    public let outputs: Int
    /// Input features (columns of W).
    public let inputs: Int
    /// How the values are stored.
    public let precision: WeightPrecision
    /// Panel storage, `ceil(outputs / 16) · depth · 16` values of `precision` (depth = inputs, rounded up to
    /// even for bfloat16, whose panels interleave pairs of steps, and to whole groups of 32 for int4).
    let panels: PanelBytes
    /// `int8`: `ceil(outputs / 16) · 16` Float32 scales, zero for padding outputs. `int4`: IEEE half group
    /// scales, `[ceil(outputs / 16)][depth / 32][16]`.
    let scales: PanelBytes?

    /// Packs `weight [outputs, inputs]` in `precision` (rounded to nearest even; see `WeightPrecision`).
    /// - Throws: `TensorError.invalidArgument` unless `weight` is 2-D; `.nonFinite` for NaN or infinite values,
    ///   or values that round to infinity in `.f16` (beyond ±65504) or `.bf16`.
    public init(_ weight: Tensor, precision: WeightPrecision = .f32) throws {
        guard weight.shape.rank == 2 else {
            throw TensorError.invalidArgument(operation: "PackedMatrix", reason: "needs a 2-D weight, got \(weight.shape)")
        }
        let k = weight.shape[1]
        try self.init(outputs: weight.shape[0], inputs: k, precision: precision) { rows, out in
            weight.withUnsafeBufferPointer { w in
                out.update(from: w.baseAddress! + rows.lowerBound * k, count: rows.count * k)
            }
        }
    }

    /// Packs a matrix whose rows are produced on demand, 16 at a time, so a caller can convert straight from
    /// a memory-mapped checkpoint (or several stacked ones) with no whole-matrix Float32 copy.
    /// - Parameter rows: writes rows `range` of W as Float32, `[range.count, inputs]` contiguous, into the pointer.
    /// - Throws: `TensorError.invalidArgument` for negative sizes; `.nonFinite` (flat index into W) for NaN,
    ///   infinite values, or values that round to infinity in `.f16` or `.bf16`; anything `rows` throws.
    public init(
        outputs: Int, inputs: Int, precision: WeightPrecision,
        rows: (_ range: Range<Int>, _ into: UnsafeMutablePointer<Float>) throws -> Void
    ) throws {
        guard outputs >= 0, inputs >= 0 else {
            throw TensorError.invalidArgument(operation: "PackedMatrix", reason: "negative size \(outputs) x \(inputs)")
        }
        let nr = SIMDGemm.nr, k = inputs, depth = SIMDGemm.panelDepth(inputs, precision)
        let (panelSteps, stepsOverflow) = ((outputs + nr - 1) / nr).multipliedReportingOverflow(by: depth)
        let (byteCount, bytesOverflow) = panelSteps.multipliedReportingOverflow(by: precision.panelStepBytes)
        guard !stepsOverflow, !bytesOverflow, depth <= Int.max / nr else {
            throw TensorError.invalidArgument(operation: "PackedMatrix", reason: "size \(outputs) x \(inputs) overflows")
        }
        self.outputs = outputs
        self.inputs = inputs
        self.precision = precision
        let panels = PanelBytes(zeroedCount: byteCount)
        let groups = depth / WeightPrecision.int4GroupSize
        let scales: PanelBytes? = switch precision {
        case .int8: PanelBytes(zeroedCount: (outputs + nr - 1) / nr * nr * 4)
        case .int4: PanelBytes(zeroedCount: (outputs + nr - 1) / nr * groups * nr * 2)
        default: nil
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, nr * k))
        defer { scratch.deallocate() }
        var start = 0
        while start < outputs {
            let live = min(nr, outputs - start)
            try rows(start..<(start + live), scratch)
            if live < nr { (scratch + live * k).update(repeating: 0, count: (nr - live) * k) }
            try PanelPacking.checkFinite(scratch, rows: live, inputs: k, precision: precision, firstRow: start)
            let destination = panels.pointer + (start / nr) * depth * precision.panelStepBytes
            switch precision {
            case .f32: PanelPacking.packFloat32(scratch, inputs: k, into: destination)
            case .bf16: PanelPacking.packBFloat16(scratch, inputs: k, into: destination)
            case .f16: PanelPacking.packFloat16(scratch, inputs: k, into: destination)
            case .int8:
                PanelPacking.packInt8(scratch, inputs: k, into: destination,
                                      scales: (scales!.pointer + start * 4).assumingMemoryBound(to: Float.self))
            case .int4:
                PanelPacking.packInt4(scratch, inputs: k, into: destination, groupScales: scales!.pointer + (start / nr) * groups * nr * 2)
            }
            start += nr
        }
        self.panels = panels
        self.scales = scales
    }

    /// Bytes held by the packed values and scales (padding to 16 outputs, and int4's to whole groups, included).
    public var storageBytes: Int { panels.count + (scales?.count ?? 0) }

    /// The matrix in its original `[outputs, inputs]` layout, as the Float32 values the GEMM multiplies by
    /// (16-bit values widened, int8 and int4 values times their scale).
    public func unpacked() -> Tensor {
        rows(Array(0..<outputs))
    }

    /// Rows `rows` of W as Float32 `[rows.count, inputs]` (an embedding lookup: only these rows are converted).
    /// - Throws: `TensorError.indexOutOfRange` for a row outside `0..<outputs`.
    public func gatherRows(_ rows: [Int]) throws -> Tensor {
        if let bad = rows.first(where: { !(0..<outputs).contains($0) }) {
            throw TensorError.indexOutOfRange(operation: "PackedMatrix.gatherRows", index: bad, bound: outputs)
        }
        return self.rows(rows)
    }

    /// Rows `rows` (each in `0..<outputs`) widened to Float32.
    private func rows(_ rows: [Int]) -> Tensor {
        let k = inputs, nr = SIMDGemm.nr, width = precision.bitsPerWeight / 8
        let depth = SIMDGemm.panelDepth(k, precision)
        return Tensor(shape: [rows.count, k]) { out in
            for (i, row) in rows.enumerated() {
                let panel = UnsafeRawPointer(panels.pointer) + (row / nr) * depth * precision.panelStepBytes
                let base = panel + (row % nr) * width
                let dst = out.baseAddress! + i * k
                switch precision {
                case .f32: for p in 0..<k { dst[p] = base.load(fromByteOffset: p * nr * 4, as: Float.self) }
                case .bf16:
                    // Pair-interleaved: step p of output j is half (p & 1) of word j in pair p / 2.
                    let word = panel + (row % nr) * 4
                    for p in 0..<k {
                        let bits = word.load(fromByteOffset: (p / 2) * 64 + (p % 2) * 2, as: UInt16.self)
                        dst[p] = Float(bitPattern: UInt32(bits) << 16)
                    }
                case .f16:
                    for p in 0..<k {
                        let h = UInt32(base.load(fromByteOffset: p * nr * 2, as: UInt16.self))
                        dst[p] = HalfPrecision.widenF16Lanes(SIMD16(repeating: h))[0]
                    }
                case .int8:
                    let scale = UnsafeRawPointer(scales!.pointer).load(fromByteOffset: row * 4, as: Float.self)
                    for p in 0..<k { dst[p] = Float(base.load(fromByteOffset: p * nr, as: Int8.self)) * scale }
                case .int4:
                    // Pair-interleaved: step p of output j is the low (even p) or high (odd p) nibble of byte j of pair p / 2.
                    let groupSize = WeightPrecision.int4GroupSize
                    let groupScales = UnsafeRawPointer(scales!.pointer) + (row / nr) * (depth / groupSize) * nr * 2 + (row % nr) * 2
                    for p in 0..<k {
                        let byte = panel.load(fromByteOffset: (p / 2) * 16 + row % nr, as: UInt8.self)
                        let q = Int(p % 2 == 0 ? byte & 15 : byte >> 4) - 8
                        let bits = groupScales.load(fromByteOffset: (p / groupSize) * nr * 2, as: UInt16.self)
                        dst[p] = Float(q) * HalfPrecision.widenF16Lanes(SIMD16(repeating: UInt32(bits)))[0]
                    }
                }
            }
        }
    }

    /// The per-output scales of an `int8` matrix (nil for other precisions).
    public var int8Scales: [Float]? {
        guard precision == .int8 else { return nil }
        return scales.map { s in (0..<outputs).map { UnsafeRawPointer(s.pointer).load(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    public static func == (lhs: PackedMatrix, rhs: PackedMatrix) -> Bool {
        lhs.outputs == rhs.outputs && lhs.inputs == rhs.inputs && lhs.precision == rhs.precision
            && lhs.panels.hasSameBytes(as: rhs.panels)
            && (lhs.scales == nil) == (rhs.scales == nil)
            && (lhs.scales.map { l in rhs.scales.map { l.hasSameBytes(as: $0) } ?? false } ?? true)
    }
}

extension Tensor {
    /// `self [.., inputs] · Wᵀ (+ bias [outputs])` for a packed weight, computed by the SIMD kernel whatever
    /// the current backend (OpenBLAS cannot read the panel layout).
    /// - Throws: `TensorError.shapeMismatch` when the widths or the bias length disagree.
    public func matmul(_ weight: PackedMatrix, bias: Tensor? = nil) throws -> Tensor {
        let k = shape.last, m = shape.rowCount, n = weight.outputs
        guard shape.rank >= 1, k == weight.inputs else {
            throw TensorError.shapeMismatch(operation: "matmul (packed)", expected: [m, weight.inputs], actual: shape)
        }
        if let bias, bias.shape != [n] {
            throw TensorError.shapeMismatch(operation: "matmul bias", expected: [n], actual: bias.shape)
        }
        let options = ComputeOptions.current
        return Tensor(shape: Shape(shape.dims.dropLast() + [n])) { out in
            withUnsafeBufferPointer { a in
                let c = out.baseAddress!
                if let bias { bias.withUnsafeBufferPointer { Gemm.fillRows(c, rows: m, columns: n, ldc: n, with: $0.baseAddress!) } }
                if k > 0 && m > 0 {
                    SIMDGemm.multiplyPacked(
                        m: m, n: n, k: k, a: a.baseAddress!, lda: k,
                        panels: .init(bytes: UnsafeRawPointer(weight.panels.pointer), precision: weight.precision,
                                      depth: SIMDGemm.panelDepth(k, weight.precision),
                                      scales: weight.precision == .int8
                                        ? weight.scales.map { UnsafePointer($0.pointer.assumingMemoryBound(to: Float.self)) } : nil,
                                      groupScales: weight.precision == .int4 ? weight.scales.map { UnsafeRawPointer($0.pointer) } : nil,
                                      dotProductActivations: options.activations.usesDotProducts(for: weight.precision, rows: m)),
                        c: c, ldc: n, accumulate: bias != nil, threads: options.threads)
                }
            }
        }
    }
}
