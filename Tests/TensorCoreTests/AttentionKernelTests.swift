import Foundation
import TensorCore
import TestSupport
import XCTest

/// RoPE and scaled-dot-product attention against naive loops.
final class AttentionKernelTests: XCTestCase {
    func testRotaryEmbeddingRotateHalf() throws {
        let d = 8, heads = 2, tokens = 3
        let rope = try RotaryEmbedding(headDimension: d, theta: 10000)
        let x = randomTensor([tokens, heads * d], seed: 11)
        let positions = [0, 5, 17]
        let out = try rope.rotated(x, heads: heads, positions: positions).scalars
        let expected = naiveRotation(x.scalars, heads: heads, d: d, theta: 10000) { t, _ in positions[t] }
        assertClose(out, expected, atol: 2e-5, "rope")
        assertThrows(try RotaryEmbedding(headDimension: 7, theta: 10000), TensorError.self, "need an even head dimension and theta > 0, got 7")
        assertThrows(try rope.rotated(x, heads: heads, positions: [0, 1]), TensorError.self, "RoPE positions: expected 3 elements, got 2")
    }

    /// Rotate-half RoPE in double: pair (j, j + d/2) of every head of row t by `position(t, j)` · theta^(−2j/d).
    private func naiveRotation(_ v: [Float], heads: Int, d: Int, theta: Double, position: (Int, Int) -> Int) -> [Double] {
        var expected = [Double](repeating: 0, count: v.count)
        for t in 0..<(v.count / (heads * d)) {
            for h in 0..<heads {
                for j in 0..<(d / 2) {
                    let angle = Double(position(t, j)) * pow(theta, -2.0 * Double(j) / Double(d))
                    let a = Double(v[t * heads * d + h * d + j]), b = Double(v[t * heads * d + h * d + j + d / 2])
                    expected[t * heads * d + h * d + j] = a * cos(angle) - b * sin(angle)
                    expected[t * heads * d + h * d + j + d / 2] = b * cos(angle) + a * sin(angle)
                }
            }
        }
        return expected
    }

    /// M-RoPE: frequency slot j reads the temporal, height or width index by `sections`; a uniform position is
    /// ordinary RoPE.
    func testMultimodalRotaryEmbeddingReadsEachAxisBySection() throws {
        let d = 8, heads = 2
        let rope = try RotaryEmbedding(headDimension: d, theta: 1e6, sections: [1, 1, 2])
        let positions = [RotaryPosition(temporal: 3, height: 5, width: 7), RotaryPosition(4)]
        let x = randomTensor([2, heads * d], seed: 12)
        let out = try rope.rotated(x, heads: heads, positions: positions).scalars
        let expected = naiveRotation(x.scalars, heads: heads, d: d, theta: 1e6) { t, j in
            [positions[t].temporal, positions[t].height, positions[t].width, positions[t].width][j]
        }
        assertClose(out, expected, atol: 2e-5, "m-rope")
        let plain = try RotaryEmbedding(headDimension: d, theta: 1e6)
        assertClose(Array(out[16...]), try plain.rotated(x, heads: heads, positions: [4, 4]).scalars.suffix(16).map { $0 }, atol: 0, "uniform")
        for bad in [[1, 1, 1], [2, 2], [-1, 2, 3], [Int.max, 1, 1]] {
            assertThrows(try RotaryEmbedding(headDimension: d, theta: 1e6, sections: bad), TensorError.self, "must be three counts summing to head dimension / 2 = 4", "\(bad)")
        }
    }

    /// Naive attention: returns output [t, heads*d] and probabilities [heads, t, s].
    private func reference(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, kvHeads: Int, causal: Bool, offset: Int)
        -> (out: [Double], probs: [Double])
    {
        let t = q.shape[0], s = k.shape[0], d = q.shape[1] / heads
        let qv = q.scalars, kv = k.scalars, vv = v.scalars
        var out = [Double](repeating: 0, count: t * heads * d), probs = [Double](repeating: 0, count: heads * t * s)
        for h in 0..<heads {
            let g = h / (heads / kvHeads)
            for i in 0..<t {
                let visible = causal ? offset + i + 1 : s
                var scores = (0..<visible).map { j in
                    (0..<d).reduce(0.0) { $0 + Double(qv[i * heads * d + h * d + $1]) * Double(kv[j * kvHeads * d + g * d + $1]) }
                        / Double(d).squareRoot()
                }
                let m = scores.max()!
                scores = scores.map { exp($0 - m) }
                let sum = scores.reduce(0, +)
                for j in 0..<visible {
                    let p = scores[j] / sum
                    probs[(h * t + i) * s + j] = p
                    for c in 0..<d { out[i * heads * d + h * d + c] += p * Double(vv[j * kvHeads * d + g * d + c]) }
                }
            }
        }
        return (out, probs)
    }

    func testCausalGroupedAttentionWithProbabilities() throws {
        for (t, s, offset) in [(1, 1, 0), (3, 3, 0), (17, 17, 0), (2, 19, 17), (65, 65, 0)] {
            let heads = 4, kvHeads = 2, d = 5
            let q = randomTensor([t, heads * d], seed: UInt64(t), range: -2...2)
            let k = randomTensor([s, kvHeads * d], seed: UInt64(s + 100), range: -2...2)
            let v = randomTensor([s, kvHeads * d], seed: UInt64(s + 200))
            let expected = reference(q, k, v, heads: heads, kvHeads: kvHeads, causal: true, offset: offset)
            for threads in [1, 2] {
                let result = try Attention.scaledDotProduct(
                    query: q, key: k, value: v, heads: heads, kvHeads: kvHeads, causal: true, queryOffset: offset,
                    probabilities: .all, options: ComputeOptions.standard.withThreads(threads))
                assertClose(result.output.scalars, expected.out, atol: 2e-5, "attention out t=\(t)")
                XCTAssertEqual(result.probabilities?.shape, [heads, t, s])
                assertClose(result.probabilities!.scalars, expected.probs, atol: 2e-6, "attention probs t=\(t)")
                let sums = try Attention.scaledDotProduct(
                    query: q, key: k, value: v, heads: heads, kvHeads: kvHeads, causal: true, queryOffset: offset,
                    probabilities: .columnSums, options: ComputeOptions.standard.withThreads(threads)).probabilities!
                let expectedSums = (0..<s).map { j in
                    (0..<heads).reduce(0.0) { acc, h in acc + (0..<t).reduce(0.0) { $0 + expected.probs[(h * t + $1) * s + j] } } / Double(heads)
                }
                assertClose(sums.scalars, expectedSums, atol: 1e-5, "column sums t=\(t)")
            }
        }
    }

    /// A decoding step (one query row) with 8 query heads per key/value head, as LLaMA-style models have:
    /// causal over a cache with spare rows, and non-causal, at 1 and 2 threads, against the naive loop.
    func testSingleQueryGroupedAttentionMatchesNaiveLoop() throws {
        for (heads, kvHeads, d, rows, live) in [(32, 4, 16, 700, 641), (8, 1, 8, 9, 9), (6, 3, 5, 1, 1)] {
            let q = randomTensor([1, heads * d], seed: UInt64(heads + rows))
            let k = randomTensor([rows, kvHeads * d], seed: UInt64(rows + 100), range: -2...2)
            let v = randomTensor([rows, kvHeads * d], seed: UInt64(rows + 200))
            let liveK = try k.gatherRows(Array(0..<live)), liveV = try v.gatherRows(Array(0..<live))
            let expected = reference(q, liveK, liveV, heads: heads, kvHeads: kvHeads, causal: true, offset: live - 1).out
            for threads in [1, 2] {
                let options = ComputeOptions.standard.withThreads(threads)
                let causal = try Attention.scaledDotProduct(
                    query: q, key: k, value: v, heads: heads, kvHeads: kvHeads, keyCount: live, causal: true,
                    queryOffset: live - 1, options: options)
                assertClose(causal.output.scalars, expected, atol: 1e-5, "causal \(heads)/\(kvHeads) over \(live) keys x\(threads)")
                XCTAssertNil(causal.probabilities)
                let open = try Attention.scaledDotProduct(
                    query: q, key: liveK, value: liveV, heads: heads, kvHeads: kvHeads, causal: false, options: options)
                assertClose(open.output.scalars, expected, atol: 1e-5, "non-causal \(heads)/\(kvHeads) x\(threads)")
            }
        }
    }

    func testNonCausalAttentionReturnsChosenRowsOnly() throws {
        let heads = 4, d = 4, n = 17
        let q = randomTensor([n, heads * d], seed: 1), k = randomTensor([n, heads * d], seed: 2)
        let v = randomTensor([n, heads * d], seed: 3)
        let expected = reference(q, k, v, heads: heads, kvHeads: heads, causal: false, offset: 0)
        let result = try Attention.scaledDotProduct(
            query: q, key: k, value: v, heads: heads, kvHeads: heads, causal: false, probabilities: .rows([0, 16]))
        assertClose(result.output.scalars, expected.out, atol: 2e-5, "out")
        let p = result.probabilities!
        XCTAssertEqual(p.shape, [heads, 2, n])
        for h in 0..<heads {
            for (r, i) in [0, 16].enumerated() {
                for j in 0..<n {
                    XCTAssertEqual(Double(p[h, r, j]), expected.probs[(h * n + i) * n + j], accuracy: 2e-6)
                }
            }
        }
        assertThrows(try Attention.scaledDotProduct(
            query: q, key: k, value: v, heads: heads, kvHeads: heads, causal: false, probabilities: .rows([17])), TensorError.self, "index 17 is outside 0..<17")
        assertThrows(try Attention.scaledDotProduct(
            query: q, key: k, value: v, heads: 3, kvHeads: 2, causal: false), TensorError.self, "3 heads / 2 kv heads")
    }
}
