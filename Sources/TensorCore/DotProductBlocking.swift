/// The blocking shared by the low-precision dot-product kernels (`BFloat16DotProduct`, `Int8DotProduct`):
/// depth blocks of `SIMDGemm.kc` steps, row blocks of `SIMDGemm.mc` packed into 32-bit words of
/// `stepsPerWord` steps (`[panel][words][6]`), and 6x32 tiles over two adjacent 16-column weight panels, so
/// 12 independent accumulators hide the dot products' latency.
enum DotProductBlocking {
    /// One tile: `words` packed words per row, A's 6-row panel, the two weight panels (the second nil past
    /// the last column), C, its live rows and columns, whether to add to C, and the tile's first row and
    /// first column in the sub-problem.
    typealias Tile = (
        _ words: Int, _ a: UnsafePointer<UInt32>, _ b0: UnsafeRawPointer, _ b1: UnsafeRawPointer?,
        _ c: UnsafeMutablePointer<Float>, _ rows: Int, _ columns: Int, _ accumulate: Bool, _ firstRow: Int,
        _ firstColumn: Int
    ) -> Void

    /// Packs `rows x depth` of A starting at row `firstRow` of the sub-problem into `[panel][words][6]`.
    typealias Pack = (
        _ a: UnsafePointer<Float>, _ rows: Int, _ depth: Int, _ firstRow: Int, _ into: UnsafeMutablePointer<UInt32>
    ) -> Void

    /// `C (+)= A · Wᵀ` on one thread's sub-problem.
    static func run(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, panels: SIMDGemm.PackedPanels, stepsPerWord: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, pack: Pack, tile: Tile
    ) {
        let mr = SIMDGemm.mr, nr = SIMDGemm.nr, kc = SIMDGemm.kc, mc = SIMDGemm.mc
        let wordCapacity = (min(kc, k) + stepsPerWord - 1) / stepsPerWord
        let packedA = UnsafeMutablePointer<UInt32>.allocate(capacity: min(mc, (m + mr - 1) / mr * mr) * wordCapacity)
        defer { packedA.deallocate() }
        let stepBytes = panels.precision.panelStepBytes, panelStride = panels.depth * stepBytes
        var pc = 0
        while pc < k {
            let kcb = min(kc, k - pc), words = (kcb + stepsPerWord - 1) / stepsPerWord
            var ic = 0
            while ic < m {
                let mcb = min(mc, m - ic)
                pack(a + ic * lda + pc, mcb, kcb, ic, packedA)
                var jr = 0
                while jr < n {
                    let columns = min(2 * nr, n - jr)
                    let b0 = panels.bytes + (jr / nr) * panelStride + pc * stepBytes
                    let b1 = columns > nr ? b0 + panelStride : nil
                    var ir = 0
                    while ir < mcb {
                        tile(words, packedA + (ir / mr) * words * mr, b0, b1, c + (ic + ir) * ldc + jr,
                             min(mr, mcb - ir), columns, accumulate || pc > 0, ic + ir, jr)
                        ir += mr
                    }
                    jr += 2 * nr
                }
                ic += mc
            }
            pc += kc
        }
    }
}
