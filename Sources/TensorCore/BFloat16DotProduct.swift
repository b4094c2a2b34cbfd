import _TensorShims

/// Products with bfloat16 weights whose activations are rounded to bfloat16 too and multiplied by the CPU's
/// AVX512-BF16 dot products (`vdpbf16ps`: 32 multiplies per instruction, accumulated in Float32), twice the
/// multiply rate of the Float32 kernel. Opt-in (`ComputeOptions.activations = .bf16`), because rounding the
/// activations changes the numerics; used only where the CPU has the instructions, checked at run time.
enum BFloat16DotProduct {
    /// True when this CPU executes `vdpbf16ps`.
    static let isAvailable: Bool = vtp_cpu_has_bf16_dot() != 0

    /// `C (+)= A · Wᵀ` on one thread's sub-problem (`DotProductBlocking`); A's blocks are rounded to bfloat16
    /// pairs while packed.
    static func blocked(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, panels: SIMDGemm.PackedPanels,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        DotProductBlocking.run(
            m: m, n: n, k: k, a: a, lda: lda, panels: panels, stepsPerWord: 2, c: c, ldc: ldc,
            accumulate: accumulate,
            pack: { block, rows, depth, _, out in packPairs(block, lda, rows: rows, depth: depth, into: out) },
            tile: { words, packedA, b0, b1, tileC, rows, columns, add, _, _ in
                vtp_bf16_dot_tile6x32(words, packedA, b0, b1, tileC, ldc, Int32(rows), Int32(columns), add ? 1 : 0)
            })
    }

    /// Packs `rows x depth` of A into 6-row panels of bfloat16 pairs, `[panel][depth/2][6]` words (step 2i in
    /// the low half, 2i + 1 in the high half), rounded to nearest even, zero-padded to even depth and 6 rows.
    static func packPairs(
        _ a: UnsafePointer<Float>, _ lda: Int, rows: Int, depth: Int, into out: UnsafeMutablePointer<UInt32>
    ) {
        let mr = SIMDGemm.mr, pairs = (depth + 1) / 2
        var panel = 0
        while panel < rows {
            let dst = out + (panel / mr) * pairs * mr
            for r in 0..<mr {
                guard panel + r < rows else {
                    for i in 0..<pairs { dst[i * mr + r] = 0 }
                    continue
                }
                let row = a + (panel + r) * lda
                for i in 0..<pairs {
                    let low = UInt32(HalfPrecision.bf16Bits(row[2 * i]))
                    let high = 2 * i + 1 < depth ? UInt32(HalfPrecision.bf16Bits(row[2 * i + 1])) : 0
                    dst[i * mr + r] = low | high << 16
                }
            }
            panel += mr
        }
    }
}
