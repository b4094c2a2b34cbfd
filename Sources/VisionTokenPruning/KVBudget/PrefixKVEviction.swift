import TensorCore
import VLMModels

/// Applies a `PrefixKVProfile` to one sequence's KV cache: after prefill each layer drops its lowest-importance
/// entries; during decoding each layer's cache is held to r_l of the tokens processed (its retained ratio) by evicting
/// one entry per step at a fixed slot 25 entries before the end of its prefill prefix (PrefixKV's
/// "important prefix + recent window"). Positions stay absolute (RoPE is already in the keys).
public struct PrefixKVEviction: Sendable {
    /// The profile applied.
    public let profile: PrefixKVProfile
    /// Per layer, the slot at which decoding evicts (set by `evictAfterPrefill`).
    public private(set) var decodeSlots: [Int] = []

    /// Distance of the decode eviction slot from the end of the kept prefix (PrefixKV's `distance`).
    public static let recentWindow = 25

    /// An eviction policy for `profile`.
    public init(profile: PrefixKVProfile) { self.profile = profile }

    /// Evicts after prefill, using each layer's column-sum importance `scores[l]` (one per cache entry).
    /// - Throws: `PruningError.invalidConfiguration` when the profile's layer count or score lengths do not fit.
    public mutating func evictAfterPrefill(cache: inout KVCache, scores: [[Float]]) throws {
        let layers = cache.layers.count
        guard profile.retainedRatios.count == layers else {
            throw PruningError.invalidConfiguration("KV profile has \(profile.retainedRatios.count) layers, the model \(layers)")
        }
        guard scores.count == layers else {
            throw PruningError.invalidConfiguration("\(scores.count) layers of importance scores for a cache of \(layers) layers")
        }
        decodeSlots = []
        for l in 0..<layers {
            let n = cache.count(layer: l)
            guard scores[l].count == n else {
                throw PruningError.invalidConfiguration("layer \(l): \(scores[l].count) importance scores for \(n) cache entries")
            }
            let evictable = max(0, n - profile.protectedPrefix - 1)
            let evict = min(evictable, Int(((1 - profile.retainedRatios[l]) * Double(n)).rounded()))
            let kept = PrefixKVSearch.keptRows(scores: scores[l], evict: evict, protectedPrefix: profile.protectedPrefix)
            try cache.retain(layer: l, rows: kept)
            var slot = n - evict - Self.recentWindow
            if slot < 1 { slot = kept.count / 2 }
            decodeSlots.append(slot)
        }
    }

    /// After a decoding step that brought the total tokens processed to `tokensProcessed`, evicts one entry
    /// at its slot from every layer holding more than r_l · tokensProcessed entries.
    public func evictDuringDecode(cache: inout KVCache, tokensProcessed: Int) throws {
        for l in 0..<cache.layers.count where l < decodeSlots.count {
            let n = cache.count(layer: l)
            let cap = Double(tokensProcessed) * profile.retainedRatios[l]
            // As published: evict when the excess, truncated to an integer, is at least one entry.
            guard Int(Double(n) - cap) >= 1, decodeSlots[l] < n - 1, decodeSlots[l] >= 0 else { continue }
            try cache.retain(layer: l, rows: (0..<n).filter { $0 != decodeSlots[l] })
        }
    }
}
