import Foundation
import TensorCore
import TestSupport
@testable import VLMModels
import XCTest

/// Every GGUF tensor type the reader converts, checked against an element-by-element reference written from
/// llama.cpp's `dequantize_row_*` (by index, not by the loops the reader uses), on hand-built blocks.
final class GGUFDequantizationTests: XCTestCase {
    /// Random block bytes with the half-precision scales at `scaleOffsets` set to `scale`.
    private func block(_ type: GGUFTensorType, seed: UInt64, scales: [(offset: Int, bits: UInt16)]) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        var bytes = (0..<type.bytesPerBlock).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        for (offset, bits) in scales { bytes.replaceSubrange(offset..<(offset + 2), with: le(bits)) }
        return bytes
    }

    private func half(_ b: [UInt8], _ o: Int) -> Double { Double(Float(Float16(bitPattern: UInt16(b[o]) | UInt16(b[o + 1]) << 8))) }

    /// Weight `i` of one block, from the format's definition.
    private func reference(_ type: GGUFTensorType, _ b: [UInt8], _ i: Int) -> Double {
        switch type {
        case .q8_0: return Double(Int8(bitPattern: b[2 + i])) * half(b, 0)
        case .q4_0:
            let q = i < 16 ? b[2 + i] & 15 : b[2 + i - 16] >> 4
            return (Double(q) - 8) * half(b, 0)
        case .q4_1:
            let q = i < 16 ? b[4 + i] & 15 : b[4 + i - 16] >> 4
            return Double(q) * half(b, 0) + half(b, 2)
        case .q4_K, .q5_K:
            let sub = i / 32, l = i % 32, s = Array(b[4..<16])
            let scale = sub < 4 ? Int(s[sub] & 63) : Int(s[sub + 4] & 15) | Int(s[sub - 4] >> 6) << 4
            let minimum = sub < 4 ? Int(s[sub + 4] & 63) : Int(s[sub + 4] >> 4) | Int(s[sub] >> 6) << 4
            let qsStart = type == .q4_K ? 16 : 48
            let byte = b[qsStart + (sub / 2) * 32 + l]
            var q = Int(sub % 2 == 0 ? byte & 15 : byte >> 4)
            if type == .q5_K { q += Int((b[16 + l] >> sub) & 1) * 16 }
            return half(b, 0) * Double(scale) * Double(q) - half(b, 2) * Double(minimum)
        case .q6_K:
            let part = i / 128, j = i % 128, quarter = j / 32, l = j % 32
            let low = b[part * 64 + l + (quarter % 2) * 32]
            let nibble = Int(quarter < 2 ? low & 15 : low >> 4)
            let high = Int((b[128 + part * 32 + l] >> (2 * quarter)) & 3)
            let scale = Double(Int8(bitPattern: b[192 + part * 8 + l / 16 + 2 * quarter]))
            return half(b, 208) * scale * Double(nibble + 16 * high - 32)
        case .f32, .f16, .bf16: fatalError("not a block type")
        }
    }

    private func scaleOffsets(_ type: GGUFTensorType) -> [Int] {
        switch type {
        case .q8_0, .q4_0: return [0]
        case .q4_1, .q4_K, .q5_K: return [0, 2]
        case .q6_K: return [208]
        default: return []
        }
    }

    private let quantized: [GGUFTensorType] = [.q4_0, .q4_1, .q8_0, .q4_K, .q5_K, .q6_K]

    func testPowerOfTwoScalesDequantiseExactly() {
        for type in quantized {
            for seed in 0..<4 as Range<UInt64> {
                // 0.5 and 0.25 (and -2 for a negative scale): every product and difference is exact in Float32.
                let bits: [UInt16] = [0x3800, seed == 3 ? 0xC000 : 0x3400]
                let b = block(type, seed: seed, scales: zip(scaleOffsets(type), bits).map { ($0, $1) })
                var out = [Float](repeating: .nan, count: type.blockSize)
                b.withUnsafeBytes { type.dequantize($0.baseAddress!, count: type.blockSize, into: &out) }
                for i in 0..<type.blockSize where Double(out[i]) != reference(type, b, i) {
                    XCTFail("\(type) seed \(seed) weight \(i): \(out[i]), expected \(reference(type, b, i))")
                    break
                }
            }
        }
    }

    func testArbitraryScalesMatchToFloatRounding() {
        for type in quantized {
            let b = block(type, seed: 11, scales: scaleOffsets(type).map { ($0, 0x3555) })  // 0.33325…
            var out = [Float](repeating: .nan, count: type.blockSize)
            b.withUnsafeBytes { type.dequantize($0.baseAddress!, count: type.blockSize, into: &out) }
            assertClose(out, (0..<type.blockSize).map { reference(type, b, $0) }, atol: 1e-4, rtol: 1e-6, "\(type)")
        }
    }

    func testHandCheckedWeights() {
        // Q4_1: d = 0.5, m = -1, qs[0] = 0x3A: weight 0 = 10·0.5 − 1 = 4, weight 16 = 3·0.5 − 1 = 0.5.
        var q41 = [UInt8](repeating: 0, count: 20)
        q41.replaceSubrange(0..<4, with: le(UInt16(0x3800)) + le(UInt16(0xBC00)))
        q41[4] = 0x3A
        var out = [Float](repeating: 0, count: 32)
        q41.withUnsafeBytes { GGUFTensorType.q4_1.dequantize($0.baseAddress!, count: 32, into: &out) }
        XCTAssertEqual(out[0], 4)
        XCTAssertEqual(out[16], 0.5)
        XCTAssertEqual(out[1], -1)
        // Q4_K: d = 1, dmin = 1; sub-block 4's scale = (s[8] & 15) | (s[0] >> 6) << 4 = 3 | 1 << 4 = 19 and
        // min = (s[8] >> 4) | (s[4] >> 6) << 4 = 2 | 0 = 2; weight 128 (sub-block 4, low nibble of qs[64]) = 19·5 − 2.
        var q4k = [UInt8](repeating: 0, count: 144)
        q4k.replaceSubrange(0..<4, with: le(UInt16(0x3C00)) + le(UInt16(0x3C00)))
        q4k[4 + 0] = 0x40
        q4k[4 + 8] = 0x23
        q4k[16 + 64] = 0x05
        var k = [Float](repeating: 0, count: 256)
        q4k.withUnsafeBytes { GGUFTensorType.q4_K.dequantize($0.baseAddress!, count: 256, into: &k) }
        XCTAssertEqual(k[128], 93)
        XCTAssertEqual(k[0], 0)  // sub-block 0: scale s[0] & 63 = 0, min s[4] & 63 = 0
        // Q6_K: d = 1, scale 0 = 2; weight 0 = 2·((ql[0] & 15) | (qh[0] & 3) << 4 − 32) = 2·(1 | 2 << 4 − 32) = 2.
        var q6k = [UInt8](repeating: 0, count: 210)
        q6k[0] = 0x01
        q6k[128] = 0x02
        q6k[192] = 2
        q6k.replaceSubrange(208..<210, with: le(UInt16(0x3C00)))
        var six = [Float](repeating: 0, count: 256)
        q6k.withUnsafeBytes { GGUFTensorType.q6_K.dequantize($0.baseAddress!, count: 256, into: &six) }
        XCTAssertEqual(six[0], 2)
        XCTAssertEqual(six[1], -64)  // q = 0 − 32 under the same scale
        XCTAssertEqual(six[16], 0)  // sub-block 1: scale 0
    }

    func testRowsOfEveryTypeThroughTheFile() throws {
        var builder = GGUFBuilder()
        var blocks: [GGUFTensorType: [UInt8]] = [:]
        for (n, type) in GGUFTensorType.allCases.enumerated() {
            // Two rows of two blocks each (plain floats: rows of 8).
            let perRow = type.isQuantized ? 2 : 8
            var random = SplitMix64(seed: UInt64(n))
            var bytes: [UInt8] = []
            for _ in 0..<(2 * perRow) {
                var one = (0..<type.bytesPerBlock).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                for offset in scaleOffsets(type) { one.replaceSubrange(offset..<(offset + 2), with: le(UInt16(0x3800))) }
                if type == .f16 || type == .bf16 { one[1] &= 0x3F }  // keep values finite and modest
                if type == .f32 { one = le(Float(Int(random.next() % 200) - 100).bitPattern) }
                bytes += one
            }
            blocks[type] = bytes
            builder.addTensor("t\(type)", dimensions: [perRow * type.blockSize, 2], type: type.rawValue, data: bytes)
        }
        let file = try GGUFFile(data: builder.data)
        for type in GGUFTensorType.allCases {
            let info = try file.info("t\(type)")
            XCTAssertEqual(info.shape, [2, info.rowWidth])
            var row = [Float](repeating: .nan, count: info.rowWidth)
            try file.readRows("t\(type)", 1..<2, into: &row)
            let bytes = blocks[type]!, rowBytes = info.rowBytes
            let expected: [Double]
            switch type {
            case .f32: expected = (0..<8).map { i in Double(Float(bitPattern: bytes[(rowBytes + 4 * i)..<(rowBytes + 4 * i + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) })) }
            case .f16: expected = (0..<8).map { half(bytes, rowBytes + 2 * $0) }
            case .bf16: expected = (0..<8).map { i in Double(Float(bitPattern: (UInt32(bytes[rowBytes + 2 * i]) | UInt32(bytes[rowBytes + 2 * i + 1]) << 8) << 16)) }
            default:
                expected = (0..<info.rowWidth).map { i in
                    let start = rowBytes + (i / type.blockSize) * type.bytesPerBlock
                    return reference(type, Array(bytes[start..<(start + type.bytesPerBlock)]), i % type.blockSize)
                }
            }
            assertClose(row, expected, atol: 0, "\(type) row 1")
        }
    }
}
