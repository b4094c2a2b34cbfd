import TensorCore

/// The precision a model's matrices (linears, token embeddings, `lm_head`) are held in after loading.
/// Norms, biases and the small vision embeddings stay Float32.
public enum LoadPrecision: Sendable, Equatable, CustomStringConvertible {
    /// Each matrix in its checkpoint dtype: F32 stays F32, BF16 stays BF16, F16 stays F16 (F64 becomes F32;
    /// GGUF's quantised types become BF16).
    case checkpoint
    /// Every matrix converted to this precision while it is packed (`int8`: quantised at load).
    case fixed(WeightPrecision)

    /// Parses `checkpoint`, `f32`, `bf16`, `f16` or `int8` (the command-line spelling).
    /// - Throws: `ModelError.invalidInput` naming the accepted values.
    public init(parsing text: String) throws {
        if text == "checkpoint" { self = .checkpoint; return }
        guard let precision = WeightPrecision(rawValue: text) else {
            throw ModelError.invalidInput(
                "unknown weight precision '\(text)' (expected checkpoint, \(WeightPrecision.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = .fixed(precision)
    }

    /// The precision for a matrix stored as `dtype`.
    func resolved(for dtype: SafetensorsDType) -> WeightPrecision {
        switch self {
        case .fixed(let precision): return precision
        case .checkpoint: return dtype == .bf16 ? .bf16 : dtype == .f16 ? .f16 : .f32
        }
    }

    /// The precision for a matrix stored in a GGUF file as `type`: quantised types become BF16 under `.checkpoint`.
    func resolved(for type: GGUFTensorType) -> WeightPrecision {
        switch self {
        case .fixed(let precision): return precision
        case .checkpoint: return type == .f32 ? .f32 : type == .f16 ? .f16 : .bf16
        }
    }

    public var description: String {
        switch self {
        case .checkpoint: return "checkpoint"
        case .fixed(let p): return p.rawValue
        }
    }
}
