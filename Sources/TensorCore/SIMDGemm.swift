import _TensorShims

/// The pure-Swift GEMM: BLIS-style blocking with packed panels and a 6x16 register-blocked microkernel.
///
/// Loops: `jc` (NC columns) → `pc` (KC depth, pack B) → `ic` (MC rows, pack A) → `jr` (NR) → `ir` (MR) →
/// microkernel. The 6x16 tile keeps 12 AVX2 (or 6 AVX-512) accumulators in registers. Multi-threading
/// splits C into disjoint column (or row) blocks, each thread packing its own panels.
enum SIMDGemm {
    static let mr = 6
    static let nr = 16
    /// Depth block; a multiple of `WeightPrecision.int4GroupSize`, so every block starts an int4 group.
    static let kc = 384
    static let mc = 72
    static let nc = 2048

    /// Panels packed in advance (`PackedMatrix`, `[n/16][depth][16]` values of `precision`), with the int8 scales.
    struct PackedPanels {
        var bytes: UnsafeRawPointer
        var precision: WeightPrecision
        /// Steps per panel: the product's depth, rounded up to even for bfloat16 (see `panelDepth`).
        var depth: Int
        /// One scale per output column (`int8` only).
        var scales: UnsafePointer<Float>?
        /// `int4` only: IEEE half group scales, `[n/16][depth/32][16]`.
        var groupScales: UnsafeRawPointer? = nil
        /// True to multiply activations in the panels' precision with the CPU's dot products (`vdpbf16ps` for
        /// bfloat16 products of at least 6 rows, `vpdpbusd` for every int8 product, `vpmaddubsw` for int4
        /// products of fewer than 6 rows; see `ActivationPrecision`).
        var dotProductActivations = false

        /// The panels restricted to columns starting at `column` (a multiple of 16).
        func columns(from column: Int) -> PackedPanels {
            PackedPanels(bytes: bytes + (column / nr) * depth * precision.panelStepBytes, precision: precision,
                         depth: depth, scales: scales.map { $0 + column },
                         groupScales: groupScales.map { $0 + (column / nr) * (depth / WeightPrecision.int4GroupSize) * 32 },
                         dotProductActivations: dotProductActivations)
        }
    }

    /// Steps per panel for a `k`-deep matrix in `precision`: bfloat16 panels interleave pairs of steps, so
    /// their depth is padded to even; int4 panels hold whole groups, so theirs is padded to a multiple of 32.
    static func panelDepth(_ k: Int, _ precision: WeightPrecision) -> Int {
        switch precision {
        case .bf16: return (k + 1) / 2 * 2
        case .int4: return (k + WeightPrecision.int4GroupSize - 1) / WeightPrecision.int4GroupSize * WeightPrecision.int4GroupSize
        default: return k
        }
    }

    /// Where the right operand comes from: a row-major matrix packed on the fly, or panels packed in advance.
    enum Operand {
        case matrix(UnsafePointer<Float>, ldb: Int, transposed: Bool)
        case panels(PackedPanels)

        /// The operand restricted to columns starting at `column` (a multiple of 16 for panels).
        func columns(from column: Int) -> Operand {
            switch self {
            case let .matrix(b, ldb, transposed): return .matrix(transposed ? b + column * ldb : b + column, ldb: ldb, transposed: transposed)
            case let .panels(p): return .panels(p.columns(from: column))
            }
        }
    }

    static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, threads: Int
    ) {
        dispatch(m, n, k, a, lda, .matrix(b, ldb: ldb, transposed: transposeB), c, ldc, accumulate, threads)
    }

    /// `C (+)= A · Wᵀ` with W given as prepacked panels.
    static func multiplyPacked(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, panels: PackedPanels,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, threads: Int
    ) {
        dispatch(m, n, k, a, lda, .panels(panels), c, ldc, accumulate, threads)
    }

    private static func dispatch(
        _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: Operand,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ threads: Int
    ) {
        if CPUFeatures.hasFMA {
            dispatchPrecision(FusedMultiplyAdd.self, m, n, k, a, lda, b, c, ldc, accumulate, threads)
        } else {
            dispatchPrecision(SeparateMultiplyAdd.self, m, n, k, a, lda, b, c, ldc, accumulate, threads)
        }
    }

    /// Chooses the panel element type once per call, so each precision runs its own specialised loops.
    private static func dispatchPrecision<F: MultiplyAddStrategy>(
        _ strategy: F.Type, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: Operand,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ threads: Int
    ) {
        guard case let .panels(p) = b else {
            return run(strategy, Float32Panel.self, m, n, k, a, lda, b, c, ldc, accumulate, threads)
        }
        switch p.precision {
        case .f32: run(strategy, Float32Panel.self, m, n, k, a, lda, b, c, ldc, accumulate, threads)
        case .bf16: run(strategy, BFloat16Panel.self, m, n, k, a, lda, b, c, ldc, accumulate, threads)
        case .f16: run(strategy, Float16Panel.self, m, n, k, a, lda, b, c, ldc, accumulate, threads)
        case .int8: run(strategy, Int8Panel.self, m, n, k, a, lda, b, c, ldc, accumulate, threads)
        case .int4: run(strategy, Int4Panel.self, m, n, k, a, lda, b, c, ldc, accumulate, threads)
        }
    }

    private static func run<F: MultiplyAddStrategy, E: PanelElement>(
        _ strategy: F.Type, _ element: E.Type, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: Operand,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ threads: Int
    ) {
        let work = 2 * m * n * k
        let usable = work < 2_000_000 ? 1 : threads
        if m < mr {
            // Matrix-vector shapes (decoding): packing B would cost as much as the product itself.
            let chunks = min(usable, max(1, n / 64))
            // Made once per product, before the threads split the columns.
            var quantized: Int4DotProduct.QuantizedRows?
            var groupOffsets: [Float] = []
            if case let .panels(panels) = b, panels.dotProductActivations && panels.precision == .int4 {
                quantized = Int4DotProduct.QuantizedRows(m: m, k: k, depth: panels.depth, a: a, lda: lda)
            } else if E.groupSteps > 0 {
                groupOffsets = SmallGemm.groupOffsets(element, m: m, k: k, a: a, lda: lda)
            }
            Parallel.forEach(chunks, threads: chunks) { t in
                let range = split(n, parts: chunks, index: t, align: nr)
                switch b {
                case let .matrix(b, ldb, transposed):
                    SmallGemm.multiply(strategy, m: m, columns: range, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                       transposeB: transposed, c: c, ldc: ldc, accumulate: accumulate)
                case let .panels(panels) where panels.dotProductActivations && panels.precision == .int8:
                    Int8DotProduct.rows(m: m, columns: range, k: k, a: a, lda: lda, panels: panels, c: c, ldc: ldc,
                                        accumulate: accumulate)
                case let .panels(panels) where quantized != nil:
                    Int4DotProduct.rows(quantized!, m: m, columns: range, panels: panels, c: c, ldc: ldc, accumulate: accumulate)
                case let .panels(panels):
                    SmallGemm.multiplyPanels(strategy, element, m: m, columns: range, k: k, a: a, lda: lda,
                                             panels: panels, groupOffsets: groupOffsets, c: c, ldc: ldc, accumulate: accumulate)
                }
            }
            return
        }
        // One thread's share: the Float32 kernel, or low-precision dot products when the panels ask for them.
        func part(_ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ b: Operand, _ c: UnsafeMutablePointer<Float>) {
            switch b {
            case let .panels(panels) where panels.dotProductActivations && panels.precision == .bf16:
                BFloat16DotProduct.blocked(m: m, n: n, k: k, a: a, lda: lda, panels: panels, c: c, ldc: ldc,
                                           accumulate: accumulate)
            case let .panels(panels) where panels.dotProductActivations && panels.precision == .int8:
                Int8DotProduct.blocked(m: m, n: n, k: k, a: a, lda: lda, panels: panels, c: c, ldc: ldc,
                                       accumulate: accumulate)
            default:
                blocked(strategy, element, m, n, k, a, lda, b, c, ldc, accumulate)
            }
        }
        let splitColumns = n >= usable * 4 * nr
        Parallel.forEach(usable, threads: usable) { t in
            if splitColumns {
                let range = split(n, parts: usable, index: t, align: nr)
                if range.isEmpty { return }
                part(m, range.count, a, b.columns(from: range.lowerBound), c + range.lowerBound)
            } else {
                let range = split(m, parts: usable, index: t, align: mr)
                if range.isEmpty { return }
                part(range.count, n, a + range.lowerBound * lda, b, c + range.lowerBound * ldc)
            }
        }
    }

    /// Part `index` of `0..<total` cut into `parts` pieces whose boundaries are multiples of `align`.
    static func split(_ total: Int, parts: Int, index: Int, align: Int) -> Range<Int> {
        let blocks = (total + align - 1) / align
        let start = min(total, (blocks * index / parts) * align)
        let end = min(total, (blocks * (index + 1) / parts) * align)
        return start..<end
    }

    /// Single-threaded blocked product on one sub-problem.
    private static func blocked<F: MultiplyAddStrategy, E: PanelElement>(
        _ strategy: F.Type, _ element: E.Type, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: Operand,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool
    ) {
        // Buffers sized to this product (small products, such as attention heads, stay small).
        let depth = min(kc, k)
        let aCount = min(mc, (m + mr - 1) / mr * mr) * depth
        // A Float32 panel buffer for B packed on the fly, or prepacked low-precision panels widened once per block.
        var bCount = min(nc, (n + nr - 1) / nr * nr) * depth
        if case .panels = b, E.self == Float32Panel.self { bCount = 1 }  // Float32 panels are read in place
        let packedA = UnsafeMutableRawPointer.allocate(byteCount: aCount * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: aCount)
        let packedB = UnsafeMutableRawPointer.allocate(byteCount: bCount * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: bCount)
        defer {
            UnsafeMutableRawPointer(packedA).deallocate()
            UnsafeMutableRawPointer(packedB).deallocate()
        }
        var jc = 0
        while jc < n {
            let ncb = min(nc, n - jc)
            var pc = 0
            while pc < k {
                let kcb = min(kc, k - pc)
                // Panels of this depth block: packed now, or read in place from the prepacked matrix, where
                // panel j's rows pc..<pc+kcb start at value j·k·16 + pc·16.
                let panelBase: UnsafeRawPointer, panelStride: Int
                switch b {
                case let .matrix(b, ldb, transposed):
                    packB(b, ldb, transposed, row: pc, column: jc, depth: kcb, width: ncb, into: packedB)
                    (panelBase, panelStride) = (UnsafeRawPointer(packedB), kcb * nr * 4)
                case let .panels(panels) where E.self != Float32Panel.self:
                    // Low-precision panels are widened and scaled once per block, then every row tile runs the
                    // Float32 kernel on them (widening in the tile would repeat for each of the m / 6 row tiles).
                    widen(E.self, panels, column: jc, width: ncb, step: pc, depth: kcb, into: packedB)
                    (panelBase, panelStride) = (UnsafeRawPointer(packedB), kcb * nr * 4)
                case let .panels(panels):
                    (panelBase, panelStride) = (panels.bytes + ((jc / nr) * panels.depth + pc) * E.stepBytes,
                                                panels.depth * E.stepBytes)
                }
                var ic = 0
                while ic < m {
                    let mcb = min(mc, m - ic)
                    packA(a + ic * lda + pc, lda, rows: mcb, depth: kcb, into: packedA)
                    var jr = 0
                    while jr < ncb {
                        let cols = min(nr, ncb - jr)
                        var ir = 0
                        while ir < mcb {
                            let rows = min(mr, mcb - ir)
                            let tileA = packedA + ir * kcb, tileB = panelBase + (jr / nr) * panelStride
                            let tileC = c + (ic + ir) * ldc + jc + jr, add = accumulate || pc > 0
                            Microkernel.tile6x16(strategy, depth: kcb, a: tileA, b: tileB, c: tileC, ldc: ldc,
                                                 rows: rows, columns: cols, accumulate: add)
                            ir += mr
                        }
                        jr += nr
                    }
                    ic += mc
                }
                pc += kc
            }
            jc += nc
        }
    }

    /// Widens steps `step ..< step + depth` of the prepacked panels holding columns `column ..< column + width`
    /// to Float32 panels `[width/16][depth][16]` in `out`, scaled: per column for int8, per group for int4
    /// (`(stored + offset) · scale`). `step` is even and starts a group (`kc` is a multiple of the group size).
    private static func widen<E: PanelElement>(
        _ element: E.Type, _ panels: PackedPanels, column: Int, width: Int, step: Int, depth: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let groupsPerPanel = E.groupSteps > 0 ? panels.depth / E.groupSteps : 0
        var panel = 0
        while panel < width {
            let source = panels.bytes + ((column + panel) / nr * panels.depth + step) * E.stepBytes
            let destination = UnsafeMutableRawPointer(out + panel * depth)
            // int8 panels' scales are padded to whole panels, so 16 can always be read.
            let columnScales = panels.scales.map { UnsafeRawPointer($0 + column + panel).loadUnaligned(as: SIMD16<Float>.self) }
            var p = 0
            while p < depth {
                var s = columnScales ?? SIMD16(repeating: 1), shift = SIMD16<Float>(), end = depth
                if E.groupSteps > 0 {
                    s = vtp_widen_f16x16(panels.groupScales! + ((column + panel) / nr * groupsPerPanel + (step + p) / E.groupSteps) * 32)
                    shift = s * E.offset
                    end = min(depth, p + E.groupSteps)
                }
                while p + 2 <= end {
                    let (b0, b1) = E.loadPair(source + p * E.stepBytes)
                    destination.storeBytes(of: b0 * s + shift, toByteOffset: p * 64, as: SIMD16<Float>.self)
                    destination.storeBytes(of: b1 * s + shift, toByteOffset: (p + 1) * 64, as: SIMD16<Float>.self)
                    p += 2
                }
                if p < end {
                    destination.storeBytes(of: E.loadFirst(source + p * E.stepBytes) * s + shift, toByteOffset: p * 64, as: SIMD16<Float>.self)
                    p += 1
                }
            }
            panel += nr
        }
    }

    /// Packs `rows x depth` of A into MR-row panels laid out `[panel][p][MR]`, zero-padding the last panel.
    /// Full panels are written sequentially from six row streams (no strided stores, no overflow checks).
    private static func packA(
        _ a: UnsafePointer<Float>, _ lda: Int, rows: Int, depth: Int, into out: UnsafeMutablePointer<Float>
    ) {
        var panel = 0
        while panel < rows {
            var dst = out + panel &* depth
            let live = min(mr, rows &- panel)
            let s0 = a + panel &* lda
            if live == mr {
                let s1 = s0 + lda, s2 = s1 + lda, s3 = s2 + lda, s4 = s3 + lda, s5 = s4 + lda
                for p in 0..<depth {
                    dst[0] = s0[p]; dst[1] = s1[p]; dst[2] = s2[p]
                    dst[3] = s3[p]; dst[4] = s4[p]; dst[5] = s5[p]
                    dst += mr
                }
            } else {
                for p in 0..<depth {
                    for r in 0..<mr { dst[r] = r < live ? s0[r &* lda &+ p] : 0 }
                    dst += mr
                }
            }
            panel &+= mr
        }
    }

    /// Packs the `depth x width` block of op(B) starting at (`row`, `column`) into NR-column panels
    /// laid out `[panel][p][NR]`, zero-padding the last panel.
    private static func packB(
        _ b: UnsafePointer<Float>, _ ldb: Int, _ transposed: Bool, row: Int, column: Int, depth: Int, width: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        var panel = 0
        while panel < width {
            let dst = out + panel * depth
            let live = min(nr, width - panel)
            if transposed && live == nr {
                // op(B)[p, j] = B[j, p]: gather one value from each of 16 weight rows per step, store 16 at once.
                let src = b + ((column &+ panel) &* ldb &+ row)
                var d = UnsafeMutableRawPointer(dst)
                for p in 0..<depth {
                    let s = src + p
                    var v = SIMD16<Float>()
                    for j in 0..<16 { v[j] = s[j &* ldb] }
                    d.storeBytes(of: v, as: SIMD16<Float>.self)
                    d += 64
                }
            } else if transposed {
                for j in 0..<nr {
                    if j < live {
                        let src = b + ((column &+ panel &+ j) &* ldb &+ row)
                        for p in 0..<depth { dst[p &* nr &+ j] = src[p] }
                    } else {
                        for p in 0..<depth { dst[p &* nr &+ j] = 0 }
                    }
                }
            } else if live == nr {
                for p in 0..<depth {
                    let src = UnsafeRawPointer(b + (row + p) * ldb + column + panel)
                    UnsafeMutableRawPointer(dst + p * nr).storeBytes(
                        of: src.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                }
            } else {
                for p in 0..<depth {
                    let src = b + (row + p) * ldb + column + panel
                    for j in 0..<nr { dst[p * nr + j] = j < live ? src[j] : 0 }
                }
            }
            panel += nr
        }
    }
}
