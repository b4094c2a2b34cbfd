import VLMModels

/// A PrefixKV budget for the KV cache, as the share of its entries kept.
public enum KVCacheBudget: Sendable, Equatable {
    /// Per-layer shares calibrated offline (`PrefixKVProfile.calibrate`) and applied to every request.
    case profile(PrefixKVProfile)
    /// Keep this share, in (0, 1], with per-layer shares calibrated on each request itself: one extra full
    /// prefill per request, no calibration set needed.
    case calibratedPerRequest(retainedFraction: Double)

    /// Throws unless the budget fits a decoder of `layers` layers.
    /// - Throws: `PruningError.invalidConfiguration` for a profile of another depth or a share outside (0, 1].
    func validate(layers: Int) throws {
        switch self {
        case .profile(let profile):
            guard profile.retainedRatios.count == layers else {
                throw PruningError.invalidConfiguration(
                    "KV budget has \(profile.retainedRatios.count) layer ratios, the model \(layers) layers")
            }
        case .calibratedPerRequest(let share):
            guard share > 0, share <= 1 else {
                throw PruningError.invalidConfiguration("a KV budget keeps a share in (0, 1] of the cache; got \(share)")
            }
        }
    }

    /// The profile to apply to one request (calibrated on it when the budget says so).
    func profile(model: any VisionLanguageModel, image: ImageInput, tokenIds: [Int]) throws -> PrefixKVProfile {
        switch self {
        case .profile(let profile):
            return profile
        case .calibratedPerRequest(let share):
            return try PrefixKVProfile.calibrate(
                model: model, samples: [ImagePrompt(image: image, tokenIds: tokenIds)], retainedFraction: share)
        }
    }
}
