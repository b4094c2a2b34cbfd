import TensorCore
import TestSupport
import XCTest

final class GemmTests: XCTestCase {
    /// Naive double-precision C = A·op(B) + bias.
    private func reference(_ a: Tensor, _ b: Tensor, transposeB: Bool, bias: Tensor?) -> [Double] {
        let m = a.shape[0], k = a.shape[1], n = transposeB ? b.shape[0] : b.shape[1]
        let av = a.scalars, bv = b.scalars, biasv = bias?.scalars
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = Double(biasv?[j] ?? 0)
                for p in 0..<k { s += Double(av[i * k + p]) * Double(transposeB ? bv[j * k + p] : bv[p * n + j]) }
                c[i * n + j] = s
            }
        }
        return c
    }

    /// Compares the product under each of `options` with one naive double-precision reference.
    private func check(m: Int, n: Int, k: Int, transposeB: Bool, bias: Bool, options: [ComputeOptions]) throws {
        let a = randomTensor([m, k], seed: UInt64(m * 31 + k))
        let b = randomTensor(transposeB ? [n, k] : [k, n], seed: UInt64(n * 17 + k))
        let biasTensor = bias ? randomTensor([n], seed: 5) : nil
        let expected = reference(a, b, transposeB: transposeB, bias: biasTensor)
        for o in options {
            let c = try ComputeOptions.$current.withValue(o) { try a.matmul(b, transposeOther: transposeB, bias: biasTensor) }
            XCTAssertEqual(c.shape, [m, n])
            assertClose(c.scalars, expected, atol: 1e-5 * Double(k).squareRoot() + 1e-6,
                        "m=\(m) n=\(n) k=\(k) tB=\(transposeB) \(o)")
        }
    }

    /// Every available backend at 1 and 2 threads.
    private func allOptions() throws -> [ComputeOptions] {
        try GemmBackend.allCases.filter(\.isAvailable).flatMap { backend in
            try [1, 2].map { try ComputeOptions(backend: backend, threads: $0) }
        }
    }

    func testOddShapesBothLayoutsWithAndWithoutBias() throws {
        let options = try allOptions()
        for m in [1, 3, 17, 65] {
            for (n, k) in [(1, 1), (3, 17), (17, 65), (65, 3), (33, 300)] {
                try check(m: m, n: n, k: k, transposeB: m % 2 == 1, bias: n % 2 == 1, options: options)
                try check(m: m, n: n, k: k, transposeB: m % 2 == 0, bias: n % 2 == 0, options: options)
            }
        }
    }

    /// Shapes that cross every blocking boundary (KC = 384, MC = 72, NC = 2048) and the threading split.
    func testBlockBoundariesAndThreadSplit() throws {
        let options = try allOptions()
        try check(m: 577, n: 130, k: 390, transposeB: true, bias: true, options: options)
        try check(m: 13, n: 2060, k: 400, transposeB: false, bias: false, options: options)
        try check(m: 7, n: 577, k: 65, transposeB: true, bias: false, options: options)
    }

    /// Products with prepacked weights (`PackedMatrix`) on odd shapes, across blocking boundaries, at 1 and 2
    /// threads, with and without bias; packing round-trips.
    func testPackedWeightsMatchNaiveLoop() throws {
        for (m, n, k) in [(1, 1, 1), (3, 17, 65), (5, 33, 300), (17, 3, 17), (65, 577, 3), (577, 130, 390), (13, 2060, 400)] {
            let a = randomTensor([m, k], seed: UInt64(m + 7 * k)), w = randomTensor([n, k], seed: UInt64(n + 3 * k))
            let bias = n % 2 == 1 ? randomTensor([n], seed: 9) : nil
            let packed = try PackedMatrix(w)
            XCTAssertEqual(packed.unpacked(), w)
            let expected = reference(a, w, transposeB: true, bias: bias)
            for threads in [1, 2] {
                let c = try ComputeOptions.$current.withValue(ComputeOptions.standard.withThreads(threads)) {
                    try a.matmul(packed, bias: bias)
                }
                assertClose(c.scalars, expected, atol: 1e-5 * Double(k).squareRoot() + 1e-6, "packed m=\(m) n=\(n) k=\(k) x\(threads)")
            }
        }
        assertThrows(try Tensor(zeros: [2, 3]).matmul(try PackedMatrix(Tensor(zeros: [4, 5]))), TensorError.self, "expected shape [2, 5], got [2, 3]")
        assertThrows(try PackedMatrix(Tensor(zeros: [4])), TensorError.self, "needs a 2-D weight, got [4]")
    }

    func testAccumulateAddsToExistingOutput() throws {
        let a = randomTensor([5, 7], seed: 1), b = randomTensor([7, 19], seed: 2)
        var c = [Float](repeating: 1.5, count: 5 * 19)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                Gemm.multiply(m: 5, n: 19, k: 7, a: ap.baseAddress!, lda: 7, b: bp.baseAddress!, ldb: 19,
                              transposeB: false, c: &c, ldc: 19, accumulate: true)
            }
        }
        assertClose(c, reference(a, b, transposeB: false, bias: nil).map { $0 + 1.5 }, atol: 1e-5, "accumulate")
    }

    func testShapeMismatchThrows() {
        let a = Tensor(zeros: [2, 3]), b = Tensor(zeros: [4, 5])
        XCTAssertThrowsError(try a.matmul(b)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(operation: "matmul", expected: [3, 5], actual: [4, 5]))
        }
        assertThrows(try a.matmul(Tensor(zeros: [3, 5]), bias: Tensor(zeros: [4])), TensorError.self, "matmul bias: expected shape [5], got [4]")
    }

    func testUnavailableBackendIsRejected() {
        if !GemmBackend.openBLAS.isAvailable {
            assertThrows(try ComputeOptions(backend: .openBLAS), TensorError.self, "backend openBLAS is not built in")
        }
        assertThrows(try ComputeOptions(threads: 0), TensorError.self, "threads must be >= 1, got 0")
    }
}
