import TensorCore

/// PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` (no antialias) on a feature map, with the
/// exact float arithmetic of its AVX2/AVX-512 kernel, as LLaVA-OneVision's anyres_max_N downsampling runs it.
///
/// Per axis: `scale = Float(in) / Float(out)`, `src = fma(scale, o + 0.5, −0.5)` clamped at 0,
/// `i0 = min(⌊src⌋, in − 1)`, `λ1 = clamp(src − i0, 0, 1)`, `λ0 = 1 − λ1`, `i1 = i0 + 1` unless at the edge. Per
/// output element the four weights are rounded products, summed as
/// `fma(x00, w00, fma(x01, w01, fma(x11, w11, x10 · w10)))`. PyTorch's scalar kernel (CPUs without AVX2) rounds
/// every product and sum separately and differs by about 1 ulp.
public enum FeatureMapResampler {
    /// Source indices and weights of one axis.
    struct Axis {
        var i0: [Int], i1: [Int], l0: [Float], l1: [Float]

        init(input: Int, output: Int) {
            let scale = Float(input) / Float(output)
            i0 = []; i1 = []; l0 = []; l1 = []
            for o in 0..<output {
                let source = Swift.max((-0.5 as Float).addingProduct(scale, Float(o) + 0.5), 0)
                let low = Swift.min(Int(source.rounded(.down)), input - 1)
                let lambda = Swift.min(Swift.max(source - Float(low), 0), 1)
                i0.append(low)
                i1.append(low < input - 1 ? low + 1 : low)
                l1.append(lambda)
                l0.append(1 - lambda)
            }
        }
    }

    /// `map` of `rows x columns` positions, row-major, each `channels` wide (`[rows · columns, channels]`),
    /// resized to `outputRows x outputColumns` (`[outputRows · outputColumns, channels]`).
    /// - Throws: `ModelError.invalidInput` for a shape that does not match or an empty size.
    public static func resize(_ map: Tensor, rows: Int, columns: Int, outputRows: Int, outputColumns: Int) throws -> Tensor {
        guard rows >= 1, columns >= 1, outputRows >= 1, outputColumns >= 1, map.shape.rank == 2,
              map.shape[0] == rows * columns else {
            throw ModelError.invalidInput(
                "cannot resize a \(map.shape) map as \(rows)x\(columns) positions to \(outputRows)x\(outputColumns)")
        }
        let channels = map.shape[1]
        let h = Axis(input: rows, output: outputRows), w = Axis(input: columns, output: outputColumns)
        return Tensor(shape: [outputRows * outputColumns, channels]) { out in
            map.withUnsafeBufferPointer { x in
                for r in 0..<outputRows {
                    for c in 0..<outputColumns {
                        let w00 = h.l0[r] * w.l0[c], w01 = h.l0[r] * w.l1[c]
                        let w10 = h.l1[r] * w.l0[c], w11 = h.l1[r] * w.l1[c]
                        let p00 = (h.i0[r] * columns + w.i0[c]) * channels, p01 = (h.i0[r] * columns + w.i1[c]) * channels
                        let p10 = (h.i1[r] * columns + w.i0[c]) * channels, p11 = (h.i1[r] * columns + w.i1[c]) * channels
                        let o = (r * outputColumns + c) * channels
                        for ch in 0..<channels {
                            var acc = x[p10 + ch] * w10
                            acc.addProduct(x[p11 + ch], w11)
                            acc.addProduct(x[p01 + ch], w01)
                            acc.addProduct(x[p00 + ch], w00)
                            out[o + ch] = acc
                        }
                    }
                }
            }
        }
    }
}
