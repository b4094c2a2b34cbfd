/// Reductions of a stored attention-probability map `[heads, queries, keys]` (`AttentionProbabilityRequest.all`
/// or `.rows`), for callers that need both a full map and what the cheaper requests would have returned.
public enum AttentionMap {
    /// Per key, the attention it receives summed over the query rows and averaged over the heads, `[keys]`: what
    /// `AttentionProbabilityRequest.columnSums` returns without storing the map.
    /// - Throws: `TensorError.invalidArgument` unless `map` is 3-D.
    public static func columnSums(_ map: Tensor) throws -> [Float] {
        guard map.shape.rank == 3 else {
            throw TensorError.invalidArgument(operation: "AttentionMap.columnSums", reason: "map \(map.shape) is not [heads, queries, keys]")
        }
        let heads = map.shape[0], rows = map.shape[1], keys = map.shape[2]
        var sums = [Float](repeating: 0, count: keys)
        map.withUnsafeBufferPointer { p in
            for h in 0..<heads { for r in 0..<rows { for j in 0..<keys { sums[j] += p[(h * rows + r) * keys + j] } } }
        }
        return sums.map { $0 / Float(heads) }
    }

    /// The given query rows of `map`, `[heads, rows.count, keys]`, in the order given.
    /// - Throws: `TensorError` unless `map` is 3-D and every row is a query of it.
    public static func queryRows(_ rows: [Int], of map: Tensor) throws -> Tensor {
        guard map.shape.rank == 3 else {
            throw TensorError.invalidArgument(operation: "AttentionMap.queryRows", reason: "map \(map.shape) is not [heads, queries, keys]")
        }
        let heads = map.shape[0], queries = map.shape[1], keys = map.shape[2]
        let flat = try map.reshaped([heads * queries, keys])
        let picked = try flat.gatherRows((0..<heads).flatMap { h in rows.map { h * queries + $0 } })
        return try picked.reshaped([heads, rows.count, keys])
    }
}
