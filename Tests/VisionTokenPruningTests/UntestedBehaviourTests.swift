import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import XCTest

/// Behaviour that had no test of its own, each against a hand-worked or independently computed expectation.
final class UntestedBehaviourTests: XCTestCase {
    /// Decode-time PrefixKV eviction on a real one-layer decoder: after prefill the cache holds the 30 most
    /// important of 60 entries (row 0 and the last row protected); then, with ratio 0.5, a step evicts the
    /// entry at slot 60 − 30 − 25 = 5 whenever the cache exceeds half the tokens processed by a whole entry,
    /// which is every second step.
    func testDecodeEvictionFollowsTheHandWorkedRule() throws {
        let text = LlamaConfiguration(vocabularySize: 16, hiddenSize: 8, intermediateSize: 8, layerCount: 1, headCount: 1)
        var weights = GeneratedWeights(seed: 3)
        let decoder = try LlamaDecoder(configuration: text, weights: &weights)
        var cache = decoder.makeCache()
        var state = try decoder.beginPrefill(embeddings: randomTensor([60, 8], seed: 4), positions: Array(0..<60))
        try decoder.advance(&state, to: 1, cache: &cache)
        var eviction = PrefixKVEviction(profile: try PrefixKVProfile(retainedFraction: 0.5, retainedRatios: [0.5]))
        let scores: [Float] = (0..<60).map { Float(($0 * 37) % 60) }  // distinct importances
        try eviction.evictAfterPrefill(cache: &cache, scores: [scores])
        let lowest = (1..<59).sorted { scores[$0] < scores[$1] }.prefix(30)
        var expected = (0..<60).filter { !lowest.contains($0) }
        XCTAssertEqual(cache.layers[0].positions, expected)
        XCTAssertEqual(eviction.decodeSlots, [5])
        var processed = 60, step = 0
        _ = try decoder.continuation(from: [Float](repeating: 0, count: 16), nextPosition: 60, choosing: .forced([3, 4, 5, 6]),
                                     cache: &cache, afterStep: { cache in
            processed += 1
            step += 1
            try eviction.evictDuringDecode(cache: &cache, tokensProcessed: processed)
            expected.append(59 + step)
            if step % 2 == 0 { expected.remove(at: 5) }
            XCTAssertEqual(cache.layers[0].positions, expected, "after decoding step \(step)")
        })
        XCTAssertEqual(step, 4)
        XCTAssertEqual(cache.count(layer: 0), 32)
    }

    /// `continuationFidelity` against agreement and KL recomputed here from teacher-forced runs.
    func testContinuationFidelityMatchesAHandCount() throws {
        let f = try FixtureSamples.load()
        let dir = try requireTinyLlavaFixture()
        let set = try EvaluationSet(url: dir.appendingPathComponent("eval.safetensors"))
        let small = try EvaluationSet(pixelValues: try set.pixelValues!.rows(0..<3), prompts: Array(set.prompts.prefix(3)),
                                      answerIds: Array(set.answerIds.prefix(3)), imageTokenId: 299, padTokenId: 0)
        let reference = try PruningEvaluation.referenceContinuations(model: f.model, set: small, steps: 3)
        let pruned = try PruningPipeline(model: f.model, pruning: TokenPruning(ClassAttentionScorer(), keep: .count(3)))
        let fidelity = try PruningEvaluation.continuationFidelity(pruned, set: small, reference: reference)
        var agree = 0, kl = 0.0
        for i in 0..<3 {
            let r = try pruned.run(image: small.image(i, for: f.model), tokenIds: small.prompts[i],
                                   forcedContinuation: Array(reference[i].tokens.prefix(3)))
            for s in 0..<3 {
                let p = r.continuationLogits[s], q = reference[i].logits[s]
                if p.indices.max(by: { p[$0] < p[$1] }) == reference[i].tokens[s + 1] { agree += 1 }
                let lp = logSoftmax(p), lq = logSoftmax(q)
                kl += zip(lp, lq).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
            }
        }
        XCTAssertEqual(fidelity.steps, 3)
        XCTAssertEqual(fidelity.agreement, Double(agree) / 9)
        XCTAssertEqual(fidelity.meanKL, kl / 9, accuracy: 1e-6 * max(1, kl))
        XCTAssertGreaterThan(kl, 0, "3 of 16 tokens must move the distributions, or this check proves little")
    }

    private func logSoftmax(_ v: [Float]) -> [Double] {
        let top = Double(v.max()!), total = v.reduce(0.0) { $0 + exp(Double($1) - top) }
        return v.map { Double($0) - top - log(total) }
    }

    /// Under `vision_feature_select_strategy` "full" the [CLS] token is a visual token too: first in the
    /// sequence, projected from the encoder's row 0, scored by [CLS] attention to itself.
    func testFullFeatureStrategyKeepsTheClassToken() throws {
        var config = minimalLlavaConfiguration
        config.visionFeatureSelection = .all
        let model = try LlavaModel.generated(configuration: config)
        let image = ImageInput(pixels: randomTensor([3, 8, 8], seed: 2))
        let encoded = try model.encodeImage(image, requesting: VisionRequest(classAttentionLayers: [0]))
        XCTAssertEqual(encoded.tokens.count, 5)
        XCTAssertEqual(encoded.tokens.origins.first, .classToken(view: 0))
        let visual = try model.visualEmbeddings(encoded)
        assertClose(try visual.rows(0..<1).scalars, try model.projector(try encoded.features.rows(0..<1)).scalars, atol: 1e-6, "[CLS] row")
        let context = ScoringContext(configuration: config, layout: try PromptLayout(tokenIds: [1, 22, 3], imageTokenId: 22, imageTokenCount: 5),
                                     tokens: encoded.tokens, visionClassAttention: encoded.classAttention)
        let scores = try ClassAttentionScorer(layers: .explicit([0])).scores(context)
        let row = encoded.classAttention[0]!  // [1 view, 2 heads, 5 tokens]
        assertClose(scores, (0..<5).map { t in (row[0, 0, t] + row[0, 1, t]) / 2 }, atol: 1e-6, "[CLS] scores")
        let result = try PruningPipeline(model: model, pruning: TokenPruning(ClassAttentionScorer(layers: .explicit([0])), keep: .count(2)))
            .run(image: image, tokenIds: [1, 22, 3])
        XCTAssertEqual(result.keptVisualIndices.count, 2)
    }

    /// `tie_word_embeddings`: the logits are the final-normed hidden state times the embedding table.
    func testTiedWordEmbeddingsUseTheEmbeddingTable() throws {
        var text = minimalLlavaConfiguration.text
        text.tieWordEmbeddings = true
        var weights = GeneratedWeights(seed: 9)
        let decoder = try LlamaDecoder(configuration: text, weights: &weights)
        let hidden = randomTensor([2, 8], seed: 3)
        let logits = try decoder.logits(hidden, rows: [1])
        let normed = try decoder.finalNorm(hidden).rows(1..<2).scalars
        let table = try decoder.embed(Array(0..<text.vocabularySize))
        let expected = (0..<text.vocabularySize).map { v in (0..<8).reduce(0.0) { $0 + Double(normed[$1]) * Double(table[v, $1]) } }
        assertClose(logits.scalars, expected, atol: 1e-5, "tied lm_head")
    }

    /// Text similarity over every text token, or over chosen rows, on hand-built embeddings.
    func testTextSimilaritySpans() throws {
        // Rows: 0 bos | 1...2 visual along x and y | 3 "before" text along x is not used by .afterImage | 4 along y.
        let rows: [Float] = [9, 9, 9, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 3, 0]
        let embeddings = try Tensor(shape: [5, 3], scalars: rows)
        let layout = try PromptLayout(tokenIds: [1, 22, 5, 6], imageTokenId: 22, imageTokenCount: 2)
        var config = minimalLlavaConfiguration
        config.text.padTokenId = 0
        let context = ScoringContext(configuration: config, layout: layout,
                                     tokens: VisualTokenMap(singleViewWithPatchesPerSide: 1, includesClassToken: true),
                                     promptEmbeddings: embeddings)
        // Raw cosine (no softmax), max over text: rows 3 (x) and 4 (y) see token 1 (x) as 1 and token 2 (y) as 1.
        let all = TextSimilarityScorer(span: .allText, softmaxScale: nil)
        assertClose(try all.scores(context), [1, 1] as [Float], atol: 1e-6, "all text")
        let onlyRow3 = TextSimilarityScorer(span: .rows(3..<4), softmaxScale: nil)
        assertClose(try onlyRow3.scores(context), [1, 0] as [Float], atol: 1e-6, "row 3 only")
        assertThrows(try TextSimilarityScorer(span: .rows(0..<9)).scores(context), PruningError.self, "rows 0..<9 leave the prompt of 5 tokens")
        assertThrows(try TextSimilarityScorer(span: .rows(1..<3)).scores(context), PruningError.self, "no text token")  // only visual rows
    }

    /// A failing request inside a batch surfaces its own error; the others complete as they would alone.
    func testErrorsInsideABatch() throws {
        let f = try FixtureSamples.load()
        let good = ImagePrompt(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0])
        let bad = ImagePrompt(image: ImageInput(pixels: f.pixels[1]), tokenIds: [1, 2, 3])  // no placeholder
        let pipeline = try PruningPipeline(model: f.model)
        XCTAssertThrowsError(try pipeline.run(batch: [good, bad, good])) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("no image placeholder") else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try pipeline.run(batch: [good, good]).map(\.nextTokenLogits),
                       [try pipeline.run(image: good.image, tokenIds: good.tokenIds).nextTokenLogits, 
                        try pipeline.run(image: good.image, tokenIds: good.tokenIds).nextTokenLogits])
    }
}
