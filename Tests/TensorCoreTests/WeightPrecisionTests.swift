import TensorCore
import TestSupport
import XCTest

/// Packed weights in every `WeightPrecision` against naive double loops over independently rounded weights.
final class WeightPrecisionTests: XCTestCase {
    /// bfloat16 rounding written from the definition: the nearer of the two neighbouring bfloat16 values
    /// (compared in Double), the one with an even last bit on a tie.
    private func referenceBFloat16(_ x: Float) -> Float {
        let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
        let up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
        let dDown = abs(Double(x) - Double(down)), dUp = abs(Double(up) - Double(x))
        if dDown != dUp { return dDown < dUp ? down : up }
        return (down.bitPattern >> 16) & 1 == 0 ? down : up
    }

    /// The weight values each precision stores, per the documented scheme, computed without the library.
    private func referenceWeights(_ w: Tensor, _ precision: WeightPrecision) -> [Float] {
        let n = w.shape[0], k = w.shape[1], v = w.scalars
        switch precision {
        case .f32: return v
        case .bf16: return v.map(referenceBFloat16)
        case .f16: return v.map { Float(Float16($0)) }
        case .int8:
            var out = [Float](repeating: 0, count: v.count)
            for j in 0..<n {
                let row = v[(j * k)..<((j + 1) * k)]
                let scale = (row.map(abs).max() ?? 0) / 127
                guard scale > 0 else { continue }
                for p in 0..<k {
                    // Float32 division, as documented (a Double quotient can fall on the other side of a tie).
                    let q = max(-127, min(127, (v[j * k + p] / scale).rounded(.toNearestOrEven)))
                    out[j * k + p] = q * scale
                }
            }
            return out
        case .int4: return referenceInt4(v, inputs: k)
        }
    }

    private func reference(_ a: Tensor, _ w: [Float], n: Int, bias: Tensor?) -> [Double] {
        let m = a.shape[0], k = a.shape[1], av = a.scalars, bv = bias?.scalars
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = Double(bv?[j] ?? 0)
                for p in 0..<k { s += Double(av[i * k + p]) * Double(w[j * k + p]) }
                c[i * n + j] = s
            }
        }
        return c
    }

    /// Round trip (`unpacked`) and products on the odd sizes, at 1 and 2 threads, for every precision,
    /// through the decode path (m < 6), the blocked path and the blocking boundaries.
    func testEveryPrecisionMatchesNaiveLoopOnOddSizes() throws {
        let shapes = oddSizes.map { ($0, $0 == 577 ? 17 : $0, $0 == 577 ? 33 : $0) }
            + [(1, 577, 17), (3, 65, 577), (17, 33, 300), (7, 2060, 400), (80, 40, 390)]
        for precision in WeightPrecision.allCases {
            for (m, n, k) in shapes {
                let a = randomTensor([m, k], seed: UInt64(m + 7 * k)), w = randomTensor([n, k], seed: UInt64(n + 3 * k))
                let bias = n % 2 == 1 ? randomTensor([n], seed: 9) : nil
                let packed = try PackedMatrix(w, precision: precision)
                let stored = referenceWeights(w, precision)
                XCTAssertEqual(packed.unpacked().scalars, stored, "\(precision) round trip n=\(n) k=\(k)")
                let expected = reference(a, stored, n: n, bias: bias)
                for threads in [1, 2] {
                    let c = try ComputeOptions.$current.withValue(ComputeOptions.standard.withThreads(threads)) {
                        try a.matmul(packed, bias: bias)
                    }
                    assertClose(c.scalars, expected, atol: 1e-5 * Double(k).squareRoot() + 1e-6,
                                "\(precision) m=\(m) n=\(n) k=\(k) x\(threads)")
                }
            }
        }
    }

    /// Storage is the precision's width times the padded panel size (bfloat16 panels pad the depth to even,
    /// for their pairs of steps), plus 4-byte scales for int8.
    func testStorageBytesFollowPrecision() throws {
        let w = randomTensor([17, 3], seed: 1)
        XCTAssertEqual(try PackedMatrix(w, precision: .f32).storageBytes, 32 * 3 * 4)
        XCTAssertEqual(try PackedMatrix(w, precision: .bf16).storageBytes, 32 * 4 * 2)
        XCTAssertEqual(try PackedMatrix(w, precision: .f16).storageBytes, 32 * 3 * 2)
        XCTAssertEqual(try PackedMatrix(w, precision: .int8).storageBytes, 32 * 3 + 32 * 4)
        // int4: depth padded to whole groups of 32, half a byte per value, a 2-byte scale per group and output.
        XCTAssertEqual(try PackedMatrix(w, precision: .int4).storageBytes, 2 * 32 * 8 + 2 * 1 * 16 * 2)
        XCTAssertEqual(try PackedMatrix(randomTensor([16, 65], seed: 2), precision: .int4).storageBytes, 96 * 8 + 3 * 16 * 2)
        XCTAssertEqual(try PackedMatrix(w, precision: .bf16).precision, .bf16)
    }

    /// Int8 scale edge cases: an all-zero row (scale 0, exact zeros), one huge value beside small ones (they
    /// round to zero; the huge one is exact), a row of one repeated value (exact), and ±127 at the extremes.
    func testInt8ScaleEdgeCases() throws {
        let k = 5
        let rows: [[Float]] = [
            [0, 0, 0, 0, 0],
            [1e30, 1, -1, 0.5, 2],
            [-3, -3, -3, -3, -3],
            [127, -127, 63.5, 0.4, -0.6],
        ]
        let w = try Tensor(shape: [rows.count, k], scalars: rows.flatMap { $0 })
        let packed = try PackedMatrix(w, precision: .int8)
        XCTAssertEqual(packed.int8Scales, [0, 1e30 / 127, 3 / 127, 1])
        let u = packed.unpacked().scalars
        XCTAssertEqual(Array(u[0..<5]), [0, 0, 0, 0, 0])
        XCTAssertEqual(Array(u[5..<10]), [Float(127) * (1e30 / 127), 0, 0, 0, 0])
        XCTAssertEqual(Array(u[10..<15]), [Float](repeating: Float(-127) * (3 / 127), count: 5))
        XCTAssertEqual(Array(u[15..<20]), [127, -127, 64, 0, -1])  // 63.5 rounds to even
        let a = try Tensor(shape: [1, k], scalars: [1, 1, 1, 1, 1])
        let c = try a.matmul(packed).scalars
        XCTAssertEqual(c[0], 0)
        XCTAssertEqual(c[3], 127 - 127 + 64 + 0 - 1)
    }

    /// Int4 edge cases, by hand: an all-zero group (scale 0, exact zeros), a group whose largest value is 7
    /// (scale 1: integers round half to even and clamp at ±7), one huge value beside small ones in a group
    /// (they round to zero) next to a group of its own scale, and a width that is not a multiple of 32.
    func testInt4GroupEdgeCases() throws {
        var row = [Float](repeating: 0, count: 70)
        for (i, v) in [7, -7, 2.5, 3.5, -0.5, 0.49, 6.9].enumerated() { row[32 + i] = Float(v) }
        row[64] = 700; row[65] = 1; row[66] = -50; row[69] = 99
        let packed = try PackedMatrix(try Tensor(shape: [1, 70], scalars: row), precision: .int4)
        let u = packed.unpacked().scalars
        XCTAssertEqual(Array(u[0..<32]), [Float](repeating: 0, count: 32))
        XCTAssertEqual(Array(u[32..<39]), [7, -7, 2, 4, 0, 0, 7] as [Float])
        XCTAssertEqual(Array(u[64..<70]), [700, 0, 0, 0, 0, 100] as [Float])  // scale 100: -50 rounds to -0 (half to even)
        let ones = try Tensor(shape: [1, 70], scalars: [Float](repeating: 1, count: 70))
        let expected: Float = 7 - 7 + 2 + 4 + 7 + 700 + 100
        XCTAssertEqual(try ones.matmul(packed).scalars, [expected])
    }

    /// NaN or infinite weights, and F16 weights that would overflow, are refused with their flat index.
    func testNonFiniteAndOutOfRangeWeightsThrow() throws {
        var w = randomTensor([3, 20], seed: 4)
        w[2, 7] = .nan
        for precision in WeightPrecision.allCases {
            XCTAssertThrowsError(try PackedMatrix(w, precision: precision)) { error in
                guard case let .nonFinite(_, index)? = error as? TensorError else { return XCTFail("\(error)") }
                XCTAssertEqual(index, 2 * 20 + 7)
            }
        }
        var big = randomTensor([2, 4], seed: 5)
        big[1, 1] = 70000
        assertThrows(try PackedMatrix(big, precision: .f16), TensorError.self, "flat index 5 is NaN or infinite")
        XCTAssertNoThrow(try PackedMatrix(big, precision: .bf16))
        big[1, 1] = 65504
        XCTAssertNoThrow(try PackedMatrix(big, precision: .f16))
        // int4: a group scale of max|w| / 7 must stay finite in IEEE half.
        XCTAssertNoThrow(try PackedMatrix(big, precision: .int4))
        big[1, 1] = 7 * 65520
        assertThrows(try PackedMatrix(big, precision: .int4), TensorError.self, "packing a int4 weight: value at flat index 5")
        // bfloat16: the largest finite value (0x7F7F) packs; from half way to infinity on, values would round to it.
        for (bits, finite) in [(UInt32(0x7F7F_0000), true), (0x7F7F_7FFF, true), (0x7F7F_8000, false), (0xFF7F_8000, false), (0x7F7F_FFFF, false)] {
            big[0, 3] = Float(bitPattern: bits)
            if finite {
                XCTAssertNoThrow(try PackedMatrix(big, precision: .bf16), String(bits, radix: 16))
            } else {
                XCTAssertThrowsError(try PackedMatrix(big, precision: .bf16), String(bits, radix: 16)) { error in
                    XCTAssertEqual(error as? TensorError, .nonFinite(operation: "packing a bf16 weight", index: 3))
                }
            }
        }
    }

    /// Gathering rows (an embedding lookup) returns exactly the stored rows, in the order asked.
    func testGatherRowsReturnsStoredRows() throws {
        let w = randomTensor([37, 9], seed: 6)
        for precision in WeightPrecision.allCases {
            let packed = try PackedMatrix(w, precision: precision)
            let stored = referenceWeights(w, precision)
            let rows = [36, 0, 17, 17]
            XCTAssertEqual(try packed.gatherRows(rows).scalars, rows.flatMap { stored[($0 * 9)..<($0 * 9 + 9)] })
            assertThrows(try packed.gatherRows([37]), TensorError.self, "index 37 is outside 0..<37")
        }
    }

    /// The kernels' in-register widening is exact for half subnormals, zeros of both signs and extremes:
    /// multiplying by one-hot rows reads each stored weight back (blocked path with 17 rows, decode path with 1).
    func testInKernelWideningIsExactForSpecialValues() throws {
        let special: [Float] = [6.0e-8, -3.1e-7, 1.0e-5, 6.1e-5, 0, -0.0, 65504, -65504, 1, -2.5, 0.1, 3e-3, -7e-6, 1e-4, 2, 4, 1e-6]
        let k = special.count, n = 18
        let w = try Tensor(shape: [n, k], scalars: (0..<(n * k)).map { special[($0 * 7) % k] * ($0 % 3 == 0 ? -1 : 1) })
        let identity = try Tensor(shape: [k, k], scalars: (0..<(k * k)).map { $0 / k == $0 % k ? 1 : 0 })
        for precision in WeightPrecision.allCases {
            let packed = try PackedMatrix(w, precision: precision)
            let stored = referenceWeights(w, precision)
            let transposed = (0..<(k * n)).map { stored[($0 % n) * k + $0 / n] }
            XCTAssertEqual(try identity.matmul(packed).scalars, transposed, "\(precision) blocked path")
            for row in [0, 5, 16] {
                XCTAssertEqual(try identity.rows(row..<(row + 1)).matmul(packed).scalars,
                               Array(transposed[(row * n)..<((row + 1) * n)]), "\(precision) decode path row \(row)")
            }
        }
    }

    /// BF16 activations (opt-in) multiply bfloat16-rounded activations by bfloat16 weights where the CPU has
    /// `vdpbf16ps`; elsewhere, and for products of fewer than 6 rows, the Float32 path runs unchanged.
    func testBFloat16ActivationsMatchRoundedReferenceOrFallBack() throws {
        for (m, n, k) in [(6, 16, 2), (7, 17, 3), (65, 33, 65), (80, 40, 390), (577, 17, 33), (1, 65, 17)] {
            let a = randomTensor([m, k], seed: UInt64(m * 5 + k)), w = randomTensor([n, k], seed: UInt64(n + k))
            let packed = try PackedMatrix(w, precision: .bf16)
            let exact = try a.matmul(packed).scalars
            for threads in [1, 2] {
                let options = ComputeOptions.standard.withThreads(threads).withActivations(.bf16)
                let c = try ComputeOptions.$current.withValue(options) { try a.matmul(packed) }.scalars
                if CPUFeatures.hasBFloat16DotProduct && m >= 6 {
                    let rounded = try Tensor(shape: [m, k], scalars: a.scalars.map(referenceBFloat16))
                    assertClose(c, reference(rounded, referenceWeights(w, .bf16), n: n, bias: nil),
                                atol: 1e-5 * Double(k).squareRoot() + 1e-6, "bf16 dot m=\(m) n=\(n) k=\(k) x\(threads)")
                    XCTAssertNotEqual(c, exact, "activations were rounded")
                } else {
                    XCTAssertEqual(c, exact, "Float32 path where vdpbf16ps is not used, m=\(m)")
                }
            }
        }
    }

    /// Int8 activations (opt-in) quantise each row (`max|a| / 127`, half to even) and multiply by int8 weights
    /// with `vpdpbusd` where the CPU has VNNI, decoding rows (m < 6) included; elsewhere the Float32 path runs
    /// unchanged.
    /// Depths that are not multiples of 4 (or of the 384-step block) exercise the padding that must cancel.
    func testInt8ActivationsMatchQuantisedReferenceOrFallBack() throws {
        for (m, n, k) in [(6, 16, 4), (7, 17, 3), (65, 33, 65), (80, 40, 390), (577, 17, 33), (13, 50, 1), (1, 65, 17),
                          (1, 2060, 401), (3, 17, 6), (5, 1, 1)] {
            var a = randomTensor([m, k], seed: UInt64(m * 3 + k)), w = randomTensor([n, k], seed: UInt64(n * 7 + k))
            if m > 6 { for p in 0..<k { a[2, p] = 0 } }  // an all-zero row: scale 0
            let packed = try PackedMatrix(w, precision: .int8)
            let exact = try a.matmul(packed).scalars
            for threads in [1, 2] {
                let options = ComputeOptions.standard.withThreads(threads).withActivations(.int8)
                let c = try ComputeOptions.$current.withValue(options) { try a.matmul(packed) }.scalars
                if CPUFeatures.hasInt8DotProduct {
                    var quantised = a.scalars
                    for r in 0..<m {
                        let scale = (a.scalars[(r * k)..<((r + 1) * k)].map(abs).max() ?? 0) / 127
                        for p in 0..<k {
                            // Float32 division, as documented (a Double quotient can fall on the other side of a tie).
                            let q = scale > 0 ? max(-127, min(127, (quantised[r * k + p] / scale).rounded(.toNearestOrEven))) : 0
                            quantised[r * k + p] = Float(q) * scale
                        }
                    }
                    let expected = reference(try Tensor(shape: [m, k], scalars: quantised), referenceWeights(w, .int8), n: n, bias: nil)
                    assertClose(c, expected, atol: 1e-5 * Double(k).squareRoot() + 1e-6, "int8 dot m=\(m) n=\(n) k=\(k) x\(threads)")
                    XCTAssertNotEqual(c, exact, "activations were quantised")
                } else {
                    XCTAssertEqual(c, exact, "Float32 path where vpdpbusd is not used, m=\(m)")
                }
            }
        }
    }

    /// Int8 activations (opt-in) with int4 weights quantise each decoding row per group of 32 steps
    /// (`max|a| / 127`, half to even) where the CPU has AVX2 byte multiply-adds; prefill (m >= 6) and CPUs
    /// without them run the Float32 path unchanged. Depths that are not multiples of 32 exercise the padding.
    func testInt4WithInt8ActivationsMatchesGroupQuantisedReferenceOrFallBack() throws {
        for (m, n, k) in [(1, 16, 32), (1, 17, 3), (1, 65, 65), (3, 33, 577), (2, 2060, 401), (5, 1, 1), (1, 390, 2060),
                          (6, 17, 65), (13, 40, 100)] {
            var a = randomTensor([m, k], seed: UInt64(m * 11 + k)), w = randomTensor([n, k], seed: UInt64(n * 5 + k))
            if k > 64 { for p in 32..<64 { a[0, p] = 0 } }  // an all-zero group: scale 0
            if k > 40 { a[m - 1, 40] = 40 }                  // one large value beside small ones
            let packed = try PackedMatrix(w, precision: .int4)
            let exact = try a.matmul(packed).scalars
            for threads in [1, 2] {
                let options = ComputeOptions.standard.withThreads(threads).withActivations(.int8)
                let c = try ComputeOptions.$current.withValue(options) { try a.matmul(packed) }.scalars
                if CPUFeatures.hasInt4DotProduct && m < 6 {
                    var quantised = a.scalars
                    for r in 0..<m {
                        for start in stride(from: 0, to: k, by: 32) {
                            let group = (r * k + start)..<(r * k + min(k, start + 32))
                            let scale = (a.scalars[group].map(abs).max() ?? 0) / 127
                            for i in group {
                                // Float32 division, as documented.
                                quantised[i] = scale > 0 ? max(-127, min(127, (a.scalars[i] / scale).rounded(.toNearestOrEven))) * scale : 0
                            }
                        }
                    }
                    let expected = reference(try Tensor(shape: [m, k], scalars: quantised), referenceWeights(w, .int4), n: n, bias: nil)
                    assertClose(c, expected, atol: 1e-5 * Double(k).squareRoot() + 1e-6, "int4 dot m=\(m) n=\(n) k=\(k) x\(threads)")
                    if k > 1 { XCTAssertNotEqual(c, exact, "activations were quantised") }
                } else {
                    XCTAssertEqual(c, exact, "Float32 path where vpmaddubsw is not used, m=\(m)")
                }
            }
        }
    }
}
