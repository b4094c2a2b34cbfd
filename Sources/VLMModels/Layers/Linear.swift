import TensorCore

/// A PyTorch-style linear layer: y = x Wᵀ + b with W `[out, in]`, held once, packed for the SIMD kernel
/// (so per-call packing, costly for the few rows of a pruned prefill or a decoding step, never happens).
public struct Linear: Sendable {
    /// Weight, logically `[outputs, inputs]`; `weight.unpacked()` gives that layout.
    public let weight: PackedMatrix
    /// Optional bias, `[outputs]`.
    public let bias: Tensor?

    /// Packs a weight `[outputs, inputs]` with an optional bias `[outputs]`.
    /// - Throws: `ModelError.invalidInput` unless the weight is 2-D and the bias has one entry per output.
    public init(weight: Tensor, bias: Tensor? = nil) throws {
        guard weight.shape.rank == 2, bias.map({ $0.shape == [weight.shape[0]] }) ?? true else {
            throw ModelError.invalidInput("linear weight \(weight.shape) and bias \(bias.map { "\($0.shape)" } ?? "none") do not fit")
        }
        self.weight = try wrapTensorErrors { try PackedMatrix(weight) }
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

    /// Several linears over the same input stacked into one (one GEMM instead of several); outputs are
    /// concatenated in the order given. Biases must be all present or all absent.
    public static func stacked(_ parts: [Linear]) throws -> Linear {
        let weight = try wrapTensorErrors { try Tensor.concatenateRows(parts.map { $0.weight.unpacked() }) }
        let biases = parts.compactMap(\.bias)
        guard biases.isEmpty || biases.count == parts.count else {
            throw ModelError.invalidInput("cannot stack linears where only some have a bias")
        }
        let bias = biases.isEmpty ? nil : try wrapTensorErrors { try Tensor.concatenateRows(biases) }
        return try Linear(weight: weight, bias: bias)
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
