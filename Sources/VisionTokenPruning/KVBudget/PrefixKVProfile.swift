import Foundation
import TensorCore
import VLMModels

/// Per-layer KV-cache budgets computed offline with PrefixKV's search, so decoding pays nothing for the search:
/// at run time layer l evicts round((1 − r_l) · N_l) of its N_l prefill entries, never its protected prefix or
/// its last entry. Every share here is a kept share.
public struct PrefixKVProfile: Sendable, Codable, Equatable {
    /// Share of the KV cache kept overall (the paper's budget b; 0.2 = keep 20 %).
    public let retainedFraction: Double
    /// Per decoder layer, the share r_l of its prefill entries kept (mean over the calibration samples).
    public let retainedRatios: [Double]
    /// Leading entries never evicted (PrefixKV's `start_size`; the last entry is never evicted either).
    public let protectedPrefix: Int
    /// Calibration samples averaged.
    public let sampleCount: Int

    enum CodingKeys: String, CodingKey {
        case retainedFraction = "retained_fraction", retainedRatios = "retained_ratios"
        case protectedPrefix = "protected_prefix", sampleCount = "sample_count"
    }

    /// Most protected prefix positions a profile may declare.
    public static let maximumProtectedPrefix = ConfigurationBounds.positions

    /// A profile from explicit ratios.
    /// - Throws: `PruningError.invalidConfiguration` for ratios outside (0, 1], a retained fraction outside
    ///   (0, 1], more layers than `ConfigurationBounds.layers`, or a protected prefix outside
    ///   0 ... `maximumProtectedPrefix`.
    public init(retainedFraction: Double, retainedRatios: [Double], protectedPrefix: Int = 1, sampleCount: Int = 0) throws {
        func refuse(_ reason: String) -> PruningError { .invalidConfiguration("KV budget: \(reason)") }
        guard retainedFraction > 0, retainedFraction <= 1 else { throw refuse("retained fraction \(retainedFraction) is outside (0, 1]") }
        guard (1...ConfigurationBounds.layers).contains(retainedRatios.count) else {
            throw refuse("\(retainedRatios.count) retained ratios, need 1 ... \(ConfigurationBounds.layers)")
        }
        if let bad = retainedRatios.firstIndex(where: { !($0 > 0 && $0 <= 1) }) {
            throw refuse("retained ratio \(retainedRatios[bad]) of layer \(bad) is outside (0, 1]")
        }
        guard (0...Self.maximumProtectedPrefix).contains(protectedPrefix) else {
            throw refuse("protected prefix \(protectedPrefix) is outside 0 ... \(Self.maximumProtectedPrefix)")
        }
        guard sampleCount >= 0 else { throw refuse("sample count \(sampleCount) is negative") }
        self.retainedFraction = retainedFraction
        self.retainedRatios = retainedRatios
        self.protectedPrefix = protectedPrefix
        self.sampleCount = sampleCount
    }

    /// Reads a profile saved with `write(to:)`.
    /// - Throws: `ModelError.fileUnreadable`, `.invalidConfiguration` for malformed JSON or values.
    public init(url: URL) throws {
        try self.init(data: try RegularFile.read(url, limit: RegularFile.configurationByteLimit), path: url.path)
    }

    /// Parses a profile's JSON bytes; `path` names the file in errors.
    /// - Throws: `ModelError.invalidConfiguration` naming `path` for malformed JSON, a repeated key or values
    ///   out of range.
    public init(data: Data, path: String) throws {
        _ = try JSONValue.parseStrict(data, path: path)
        let decoded: PrefixKVProfile
        do { decoded = try JSONDecoder().decode(PrefixKVProfile.self, from: data) } catch {
            throw ModelError.invalidConfiguration(path: path, reason: "not a PrefixKV profile: \(readableDecodingReason(error))")
        }
        do {
            try self.init(retainedFraction: decoded.retainedFraction, retainedRatios: decoded.retainedRatios,
                          protectedPrefix: decoded.protectedPrefix, sampleCount: decoded.sampleCount)
        } catch PruningError.invalidConfiguration(let reason) {
            throw ModelError.invalidConfiguration(path: path, reason: reason)
        }
    }

    /// Writes the profile as JSON atomically (whole or not at all).
    /// - Throws: `ModelError.fileUnwritable` naming the path and the reason.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try RegularFile.write(encoder.encode(self), to: url)
    }

    /// Runs the full prefill of each sample, takes every layer's column-sum attention importance, solves
    /// PrefixKV's search for `retainedFraction`, and averages the per-layer retained ratios.
    public static func calibrate(
        model: any VisionLanguageModel, samples: [ImagePrompt], retainedFraction: Double, protectedPrefix: Int = 1,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> PrefixKVProfile {
        guard !samples.isEmpty else { throw PruningError.invalidConfiguration("KV calibration needs at least one sample") }
        let layers = model.language.configuration.layerCount
        var totals = [Double](repeating: 0, count: layers)
        for (i, sample) in samples.enumerated() {
            var state = try model.beginPrefill(image: sample.image, tokenIds: sample.tokenIds).state
            var cache = model.language.makeCache()
            let requests = Dictionary(uniqueKeysWithValues: (0..<layers).map { ($0, AttentionProbabilityRequest.columnSums) })
            let sums = try model.language.advance(&state, to: layers, cache: &cache, attentions: requests)
            let scores = (0..<layers).map { sums[$0]!.scalars }
            let result = try PrefixKVSearch.solve(scores: scores, retainedFraction: retainedFraction,
                                                  protectedCount: protectedPrefix + 1)
            for l in 0..<layers { totals[l] += Double(scores[l].count - result.evictions[l]) / Double(scores[l].count) }
            progress?(i + 1, samples.count)
        }
        return try PrefixKVProfile(retainedFraction: retainedFraction,
                                   retainedRatios: totals.map { max($0 / Double(samples.count), 0.000_001) },
                                   protectedPrefix: protectedPrefix, sampleCount: samples.count)
    }
}
