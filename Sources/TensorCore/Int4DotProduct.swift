import _TensorShims

/// Decoding products with int4 weights whose activations are quantised to int8 per group of 32 steps (as
/// llama.cpp's Q8_0: `scale = max|x| / 127` per group) and multiplied by AVX2 byte multiply-adds (`vpmaddubsw`:
/// unsigned nibbles times signed activations, int16 sums over a group), then by the weight group's and the
/// activation group's scales. Opt-in (`ComputeOptions.activations = .int8`), because quantising the activations
/// changes the numerics; used where the CPU has AVX2, FMA and F16C, checked at run time. Products of 6 or more
/// rows (prefill) keep Float32 activations.
enum Int4DotProduct {
    /// True when this CPU executes `vpmaddubsw`, FMA and F16C.
    static let isAvailable: Bool = vtp_cpu_has_int4_dot() != 0

    /// The `m` rows of a product's activations quantised per group, made once per product before the
    /// threads split the columns.
    struct QuantizedRows {
        /// Groups per row (the panels' depth / 32).
        var groups: Int
        /// `[m][groups * 32]` quantised steps, zero past the depth.
        var values: [Int8]
        /// `[m][groups]` scales.
        var scales: [Float]
        /// `[m][groups]` sums of each group's quantised steps.
        var sums: [Int32]

        /// Quantises `m` rows of `k` steps at `a` (row stride `lda`) for panels `depth` steps deep.
        init(m: Int, k: Int, depth: Int, a: UnsafePointer<Float>, lda: Int) {
            let groups = depth / WeightPrecision.int4GroupSize
            self.groups = groups
            values = [Int8](repeating: 0, count: m * groups * 32)
            scales = [Float](repeating: 0, count: m * groups)
            sums = [Int32](repeating: 0, count: m * groups)
            var padded = [Float](repeating: 0, count: groups * 32)
            for i in 0..<m {
                padded.withUnsafeMutableBufferPointer { row in
                    row.baseAddress!.update(from: a + i * lda, count: k)
                    values.withUnsafeMutableBufferPointer { q in
                        scales.withUnsafeMutableBufferPointer { s in
                            sums.withUnsafeMutableBufferPointer { t in
                                vtp_i8_quantize_groups(row.baseAddress!, groups, q.baseAddress! + i * groups * 32,
                                                       s.baseAddress! + i * groups, t.baseAddress! + i * groups)
                            }
                        }
                    }
                }
            }
        }
    }

    /// `C[0..<m, columns] (+)= A · Wᵀ[:, columns]` for the quantised rows of A (`columns` starts on a panel).
    static func rows(
        _ rows: QuantizedRows, m: Int, columns: Range<Int>, panels: SIMDGemm.PackedPanels,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let groups = rows.groups
        rows.values.withUnsafeBufferPointer { q in
            rows.scales.withUnsafeBufferPointer { s in
                rows.sums.withUnsafeBufferPointer { t in
                    var column = columns.lowerBound
                    while column < columns.upperBound {
                        let panel = column / 16
                        for i in 0..<m {
                            vtp_i4_dot_row16(groups, q.baseAddress! + i * groups * 32, s.baseAddress! + i * groups,
                                             t.baseAddress! + i * groups,
                                             panels.bytes + panel * panels.depth * Int4Panel.stepBytes,
                                             panels.groupScales! + panel * groups * 32, c + i * ldc + column,
                                             Int32(min(16, columns.upperBound - column)), accumulate ? 1 : 0)
                        }
                        column += 16
                    }
                }
            }
        }
    }
}
