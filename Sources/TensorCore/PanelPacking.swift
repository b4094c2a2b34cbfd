import _TensorShims

/// Conversion of 16 Float32 weight rows (`[16][inputs]`, row-major) into one panel (`[inputs][16]`) of each
/// storage precision, with rounding to nearest even, and the checks that packing does on the way.
enum PanelPacking {
    /// Largest magnitude that IEEE half rounds to a finite value (65504 and everything below 65520).
    static let float16Limit: Float = 65520
    /// Smallest magnitude that bfloat16 rounds to infinity (half way above its largest finite value, a tie that
    /// rounds to the even, infinite, neighbour).
    static let bfloat16Limit = Float(bitPattern: 0x7F7F_8000)

    /// Largest magnitude whose int4 group scale (`max|w| / 7`, IEEE half) stays finite.
    static let int4Limit: Float = 7 * float16Limit

    /// Throws `TensorError.nonFinite` (flat index into the whole matrix) for the first NaN or infinite value
    /// among the first `rows` rows, or for `.f16` and `.bf16`, the first value that would round to infinity
    /// (for `.int4`, whose group scale would).
    static func checkFinite(
        _ scratch: UnsafePointer<Float>, rows: Int, inputs k: Int, precision: WeightPrecision, firstRow: Int
    ) throws {
        let limit: Float = switch precision {
        case .f16: float16Limit
        case .bf16: bfloat16Limit
        case .int4: int4Limit
        case .f32, .int8: .infinity
        }
        for i in 0..<(rows * k) where !(abs(scratch[i]) < limit) {
            throw TensorError.nonFinite(operation: "packing a \(precision) weight", index: firstRow * k + i)
        }
    }

    /// The 16 values of column `p` (one per row).
    @inline(__always)
    private static func column(_ scratch: UnsafePointer<Float>, _ p: Int, _ k: Int) -> SIMD16<Float> {
        var v = SIMD16<Float>()
        for j in 0..<16 { v[j] = scratch[j &* k &+ p] }
        return v
    }

    static func packFloat32(_ scratch: UnsafePointer<Float>, inputs k: Int, into out: UnsafeMutableRawPointer) {
        for p in 0..<k { out.storeBytes(of: column(scratch, p, k), toByteOffset: p * 64, as: SIMD16<Float>.self) }
    }

    /// Pair-interleaved (see `BFloat16Panel`): word j of pair i holds step 2i in its low half and step 2i + 1
    /// (zero past the end) in its high half.
    static func packBFloat16(_ scratch: UnsafePointer<Float>, inputs k: Int, into out: UnsafeMutableRawPointer) {
        func rounded(_ v: SIMD16<Float>) -> SIMD16<UInt32> {
            let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self)
            return (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
        }
        var p = 0
        while p < k {
            let high = p + 1 < k ? rounded(column(scratch, p + 1, k)) : SIMD16<UInt32>()
            out.storeBytes(of: rounded(column(scratch, p, k)) | (high &<< 16), toByteOffset: p * 32, as: SIMD16<UInt32>.self)
            p += 2
        }
    }

    static func packFloat16(_ scratch: UnsafePointer<Float>, inputs k: Int, into out: UnsafeMutableRawPointer) {
        for p in 0..<k {
            let v = column(scratch, p, k)
            var h = SIMD16<UInt16>()
            for j in 0..<16 { h[j] = HalfPrecision.f16Bits(v[j]) }
            out.storeBytes(of: h, toByteOffset: p * 32, as: SIMD16<UInt16>.self)
        }
    }

    /// Per-row (per output channel) `Int8Quantization`; a row whose scale is 0 (all zero, or too small to
    /// scale) stores zeros.
    static func packInt8(
        _ scratch: UnsafePointer<Float>, inputs k: Int, into out: UnsafeMutableRawPointer, scales: UnsafeMutablePointer<Float>
    ) {
        var scale = SIMD16<Float>()
        for j in 0..<16 {
            scale[j] = Int8Quantization.scale(of: scratch + j * k, count: k)
            scales[j] = scale[j]
        }
        let zero = scale .== 0
        let divisor = scale.replacing(with: 1, where: zero)
        for p in 0..<k {
            var q = column(scratch, p, k) / divisor
            q.replace(with: 0, where: zero)
            vtp_store_rounded_i8x16(q, out + p * 16)
        }
    }

    /// Group-wise int4 (`WeightPrecision.int4`): for each of the 16 outputs and each group of 32 steps, the
    /// scale `f16(max|w| / 7)` goes to `groupScales` (`[groups][16]` IEEE half) and each step's 16 values
    /// `round-half-even(w / scale)`, clamped to ±7, plus 8, go to `out` pair-interleaved (see `Int4Panel`:
    /// byte j of pair i holds output j of step 2i in its low nibble, of step 2i + 1 in its high one). Steps
    /// past `inputs` up to the panel depth hold 8 (zero).
    static func packInt4(
        _ scratch: UnsafePointer<Float>, inputs k: Int, into out: UnsafeMutableRawPointer, groupScales: UnsafeMutableRawPointer
    ) {
        let groupSize = WeightPrecision.int4GroupSize
        let depth = SIMDGemm.panelDepth(k, .int4)
        var group = 0
        while group * groupSize < depth {
            let start = group * groupSize, end = min(k, start + groupSize)
            var bits = SIMD16<UInt16>()
            for j in 0..<16 {
                var largest: Float = 0
                for p in start..<max(start, end) { largest = max(largest, abs(scratch[j * k + p])) }
                bits[j] = HalfPrecision.f16Bits(largest / 7)
            }
            groupScales.storeBytes(of: bits, toByteOffset: group * 32, as: SIMD16<UInt16>.self)
            let scale = HalfPrecision.widenF16Lanes(SIMD16<UInt32>(truncatingIfNeeded: bits))
            let zero = scale .== 0
            let divisor = scale.replacing(with: 1, where: zero)
            // Step p's values over their scales; zero (stored 8) for a zero scale and past the inputs.
            func quotients(_ p: Int) -> SIMD16<Float> {
                guard p < end else { return SIMD16() }
                return (column(scratch, p, k) / divisor).replacing(with: 0, where: zero)
            }
            for p in stride(from: start, to: start + groupSize, by: 2) {
                vtp_store_i4_pair(quotients(p), quotients(p + 1), out + p * 8)
            }
            group += 1
        }
    }
}
