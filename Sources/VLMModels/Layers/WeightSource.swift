import TensorCore

/// Where a model's parameters come from, by canonical (classic llava-hf) name and expected shape.
public protocol WeightSource {
    /// The tensor `name` with exactly `shape`, as Float32 (norms, biases, small embeddings).
    /// - Throws: `ModelError.missingTensor`, `.tensorShapeMismatch`, or `.tensor(.nonFinite)` naming the tensor.
    mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor

    /// The 2-D tensors `names` (`[rowCounts[i], inputs]` each) stacked along their rows into one packed matrix,
    /// in the source's precision, converted part by part with no whole-matrix Float32 copy.
    /// - Throws: `ModelError.missingTensor`, `.tensorShapeMismatch`, or `.tensor(.nonFinite)` naming the part.
    mutating func matrix(_ names: [String], rowCounts: [Int], inputs: Int) throws -> PackedMatrix
}

extension WeightSource {
    /// A linear layer `prefix.weight [outputs, inputs]` (+ `prefix.bias [outputs]` when `bias`).
    mutating func linear(_ prefix: String, inputs: Int, outputs: Int, bias: Bool) throws -> Linear {
        try linear(stacking: [prefix], inputs: inputs, outputs: [outputs], bias: bias)
    }

    /// Several linears over the same input stacked into one (one GEMM instead of several), packed straight from
    /// their parts; outputs are concatenated in the order given.
    mutating func linear(stacking prefixes: [String], inputs: Int, outputs: [Int], bias: Bool) throws -> Linear {
        let weight = try matrix(prefixes.map { $0 + ".weight" }, rowCounts: outputs, inputs: inputs)
        let biases = bias ? try zip(prefixes, outputs).map { try tensor($0.0 + ".bias", shape: [$0.1]) } : []
        return try Linear(packed: weight, bias: bias ? try wrapTensorErrors { try Tensor.concatenateRows(biases) } : nil)
    }

    /// A LayerNorm `prefix.weight`, `prefix.bias`, both `[width]`.
    mutating func layerNorm(_ prefix: String, width: Int, eps: Float) throws -> LayerNorm {
        LayerNorm(weight: try tensor(prefix + ".weight", shape: [width]),
                  bias: try tensor(prefix + ".bias", shape: [width]), eps: eps)
    }

    /// A LayerNorm that a checkpoint may leave out (llama.cpp's mmproj files drop CLIP's unused `post_layernorm`):
    /// nil when `prefix.weight` is absent.
    mutating func optionalLayerNorm(_ prefix: String, width: Int, eps: Float) throws -> LayerNorm? {
        do { return try layerNorm(prefix, width: width, eps: eps) } catch ModelError.missingTensor(let name) where name == prefix + ".weight" {
            return nil
        }
    }

    /// An RMSNorm `prefix.weight [width]`.
    mutating func rmsNorm(_ prefix: String, width: Int, eps: Float) throws -> RMSNorm {
        RMSNorm(weight: try tensor(prefix + ".weight", shape: [width]), eps: eps)
    }
}

/// How a family's stored tensor names map onto the canonical names its loader asks for.
public struct WeightNaming: Sendable {
    /// The canonical name of a stored key, nil for buffers that are recomputed rather than loaded.
    public var canonicalName: @Sendable (String) -> String?
    /// Throws `ModelError.mixedWeightLayouts` when the stored names mix two key layouts.
    public var checkSingleLayout: @Sendable ([String]) throws -> Void

    /// A naming from its two rules.
    public init(canonicalName: @escaping @Sendable (String) -> String?, checkSingleLayout: @escaping @Sendable ([String]) throws -> Void) {
        self.canonicalName = canonicalName
        self.checkSingleLayout = checkSingleLayout
    }

    /// The LLaVA family's layouts onto the classic llava-hf one (`LlavaWeightNames`).
    public static let llava = WeightNaming(canonicalName: LlavaWeightNames.canonicalName,
                                           checkSingleLayout: LlavaWeightNames.checkSingleLayout)
}

/// Weights read from a checkpoint, with names mapped to a canonical layout (`WeightNaming`) and a record of use,
/// so that loading can fail on any tensor the model did not consume. Matrices are packed row panel by row
/// panel straight from the memory-mapped file, and each tensor's pages are released once it is consumed, so
/// loading holds about one copy of the model (in the chosen precision) plus a small buffer.
public struct CheckpointWeights: WeightSource {
    private let checkpoint: SafetensorsCheckpoint
    /// Canonical name → stored name.
    private let storedName: [String: String]
    private var consumed: Set<String> = []
    /// The precision matrices are packed in.
    public let precision: LoadPrecision

    /// Indexes `checkpoint` under the canonical names of `naming` (LLaVA's by default).
    /// - Throws: `ModelError.mixedWeightLayouts` when the names mix key layouts, `.duplicateTensor` when two
    ///   stored names map to one canonical name.
    public init(checkpoint: SafetensorsCheckpoint, precision: LoadPrecision = .checkpoint, naming: WeightNaming = .llava) throws {
        self.precision = precision
        try naming.checkSingleLayout(checkpoint.tensorNames)
        var map: [String: String] = [:]
        for name in checkpoint.tensorNames {
            guard let canonical = naming.canonicalName(name) else { continue }
            guard map[canonical] == nil else { throw ModelError.duplicateTensor(name: canonical) }
            map[canonical] = name
        }
        self.checkpoint = checkpoint
        storedName = map
    }

    public mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let (stored, file, _) = try locate(name, shape: shape)
        defer { file.releasePages(of: stored) }
        return try finite(try file.floatTensor(stored), name: stored)
    }

    public mutating func matrix(_ names: [String], rowCounts: [Int], inputs: Int) throws -> PackedMatrix {
        let parts = try zip(names, rowCounts).map { try locate($0.0, shape: [$0.1, inputs]) }
        defer { for part in parts { part.file.releasePages(of: part.stored) } }
        // packStacked refuses mismatched or empty lists; the first part's dtype decides `.checkpoint`.
        return try packStacked(names: parts.map(\.stored), rowCounts: rowCounts, inputs: inputs,
                               precision: precision.resolved(for: parts.first?.dtype ?? .f32)) { part, rows, out in
            try parts[part].file.readRows(parts[part].stored, rows, into: out)
        }
    }

    /// The stored name, file and dtype of canonical tensor `name`, checked against `shape` and marked consumed.
    private mutating func locate(
        _ name: String, shape: [Int]
    ) throws -> (stored: String, file: SafetensorsFile, dtype: SafetensorsDType) {
        guard let stored = storedName[name] else { throw ModelError.missingTensor(name: name) }
        let info = try checkpoint.info(stored)
        guard info.shape == shape else {
            throw ModelError.tensorShapeMismatch(name: stored, expected: shape, actual: info.shape)
        }
        consumed.insert(name)
        return (stored, try checkpoint.file(holding: stored), info.dtype)
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
    private var random: SplitMix64
    /// The precision matrices are packed in.
    public let precision: WeightPrecision

    /// Weights drawn from a generator seeded with `seed`, matrices packed in `precision`.
    public init(seed: UInt64, precision: WeightPrecision = .f32) {
        random = SplitMix64(seed: seed)
        self.precision = precision
    }

    public mutating func matrix(_ names: [String], rowCounts: [Int], inputs: Int) throws -> PackedMatrix {
        var parts: [Tensor] = []
        for (name, rows) in zip(names, rowCounts) { parts.append(try tensor(name, shape: [rows, inputs])) }
        return try packStacked(names: names, rowCounts: rowCounts, inputs: inputs, precision: precision) { part, rows, out in
            parts[part].withUnsafeBufferPointer {
                out.update(from: $0.baseAddress! + rows.lowerBound * inputs, count: rows.count * inputs)
            }
        }
    }

    public mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let isNorm = name.contains("norm") || name.contains("layrnorm")
        if isNorm && name.hasSuffix(".weight") { return Tensor(zeros: Shape(shape), repeating: 1) }
        let fanIn = shape.count == 2 ? shape[1] : shape.count == 4 ? shape[1] * shape[2] * shape[3] : 1
        let isEmbedding = name.contains("embed") || name.contains("embedding")
        let scale: Float = shape.count >= 2 && !isEmbedding ? (3 / Float(fanIn)).squareRoot() : 0.1
        var random = self.random
        let t = Tensor(shape: Shape(shape)) { p in
            for i in 0..<p.count { p[i] = (random.nextUnit() * 2 - 1) * scale }
        }
        self.random = random
        return t
    }
}

/// `tensor` as loaded when every value is finite, so a NaN in a norm, bias or embedding is reported where it is
/// read, with its name and position, not later as a failing activation.
/// - Throws: `ModelError.tensor(.nonFinite)` naming `name` and the element's indices.
func finite(_ tensor: Tensor, name: String) throws -> Tensor {
    guard let bad = tensor.firstNonFiniteIndex else { return tensor }
    var rest = bad, position: [Int] = []
    for dimension in tensor.shape.dims.reversed() {
        position.insert(rest % max(dimension, 1), at: 0)
        rest /= max(dimension, 1)
    }
    throw ModelError.tensor(.nonFinite(operation: "tensor '\(name)' at \(position)", index: bad))
}

/// Packs matrices `names` (`[rowCounts[i], inputs]` each) stacked along their rows in `precision`, reading
/// each part's share of a 16-row panel with `read(part, rows of that part, destination)` (a panel's rows may
/// span two parts, as in q/k/v or gate/up). A NaN or infinite value is reported with its part's name and
/// the flat index inside that part.
func packStacked(
    names: [String], rowCounts: [Int], inputs: Int, precision: WeightPrecision,
    read: (_ part: Int, _ rows: Range<Int>, _ into: UnsafeMutablePointer<Float>) throws -> Void
) throws -> PackedMatrix {
    guard names.count == rowCounts.count, !names.isEmpty else {
        throw ModelError.invalidInput("\(names.count) matrix names for \(rowCounts.count) row counts")
    }
    let starts = rowCounts.reduce(into: [0]) { $0.append($0.last! + $1) }
    do {
        return try PackedMatrix(outputs: starts.last!, inputs: inputs, precision: precision) { rows, out in
            var row = rows.lowerBound
            while row < rows.upperBound {
                let part = starts.lastIndex { $0 <= row }!
                let end = min(rows.upperBound, starts[part + 1])
                try read(part, (row - starts[part])..<(end - starts[part]), out + (row - rows.lowerBound) * inputs)
                row = end
            }
        }
    } catch let TensorError.nonFinite(_, index) {
        let row = index / max(inputs, 1), part = starts.lastIndex { $0 <= row }!
        throw ModelError.tensor(.nonFinite(
            operation: "tensor '\(names[part])' as \(precision)", index: index - starts[part] * inputs))
    } catch let error as TensorError {
        throw ModelError.tensor(error)
    }
}
