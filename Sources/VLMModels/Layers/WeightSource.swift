import TensorCore

/// Where a model's parameters come from, by canonical (classic llava-hf) name and expected shape.
public protocol WeightSource {
    /// The tensor `name` with exactly `shape`.
    /// - Throws: `ModelError.missingTensor` or `.tensorShapeMismatch`.
    mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor
}

extension WeightSource {
    /// A linear layer `prefix.weight [outputs, inputs]` (+ `prefix.bias [outputs]` when `bias`).
    mutating func linear(_ prefix: String, inputs: Int, outputs: Int, bias: Bool) throws -> Linear {
        let w = try tensor(prefix + ".weight", shape: [outputs, inputs])
        return try Linear(weight: w, bias: bias ? try tensor(prefix + ".bias", shape: [outputs]) : nil)
    }

    /// A LayerNorm `prefix.weight`, `prefix.bias`, both `[width]`.
    mutating func layerNorm(_ prefix: String, width: Int, eps: Float) throws -> LayerNorm {
        LayerNorm(weight: try tensor(prefix + ".weight", shape: [width]),
                  bias: try tensor(prefix + ".bias", shape: [width]), eps: eps)
    }

    /// An RMSNorm `prefix.weight [width]`.
    mutating func rmsNorm(_ prefix: String, width: Int, eps: Float) throws -> RMSNorm {
        RMSNorm(weight: try tensor(prefix + ".weight", shape: [width]), eps: eps)
    }
}

/// Weights read from a checkpoint, with names mapped to the classic llava-hf layout and a record of use,
/// so that loading can fail on any tensor the model did not consume.
public struct CheckpointWeights: WeightSource {
    private let checkpoint: SafetensorsCheckpoint
    /// Canonical name → stored name.
    private let storedName: [String: String]
    private var consumed: Set<String> = []

    /// Indexes `checkpoint` under canonical names (see `LlavaWeightNames.canonicalName`).
    /// - Throws: `ModelError.duplicateTensor` when two stored names map to one canonical name.
    public init(checkpoint: SafetensorsCheckpoint) throws {
        var map: [String: String] = [:]
        for name in checkpoint.tensorNames {
            guard let canonical = LlavaWeightNames.canonicalName(name) else { continue }
            guard map[canonical] == nil else { throw ModelError.duplicateTensor(name: canonical) }
            map[canonical] = name
        }
        self.checkpoint = checkpoint
        storedName = map
    }

    public mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let stored = storedName[name] else { throw ModelError.missingTensor(name: name) }
        let info = try checkpoint.info(stored)
        guard info.shape == shape else {
            throw ModelError.tensorShapeMismatch(name: stored, expected: shape, actual: info.shape)
        }
        consumed.insert(name)
        return try checkpoint.floatTensor(stored)
    }

    /// Throws `ModelError.unusedTensors` if any mapped checkpoint tensor was never requested.
    public func verifyAllConsumed() throws {
        let unused = storedName.keys.filter { !consumed.contains($0) }.map { storedName[$0]! }.sorted()
        guard unused.isEmpty else { throw ModelError.unusedTensors(names: unused) }
    }
}

/// Deterministic pseudo-random weights for a configuration, for benchmarks ("language-model stub"):
/// matrices uniform with variance 1/fan_in, norm scales 1, biases and embeddings small and uniform.
public struct GeneratedWeights: WeightSource {
    private var state: UInt64

    /// Weights drawn from a generator seeded with `seed`.
    public init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    public mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let isNorm = name.contains("norm") || name.contains("layrnorm")
        if isNorm && name.hasSuffix(".weight") { return Tensor(zeros: Shape(shape), repeating: 1) }
        let fanIn = shape.count == 2 ? shape[1] : shape.count == 4 ? shape[1] * shape[2] * shape[3] : 1
        let isEmbedding = name.contains("embed") || name.contains("embedding")
        let scale: Float = shape.count >= 2 && !isEmbedding ? (3 / Float(fanIn)).squareRoot() : 0.1
        var s = state
        let t = Tensor(shape: Shape(shape)) { p in
            for i in 0..<p.count {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17
                p[i] = (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        state = s
        return t
    }
}
