import Foundation
import TestSupport
@testable import VisionTokenPruning
import XCTest

/// PrefixKV: the global prefix search on hand-made profiles, eviction, calibration and the pipeline.
final class PrefixKVTests: XCTestCase {
    func testPeakedLayerEvictsMoreThanFlatLayerAndTotalMatchesTarget() throws {
        let n = 100
        let peaked: [Float] = (0..<n).map { $0 == 0 ? 1000 : ($0 < 5 ? 50 : 0.1) }
        let flat = [Float](repeating: 1, count: n)
        // Keeping 80 %, 50 % and 20 % of the 200 entries evicts 40, 100 and 160.
        for (retained, evicted) in [(0.8, 40), (0.5, 100), (0.2, 160)] {
            let result = try PrefixKVSearch.solve(scores: [peaked, flat], retainedFraction: retained, protectedCount: 2)
            XCTAssertEqual(result.evictions.reduce(0, +), evicted, "retained \(retained)")
            XCTAssertGreaterThan(result.evictions[0], result.evictions[1], "retained \(retained)")
            XCTAssertTrue(result.evictions.allSatisfy { $0 <= n - 2 })
        }
        // Two identical layers split evenly.
        let same = try PrefixKVSearch.solve(scores: [flat, flat], retainedFraction: 0.5, protectedCount: 2)
        XCTAssertEqual(same.evictions, [50, 50])
        assertThrows(try PrefixKVSearch.solve(scores: [flat], retainedFraction: 0, protectedCount: 1), PruningError.self, "retained KV fraction 0.0 is outside (0, 1]")
        assertThrows(try PrefixKVSearch.solve(scores: [[1, .nan]], retainedFraction: 0.5, protectedCount: 1), PruningError.self, "importance score 1 of layer 0 is negative or not finite")
    }

    /// The threshold semantics by hand: shares of [4, 3, 2, 1] are 0.4, 0.7, 0.9, 1.0.
    func testThresholdFollowsCumulativeShares() throws {
        XCTAssertEqual(PrefixKVSearch.cumulativeShare([1, 4, 2, 3]), [0.4, 0.7, 0.9, 1.0])
        // One layer of 10 equal scores, protect 2, evict 50 %: the bisection settles where 5 are evicted.
        let result = try PrefixKVSearch.solve(scores: [[Float](repeating: 1, count: 10)], retainedFraction: 0.5,
                                              protectedCount: 2, tolerance: 0.5)
        XCTAssertEqual(result.evictions, [5])
        // Keep the first 2 prefix entries by share p: index of the first share >= p is 2 → 10 − 3 − 2 = 5 evicted.
        XCTAssertGreaterThan(result.threshold, 0.2)
        XCTAssertLessThanOrEqual(result.threshold, 0.3)
    }

    func testKeptRowsProtectPrefixAndLastAndDropLowest() {
        let scores: [Float] = [0, 5, 1, 7, 1, 3, 0]
        // Protected: row 0 and the last row; evict 3 of rows 1...5, lowest first (ties: earlier row first).
        XCTAssertEqual(PrefixKVSearch.keptRows(scores: scores, evict: 3, protectedPrefix: 1), [0, 1, 3, 6])
        XCTAssertEqual(PrefixKVSearch.keptRows(scores: scores, evict: 0, protectedPrefix: 1), Array(0..<7))
        XCTAssertEqual(PrefixKVSearch.keptRows(scores: scores, evict: 99, protectedPrefix: 2), [0, 1, 6])
    }

    /// Importance from the decoder equals column sums of transformers' own attention maps, and eviction
    /// leaves exactly the chosen entries (keys, values and positions).
    func testEvictionLeavesExactlyTheChosenEntries() throws {
        let f = try FixtureSamples.load()
        // Sample 1 fills the reference width (no padding), so its reference maps are the prompt's own.
        let layout = try f.model.layout(tokenIds: f.prompts[1], imageTokenCount: 16)
        let visual = try f.model.visualEmbeddings(try f.model.encodeImage(ImageInput(pixels: f.pixels[1])))
        var state = try f.model.language.beginPrefill(
            embeddings: try f.model.inputEmbeddings(layout: layout, visual: visual), positions: Array(0..<27))
        var cache = f.model.language.makeCache()
        let sums = try f.model.language.advance(&state, to: 3, cache: &cache, attentions: [0: .columnSums, 1: .columnSums, 2: .columnSums])
        var scores: [[Float]] = []
        for l in 0..<3 {
            let reference = try f.referenceSample("lm.attentions.\(l)", 1)  // [4, 27, 27]
            let expected = (0..<27).map { j in (0..<4).reduce(0.0) { acc, h in acc + (0..<27).reduce(0.0) { $0 + Double(reference[h, $1, j]) } } / 4 }
            assertClose(sums[l]!.scalars, expected, atol: 2e-4, "importance layer \(l)")
            scores.append(sums[l]!.scalars)
        }
        let before = cache
        let profile = try PrefixKVProfile(retainedFraction: 0.5, retainedRatios: [0.8, 0.5, 0.3])
        var eviction = PrefixKVEviction(profile: profile)
        try eviction.evictAfterPrefill(cache: &cache, scores: scores)
        for l in 0..<3 {
            // The official rule worked out here: keep row 0 (protected prefix) and the last row; of rows
            // 1 ... 25, evict round((1 − r) · 27) = round(5.4), round(13.5), round(18.9) lowest importances,
            // ties to the earlier row.
            let evict = [5, 14, 19][l]
            let candidates = (1..<26).sorted { scores[l][$0] != scores[l][$1] ? scores[l][$0] < scores[l][$1] : $0 < $1 }
            let kept = (0..<27).filter { !candidates.prefix(evict).contains($0) }
            XCTAssertEqual(cache.count(layer: l), 27 - evict)
            XCTAssertEqual(cache.layers[l].positions, kept)
            let keys = try before.layers[l].keys.gatherRows(kept)
            XCTAssertEqual(try cache.layers[l].keys.rows(0..<kept.count), keys)
            XCTAssertEqual(try cache.layers[l].values.rows(0..<kept.count), try before.layers[l].values.gatherRows(kept))
        }
        assertThrows(try eviction.evictAfterPrefill(cache: &cache, scores: Array(scores.prefix(2))), PruningError.self, "2 layers of importance scores for a cache of 3 layers")
    }

    func testCalibrationJSONAndPipelineComposition() throws {
        let f = try FixtureSamples.load()
        let samples = (0..<2).map { ImagePrompt(image: ImageInput(pixels: f.pixels[$0]), tokenIds: f.prompts[$0]) }
        let profile = try PrefixKVProfile.calibrate(model: f.model, samples: samples, retainedFraction: 0.4)
        XCTAssertEqual(profile.retainedRatios.count, 3)
        XCTAssertEqual(profile.retainedRatios.reduce(0, +) / 3, 0.4, accuracy: 0.05)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("prefixkv-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try profile.write(to: url)
        XCTAssertEqual(try PrefixKVProfile(url: url), profile)
        try Data(#"{"retained_fraction": 2, "retained_ratios": [0.9], "protected_prefix": 1, "sample_count": 1}"#.utf8).write(to: url)
        assertThrows(try PrefixKVProfile(url: url), ModelError.self, "\(url.path): KV budget: retained fraction 2.0 is outside (0, 1]")

        let full = try PruningPipeline(model: f.model).run(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0], maxNewTokens: 4)
        let budgeted = try PruningPipeline(model: f.model, kvBudget: .profile(profile)).run(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0], maxNewTokens: 4)
        XCTAssertEqual(budgeted.nextTokenLogits, full.nextTokenLogits, "eviction happens after the prefill")
        XCTAssertEqual(budgeted.generatedTokens.first, full.generatedTokens.first)
        XCTAssertLessThan(budgeted.report.kvCacheBytes, full.report.kvCacheBytes)
        // Composes with pre-LLM pruning and withdrawal (layers >= 2 hold text only, then evict).
        let composed = try PruningPipeline(model: f.model, pruning: TokenPruning(ClassAttentionScorer(), keep: .count(8)), withdrawalLayer: 2,
                                           kvBudget: .profile(profile)).run(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0], maxNewTokens: 3)
        XCTAssertEqual(composed.generatedTokens.count, 3)
        // Teacher forcing feeds the given tokens and returns one distribution per fed token.
        let forced = try PruningPipeline(model: f.model).run(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0],
                                                              forcedContinuation: full.generatedTokens)
        XCTAssertEqual(forced.continuationLogits.count, 4)
        XCTAssertEqual(forced.continuationLogits.prefix(3).map(LlamaDecoder.argmax), Array(full.generatedTokens.dropFirst()))
        assertThrows(try PruningPipeline(model: f.model, kvBudget: .profile(PrefixKVProfile(retainedFraction: 0.5, retainedRatios: [0.5]))), PruningError.self, "KV budget has 1 layer ratios, the model 3 layers")
    }
}
