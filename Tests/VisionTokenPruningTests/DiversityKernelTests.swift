import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import XCTest

/// The set-selection kernels against naive references: greedy DPP MAP against determinants, max-min diversity
/// and VisPruner's bipartite de-duplication against direct loops, with ties, T = N and rank-deficient kernels.
final class DiversityKernelTests: XCTestCase {
    /// A conditional-DPP kernel diag(r)·S·diag(r) from `dimension`-wide random features (rank ≤ dimension).
    private func kernel(n: Int, dimension: Int, seed: UInt64) -> (Tensor, [Double]) {
        let features = randomTensor([n, dimension], seed: seed)
        let s = try! Similarity.cosineMatrix(features, features).scalars
        var g = SplitMix64(seed: seed + 1)
        let r = (0..<n).map { _ in Float.random(in: 0.2...1, using: &g) }
        let l = (0..<(n * n)).map { r[$0 / n] * s[$0] * r[$0 % n] }
        return (try! Tensor(shape: [n, n], scalars: l), l.map(Double.init))
    }

    func testGreedyMAPMatchesDeterminantsIncludingRankDeficiencyAndTEqualsN() throws {
        for (n, dimension, count) in [(7, 16, 4), (9, 16, 9), (8, 3, 8), (6, 2, 5)] {
            let (l, exact) = kernel(n: n, dimension: dimension, seed: UInt64(n * 31 + dimension))
            let picked = try GreedyMAP.select(kernel: l, count: count)
            let expected = NaiveSelection.greedyMAP(exact, n, count: count)
            XCTAssertEqual(picked, expected, "n \(n), rank ≤ \(dimension), T \(count)")
            // Rank-deficient kernels stop at their rank instead of taking the square root of ≤ 0.
            XCTAssertEqual(picked.count, min(count, min(n, dimension)), "n \(n), rank ≤ \(dimension)")
            XCTAssertEqual(Set(picked).count, picked.count)
        }
        // Ties: the identity kernel keeps every gain at 1, so the lower index wins each step.
        var identity = [Float](repeating: 0, count: 25)
        for i in 0..<5 { identity[i * 5 + i] = 1 }
        XCTAssertEqual(try GreedyMAP.select(kernel: Tensor(shape: [5, 5], scalars: identity), count: 5), [0, 1, 2, 3, 4])
        XCTAssertEqual(try GreedyMAP.select(kernel: Tensor(shape: [5, 5], scalars: identity), count: 0), [])
        assertThrows(try GreedyMAP.select(kernel: Tensor(shape: [5, 5], scalars: identity), count: 6), PruningError.self, "6 picks among 5 items")
    }

    func testMaxMinDiversityMatchesTheOfficialStepsWithTiesAndAllTokens() throws {
        for (n, dimension, count) in [(12, 8, 5), (10, 3, 10), (16, 16, 7)] {
            let features = randomTensor([n, dimension], seed: UInt64(n + dimension))
            let cosine = try Similarity.cosineMatrix(features, features).scalars
            let distance = try Tensor(shape: [n, n], scalars: cosine.map { 1 - $0 })
            XCTAssertEqual(try MaxMinDiversity.select(distance: distance, count: count),
                           NaiveSelection.divPrune(distance.scalars.map(Double.init), n, count: count), "n \(n), T \(count)")
        }
        // Equidistant items: every score ties, so the order is 0, 1, 2, ….
        let equidistant = try Tensor(shape: [4, 4], scalars: (0..<16).map { $0 / 4 == $0 % 4 ? Float(0) : 1 })
        XCTAssertEqual(try MaxMinDiversity.select(distance: equidistant, count: 4), [0, 1, 2, 3])
    }

    func testBipartiteDeduplicationByHand() {
        // One round: A = evens, B = odds; every A scores its own index, so r = 5 drops A entirely.
        XCTAssertEqual(BipartiteDeduplication.reduce(Array(0..<10), to: 5) { a, _ in Float(a) }, [1, 3, 5, 7, 9])
        // Two rounds of 20 → 12 → 10. Round 1 (r = 8): A = 0, 2, …, 18 scored a % 7 (0 2 4 6 1 3 5 0 2 4), so the
        // eight highest go (6, 12, 4, 18, 10, 2, 16, 8), leaving 0 and 14 (ties keep the earlier A first), then B.
        let first = BipartiteDeduplication.reduce(Array(0..<20), to: 12) { a, _ in Float(a % 7) }
        XCTAssertEqual(first, [0, 14, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19])
        // Round 2 (r = 2) on that list: A = 0, 1, 5, 9, 13, 17 (scores 0 1 5 2 6 3): drop 13 and 5.
        XCTAssertEqual(BipartiteDeduplication.reduce(first, to: 10) { a, _ in Float(a % 7) }, [17, 9, 1, 0, 14, 3, 7, 11, 15, 19])
        XCTAssertEqual(BipartiteDeduplication.reduce(Array(0..<20), to: 10) { a, _ in Float(a % 7) }, [17, 9, 1, 0, 14, 3, 7, 11, 15, 19])
        XCTAssertEqual(BipartiteDeduplication.reduce([4, 2], to: 3) { _, _ in 0 }, [4, 2], "fewer than kept: unchanged")
        XCTAssertEqual(BipartiteDeduplication.reduce([4, 2], to: 0) { _, _ in 0 }, [])
    }
}
