import Foundation
import TestSupport
import VisionTokenPruning
import XCTest

/// Each scorer on inputs built by hand, where the right answer is known.
final class ScorerTests: XCTestCase {
    /// A 2x2-patch model config (4 visual tokens), 2 vision layers, text vocab 50, image token 49.
    static let config: LlavaConfiguration = {
        let vision = VisionTowerConfiguration(hiddenSize: 8, intermediateSize: 16, layerCount: 3, headCount: 2,
                                              imageSize: 28, patchSize: 14)
        let text = LlamaConfiguration(vocabularySize: 50, hiddenSize: 3, intermediateSize: 8, layerCount: 4, headCount: 1,
                                      headDimension: 2)
        return LlavaConfiguration(vision: vision, text: text, imageTokenId: 49)
    }()

    /// Prompt [bos=1, image, 10, 11, pad=0]: expanded rows 0 | 1..4 visual | 5, 6, 7.
    static let layout = try! PromptLayout(tokenIds: [1, 49, 10, 11, 0], imageTokenId: 49, imageTokenCount: 4)

    func testBudgetsAndPositions() throws {
        XCTAssertEqual(try TokenBudget.count(3).resolve(available: 4), 3)
        XCTAssertEqual(try TokenBudget.ratio(0.25).resolve(available: 576), 144)
        XCTAssertEqual(try TokenBudget.ratio(0.001).resolve(available: 576), 1)
        XCTAssertEqual(try TokenBudget(parsing: "12.5%"), .ratio(0.125))
        XCTAssertEqual(try TokenBudget(parsing: "64"), .count(64))
        for bad in [TokenBudget.count(0), .count(5), .ratio(0), .ratio(1.5), .ratio(.nan)] {
            XCTAssertThrowsError(try bad.resolve(available: 4)) {
                guard case .impossibleBudget = $0 as? PruningError else { return XCTFail("\($0)") }
            }
        }
        assertThrows(try TokenBudget(parsing: "half"), PruningError.self, "'half' is neither a count")
    }

    func testSelectionTopKAndDeduplicatedUnion() throws {
        let grid = VisualTokenMap(singleViewWithPatchesPerSide: 2, includesClassToken: false)
        XCTAssertEqual(try TokenSelection.select([0.1, 0.9, 0.5, 0.9], tokens: grid, k: 2), [1, 3])
        XCTAssertThrowsError(try TokenSelection.select([0.1, .nan, 0, 0], tokens: grid, k: 1)) {
            XCTAssertEqual($0 as? PruningError, .nonFiniteScore(scorer: "scores", index: 1))
        }
        // 2 from [5,1,2,...] and 2 from [1,7,...]: 1 is shared, so the larger quota's list refills with 2.
        XCTAssertEqual(try TokenSelection.union([[5, 1, 2, 3], [1, 7, 8, 9]], quotas: [2, 2], k: 4), [1, 2, 5, 7])
        XCTAssertEqual(try TokenSelection.union([[5, 1, 2], [1, 7, 8]], quotas: [1, 3], k: 4), [1, 5, 7, 8])
        assertThrows(try TokenSelection.union([[1], [1]], quotas: [1, 1], k: 2), PruningError.self, "only 1 distinct candidates for a budget of 2")
        assertThrows(try TokenSelection.union([[1], [2]], quotas: [1], k: 1), PruningError.self, "1 quotas for 2 candidate lists")
    }

    func testClassAttentionSingleLayerAndEnsemble() throws {
        // Vision layers 0 and 1, [views=1, heads=2, tokens=5]; column 0 is [CLS] itself and is ignored.
        let layer0 = try Tensor(shape: [1, 2, 5], scalars: [0.2, 0.1, 0.3, 0.2, 0.2, /**/ 0.6, 0.1, 0.1, 0.1, 0.1])
        let layer1 = try Tensor(shape: [1, 2, 5], scalars: [0.0, 0.4, 0.1, 0.3, 0.2, /**/ 0.2, 0.2, 0.2, 0.0, 0.4])
        let context = ScoringContext(configuration: Self.config, layout: Self.layout,
                                     visionClassAttention: [0: layer0, 1: layer1])
        // Feature layer = hidden state 2 = output of layer 1.
        let single = ClassAttentionScorer()
        XCTAssertEqual(try single.requirements(for: Self.config).visionAttentionLayers, [1])
        let s = try single.scores(context)
        assertClose(s, [0.3, 0.15, 0.15, 0.3] as [Float], atol: 1e-6, "feature-layer scores")
        XCTAssertEqual(try single.select(context, keep: 2), [0, 3])
        let ensemble = ClassAttentionScorer(layers: .ensemble(start: 0))
        let e = try ensemble.scores(context)
        assertClose(e, [0.4, 0.35, 0.3, 0.45] as [Float], atol: 1e-6, "ensemble scores")
        XCTAssertEqual(try ensemble.select(context, keep: 1), [3])
        XCTAssertThrowsError(try single.scores(ScoringContext(configuration: Self.config, layout: Self.layout))) {
            guard case .missingInput = $0 as? PruningError else { return XCTFail("\($0)") }
        }
        assertThrows(try ClassAttentionScorer(layers: .explicit([3])).requirements(for: Self.config), PruningError.self, "[CLS] attention layers [3] must be a non-empty subset of 0..<3")
    }

    func testTextSimilarityBySoftmaxOfScaledCosine() throws {
        // Visual tokens along x, y, x+y, −x; text 10 along x, 11 along y, pad (excluded) along x+y.
        let rows: [[Float]] = [[9, 9, 9], [1, 0, 0], [0, 1, 0], [1, 1, 0], [-1, 0, 0], [2, 0, 0], [0, 3, 0], [1, 1, 0]]
        let embeddings = try Tensor(shape: [8, 3], scalars: rows.flatMap { $0 })
        let context = ScoringContext(configuration: Self.config, layout: Self.layout, promptEmbeddings: embeddings)
        let cosX: [Double] = [1, 0, 0.5.squareRoot(), -1], cosY: [Double] = [0, 1, 0.5.squareRoot(), 0]
        func softmax(_ v: [Double]) -> [Double] { let e = v.map { exp(100 * $0) }; let s = e.reduce(0, +); return e.map { $0 / s } }
        let px = softmax(cosX), py = softmax(cosY)
        let expectedMax = zip(px, py).map { max($0, $1) }
        let scorer = TextSimilarityScorer()
        XCTAssertEqual(try scorer.textRows(context), [5, 6])
        assertClose(try scorer.scores(context), expectedMax, atol: 1e-6, "t2i max")
        assertClose(try TextSimilarityScorer(aggregation: .mean).scores(context), zip(px, py).map { ($0 + $1) / 2 }, atol: 1e-6, "mean")
        assertClose(try TextSimilarityScorer(softmaxScale: nil).scores(context), zip(cosX, cosY).map { max($0, $1) }, atol: 1e-6, "raw")
        XCTAssertEqual(try scorer.select(context, keep: 2), [0, 1])
        // Only special tokens in the span: a clear error.
        let onlySpecial = try PromptLayout(tokenIds: [1, 49, 0, 0], imageTokenId: 49, imageTokenCount: 4)
        XCTAssertThrowsError(try scorer.scores(ScoringContext(configuration: Self.config, layout: onlySpecial,
                                                              promptEmbeddings: Tensor(zeros: [7, 3])))) {
            guard case .emptyTextSpan = $0 as? PruningError else { return XCTFail("\($0)") }
        }
        assertThrows(try scorer.scores(ScoringContext(configuration: Self.config, layout: Self.layout)), PruningError.self, "needs the prompt's input embeddings")
    }

    /// AdaV's split against a brute-force reading of its formula, and de-duplication to exactly K.
    func testAdaptiveMixtureSplitAndDeduplication() throws {
        let rawMixture = AdaptiveMixtureScorer(similarity: TextSimilarityScorer(softmaxScale: nil))
        var g = SplitMix64(seed: 3)
        for trial in 0..<20 {
            let n = 36, k = 4 + trial
            let t = (0..<n).map { _ in Float.random(in: 0...1, using: &g) * (trial % 2 == 0 ? 1 : 0.05) }
            let c = (0..<n).map { _ in powf(Float.random(in: 0...1, using: &g), 6) }
            let split = try rawMixture.split(textScores: t, clsScores: c, k: k)
            // Brute force: rank, reserve floor(k/4) each, maximise the product of the next prefix sums.
            let rt = t.indices.sorted { t[$0] != t[$1] ? t[$0] > t[$1] : $0 < $1 }
            let rc = c.indices.sorted { c[$0] != c[$1] ? c[$0] > c[$1] : $0 < $1 }
            let base = k / 4, rest = k - 2 * base
            var best = -1.0, bestK1 = 0
            for k1 in 0...rest {
                let st = rt[base..<(base + k1)].reduce(0.0) { $0 + Double(t[$1]) }
                let sc = rc[base..<(base + rest - k1)].reduce(0.0) { $0 + Double(c[$1]) }
                if st * sc > best { best = st * sc; bestK1 = k1 }
            }
            XCTAssertEqual(split.textCount, base + bestK1, "trial \(trial)")
            XCTAssertEqual(split.clsCount, k - base - bestK1)
            XCTAssertEqual(split.textRanking, Array(rt.prefix(k)))
            // The selection has exactly k distinct tokens and contains both reserved heads.
            let kept = try rawMixture.select(try fixedContext(text: t, cls: c), keep: k)
            XCTAssertEqual(kept.count, k)
            XCTAssertEqual(Set(kept).count, k)
            XCTAssertTrue(Set(rt.prefix(base)).isSubset(of: kept) && Set(rc.prefix(base)).isSubset(of: kept))
        }
    }

    func testWeightedMixtureStandardisesBothSources() throws {
        // T2I 0, 0.2, 0.4, 0.6 and CLS 0.3, 0.2, 0.1, 0: both standardise to ±1.342, ±0.447.
        let context = try fixedContext(text: [0, 0.2, 0.4, 0.6], cls: [0.3, 0.2, 0.1, 0])
        let scorer = WeightedMixtureScorer(alpha: 0.75, similarity: TextSimilarityScorer(softmaxScale: nil))
        let z = (0..<4).map { (Float($0) - 1.5) / Float(1.25).squareRoot() }
        let expected = (0..<4).map { 0.75 * -z[$0] + 0.25 * z[$0] }
        let got = try scorer.scores(context)
        assertClose(got, expected, atol: 1e-5, "weighted mixture")
        assertThrows(try WeightedMixtureScorer(alpha: 2).requirements(for: Self.config), PruningError.self, "alpha 2.0 is outside [0, 1]")
    }

    func testFastVAveragesHeadsAndQueriesOverImageColumns() throws {
        // [heads 2, queries 1, keys 8]; image columns are 1...4.
        let attention = try Tensor(shape: [2, 1, 8], scalars: [0.1, 0.4, 0.1, 0.2, 0.0, 0.1, 0.1, 0.0,
                                                               0.1, 0.0, 0.1, 0.2, 0.4, 0.1, 0.1, 0.0])
        let context = ScoringContext(configuration: Self.config, layout: Self.layout, languageAttention: attention)
        let scorer = FastVScorer()
        XCTAssertEqual(try scorer.stage(for: Self.config), .insideLanguageModel(attentionLayer: 1, queries: .lastToken))
        XCTAssertEqual(try FastVScorer(pruningLayer: 3, queries: .textAfterImage).stage(for: Self.config),
                       .insideLanguageModel(attentionLayer: 2, queries: .textAfterImage))
        XCTAssertEqual(try ClassAttentionScorer().stage(for: Self.config), .beforeLanguageModel)
        let s = try scorer.scores(context)
        assertClose(s, [0.2, 0.1, 0.2, 0.2] as [Float], atol: 1e-6, "FastV scores")
        XCTAssertEqual(try scorer.select(context, keep: 2), [0, 2])
        XCTAssertEqual(LanguageQueryRows.textAfterImage.rows(in: Self.layout), [5, 6, 7])
        assertThrows(try FastVScorer(pruningLayer: 4).stage(for: Self.config), PruningError.self, "FastV pruning layer 4 must be in 1..<4")
        assertThrows(try FastVScorer(pruningLayer: 0).stage(for: Self.config), PruningError.self, "FastV pruning layer 0 must be in 1..<4")
    }

    func testBaselines() throws {
        let context = ScoringContext(configuration: Self.config, layout: try PromptLayout(
            tokenIds: [1, 49, 10], imageTokenId: 49, imageTokenCount: 576),
            tokens: VisualTokenMap(singleViewWithPatchesPerSide: 24, includesClassToken: false))
        XCTAssertEqual(try UniformScorer().select(context, keep: 4), [72, 216, 360, 504])
        XCTAssertEqual(try UniformScorer().select(context, keep: 576), Array(0..<576))
        assertThrows(try UniformScorer().select(context, keep: 0), PruningError.self, "keep 0 of 576 visual tokens")
        let a = try RandomScorer(seed: 7).select(context, keep: 64), b = try RandomScorer(seed: 7).select(context, keep: 64)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, try RandomScorer(seed: 8).select(context, keep: 64))
        XCTAssertEqual(Set(a).count, 64)
    }
}

/// A real scoring context whose raw-cosine T2I scores equal `text` (values in [−1, 1], a square count) and
/// whose feature-layer [CLS] scores equal `cls`: one text token along x, visual token j at angle
/// acos(text[j]), and a single-view, single-head [CLS] attention row holding `cls`.
private func fixedContext(text: [Float], cls: [Float]) throws -> ScoringContext {
    let n = text.count
    let layout = try PromptLayout(tokenIds: [1, 49, 10], imageTokenId: 49, imageTokenCount: n)
    var rows: [Float] = [0, 0, 1]
    for v in text { rows += [v, (1 - v * v).squareRoot(), 0] }
    rows += [1, 0, 0]
    let embeddings = try Tensor(shape: [n + 2, 3], scalars: rows)
    let attention = try Tensor(shape: [1, 1, n + 1], scalars: [0] + cls)
    let side = Int(Double(n).squareRoot())
    precondition(side * side == n, "fixedContext needs a square token count")
    return ScoringContext(configuration: ScorerTests.config, layout: layout,
                          tokens: VisualTokenMap(singleViewWithPatchesPerSide: side, includesClassToken: false),
                          visionClassAttention: [1: attention],
                          promptEmbeddings: embeddings)
}
