import TensorCore

/// The key/value cache of one sequence: per decoder layer, the keys and values of every token that layer
/// has seen (after RoPE), with the absolute position of each entry. Layers may hold different tokens
/// (tokens withdrawn or pruned at layer K are absent from layers >= K).
public struct KVCache: Sendable {
    /// One layer's cache. Rows `0..<count` of `keys`/`values` are live; the rest is spare capacity.
    public struct Layer: Sendable {
        /// `[capacity, kvHeads · headDim]`.
        public internal(set) var keys: Tensor
        /// `[capacity, kvHeads · headDim]`.
        public internal(set) var values: Tensor
        /// Live entries.
        public internal(set) var count: Int
        /// Absolute position of each live entry.
        public internal(set) var positions: [Int]
    }

    /// Per-layer caches, index = decoder layer.
    public internal(set) var layers: [Layer]
    /// Width of one cached row (kvHeads · headDim).
    public let rowWidth: Int

    /// An empty cache for `layerCount` layers of `rowWidth` floats per row.
    /// - Throws: `ModelError.invalidInput` for a negative count or width.
    public init(layerCount: Int, rowWidth: Int) throws {
        guard layerCount >= 0, rowWidth >= 0 else {
            throw ModelError.invalidInput("a KV cache needs layerCount >= 0 and rowWidth >= 0, got \(layerCount), \(rowWidth)")
        }
        self.init(checkedLayerCount: layerCount, rowWidth: rowWidth)
    }

    /// An empty cache for sizes already known to be valid (a validated configuration's).
    init(checkedLayerCount layerCount: Int, rowWidth: Int) {
        self.rowWidth = rowWidth
        layers = Array(repeating: Layer(keys: Tensor(zeros: [0, rowWidth]), values: Tensor(zeros: [0, rowWidth]),
                                        count: 0, positions: []), count: layerCount)
    }

    /// Entries held by `layer`.
    /// - Precondition: `layer` is in `0..<layers.count`, as for an array index.
    public func count(layer: Int) -> Int { layers[layer].count }

    /// Bytes of live keys and values across all layers (Float32).
    public var byteCount: Int { layers.reduce(0) { $0 + $1.count } * rowWidth * 2 * MemoryLayout<Float>.size }

    /// Appends `keys`/`values` rows `[n, rowWidth]` at `positions` to `layer`, growing capacity geometrically.
    mutating func append(layer index: Int, keys: Tensor, values: Tensor, positions: [Int]) throws {
        let n = keys.shape[0]
        guard keys.shape == [n, rowWidth], values.shape == [n, rowWidth], positions.count == n else {
            throw ModelError.tensor(.shapeMismatch(operation: "KVCache.append", expected: [n, rowWidth], actual: keys.shape))
        }
        var layer = layers[index]
        layers[index] = Layer(keys: Tensor(zeros: [0, rowWidth]), values: Tensor(zeros: [0, rowWidth]), count: 0, positions: [])
        let needed = layer.count + n
        if needed > layer.keys.shape[0] {
            let capacity = max(needed, layer.keys.shape[0] * 2, 16)
            layer.keys = Self.grown(layer.keys, rows: layer.count, capacity: capacity, width: rowWidth)
            layer.values = Self.grown(layer.values, rows: layer.count, capacity: capacity, width: rowWidth)
        }
        let offset = layer.count * rowWidth
        layer.keys.withUnsafeMutableBufferPointer { dst in
            keys.withUnsafeBufferPointer { (dst.baseAddress! + offset).update(from: $0.baseAddress!, count: n * rowWidth) }
        }
        layer.values.withUnsafeMutableBufferPointer { dst in
            values.withUnsafeBufferPointer { (dst.baseAddress! + offset).update(from: $0.baseAddress!, count: n * rowWidth) }
        }
        layer.count = needed
        layer.positions += positions
        layers[index] = layer
    }

    /// Keeps only the entries at `rows` (ascending, within `0..<count`) of `layer`, in that order.
    /// - Throws: `ModelError.invalidInput` for a layer outside the cache or an out-of-range or unsorted row list.
    public mutating func retain(layer index: Int, rows: [Int]) throws {
        guard layers.indices.contains(index) else {
            throw ModelError.invalidInput("KV cache layer \(index) is outside 0..<\(layers.count)")
        }
        let layer = layers[index]
        guard zip(rows, rows.dropFirst()).allSatisfy({ $0 < $1 }), rows.allSatisfy({ (0..<layer.count).contains($0) }) else {
            throw ModelError.invalidInput("KV rows to keep must be ascending and within 0..<\(layer.count)")
        }
        let keys = try wrapTensorErrors { try layer.keys.gatherRows(rows) }
        let values = try wrapTensorErrors { try layer.values.gatherRows(rows) }
        layers[index] = Layer(keys: keys, values: values, count: rows.count, positions: rows.map { layer.positions[$0] })
    }

    private static func grown(_ t: Tensor, rows: Int, capacity: Int, width: Int) -> Tensor {
        Tensor(shape: [capacity, width]) { out in
            t.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: rows * width) }
        }
    }
}
