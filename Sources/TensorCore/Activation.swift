import Foundation

/// Pointwise activation functions used by CLIP, SigLIP, the LLaVA projector and LLaMA/Qwen2.
public enum Activation: String, Sendable, CaseIterable, Codable {
    /// GELU, exact erf form: 0.5 x (1 + erf(x / √2)) (PyTorch `gelu` default).
    case gelu
    /// GELU, tanh approximation: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))) (PyTorch `gelu(approximate="tanh")`,
    /// Hugging Face `gelu_pytorch_tanh`; SigLIP).
    case geluTanh = "gelu_pytorch_tanh"
    /// quick_gelu: x · sigmoid(1.702 x) (CLIP).
    case quickGelu = "quick_gelu"
    /// SiLU (swish): x · sigmoid(x) (LLaMA's gate).
    case silu

    /// Applies the activation to `count` floats from `x` into `y` (which may equal `x`).
    public func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .gelu:
            for i in 0..<count {
                let v = x[i]
                y[i] = 0.5 * v * (1 + erf(v * 0.707_106_77))
            }
        case .geluTanh:
            let beta: Float = 0.797_884_56  // √(2/π)
            for i in 0..<count {
                let v = x[i]
                y[i] = 0.5 * v * (1 + tanh(beta * (v + 0.044_715 * v * v * v)))
            }
        case .quickGelu:
            VectorMath.map(x, y, count: count) { v in v / (1 + VectorMath.exp(-1.702 * v)) }
        case .silu:
            VectorMath.map(x, y, count: count) { v in v / (1 + VectorMath.exp(-v)) }
        }
    }

    /// Parses a Hugging Face activation name (`gelu`, `gelu_pytorch_tanh`, `quick_gelu`, `silu`, `swish`).
    /// - Throws: `TensorError.invalidArgument` for names this library does not implement.
    public init(huggingFaceName name: String) throws {
        switch name {
        case "gelu": self = .gelu
        case "gelu_pytorch_tanh": self = .geluTanh
        case "quick_gelu": self = .quickGelu
        case "silu", "swish": self = .silu
        default:
            throw TensorError.invalidArgument(operation: "Activation", reason: "unsupported activation '\(name)'")
        }
    }
}

extension Tensor {
    /// The activation applied to every element.
    public func applying(_ activation: Activation) -> Tensor {
        Tensor(shape: shape) { out in
            withUnsafeBufferPointer { activation.apply($0.baseAddress!, out.baseAddress!, count: count) }
        }
    }
}
