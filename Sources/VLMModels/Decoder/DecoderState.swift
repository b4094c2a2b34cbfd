import TensorCore

/// A prefill in progress: the residual stream entering `nextLayer`, with each row's rotary position and its row
/// in the original input. Removing rows here (`keepRows`) removes those tokens from this layer on:
/// later layers neither compute them nor cache their keys and values.
public struct DecoderState: Sendable {
    /// Residual stream `[rows, hidden]` at the input of `nextLayer`.
    public internal(set) var hidden: Tensor
    /// Rotary position of each row (three components under M-RoPE, one index on every axis otherwise).
    public internal(set) var rotaryPositions: [RotaryPosition]
    /// Each row's position on the temporal axis: its absolute position for a 1-D RoPE model and for text.
    public var positions: [Int] { rotaryPositions.map(\.temporal) }
    /// Index of each row in the sequence the prefill started with.
    public internal(set) var sourceRows: [Int]
    /// The next decoder layer to run (== layer count when all have run).
    public internal(set) var nextLayer: Int

    /// Where decoding continues: one past the largest position component of any row (the expanded length for
    /// 1-D RoPE; after the image's largest 3-D position under M-RoPE).
    public var nextPosition: Int { (rotaryPositions.map(\.maximum).max() ?? -1) + 1 }

    /// Keeps only `rows` (ascending indices into the current rows).
    /// - Throws: `ModelError.invalidInput` when `rows` is empty, unsorted or out of range.
    public mutating func keepRows(_ rows: [Int]) throws {
        guard !rows.isEmpty, zip(rows, rows.dropFirst()).allSatisfy({ $0 < $1 }),
              rows.allSatisfy({ (0..<rotaryPositions.count).contains($0) }) else {
            throw ModelError.invalidInput("rows to keep must be a non-empty ascending subset of 0..<\(rotaryPositions.count)")
        }
        hidden = try wrapTensorErrors { try hidden.gatherRows(rows) }
        rotaryPositions = rows.map { rotaryPositions[$0] }
        sourceRows = rows.map { sourceRows[$0] }
    }
}
