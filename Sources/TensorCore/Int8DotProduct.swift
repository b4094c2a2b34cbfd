import _TensorShims

/// Products with int8 weights whose activations are quantised to int8 too (per row, symmetric:
/// `scale = max|a| / 127`, `q = round-half-even(a / scale)`) and multiplied by the CPU's AVX512-VNNI byte dot
/// products (`vpdpbusd`, int32 accumulation), with the weights' per-channel scales applied to the finished
/// tile. Opt-in (`ComputeOptions.activations = .int8`), because quantising the activations changes the
/// numerics; used only where the CPU has VNNI and VBMI, checked at run time.
enum Int8DotProduct {
    /// True when this CPU executes `vpdpbusd` and `vpermb`.
    static let isAvailable: Bool = vtp_cpu_has_int8_dot() != 0

    /// `C (+)= A · Wᵀ` on one thread's sub-problem, same blocking as `SIMDGemm.blocked`.
    static func blocked(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, panels: SIMDGemm.PackedPanels,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let mr = SIMDGemm.mr, nr = SIMDGemm.nr, kc = SIMDGemm.kc, mc = SIMDGemm.mc
        // One scale per row over the whole depth (padded to whole 6-row panels).
        let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: m + mr)
        defer { rowScales.deallocate() }
        rowScales.initialize(repeating: 0, count: m + mr)
        for r in 0..<m { rowScales[r] = scale(of: a + r * lda, count: k) }
        let quadCapacity = (min(kc, k) + 3) / 4
        let aCount = min(mc, (m + mr - 1) / mr * mr) * quadCapacity
        let packedA = UnsafeMutablePointer<UInt32>.allocate(capacity: aCount)
        defer { packedA.deallocate() }
        let panelStride = panels.depth * nr
        var pc = 0
        while pc < k {
            let kcb = min(kc, k - pc), quads = (kcb + 3) / 4
            var ic = 0
            while ic < m {
                let mcb = min(mc, m - ic)
                packQuads(a + ic * lda + pc, lda, rows: mcb, depth: kcb, scales: rowScales + ic, into: packedA)
                var jr = 0
                while jr < n {
                    let columns = min(2 * nr, n - jr)
                    let b0 = panels.bytes + (jr / nr) * panelStride + pc * nr
                    let b1 = columns > nr ? b0 + panelStride : nil
                    var ir = 0
                    while ir < mcb {
                        vtp_i8_dot_tile6x32(quads, packedA + (ir / mr) * quads * mr, b0, b1, rowScales + ic + ir,
                                            panels.scales! + jr, c + (ic + ir) * ldc + jr, ldc,
                                            Int32(min(mr, mcb - ir)), Int32(columns), accumulate || pc > 0 ? 1 : 0)
                        ir += mr
                    }
                    jr += 2 * nr
                }
                ic += mc
            }
            pc += kc
        }
    }

    /// `C[0..<m, columns] (+)= A · Wᵀ[:, columns]` for few rows (decoding): each row is quantised once, then
    /// every 16-column panel is one dot-product pass (`columns` starts on a panel).
    static func rows(
        m: Int, columns: Range<Int>, k: Int, a: UnsafePointer<Float>, lda: Int, panels: SIMDGemm.PackedPanels,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let quads = (k + 3) / 4
        let packed = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, quads))
        defer { packed.deallocate() }
        for i in 0..<m {
            let row = a + i * lda, rowScale = scale(of: row, count: k)
            for q in 0..<quads { packed[q] = word(row, quad: q, depth: k, scale: rowScale) }
            var column = columns.lowerBound
            while column < columns.upperBound {
                vtp_i8_dot_row16(quads, packed, panels.bytes + (column / 16) * panels.depth * 16, rowScale,
                                 panels.scales! + column, c + i * ldc + column, Int32(min(16, columns.upperBound - column)),
                                 accumulate ? 1 : 0)
                column += 16
            }
        }
    }

    /// A row's quantisation scale, `max|a| / 127`.
    static func scale(of row: UnsafePointer<Float>, count: Int) -> Float {
        var largest: Float = 0
        for p in 0..<count { largest = max(largest, abs(row[p])) }
        return largest / 127
    }

    /// Steps `4·quad ..< 4·quad + 4` of `row` quantised with `scale` (half to even, ±127) plus 128, one byte
    /// each, low byte first; steps past `depth` (and every step when the scale is 0) hold 128.
    @inline(__always)
    static func word(_ row: UnsafePointer<Float>, quad: Int, depth: Int, scale: Float) -> UInt32 {
        var word: UInt32 = 0
        for j in 0..<4 {
            let p = 4 * quad + j
            var q: Float = 0
            if p < depth && scale > 0 { q = min(127, max(-127, (row[p] / scale).rounded(.toNearestOrEven))) }
            word |= UInt32(Int32(q) + 128) << (8 * j)
        }
        return word
    }

    /// Packs `rows x depth` of A, quantised with each row's scale and offset by 128 (unsigned), into 6-row
    /// panels of four-step words, `[panel][depth/4][6]`; padding steps and rows hold 128 (zero).
    static func packQuads(
        _ a: UnsafePointer<Float>, _ lda: Int, rows: Int, depth: Int, scales: UnsafePointer<Float>,
        into out: UnsafeMutablePointer<UInt32>
    ) {
        let mr = SIMDGemm.mr, quads = (depth + 3) / 4
        var panel = 0
        while panel < rows {
            let dst = out + (panel / mr) * quads * mr
            for r in 0..<mr {
                let live = panel + r < rows
                let row = a + (live ? panel + r : panel) * lda
                for i in 0..<quads { dst[i * mr + r] = word(row, quad: i, depth: depth, scale: live ? scales[panel + r] : 0) }
            }
            panel += mr
        }
    }
}
