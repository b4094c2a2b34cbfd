#if OpenBLAS
import COpenBLAS
#endif

/// Single-precision matrix products on raw row-major buffers: `C = A · op(B) (+ bias) (+ C)`.
///
/// `A` is `[m, k]` with row stride `lda`; `B` is `[k, n]` (`transposeB == false`, stride `ldb`) or `[n, k]`
/// (`transposeB == true`, the PyTorch `[out, in]` weight layout); `C` is `[m, n]` with stride `ldc`.
public enum Gemm {
    /// Computes `C = A · op(B)`, plus `bias` (length `n`, added to every row) and plus the old `C` when
    /// `accumulate` is true. Runs on `options.backend` with up to `options.threads` threads.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        bias: UnsafePointer<Float>? = nil, accumulate: Bool = false,
        options: ComputeOptions = .current
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0 && lda >= k && ldc >= n && ldb >= (transposeB ? k : n))
        if m == 0 || n == 0 { return }
        var accumulateProducts = accumulate
        if let bias {
            if accumulate {
                for i in 0..<m { Elementwise.axpy(1, bias, c + i * ldc, count: n) }
            } else {
                fillRows(c, rows: m, columns: n, ldc: ldc, with: bias)
            }
            accumulateProducts = true
        }
        if k == 0 {
            if !accumulateProducts { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        switch options.backend {
        case .simd:
            SIMDGemm.multiply(
                m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB,
                c: c, ldc: ldc, accumulate: accumulateProducts, threads: options.threads)
        case .openBLAS:
            #if OpenBLAS
            openblas_set_num_threads(Int32(options.threads))
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb),
                accumulateProducts ? 1 : 0, c, Int32(ldc))
            #else
            preconditionFailure("OpenBLAS backend selected in a build without the OpenBLAS trait")
            #endif
        }
    }
}

extension Gemm {
    /// Copies `row` (`columns` floats) into each of `rows` rows of `c` (stride `ldc`): a bias before accumulating.
    static func fillRows(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ldc: Int, with row: UnsafePointer<Float>) {
        for i in 0..<rows { (c + i * ldc).update(from: row, count: columns) }
    }
}

extension Tensor {
    /// Matrix product of the last two dimensions: `self [.., m, k] · other [k, n]`, or `other [n, k]`
    /// transposed when `transposeOther` (PyTorch linear-weight layout), plus an optional `bias [n]`.
    /// Leading dimensions of `self` are flattened into rows; the result has `self`'s leading shape and `n` columns.
    /// - Throws: `TensorError.shapeMismatch` when inner dimensions or the bias length disagree.
    public func matmul(_ other: Tensor, transposeOther: Bool = false, bias: Tensor? = nil) throws -> Tensor {
        guard other.shape.rank == 2, shape.rank >= 1 else {
            throw TensorError.invalidArgument(
                operation: "matmul", reason: "need self rank >= 1 and a 2-D right operand, got \(shape) · \(other.shape)")
        }
        let k = shape.last, m = shape.rowCount
        let n = transposeOther ? other.shape[0] : other.shape[1]
        let otherK = transposeOther ? other.shape[1] : other.shape[0]
        guard otherK == k else {
            throw TensorError.shapeMismatch(
                operation: "matmul", expected: transposeOther ? [n, k] : [k, n], actual: other.shape)
        }
        if let bias, bias.shape != [n] {
            throw TensorError.shapeMismatch(operation: "matmul bias", expected: [n], actual: bias.shape)
        }
        let outShape = Shape(shape.dims.dropLast() + [n])
        return Tensor(shape: outShape) { out in
            withUnsafeBufferPointer { a in
                other.withUnsafeBufferPointer { b in
                    let multiply = { (biasPointer: UnsafePointer<Float>?) in
                        Gemm.multiply(
                            m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!,
                            ldb: transposeOther ? k : n, transposeB: transposeOther,
                            c: out.baseAddress!, ldc: n, bias: biasPointer)
                    }
                    if let bias { bias.withUnsafeBufferPointer { multiply($0.baseAddress!) } } else { multiply(nil) }
                }
            }
        }
    }
}
