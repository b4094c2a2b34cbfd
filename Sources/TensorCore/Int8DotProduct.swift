import _TensorShims

/// Products with int8 weights whose activations are quantised to int8 too (per row, `Int8Quantization`) and
/// multiplied by the CPU's AVX512-VNNI byte dot products (`vpdpbusd`, int32 accumulation), with the weights'
/// per-channel scales applied to the finished tile. Opt-in (`ComputeOptions.activations = .int8`), because quantising the activations changes the
/// numerics; used only where the CPU has VNNI and VBMI, checked at run time.
enum Int8DotProduct {
    /// True when this CPU executes `vpdpbusd` and `vpermb`.
    static let isAvailable: Bool = vtp_cpu_has_int8_dot() != 0

    /// `C (+)= A · Wᵀ` on one thread's sub-problem (`DotProductBlocking`), each row quantised with its own
    /// scale over the whole depth.
    static func blocked(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, panels: SIMDGemm.PackedPanels,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let mr = SIMDGemm.mr
        // One scale per row, padded to whole 6-row panels (the tile reads six).
        let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: m + mr)
        defer { rowScales.deallocate() }
        rowScales.initialize(repeating: 0, count: m + mr)
        for r in 0..<m { rowScales[r] = Int8Quantization.scale(of: a + r * lda, count: k) }
        DotProductBlocking.run(
            m: m, n: n, k: k, a: a, lda: lda, panels: panels, stepsPerWord: 4, c: c, ldc: ldc,
            accumulate: accumulate,
            pack: { block, rows, depth, firstRow, out in
                packQuads(block, lda, rows: rows, depth: depth, scales: rowScales + firstRow, into: out)
            },
            tile: { words, packedA, b0, b1, tileC, rows, columns, add, firstRow, firstColumn in
                vtp_i8_dot_tile6x32(words, packedA, b0, b1, rowScales + firstRow, panels.scales! + firstColumn,
                                    tileC, ldc, Int32(rows), Int32(columns), add ? 1 : 0)
            })
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
            let row = a + i * lda, rowScale = Int8Quantization.scale(of: row, count: k)
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
