import Foundation
import TensorCore
import TestSupport
import XCTest

/// Softmax, normalisation and activations against naive double-precision loops.
final class PointwiseKernelTests: XCTestCase {
    func testSoftmaxRows() {
        for n in oddSizes {
            let x = randomTensor([3, n], seed: UInt64(n), range: -20...20)
            let v = x.scalars
            var expected = [Double]()
            for r in 0..<3 {
                let row = v[(r * n)..<((r + 1) * n)].map(Double.init)
                let m = row.max()!
                let e = row.map { exp($0 - m) }
                let s = e.reduce(0, +)
                expected += e.map { $0 / s }
            }
            assertClose(x.softmaxLastDimension().scalars, expected, atol: 1e-7, rtol: 1e-5, "softmax n=\(n)")
        }
    }

    func testSoftmaxOfFullyMaskedRowIsZero() {
        var row: [Float] = [-.infinity, -.infinity, -.infinity]
        Softmax.row(&row, count: 3)
        XCTAssertEqual(row, [0, 0, 0])
        var big: [Float] = [1000, 1000]
        Softmax.row(&big, count: 2)
        XCTAssertEqual(big, [0.5, 0.5])
    }

    func testLayerNormAndRMSNorm() throws {
        for n in oddSizes {
            let x = randomTensor([4, n], seed: UInt64(n + 1), range: -3...3)
            let w = randomTensor([n], seed: 2), b = randomTensor([n], seed: 3)
            let v = x.scalars.map(Double.init), wv = w.scalars.map(Double.init), bv = b.scalars.map(Double.init)
            var ln = [Double](), rms = [Double]()
            for r in 0..<4 {
                let row = Array(v[(r * n)..<((r + 1) * n)])
                let mean = row.reduce(0, +) / Double(n)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
                ln += row.indices.map { (row[$0] - mean) / (variance + 1e-5).squareRoot() * wv[$0] + bv[$0] }
                let ms = row.map { $0 * $0 }.reduce(0, +) / Double(n)
                rms += row.indices.map { row[$0] / (ms + 1e-6).squareRoot() * wv[$0] }
            }
            assertClose(try x.layerNorm(weight: w, bias: b, eps: 1e-5).scalars, ln, atol: 1e-5, "layerNorm n=\(n)")
            assertClose(try x.rmsNorm(weight: w, eps: 1e-6).scalars, rms, atol: 1e-5, "rmsNorm n=\(n)")
        }
        assertThrows(try Tensor(zeros: [2, 4]).rmsNorm(weight: Tensor(zeros: [3]), eps: 1e-6), TensorError.self, "rmsNorm weight: expected shape [4], got [3]")
    }

    func testActivations() {
        for n in oddSizes {
            let x = randomTensor([n], seed: UInt64(n + 7), range: -12...12)
            let v = x.scalars.map(Double.init)
            assertClose(x.applying(.gelu).scalars, v.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) },
                        atol: 1e-6, rtol: 1e-5, "gelu n=\(n)")
            assertClose(x.applying(.quickGelu).scalars, v.map { $0 / (1 + exp(-1.702 * $0)) },
                        atol: 1e-6, rtol: 1e-5, "quick_gelu n=\(n)")
            assertClose(x.applying(.silu).scalars, v.map { $0 / (1 + exp(-$0)) }, atol: 1e-6, rtol: 1e-5, "silu n=\(n)")
        }
        assertThrows(try Activation(huggingFaceName: "relu6"), TensorError.self, "unsupported activation 'relu6'")
        XCTAssertEqual(try Activation(huggingFaceName: "swish"), .silu)
    }

    func testElementwiseAddMultiplyScale() throws {
        for n in oddSizes {
            let a = randomTensor([n], seed: 1), b = randomTensor([n], seed: 2)
            let av = a.scalars.map(Double.init), bv = b.scalars.map(Double.init)
            assertClose(try a.adding(b).scalars, zip(av, bv).map(+), atol: 1e-7, "add")
            assertClose(try a.multiplying(b).scalars, zip(av, bv).map(*), atol: 1e-7, "mul")
            assertClose(a.scaled(by: 3).scalars, av.map { $0 * 3 }, atol: 1e-6, "scale")
            var c = a
            try c.add(b)
            assertClose(c.scalars, zip(av, bv).map(+), atol: 1e-7, "add in place")
        }
        assertThrows(try Tensor(zeros: [2]).adding(Tensor(zeros: [3])), TensorError.self, "adding: expected shape [2], got [3]")
    }

    func testTensorCopyOnWrite() throws {
        let a = try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        var b = a
        b[1, 0] = 9
        XCTAssertEqual(a.scalars, [1, 2, 3, 4])
        XCTAssertEqual(b.scalars, [1, 2, 9, 4])
        assertThrows(try Tensor(shape: [3], scalars: [1, 2]), TensorError.self, "expected 3 elements, got 2")
        assertThrows(try a.reshaped([3]), TensorError.self, "reshaped: expected 4 elements, got 3")
        XCTAssertEqual(try a.reshaped([4]).shape, [4])
    }
}
