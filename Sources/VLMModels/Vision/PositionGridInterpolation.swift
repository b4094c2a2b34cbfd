import TensorCore

/// Resizes a learned grid of position embeddings as PyTorch's `interpolate(mode="bicubic",
/// align_corners=False)` does with an output `size` (DINOv2's `interpolate_pos_encoding`): per axis, output `i`
/// samples source `(i + 0.5)·in/out − 0.5` with Keys' cubic (A = −0.75) on the four nearest taps, clamped to the
/// border; separable, computed in double precision and rounded once.
enum PositionGridInterpolation {
    /// `grid [inRows·inColumns, width]` (row-major) resized to `[outRows·outColumns, width]`.
    static func bicubic(_ grid: Tensor, from input: (rows: Int, columns: Int), to output: (rows: Int, columns: Int)) -> Tensor {
        let width = grid.shape[1]
        let wy = weights(input.rows, output.rows), wx = weights(input.columns, output.columns)
        let values = grid.scalars
        return Tensor(shape: [output.rows * output.columns, width]) { out in
            var sum = [Double](repeating: 0, count: width)
            for y in 0..<output.rows {
                for x in 0..<output.columns {
                    for c in 0..<width { sum[c] = 0 }
                    for (row, a) in wy[y] {
                        for (column, b) in wx[x] {
                            let base = (row * input.columns + column) * width, weight = a * b
                            for c in 0..<width { sum[c] += weight * Double(values[base + c]) }
                        }
                    }
                    let o = (y * output.columns + x) * width
                    for c in 0..<width { out[o + c] = Float(sum[c]) }
                }
            }
        }
    }

    /// For each output index along an axis of `n` → `m`, its four (clamped source index, weight) taps.
    static func weights(_ n: Int, _ m: Int) -> [[(Int, Double)]] {
        let a = -0.75, scale = Double(n) / Double(m)
        func near(_ t: Double) -> Double { ((a + 2) * t - (a + 3)) * t * t + 1 }
        func far(_ t: Double) -> Double { ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }
        return (0..<m).map { i in
            let source = (Double(i) + 0.5) * scale - 0.5
            let x0 = Int(source.rounded(.down)), t = source - Double(x0)
            let w = [far(t + 1), near(t), near(1 - t), far(2 - t)]
            return (0..<4).map { k in (min(max(x0 - 1 + k, 0), n - 1), w[k]) }
        }
    }
}
