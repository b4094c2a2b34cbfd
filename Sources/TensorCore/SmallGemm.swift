import _TensorShims

/// GEMM for very few rows of A (token-by-token decoding): no packing, streams B once.
enum SmallGemm {
    /// `C[0..<m, columns] (+)= A · op(B)[:, columns]` for small `m`.
    static func multiply<F: MultiplyAddStrategy>(
        _ strategy: F.Type, m: Int, columns: Range<Int>, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        if columns.isEmpty { return }
        if transposeB {
            for i in 0..<m {
                let row = a + i * lda
                for j in columns {
                    let d = Reduction.dot(strategy, row, b + j * ldb, count: k)
                    c[i * ldc + j] = accumulate ? c[i * ldc + j] + d : d
                }
            }
        } else {
            for i in 0..<m {
                let out = c + i * ldc
                if !accumulate { (out + columns.lowerBound).update(repeating: 0, count: columns.count) }
                for p in 0..<k {
                    Elementwise.axpy(strategy, a[i * lda + p], b + p * ldb + columns.lowerBound,
                                     out + columns.lowerBound, count: columns.count)
                }
            }
        }
    }

    /// A grouped element's (int4) offset terms for `multiplyPanels`: for each of the `m` rows of A and each
    /// group of `E.groupSteps` steps, `E.offset` times the row's sum over the group (`[m][groups]`). One product
    /// computes them once, for every thread's columns.
    static func groupOffsets<E: PanelElement>(_ element: E.Type, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int) -> [Float] {
        let groups = (k + E.groupSteps - 1) / E.groupSteps
        var offsets = [Float](repeating: 0, count: m * groups)
        for i in 0..<m {
            for g in 0..<groups {
                var total: Float = 0
                for q in (g * E.groupSteps)..<min(k, (g + 1) * E.groupSteps) { total += a[i * lda + q] }
                offsets[i * groups + g] = total * E.offset
            }
        }
        return offsets
    }

    /// `C[0..<m, columns] (+)= A · Wᵀ[:, columns]` with W as prepacked panels of `E` (`columns` starts on a
    /// panel), widened in registers; a grouped element's (int4) group sums, plus their `groupOffsets` (the
    /// offset folded in as `offset · Σ x`; empty for other elements), are multiplied by their group's scales;
    /// int8 panels' scales multiply each finished 16-column group.
    static func multiplyPanels<F: MultiplyAddStrategy, E: PanelElement>(
        _ strategy: F.Type, _ element: E.Type, m: Int, columns: Range<Int>, k: Int, a: UnsafePointer<Float>, lda: Int,
        panels: SIMDGemm.PackedPanels, groupOffsets offsets: [Float], c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let pairBytes = 2 * E.stepBytes
        let grouped = E.groupSteps > 0
        let groups = grouped ? (k + E.groupSteps - 1) / E.groupSteps : 0
        var column = columns.lowerBound
        while column < columns.upperBound {
            let panel = panels.bytes + (column / 16) * panels.depth * E.stepBytes
            let width = min(16, columns.upperBound - column)
            for i in 0..<m {
                let row = a + i * lda
                var sum = SIMD16<Float>()
                var p = 0, b = panel
                while p < k {
                    let end = grouped ? min(k, p + E.groupSteps) : k
                    let first = p
                    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
                    while p + 4 <= end {
                        let (b0, b1) = E.loadPair(b), (b2, b3) = E.loadPair(b + pairBytes)
                        F.apply(&acc0, SIMD16(repeating: row[p]), b0)
                        F.apply(&acc1, SIMD16(repeating: row[p + 1]), b1)
                        F.apply(&acc2, SIMD16(repeating: row[p + 2]), b2)
                        F.apply(&acc3, SIMD16(repeating: row[p + 3]), b3)
                        p += 4
                        b += 2 * pairBytes
                    }
                    while p + 2 <= end {
                        let (b0, b1) = E.loadPair(b)
                        F.apply(&acc0, SIMD16(repeating: row[p]), b0)
                        F.apply(&acc1, SIMD16(repeating: row[p + 1]), b1)
                        p += 2
                        b += pairBytes
                    }
                    if p < end {  // the last step of an odd depth
                        F.apply(&acc0, SIMD16(repeating: row[p]), E.loadFirst(b))
                        p += 1
                        b += E.stepBytes
                    }
                    var part = (acc0 + acc1) + (acc2 + acc3)
                    if grouped {
                        // s · (Σ x·nibble + offset · Σ x): the offset is folded in once per group.
                        part += SIMD16(repeating: offsets[i * groups + first / E.groupSteps])
                        let group = (column / 16) * (panels.depth / E.groupSteps) + first / E.groupSteps
                        F.apply(&sum, part, vtp_widen_f16x16(panels.groupScales! + group * 32))
                    } else {
                        sum = part
                    }
                }
                if let scales = panels.scales {
                    sum *= UnsafeRawPointer(scales + column).loadUnaligned(as: SIMD16<Float>.self)
                }
                let out = c + i * ldc + column
                for j in 0..<width { out[j] = accumulate ? out[j] + sum[j] : sum[j] }
            }
            column += 16
        }
    }
}
