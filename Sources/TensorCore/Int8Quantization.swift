/// The symmetric int8 scheme shared by int8 weights (one scale per output channel, `PanelPacking`) and int8
/// activations (one scale per row, `Int8DotProduct`): `scale = max|x| / 127`, `q = round-half-even(x / scale)`
/// in -127...127, `x ≈ q · scale`; a scale of 0 quantises everything to 0.
enum Int8Quantization {
    /// The scale of `count` values at `values`, `max|x| / 127`.
    static func scale(of values: UnsafePointer<Float>, count: Int) -> Float {
        var largest: Float = 0
        for i in 0..<count { largest = max(largest, abs(values[i])) }
        return largest / 127
    }
}
