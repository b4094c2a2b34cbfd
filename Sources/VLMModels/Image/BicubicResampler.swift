/// Pillow's `Image.resize(size, BICUBIC)` on 8-bit RGB, bit for bit (Pillow 13 `Resample.c`): a = −0.5 cubic
/// kernel widened by the scale when shrinking (antialiasing), weights normalised in double and rounded to
/// 22-bit fixed point, each pass rounded and clamped to 8 bits. An axis whose length does not change is not
/// filtered. The vertical pass runs first only when it shrinks the height and
/// `2 · (inWidth − outWidth) < inHeight − outHeight`, as Pillow 13 orders them.
enum BicubicResampler {
    private static let precisionBits = 22

    /// `image` resized to `width x height`, interleaved RGB bytes.
    static func resize(_ image: RGBImage, width: Int, height: Int) -> [UInt8] {
        var pixels = image.pixels, currentWidth = image.width, currentHeight = image.height
        func horizontal() {
            guard width != currentWidth else { return }
            pixels = pass(pixels, lines: currentHeight, inLength: currentWidth, outLength: width,
                          sampleStride: 1, lineStride: currentWidth)
            currentWidth = width
        }
        func vertical() {
            guard height != currentHeight else { return }
            pixels = pass(pixels, lines: currentWidth, inLength: currentHeight, outLength: height,
                          sampleStride: currentWidth, lineStride: 1)
            currentHeight = height
        }
        if height < image.height && 2 * (image.width - width) < image.height - height {
            vertical(); horizontal()
        } else {
            horizontal(); vertical()
        }
        return pixels
    }

    /// Resamples every line (`lines` of them, `inLength` samples `sampleStride` pixels apart, consecutive
    /// lines `lineStride` pixels apart) to `outLength` samples; the output keeps the layout with the new length.
    private static func pass(_ src: [UInt8], lines: Int, inLength: Int, outLength: Int,
                             sampleStride: Int, lineStride: Int) -> [UInt8] {
        let weights = coefficients(inLength: inLength, outLength: outLength)
        // Rows stay rows: a horizontal pass writes `outLength` pixels per line, a vertical one `lines` per row.
        let outSampleStride = sampleStride == 1 ? 1 : lines, outLineStride = sampleStride == 1 ? outLength : 1
        let half = 1 << (precisionBits - 1)
        var out = [UInt8](repeating: 0, count: lines * outLength * 3)
        for line in 0..<lines {
            for (o, (start, w)) in weights.enumerated() {
                var acc = (half, half, half)
                for (k, weight) in w.enumerated() {
                    let p = (line * lineStride + (start + k) * sampleStride) * 3
                    acc.0 += weight * Int(src[p]); acc.1 += weight * Int(src[p + 1]); acc.2 += weight * Int(src[p + 2])
                }
                let q = (line * outLineStride + o * outSampleStride) * 3
                out[q] = clip8(acc.0); out[q + 1] = clip8(acc.1); out[q + 2] = clip8(acc.2)
            }
        }
        return out
    }

    /// Pillow's `clip8`: the fixed-point sum shifted down (flooring) and clamped to 0 ... 255.
    private static func clip8(_ v: Int) -> UInt8 {
        v <= 0 ? 0 : v >= 255 << precisionBits ? 255 : UInt8(v >> precisionBits)
    }

    /// Per output sample: the first input index and the fixed-point weights (Pillow's `precompute_coeffs`
    /// followed by `normalize_coeffs_8bpc`).
    static func coefficients(inLength: Int, outLength: Int) -> [(start: Int, weights: [Int])] {
        let scale = Double(inLength) / Double(outLength)
        let filterScale = max(scale, 1)
        let support = 2 * filterScale, inverse = 1 / filterScale
        func cubic(_ x: Double) -> Double {
            let a = -0.5, x = abs(x)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
        let one = Double(1 << precisionBits)
        return (0..<outLength).map { o in
            let center = (Double(o) + 0.5) * scale
            let lo = max(0, Int(center - support + 0.5)), hi = min(inLength, Int(center + support + 0.5))
            var w = (lo..<hi).map { cubic((Double($0) - center + 0.5) * inverse) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            return (lo, w.map { $0 < 0 ? Int(-0.5 + $0 * one) : Int(0.5 + $0 * one) })
        }
    }
}
