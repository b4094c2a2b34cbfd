import TensorCore

/// A PyTorch-style linear layer: y = x Wᵀ + b with W `[out, in]`, held once, packed for the SIMD kernel
/// (so per-call packing, costly for the few rows of a pruned prefill or a decoding step, never happens).
public struct Linear: Sendable {
    /// Weight, logically `[outputs, inputs]`; `weight.unpacked()` gives that layout.
    public let weight: PackedMatrix
    /// Optional bias, `[outputs]`.
    public let bias: Tensor?

    /// Packs a weight `[outputs, inputs]` in `precision` with an optional bias `[outputs]`.
    /// - Throws: `ModelError.invalidInput` unless the weight is 2-D and the bias has one entry per output;
    ///   `.tensor(.nonFinite)` for NaN or infinite weights.
    public init(weight: Tensor, bias: Tensor? = nil, precision: WeightPrecision = .f32) throws {
        guard weight.shape.rank == 2 else {
            throw ModelError.invalidInput("linear weight \(weight.shape) is not 2-D")
        }
        try self.init(packed: try wrapTensorErrors { try PackedMatrix(weight, precision: precision) }, bias: bias)
    }

    /// A linear over an already packed weight with an optional bias `[outputs]`.
    /// - Throws: `ModelError.invalidInput` unless the bias has one entry per output.
    public init(packed weight: PackedMatrix, bias: Tensor? = nil) throws {
        guard bias.map({ $0.shape == [weight.outputs] }) ?? true else {
            throw ModelError.invalidInput("linear weight [\(weight.outputs), \(weight.inputs)] and bias \(bias.map { "\($0.shape)" } ?? "none") do not fit")
        }
        self.weight = weight
        self.bias = bias
    }

    /// Output features.
    public var outputCount: Int { weight.outputs }
    /// Input features.
    public var inputCount: Int { weight.inputs }

    /// `x [.., inputs]` → `[.., outputs]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try wrapTensorErrors { try x.matmul(weight, bias: bias) }
    }
}

/// LayerNorm parameters.
public struct LayerNorm: Sendable {
    /// Scale, `[width]`.
    public let weight: Tensor
    /// Shift, `[width]`.
    public let bias: Tensor
    /// Variance epsilon.
    public let eps: Float

    /// Normalises the last dimension of `x`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try wrapTensorErrors { try x.layerNorm(weight: weight, bias: bias, eps: eps) }
    }
}

/// RMSNorm parameters.
public struct RMSNorm: Sendable {
    /// Scale, `[width]`.
    public let weight: Tensor
    /// Epsilon inside the square root.
    public let eps: Float

    /// Normalises the last dimension of `x`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try wrapTensorErrors { try x.rmsNorm(weight: weight, eps: eps) }
    }
}
