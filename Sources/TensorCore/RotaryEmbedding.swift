import Foundation

/// Rotary position embedding in the rotate-half (NeoX / Hugging Face LLaMA) convention.
///
/// For head dimension d, pair (j, j + d/2) is rotated by angle `position · theta^(−2j/d)`:
/// x'[j] = x[j] cos − x[j+d/2] sin, x'[j+d/2] = x[j+d/2] cos + x[j] sin. Frequencies and angles are
/// computed in Float32, as transformers does. With `sections` (M-RoPE's `mrope_section`), frequency slot j takes
/// its position from the temporal axis for the first `sections[0]` slots, the height axis for the next
/// `sections[1]` and the width axis for the rest.
public struct RotaryEmbedding: Sendable, Equatable {
    /// Dimension of one attention head (even).
    public let headDimension: Int
    /// RoPE base (`rope_theta`, 10000 for LLaMA 1/2).
    public let theta: Float
    /// theta^(−2j/d) for j < d/2.
    public let inverseFrequencies: [Float]
    /// M-RoPE's frequency slots per axis (temporal, height, width), summing to d/2; nil for 1-D RoPE.
    public let sections: [Int]?
    /// The axis (0 temporal, 1 height, 2 width) each frequency slot reads.
    private let slotAxes: [Int]

    /// - Throws: `TensorError.invalidArgument` when `headDimension` is odd or not positive, theta <= 0, or
    ///   `sections` is not three non-negative counts summing to `headDimension / 2`.
    public init(headDimension: Int, theta: Float, sections: [Int]? = nil) throws {
        guard headDimension > 0, headDimension % 2 == 0, theta > 0, theta.isFinite else {
            throw TensorError.invalidArgument(
                operation: "RotaryEmbedding", reason: "need an even head dimension and theta > 0, got \(headDimension), \(theta)")
        }
        if let sections {
            guard sections.count == 3, sections.allSatisfy({ (0...headDimension).contains($0) }), sections.reduce(0, +) == headDimension / 2 else {
                throw TensorError.invalidArgument(
                    operation: "RotaryEmbedding",
                    reason: "M-RoPE sections \(sections) must be three counts summing to head dimension / 2 = \(headDimension / 2)")
            }
        }
        self.headDimension = headDimension
        self.theta = theta
        self.sections = sections
        slotAxes = sections.map { s in (0..<3).flatMap { Array(repeating: $0, count: s[$0]) } }
            ?? Array(repeating: 0, count: headDimension / 2)
        inverseFrequencies = (0..<(headDimension / 2)).map { j in
            1 / powf(theta, Float(2 * j) / Float(headDimension))
        }
    }

    /// Rotates, in place, `tokens` rows of `heads` heads each (row stride `rowStride` floats), row t at
    /// position `positions[t]` (its temporal component only, without `sections`).
    /// - Precondition: `positions.count == tokens` (the unchecked pointer layer under `rotated`).
    public func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, rowStride: Int, positions: [RotaryPosition]) {
        precondition(positions.count == tokens)
        let half = headDimension / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headDimension) { table in
            for t in 0..<tokens {
                for j in 0..<half {
                    let angle = Float(positions[t].component(slotAxes[j])) * inverseFrequencies[j]
                    table[j] = cosf(angle)
                    table[half + j] = sinf(angle)
                }
                Self.rotateHalf(x + t * rowStride, heads: heads, headDimension: headDimension,
                                cosines: table.baseAddress!, sines: table.baseAddress! + half)
            }
        }
    }

    /// Rotates, in place, the `heads` heads of one row (`headDimension` floats each, consecutive): pair
    /// (j, j + d/2) of every head by the angle whose cosine and sine are `cosines[j]`, `sines[j]` (j < d/2). The
    /// one rotate-half kernel behind every rotary embedding (1-D, M-RoPE, Qwen2.5-VL's 2-D vision RoPE).
    public static func rotateHalf(
        _ row: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int, cosines: UnsafePointer<Float>, sines: UnsafePointer<Float>
    ) {
        let half = headDimension / 2
        for h in 0..<heads {
            let v = row + h * headDimension
            for j in 0..<half {
                let a = v[j], b = v[j + half], c = cosines[j], s = sines[j]
                v[j] = a * c - b * s
                v[j + half] = b * c + a * s
            }
        }
    }

    /// `x [tokens, heads · headDimension]` rotated, row t at position `positions[t]` on every axis.
    /// - Throws: `TensorError` when the shape or the number of positions does not fit.
    public func rotated(_ x: Tensor, heads: Int, positions: [Int]) throws -> Tensor {
        try rotated(x, heads: heads, positions: positions.map(RotaryPosition.init))
    }

    /// `x [tokens, heads · headDimension]` rotated, row t at position `positions[t]`.
    /// - Throws: `TensorError` when the shape or the number of positions does not fit, or a component is negative.
    public func rotated(_ x: Tensor, heads: Int, positions: [RotaryPosition]) throws -> Tensor {
        guard x.shape.rank == 2, x.shape[1] == heads * headDimension else {
            throw TensorError.shapeMismatch(
                operation: "RoPE", expected: [x.shape.rowCount, heads * headDimension], actual: x.shape)
        }
        guard positions.count == x.shape[0] else {
            throw TensorError.countMismatch(operation: "RoPE positions", expected: x.shape[0], actual: positions.count)
        }
        if let bad = positions.first(where: { $0.minimum < 0 }) {
            throw TensorError.invalidArgument(operation: "RoPE", reason: "negative position \(bad)")
        }
        var out = x
        out.withUnsafeMutableBufferPointer {
            apply($0.baseAddress!, tokens: positions.count, heads: heads, rowStride: x.shape[1], positions: positions)
        }
        return out
    }
}
