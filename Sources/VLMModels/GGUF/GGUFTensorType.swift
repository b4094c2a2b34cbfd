import TensorCore

/// The ggml tensor types this reader converts, with their block layouts (llama.cpp `ggml-common.h`).
/// Every quantised type is dequantised exactly as `ggml-quants.c` `dequantize_row_*` does, in Float32.
public enum GGUFTensorType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// Float32.
    case f32 = 0
    /// IEEE half.
    case f16 = 1
    /// 32 weights: half scale `d`, 16 bytes of 4-bit `q`; x = (q − 8)·d (low nibbles first, then high).
    case q4_0 = 2
    /// 32 weights: half `d` and `m`, 16 bytes of 4-bit `q`; x = q·d + m (low nibbles first, then high).
    case q4_1 = 3
    /// 32 weights: half `d`, 32 signed bytes `q`; x = q·d.
    case q8_0 = 8
    /// 256 weights: half `d`, `dmin`, 12 bytes of 6-bit scales and mins for 8 sub-blocks, 128 bytes of 4-bit `q`.
    case q4_K = 12
    /// 256 weights: as Q4_K plus 32 bytes holding each weight's fifth bit.
    case q5_K = 13
    /// 256 weights: 128 bytes of low 4 bits, 64 of high 2 bits, 16 signed 8-bit scales, half `d`; x = d·scale·(q − 32).
    case q6_K = 14
    /// bfloat16.
    case bf16 = 30

    /// Weights per block (1 for plain floats).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0: return 32
        case .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Bytes per block.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q8_0: return 34
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        }
    }

    /// Whether the values are quantised (not plain 32- or 16-bit floats).
    public var isQuantized: Bool { blockSize > 1 }

    /// The ggml name (`Q4_K`, `BF16`, …).
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .bf16: return "BF16"
        }
    }

    /// The ggml names of the type codes that exist but are not read here, for error messages.
    static func name(code: UInt32) -> String {
        if let known = GGUFTensorType(rawValue: code) { return known.description }
        let others: [UInt32: String] = [6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 15: "Q8_K", 16: "IQ2_XXS",
                                        17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
                                        23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
                                        34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4"]
        return others[code].map { "\($0) (type \(code))" } ?? "type \(code)"
    }

    /// Converts `count` weights (a multiple of `blockSize`) starting at `source` into Float32 at `out`.
    public func dequantize(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        let blocks = count / blockSize
        switch self {
        case .f32: UnsafeMutableRawPointer(out).copyMemory(from: source, byteCount: count * 4)
        case .f16: HalfPrecision.widenF16(source, into: out, count: count)
        case .bf16: HalfPrecision.widenBF16(source, into: out, count: count)
        case .q4_0, .q4_1, .q8_0:
            for b in 0..<blocks { dequantizeSmallBlock(source + b * bytesPerBlock, into: out + b * 32) }
        case .q4_K, .q5_K:
            for b in 0..<blocks { dequantizeQ45K(source + b * bytesPerBlock, into: out + b * 256) }
        case .q6_K:
            for b in 0..<blocks { dequantizeQ6K(source + b * bytesPerBlock, into: out + b * 256) }
        }
    }

    /// One Q4_0, Q4_1 or Q8_0 block of 32 weights.
    private func dequantizeSmallBlock(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = Self.half(block, 0)
        switch self {
        case .q8_0:
            for j in 0..<32 { y[j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
        case .q4_0:
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                y[j] = Float(Int(q & 0x0F) - 8) * d
                y[j + 16] = Float(Int(q >> 4) - 8) * d
            }
        default:
            let m = Self.half(block, 2)
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                y[j] = Float(q & 0x0F) * d + m
                y[j + 16] = Float(q >> 4) * d + m
            }
        }
    }

    /// One Q4_K or Q5_K super-block of 256 weights: 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min.
    private func dequantizeQ45K(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = Self.half(block, 0), dmin = Self.half(block, 2)
        let scales = block + 4
        let hasFifthBit = self == .q5_K
        let high = block + 16, low = block + (hasFifthBit ? 48 : 16)
        var out = 0
        for pair in 0..<4 {
            let (sc1, m1) = Self.scaleAndMin(2 * pair, scales), (sc2, m2) = Self.scaleAndMin(2 * pair + 1, scales)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1), d2 = d * Float(sc2), min2 = dmin * Float(m2)
            let q = low + 32 * pair
            for l in 0..<32 {
                let bits = q.load(fromByteOffset: l, as: UInt8.self)
                let fifth = hasFifthBit && (high.load(fromByteOffset: l, as: UInt8.self) >> (2 * pair)) & 1 != 0 ? 16 : 0
                y[out + l] = d1 * Float(Int(bits & 0x0F) + fifth) - min1
            }
            for l in 0..<32 {
                let bits = q.load(fromByteOffset: l, as: UInt8.self)
                let fifth = hasFifthBit && (high.load(fromByteOffset: l, as: UInt8.self) >> (2 * pair + 1)) & 1 != 0 ? 16 : 0
                y[out + 32 + l] = d2 * Float(Int(bits >> 4) + fifth) - min2
            }
            out += 64
        }
    }

    /// ggml's `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` (0..<8) from the 12 packed bytes.
    static func scaleAndMin(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        func byte(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (byte(j) & 63, byte(j + 4) & 63) }
        return ((byte(j + 4) & 0x0F) | ((byte(j - 4) >> 6) << 4), (byte(j + 4) >> 4) | ((byte(j) >> 6) << 4))
    }

    /// One Q6_K super-block of 256 weights: 16 sub-blocks of 16, each with a signed 8-bit scale.
    private func dequantizeQ6K(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = Self.half(block, 208)
        for half in 0..<2 {
            let ql = block + 64 * half, qh = block + 128 + 32 * half, sc = block + 192 + 8 * half
            let out = y + 128 * half
            for l in 0..<32 {
                let isub = l / 16
                let low0 = ql.load(fromByteOffset: l, as: UInt8.self), low32 = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                let h = qh.load(fromByteOffset: l, as: UInt8.self)
                let q1 = Int((low0 & 0x0F) | ((h & 3) << 4)) - 32
                let q2 = Int((low32 & 0x0F) | (((h >> 2) & 3) << 4)) - 32
                let q3 = Int((low0 >> 4) | (((h >> 4) & 3) << 4)) - 32
                let q4 = Int((low32 >> 4) | (((h >> 6) & 3) << 4)) - 32
                func scale(_ k: Int) -> Float { Float(sc.load(fromByteOffset: isub + k, as: Int8.self)) }
                out[l] = d * scale(0) * Float(q1)
                out[l + 32] = d * scale(2) * Float(q2)
                out[l + 64] = d * scale(4) * Float(q3)
                out[l + 96] = d * scale(6) * Float(q4)
            }
        }
    }

    /// The IEEE half at byte `offset` of `block`, as Float32.
    private static func half(_ block: UnsafeRawPointer, _ offset: Int) -> Float {
        var value: Float = 0
        HalfPrecision.widenF16(block + offset, into: &value, count: 1)
        return value
    }
}
