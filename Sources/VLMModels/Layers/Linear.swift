import TensorCore

/// A PyTorch-style linear layer: y = x Wᵀ + b with W stored `[out, in]`.
public struct Linear: Sendable {
    /// Weight, `[outputs, inputs]`.
    public let weight: Tensor
    /// Optional bias, `[outputs]`.
    public let bias: Tensor?

    /// Wraps a weight and optional bias.
    /// - Throws: `ModelError.invalidInput` unless the weight is 2-D and the bias has one entry per output.
    public init(weight: Tensor, bias: Tensor? = nil) throws {
        guard weight.shape.rank == 2, bias.map({ $0.shape == [weight.shape[0]] }) ?? true else {
            throw ModelError.invalidInput("linear weight \(weight.shape) and bias \(bias.map { "\($0.shape)" } ?? "none") do not fit")
        }
        self.weight = weight
        self.bias = bias
    }

    /// Output features.
    public var outputCount: Int { weight.shape[0] }
    /// Input features.
    public var inputCount: Int { weight.shape[1] }

    /// `x [.., inputs]` → `[.., outputs]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try wrapTensorErrors { try x.matmul(weight, transposeOther: true, bias: bias) }
    }

    /// Several linears over the same input stacked into one (one GEMM instead of several); outputs are
    /// concatenated in the order given. Biases must be all present or all absent.
    public static func stacked(_ parts: [Linear]) throws -> Linear {
        let weight = try wrapTensorErrors { try Tensor.concatenateRows(parts.map(\.weight)) }
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
