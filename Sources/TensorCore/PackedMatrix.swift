/// A weight matrix `W [outputs, inputs]` (PyTorch linear layout) stored once in the SIMD GEMM's panel
/// layout: groups of 16 outputs, interleaved along the inputs (`[outputs/16][inputs][16]`, zero-padded).
///
/// Products with a packed matrix skip the per-call packing of the weights, which otherwise costs as much
/// as a sizeable part of the product when few rows are multiplied (pruned prefills, decoding).
public struct PackedMatrix: Sendable, Equatable {
    /// Output features (rows of W).
    public let outputs: Int
    /// Input features (columns of W).
    public let inputs: Int
    /// Panel storage, `ceil(outputs / 16) · inputs · 16` floats.
    let panels: Tensor

    /// Packs `weight [outputs, inputs]`.
    /// - Throws: `TensorError.invalidArgument` unless `weight` is 2-D.
    public init(_ weight: Tensor) throws {
        guard weight.shape.rank == 2 else {
            throw TensorError.invalidArgument(operation: "PackedMatrix", reason: "needs a 2-D weight, got \(weight.shape)")
        }
        let n = weight.shape[0], k = weight.shape[1], nr = SIMDGemm.nr
        let panelCount = (n + nr - 1) / nr
        outputs = n
        inputs = k
        panels = Tensor(shape: [panelCount * k * nr]) { out in
            weight.withUnsafeBufferPointer { w in
                for panel in 0..<panelCount {
                    let dst = out.baseAddress! + panel * k * nr
                    for j in 0..<min(nr, n - panel * nr) {
                        let row = w.baseAddress! + (panel * nr + j) * k
                        for p in 0..<k { dst[p * nr + j] = row[p] }
                    }
                }
            }
        }
    }

    /// The matrix in its original `[outputs, inputs]` layout.
    public func unpacked() -> Tensor {
        let nr = SIMDGemm.nr
        return Tensor(shape: [outputs, inputs]) { out in
            panels.withUnsafeBufferPointer { src in
                for j in 0..<outputs {
                    let panel = src.baseAddress! + (j / nr) * inputs * nr + j % nr
                    for p in 0..<inputs { out[j * inputs + p] = panel[p * nr] }
                }
            }
        }
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
                weight.panels.withUnsafeBufferPointer { panels in
                    let c = out.baseAddress!
                    if let bias { bias.withUnsafeBufferPointer { Gemm.fillRows(c, rows: m, columns: n, ldc: n, with: $0.baseAddress!) } }
                    if k > 0 {
                        SIMDGemm.multiplyPacked(
                            m: m, n: n, k: k, a: a.baseAddress!, lda: k, panels: panels.baseAddress!, c: c, ldc: n,
                            accumulate: bias != nil, threads: options.threads)
                    }
                }
            }
        }
    }
}
