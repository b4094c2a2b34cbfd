/// How a packed weight matrix stores its values. Activations and accumulation are always Float32; 16-bit,
/// 8-bit and 4-bit weights are widened to Float32 in registers inside the GEMM, so they cost less memory and
/// bandwidth without a second copy.
///
/// `int8` is weight-only, symmetric, one Float32 scale per output channel (row of `W [outputs, inputs]`):
/// `scale = max|w| / 127`, `q = round-half-even(w / scale)` in `-127...127`, `w ≈ q · scale`. An all-zero
/// row has scale 0 and reproduces exactly.
///
/// `int4` is weight-only, symmetric and group-wise: each output's inputs are cut into groups of
/// `int4GroupSize` (32) consecutive values, and each group has its own scale, stored as IEEE half:
/// `scale = f16(max|w| / 7)`, `q = round-half-even(w / scale)` clamped to `-7...7`, `w ≈ q · scale` (a zero
/// scale stores q = 0). An input width that is not a multiple of 32 is padded with zero weights, so the last
/// group is shorter, never refused. Storage is half a byte per weight plus 2 bytes per 32 weights: 4.5 bits.
public enum WeightPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE single precision, 4 bytes per weight.
    case f32
    /// bfloat16 (the upper 16 bits of a Float32, rounded to nearest even), 2 bytes per weight.
    case bf16
    /// IEEE half precision, 2 bytes per weight (magnitudes above 65504 become infinite: such weights are refused).
    case f16
    /// Symmetric 8-bit integers with one Float32 scale per output channel, 1 byte per weight.
    case int8
    /// Symmetric 4-bit integers with one IEEE half scale per 32 inputs of an output, half a byte per weight.
    case int4

    /// Inputs that share one `int4` scale (a literal, so kernels see a constant).
    public static var int4GroupSize: Int { 32 }

    /// Bits per stored weight (not counting int8 and int4 scales).
    public var bitsPerWeight: Int {
        switch self {
        case .f32: return 32
        case .bf16, .f16: return 16
        case .int8: return 8
        case .int4: return 4
        }
    }

    /// Bytes of one panel step: one value for each of the GEMM's 16 interleaved outputs.
    var panelStepBytes: Int { 2 * bitsPerWeight }

    public var description: String { rawValue }
}
