/// How a packed weight matrix stores its values. Activations and accumulation are always Float32; 16-bit and
/// 8-bit weights are widened to Float32 in registers inside the GEMM, so they cost less memory and bandwidth
/// without a second copy.
///
/// `int8` is weight-only, symmetric, one Float32 scale per output channel (row of `W [outputs, inputs]`):
/// `scale = max|w| / 127`, `q = round-half-even(w / scale)` in `-127...127`, `w ≈ q · scale`. An all-zero
/// row has scale 0 and reproduces exactly.
public enum WeightPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE single precision, 4 bytes per weight.
    case f32
    /// bfloat16 (the upper 16 bits of a Float32, rounded to nearest even), 2 bytes per weight.
    case bf16
    /// IEEE half precision, 2 bytes per weight (magnitudes above 65504 become infinite: such weights are refused).
    case f16
    /// Symmetric 8-bit integers with one Float32 scale per output channel, 1 byte per weight.
    case int8

    /// Bytes per stored weight (not counting int8 scales).
    public var bytesPerWeight: Int {
        switch self {
        case .f32: return 4
        case .bf16, .f16: return 2
        case .int8: return 1
        }
    }

    public var description: String { rawValue }
}
