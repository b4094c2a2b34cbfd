import Foundation
import TensorCore
import TestSupport
import XCTest

/// Top-k, cosine similarity, KL divergence, row gather/scatter and half-precision conversion.
final class SelectionKernelTests: XCTestCase {
    func testTopKStableTieBreak() throws {
        XCTAssertEqual(try TopK.indices(of: [0.5, 0.9, 0.5, 0.9, 0.1], k: 3), [1, 3, 0])
        XCTAssertEqual(try TopK.indices(of: [1, 2, 3], k: 0), [])
        assertThrows(try TopK.indices(of: [1, 2], k: 3), TensorError.self, "k = 3 for 2 scores")
        XCTAssertThrowsError(try TopK.indices(of: [1, .nan], k: 1)) { error in
            XCTAssertEqual(error as? TensorError, .nonFinite(operation: "topK", index: 1))
        }
        for n in oddSizes {
            let scores = randomTensor([n], seed: UInt64(n)).scalars
            let k = (n + 1) / 2
            let naive = Array(scores.enumerated().sorted { $0.element > $1.element || ($0.element == $1.element && $0.offset < $1.offset) }
                .map(\.offset).prefix(k))
            XCTAssertEqual(try TopK.indices(of: scores, k: k), naive)
        }
    }

    func testCosineMatrix() throws {
        for n in oddSizes {
            let d = 9
            let a = randomTensor([3, d], seed: UInt64(n)), b = randomTensor([n, d], seed: UInt64(n + 1))
            let av = a.scalars.map(Double.init), bv = b.scalars.map(Double.init)
            var expected = [Double]()
            for i in 0..<3 {
                for j in 0..<n {
                    let x = av[(i * d)..<((i + 1) * d)], y = bv[(j * d)..<((j + 1) * d)]
                    let dot = zip(x, y).map(*).reduce(0, +)
                    let nx = x.map { $0 * $0 }.reduce(0, +).squareRoot(), ny = y.map { $0 * $0 }.reduce(0, +).squareRoot()
                    expected.append(dot / (nx * ny))
                }
            }
            assertClose(try Similarity.cosineMatrix(a, b).scalars, expected, atol: 1e-5, "cosine n=\(n)")
        }
        XCTAssertEqual(try Similarity.cosineMatrix(Tensor(zeros: [1, 3]), randomTensor([2, 3], seed: 1)).scalars, [0, 0])
        assertThrows(try Similarity.cosineMatrix(Tensor(zeros: [1, 3]), Tensor(zeros: [1, 4])), TensorError.self, "cosineMatrix: expected shape [1, 3], got [1, 4]")
    }

    func testLogSoftmaxAndKL() throws {
        let p: [Float] = [1, 2, 3], q: [Float] = [3, 2, 1]
        let lp = try Divergence.logSoftmax(p)
        let z = log(exp(1.0) + exp(2.0) + exp(3.0))
        for i in 0..<3 { XCTAssertEqual(lp[i], Double(i + 1) - z, accuracy: 1e-12) }
        let pp = [1.0, 2, 3].map { exp($0 - z) }, qq = [3.0, 2, 1].map { exp($0 - z) }
        let expected = zip(pp, qq).map { $0 * log($0 / $1) }.reduce(0, +)
        XCTAssertEqual(try Divergence.kl(p: p, q: q), expected, accuracy: 1e-12)
        XCTAssertEqual(try Divergence.kl(p: p, q: p), 0, accuracy: 1e-15)
        assertThrows(try Divergence.kl(p: p, q: [1, 2]), TensorError.self, "kl: expected 3 elements, got 2")
        assertThrows(try Divergence.logSoftmax([1, .infinity]), TensorError.self, "flat index 1 is NaN or infinite")
        for n in oddSizes {
            let a = randomTensor([n], seed: UInt64(n), range: -5...5).scalars
            let b = randomTensor([n], seed: UInt64(n + 3), range: -5...5).scalars
            let la = try Divergence.logSoftmax(a), lb = try Divergence.logSoftmax(b)
            XCTAssertEqual(la.map(exp).reduce(0, +), 1, accuracy: 1e-12)
            XCTAssertEqual(try Divergence.kl(p: a, q: b), zip(la, lb).map { exp($0) * ($0 - $1) }.reduce(0, +), accuracy: 1e-12)
        }
    }

    func testGatherScatterConcatenateRows() throws {
        let x = try Tensor(shape: [4, 2], scalars: [0, 1, 10, 11, 20, 21, 30, 31])
        XCTAssertEqual(try x.gatherRows([3, 0]).scalars, [30, 31, 0, 1])
        XCTAssertEqual(try x.rows(1..<3).scalars, [10, 11, 20, 21])
        var y = x
        try y.scatterRows(try Tensor(shape: [2, 2], scalars: [-1, -2, -3, -4]), at: [2, 0])
        XCTAssertEqual(y.scalars, [-3, -4, 10, 11, -1, -2, 30, 31])
        XCTAssertEqual(try Tensor.concatenateRows([x.rows(0..<1), x.rows(3..<4)]).scalars, [0, 1, 30, 31])
        assertThrows(try x.gatherRows([4]), TensorError.self, "gatherRows: index 4 is outside 0..<4")
        assertThrows(try y.scatterRows(Tensor(zeros: [1, 3]), at: [0]), TensorError.self, "scatterRows: expected shape [1, 2], got [1, 3]")
        assertThrows(try Tensor.concatenateRows([x, Tensor(zeros: [1, 3])]), TensorError.self, "concatenateRows: expected shape [1, 2], got [1, 3]")
    }

    func testHalfPrecisionRoundTrips() {
        let values: [Float] = [0, -0.0, 1, -2.5, 65504, 6.1035156e-05, 5.9604645e-08, 3.0517578e-05, .infinity,
                               -.infinity, 0.1, 1000.5, 1e-9, 7e4]
        // Expected half bits computed by hand / IEEE tables.
        let expectedF16: [UInt16] = [0x0000, 0x8000, 0x3C00, 0xC100, 0x7BFF, 0x0400, 0x0001, 0x0200, 0x7C00,
                                     0xFC00, 0x2E66, 0x63D1, 0x0000, 0x7C00]
        XCTAssertEqual(values.map(HalfPrecision.f16Bits), expectedF16)
        var widened = [Float](repeating: 0, count: values.count)
        expectedF16.withUnsafeBytes { HalfPrecision.widenF16($0.baseAddress!, into: &widened, count: values.count) }
        XCTAssertEqual(widened, [0, -0.0, 1, -2.5, 65504, 6.1035156e-05, 5.9604645e-08, 3.0517578e-05, .infinity,
                                 -.infinity, 0.099975586, 1000.5, 0, .infinity])
        XCTAssertTrue(HalfPrecision.f16Bits(.nan) & 0x7C00 == 0x7C00 && HalfPrecision.f16Bits(.nan) & 0x3FF != 0)
        // Every half value survives a round trip through float, in bulk (vector path) and scalar tail.
        let all = (0...UInt16.max).filter { $0 & 0x7C00 != 0x7C00 || $0 & 0x3FF == 0 }
        var floats = [Float](repeating: 0, count: all.count)
        all.withUnsafeBytes { HalfPrecision.widenF16($0.baseAddress!, into: &floats, count: all.count) }
        XCTAssertEqual(floats.map(HalfPrecision.f16Bits), all)
        // bfloat16: round to nearest even, widening is exact.
        XCTAssertEqual(HalfPrecision.bf16Bits(65504), 0x4780)  // 65536: 65504 rounds up
        XCTAssertEqual(HalfPrecision.bf16Bits(1.00390625), 0x3F80)  // halfway, even stays
        XCTAssertEqual(HalfPrecision.bf16Bits(1.01171875), 0x3F82)  // halfway, odd rounds up
        let bf: [UInt16] = (0..<33).map { UInt16(0x3F80 + $0) }
        var bfFloats = [Float](repeating: 0, count: bf.count)
        bf.withUnsafeBytes { HalfPrecision.widenBF16($0.baseAddress!, into: &bfFloats, count: bf.count) }
        XCTAssertEqual(bfFloats.map(HalfPrecision.bf16Bits), bf)
        XCTAssertEqual(bfFloats[0], 1)
    }
}
