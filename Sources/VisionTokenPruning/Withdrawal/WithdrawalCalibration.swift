import TensorCore
import VLMModels

/// The outcome of VTW's layer search.
public struct WithdrawalCalibration: Sendable, Equatable, Codable {
    /// The chosen withdrawal layer: the first searched layer whose mean KL is <= `threshold`, or nil if none is.
    public let layer: Int?
    /// Mean KL(P_j ‖ P_full) of the first generated token's distribution, for each searched layer j (ascending).
    public let meanKL: [Double]
    /// The layers searched, matching `meanKL`.
    public let layers: [Int]
    /// The bound η.
    public let threshold: Double
    /// Samples averaged.
    public let sampleCount: Int
}

/// Visual Tokens Withdrawal calibration (VTW, arXiv 2405.05803): for each candidate layer j, withdraw every
/// visual token at the input of layer j, and measure how far the next-token distribution moves from the full
/// model's; K is the first j whose mean KL(P_j ‖ P_full) over the calibration set is <= η.
///
/// Unlike the published search, which re-runs the whole prefill for every j, the full run's layer inputs are
/// kept and each j resumes from its own (the prefix up to j is identical), so a sample costs one full prefill
/// plus Σ_j (L − j) text-only layers.
public enum WithdrawalCalibrator {
    /// Calibrates on `samples`.
    /// - Parameters:
    ///   - startLayer: first candidate (the paper's 5); candidates are `startLayer ..< layers`.
    ///   - threshold: η (0.003 for LLaVA-1.5-7B in the paper).
    ///   - progress: called after each sample with (done, total).
    /// - Throws: `PruningError.invalidConfiguration` for an empty set or no candidate layer; model errors.
    public static func calibrate(
        model: any VisionLanguageModel, samples: [ImagePrompt], startLayer: Int = 5, threshold: Double = 0.003,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> WithdrawalCalibration {
        let layerCount = model.language.configuration.layerCount
        guard !samples.isEmpty else { throw PruningError.invalidConfiguration("calibration needs at least one sample") }
        guard startLayer >= 0, startLayer < layerCount else {
            throw PruningError.invalidConfiguration("start layer \(startLayer) leaves no candidate in 0..<\(layerCount)")
        }
        guard threshold >= 0, threshold.isFinite else { throw PruningError.invalidConfiguration("threshold \(threshold)") }
        let candidates = Array(startLayer..<layerCount)
        var totals = [Double](repeating: 0, count: candidates.count)
        for (done, sample) in samples.enumerated() {
            let curve = try klCurve(model: model, sample: sample, candidates: candidates)
            for i in totals.indices { totals[i] += curve[i] }
            progress?(done + 1, samples.count)
        }
        let means = totals.map { $0 / Double(samples.count) }
        let chosen = candidates.indices.first { means[$0] <= threshold }.map { candidates[$0] }
        return WithdrawalCalibration(layer: chosen, meanKL: means, layers: candidates, threshold: threshold,
                                     sampleCount: samples.count)
    }

    /// KL(P_j ‖ P_full) of one sample for each candidate layer j.
    static func klCurve(model: any VisionLanguageModel, sample: ImagePrompt, candidates: [Int]) throws -> [Double] {
        let language = model.language
        let prefill = try model.beginPrefill(image: sample.image, tokenIds: sample.tokenIds)
        let layout = prefill.layout
        var state = prefill.state
        var cache = language.makeCache()
        var inputs: [Int: DecoderState] = [:]
        for j in candidates {
            try language.advance(&state, to: j, cache: &cache)
            inputs[j] = state
        }
        try language.advance(&state, to: language.configuration.layerCount, cache: &cache)
        let full = try language.logits(state.hidden, rows: [layout.expandedLength - 1]).scalars
        let textRows = Array(layout.textBeforeImage) + Array(layout.textAfterImage)
        return try candidates.map { j in
            var withdrawn = inputs[j]!
            try withdrawn.keepRows(textRows)
            var scratch = language.makeCache()
            try language.advance(&withdrawn, to: language.configuration.layerCount, cache: &scratch)
            let logits = try language.logits(withdrawn.hidden, rows: [withdrawn.positions.count - 1]).scalars
            return try Divergence.kl(p: logits, q: full)
        }
    }
}
