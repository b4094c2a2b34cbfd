/// Which attention probabilities a caller wants back from `Attention.scaledDotProduct`.
public enum AttentionProbabilityRequest: Sendable, Equatable {
    /// None (the cheapest).
    case none
    /// The whole map, `[heads, queries, keys]`.
    case all
    /// Only these query rows, `[heads, rows.count, keys]`, in the order given.
    case rows([Int])
    /// Per key, the attention it receives summed over every query row and averaged over heads, `[keys]`
    /// (H2O/PrefixKV importance); the maps themselves are never stored.
    case columnSums
}

/// Output of one attention call.
public struct AttentionResult: Sendable {
    /// Attention output, `[queries, heads · headDimension]`.
    public var output: Tensor
    /// Post-softmax probabilities as requested (nil for `.none`); `[keys]` for `.columnSums`.
    public var probabilities: Tensor?
}

/// Multi-head scaled-dot-product attention with grouped key/value heads and an optional causal mask.
public enum Attention {
    /// softmax(Q Kᵀ / √d) V per head.
    ///
    /// - Parameters:
    ///   - query: `[queries, heads · d]`.
    ///   - key, value: `[rows, kvHeads · d]`; query head h reads key/value head `h / (heads / kvHeads)`.
    ///   - keyCount: how many leading rows of `key`/`value` are live (default: all), so a cache with spare
    ///     capacity can be passed without copying.
    ///   - causal: when true, query i sees keys `0 ... queryOffset + i` (slot order in the key tensor).
    ///   - queryOffset: slot of query 0 among the keys (the cache length before these queries).
    ///   - probabilities: which post-softmax rows to return.
    /// - Throws: `TensorError` for inconsistent shapes, head counts or row indices.
    public static func scaledDotProduct(
        query: Tensor, key: Tensor, value: Tensor, heads: Int, kvHeads: Int,
        keyCount: Int? = nil, causal: Bool, queryOffset: Int = 0, probabilities: AttentionProbabilityRequest = .none,
        options: ComputeOptions = .current
    ) throws -> AttentionResult {
        guard heads > 0, kvHeads > 0, heads % kvHeads == 0, query.shape.rank == 2,
              query.shape[1] % heads == 0 else {
            throw TensorError.invalidArgument(
                operation: "attention", reason: "query \(query.shape) with \(heads) heads / \(kvHeads) kv heads")
        }
        let t = query.shape[0], d = query.shape[1] / heads, rows = key.shape.rank == 2 ? key.shape[0] : 0
        let kvWidth = kvHeads * d
        guard key.shape == [rows, kvWidth], value.shape == [rows, kvWidth] else {
            throw TensorError.shapeMismatch(operation: "attention key/value", expected: [rows, kvWidth],
                                            actual: key.shape == [rows, kvWidth] ? value.shape : key.shape)
        }
        let s = keyCount ?? rows
        guard s >= 0, s <= rows else {
            throw TensorError.indexOutOfRange(operation: "attention keyCount", index: s, bound: rows + 1)
        }
        guard !causal || (queryOffset >= 0 && queryOffset + t <= s) else {
            throw TensorError.invalidArgument(
                operation: "attention", reason: "causal queries \(queryOffset)..<\(queryOffset + t) exceed \(s) keys")
        }
        var keptRows: [Int] = []
        switch probabilities {
        case .none, .columnSums: break
        case .all: keptRows = Array(0..<t)
        case .rows(let rows):
            if let bad = rows.first(where: { $0 < 0 || $0 >= t }) {
                throw TensorError.indexOutOfRange(operation: "attention probability row", index: bad, bound: t)
            }
            keptRows = rows
        }
        let group = heads / kvHeads
        let scale = 1 / Float(d).squareRoot()
        if t == 1, group > 1, probabilities == .none {
            return AttentionResult(output: singleQueryGrouped(query: query, key: key, value: value, heads: heads, kvHeads: kvHeads,
                                                              keyCount: causal ? queryOffset + 1 : s, options: options),
                                   probabilities: nil)
        }
        let inner = options.withThreads(1)
        // Freshly allocated and not yet shared, so the workers write their own slices of the storage directly.
        let wantsColumns = probabilities == .columnSums
        let probs: Tensor? = switch probabilities {
        case .none: nil
        case .columnSums: Tensor(zeros: [heads, s])
        default: Tensor(zeros: [heads, keptRows.count, s])
        }
        let output = Tensor(shape: [t, heads * d]) { out in
            query.withUnsafeBufferPointer { q in
                key.withUnsafeBufferPointer { k in
                    value.withUnsafeBufferPointer { v in
                        let outBase = UncheckedSendable(out.baseAddress!)
                        let probBase: UncheckedSendable<UnsafeMutablePointer<Float>>? = probs.map { p in
                            UncheckedSendable(p.storage.pointer)
                        }
                        Parallel.forEach(heads, threads: options.threads) { h in
                            let kvh = h / group
                            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, t * s))
                            defer { scores.deallocate() }
                            Gemm.multiply(
                                m: t, n: s, k: d, a: q.baseAddress! + h * d, lda: heads * d,
                                b: k.baseAddress! + kvh * d, ldb: kvWidth, transposeB: true,
                                c: scores, ldc: s, options: inner)
                            for i in 0..<t {
                                let row = scores + i * s
                                let visible = causal ? queryOffset + i + 1 : s
                                VectorMath.map(row, row, count: visible) { $0 * scale }
                                Softmax.row(row, count: visible)
                                if visible < s { (row + visible).update(repeating: 0, count: s - visible) }
                            }
                            if let probBase, wantsColumns {
                                let columns = probBase.value + h * s
                                for i in 0..<t { Elementwise.axpy(1, scores + i * s, columns, count: s) }
                            } else if let probBase {
                                for (r, i) in keptRows.enumerated() {
                                    (probBase.value + (h * keptRows.count + r) * s).update(from: scores + i * s, count: s)
                                }
                            }
                            Gemm.multiply(
                                m: t, n: d, k: s, a: scores, lda: s, b: v.baseAddress! + kvh * d, ldb: kvWidth,
                                transposeB: false, c: outBase.value + h * d, ldc: heads * d, options: inner)
                        }
                    }
                }
            }
        }
        if wantsColumns, let perHead = probs {
            let averaged = Tensor(shape: [s]) { out in
                perHead.withUnsafeBufferPointer { p in
                    for h in 0..<heads { Elementwise.axpy(1 / Float(heads), p.baseAddress! + h * s, out.baseAddress!, count: s) }
                }
            }
            return AttentionResult(output: output, probabilities: averaged)
        }
        return AttentionResult(output: output, probabilities: probs)
    }

    /// One query row (a decoding step) with grouped key/value heads: the `heads / kvHeads` query heads that
    /// share a key/value head are contiguous in the row, so each group is one `[group, d]` matrix multiplied by
    /// its keys and values in two matrix products (each key read once per group, not once per head). Every
    /// query sees the first `keyCount` keys.
    private static func singleQueryGrouped(
        query: Tensor, key: Tensor, value: Tensor, heads: Int, kvHeads: Int, keyCount s: Int, options: ComputeOptions
    ) -> Tensor {
        let d = query.shape[1] / heads, group = heads / kvHeads, kvWidth = kvHeads * d
        let scale = 1 / Float(d).squareRoot()
        // Threads go to the groups; a model with fewer groups than threads gives the rest to each product.
        let inner = options.withThreads(max(1, options.threads / kvHeads))
        return Tensor(shape: [1, heads * d]) { out in
            query.withUnsafeBufferPointer { q in
                key.withUnsafeBufferPointer { k in
                    value.withUnsafeBufferPointer { v in
                        let outBase = UncheckedSendable(out.baseAddress!)
                        Parallel.forEach(kvHeads, threads: options.threads) { g in
                            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, group * s))
                            defer { scores.deallocate() }
                            Gemm.multiply(
                                m: group, n: s, k: d, a: q.baseAddress! + g * group * d, lda: d,
                                b: k.baseAddress! + g * d, ldb: kvWidth, transposeB: true, c: scores, ldc: s, options: inner)
                            for r in 0..<group {
                                let row = scores + r * s
                                VectorMath.map(row, row, count: s) { $0 * scale }
                                Softmax.row(row, count: s)
                            }
                            Gemm.multiply(
                                m: group, n: d, k: s, a: scores, lda: s, b: v.baseAddress! + g * d, ldb: kvWidth,
                                transposeB: false, c: outBase.value + g * group * d, ldc: d, options: inner)
                        }
                    }
                }
            }
        }
    }
}
