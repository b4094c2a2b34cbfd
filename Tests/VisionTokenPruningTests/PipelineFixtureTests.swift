import Foundation
import TestSupport
import VisionTokenPruning
import XCTest

/// The pipeline on the tiny-llava fixture, each method checked against a straightforward reimplementation
/// from the fixture's reference tensors (transformers' own intermediates).
final class PipelineFixtureTests: XCTestCase {
    private func topKAscending(_ scores: [Float], _ k: Int) -> [Int] {
        Array(scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k)).sorted()
    }

    func testUnprunedPipelineMatchesTheModel() throws {
        let f = try FixtureSamples.load()
        let generated = try f.reference.integerTensor("generated_ids").values
        let pipeline = try PruningPipeline(model: f.model)
        for b in 0..<2 {
            let result = try pipeline.run(image: ImageInput(pixels: f.pixels[b]), tokenIds: f.prompts[b], maxNewTokens: 5)
            XCTAssertEqual(result.generatedTokens, Array(generated[(5 * b)..<(5 * b + 5)]))
            XCTAssertEqual(result.keptVisualIndices, Array(0..<16))
            XCTAssertEqual(result.report.tokensPerLayer, Array(repeating: f.prompts[b].count + 15, count: 3))
            // KV cache: 3 layers x (prompt + 4 decoded) rows x 2 kv heads x 16 x (K and V) x 4 bytes.
            XCTAssertEqual(result.report.kvCacheBytes, 3 * (f.prompts[b].count + 15 + 4) * 32 * 2 * 4)
        }
    }

    func testKeepingEveryTokenChangesNothingUnderEitherPositionPolicy() throws {
        let f = try FixtureSamples.load()
        let full = try PruningPipeline(model: f.model).run(image: ImageInput(pixels: f.pixels[1]), tokenIds: f.prompts[1])
        for policy in PositionPolicy.allCases {
            let all = try PruningPipeline(model: f.model, pruning: TokenPruning(ClassAttentionScorer(), keep: .count(16)), positions: policy)
                .run(image: ImageInput(pixels: f.pixels[1]), tokenIds: f.prompts[1])
            XCTAssertEqual(all.nextTokenLogits, full.nextTokenLogits, "\(policy)")
        }
    }

    /// FasterVLM: head-mean [CLS] row of `attentions[-2]` (vision layer 1 here), patch columns.
    func testClassAttentionMatchesReferenceAttentions() throws {
        let f = try FixtureSamples.load()
        for b in 0..<2 {
            let attention = try f.referenceSample("vision.attentions.1", b)  // [4, 17, 17]
            let scores = (1...16).map { j in (0..<4).reduce(Float(0)) { $0 + attention[$1, 0, j] } / 4 }
            let ensembleAttention = try f.referenceSample("vision.attentions.0", b)
            let ensemble = (1...16).map { j in
                scores[j - 1] + (0..<4).reduce(Float(0)) { $0 + ensembleAttention[$1, 0, j] } / 4
            }
            for (scorer, expected) in [(ClassAttentionScorer(), scores), (ClassAttentionScorer(layers: .ensemble(start: 0)), ensemble)] {
                let result = try PruningPipeline(model: f.model, pruning: TokenPruning(scorer, keep: .count(5)))
                    .run(image: ImageInput(pixels: f.pixels[b]), tokenIds: f.prompts[b])
                XCTAssertEqual(result.keptVisualIndices, topKAscending(expected, 5), "\(scorer.name) sample \(b)")
                XCTAssertEqual(result.report.keptVisualTokens, 5)
                XCTAssertEqual(result.report.tokensPerLayer.first, f.prompts[b].count - 1 + 5)
            }
        }
    }

    /// AdaV T2I: embeddings of the text after the image (special tokens excluded) against the projected tokens.
    func testTextSimilarityMatchesReferenceEmbeddings() throws {
        let f = try FixtureSamples.load()
        let starts = try f.reference.integerTensor("image_token_start").values
        for b in 0..<2 {
            let embeddings = try f.referenceSample("lm.hidden_states.0", b)  // [27, 64]
            let visual = try f.referenceSample("image_features", b)
            let prompt = f.prompts[b]
            let textRows = ((starts[b] + 1)..<prompt.count).filter { ![0, 1, 2].contains(prompt[$0]) }.map { $0 + 15 }
            var scores = [Float](repeating: -1, count: 16)
            for t in textRows {
                let e = (0..<64).map { Double(embeddings[t, $0]) }
                let cos = (0..<16).map { j -> Double in
                    let v = (0..<64).map { Double(visual[j, $0]) }
                    let dot = zip(e, v).map(*).reduce(0, +)
                    return dot / (e.map { $0 * $0 }.reduce(0, +).squareRoot() * v.map { $0 * $0 }.reduce(0, +).squareRoot())
                }
                let m = cos.max()!
                let ex = cos.map { exp(100 * ($0 - m)) }, sum = ex.reduce(0, +)
                for j in 0..<16 { scores[j] = max(scores[j], Float(ex[j] / sum)) }
            }
            let result = try PruningPipeline(model: f.model, pruning: TokenPruning(TextSimilarityScorer(), keep: .count(6)))
                .run(image: ImageInput(pixels: f.pixels[b]), tokenIds: f.prompts[b])
            XCTAssertEqual(result.keptVisualIndices, topKAscending(scores, 6), "sample \(b)")
        }
    }

    /// FastV K=2: head-mean attention of decoder layer 1 from the last prompt token to the image columns.
    func testFastVMatchesReferenceAttentionAndDropsAtLayerTwo() throws {
        let f = try FixtureSamples.load()
        let starts = try f.reference.integerTensor("image_token_start").values
        for b in 0..<2 {
            let attention = try f.referenceSample("lm.attentions.1", b)  // [4, 27, 27]
            let last = f.prompts[b].count + 15 - 1
            let scores = (0..<16).map { j in (0..<4).reduce(Float(0)) { $0 + attention[$1, last, starts[b] + j] } / 4 }
            let result = try PruningPipeline(model: f.model, pruning: TokenPruning(FastVScorer(), keep: .ratio(0.5)))
                .run(image: ImageInput(pixels: f.pixels[b]), tokenIds: f.prompts[b], maxNewTokens: 3)
            XCTAssertEqual(result.keptVisualIndices, topKAscending(scores, 8), "sample \(b)")
            let n = f.prompts[b].count + 15
            XCTAssertEqual(result.report.tokensPerLayer, [n, n, n - 8])
            // Layers 0 and 1 cache every token; layer 2 only the kept ones (plus 2 decoded tokens everywhere).
            XCTAssertEqual(result.report.kvCacheBytes, ((n + 2) * 2 + (n - 8 + 2)) * 32 * 2 * 4)
        }
    }

    /// Withdrawal at layer 0 is the text-only prompt at its original positions; at layer K the cache of
    /// layers >= K holds no visual token; pre-LLM pruning composes with it.
    func testWithdrawalAndCompositionWithPruning() throws {
        let f = try FixtureSamples.load()
        let prompt = f.prompts[0]
        let layout = try f.model.layout(tokenIds: prompt, imageTokenCount: 16)
        let textRows = Array(layout.textBeforeImage) + Array(layout.textAfterImage)
        // Reference: embeddings of the text rows only, original positions, plain decoder run.
        let visual = try f.model.visualEmbeddings(try f.model.encodeImage(ImageInput(pixels: f.pixels[0])))
        let embeddings = try f.model.inputEmbeddings(layout: layout, visual: visual).gatherRows(textRows)
        var cache = f.model.language.makeCache()
        var state = try f.model.language.beginPrefill(embeddings: embeddings, positions: textRows)
        try f.model.language.advance(&state, to: 3, cache: &cache)
        let expected = try f.model.language.logits(state.hidden, rows: [textRows.count - 1]).scalars
        let withdrawn = try PruningPipeline(model: f.model, withdrawalLayer: 0).run(image: ImageInput(pixels: f.pixels[0]), tokenIds: prompt)
        assertClose(withdrawn.nextTokenLogits, expected, atol: 1e-5, "withdrawal at 0")

        let n = layout.expandedLength
        let atOne = try PruningPipeline(model: f.model, withdrawalLayer: 1).run(image: ImageInput(pixels: f.pixels[0]), tokenIds: prompt, maxNewTokens: 2)
        XCTAssertEqual(atOne.report.tokensPerLayer, [n, n - 16, n - 16])
        XCTAssertEqual(atOne.report.kvCacheBytes, ((n + 1) + 2 * (n - 16 + 1)) * 32 * 2 * 4)

        let both = try PruningPipeline(model: f.model, pruning: TokenPruning(ClassAttentionScorer(), keep: .count(4)), withdrawalLayer: 2)
            .run(image: ImageInput(pixels: f.pixels[0]), tokenIds: prompt, maxNewTokens: 2)
        XCTAssertEqual(both.report.tokensPerLayer, [n - 12, n - 12, n - 16])
        XCTAssertEqual(both.generatedTokens.count, 2)
        assertThrows(try PruningPipeline(model: f.model, pruning: TokenPruning(FastVScorer(), keep: .count(4)), withdrawalLayer: 2), PruningError.self, "withdrawal at layer 2 leaves no visual token")
        assertThrows(try PruningPipeline(model: f.model, withdrawalLayer: 3), PruningError.self, "withdrawal layer 3 must be in 0..<3")
    }

    func testRenumberedPositionsDifferFromOriginalOnlyWhenPruning() throws {
        let f = try FixtureSamples.load()
        let original = try PruningPipeline(model: f.model, pruning: TokenPruning(UniformScorer(), keep: .count(4)), positions: .keepOriginal)
        let keep = try original.run(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0], maxNewTokens: 3)
        // A copy with one option changed keeps the others (the scorer and its budget).
        let renumbered = try original.with { $0.positions = .renumber }
        XCTAssertEqual(renumbered.pruning?.budget, .count(4))
        let renumber = try renumbered.run(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0], maxNewTokens: 3)
        XCTAssertEqual(keep.keptVisualIndices, renumber.keptVisualIndices)
        XCTAssertNotEqual(keep.nextTokenLogits, renumber.nextTokenLogits)
        // Renumbered: the prompt is the contiguous sequence text | kept visual | text, positions 0..<n'.
        let layout = try f.model.layout(tokenIds: f.prompts[0], imageTokenCount: 16)
        let rows = Array(layout.textBeforeImage) + keep.keptVisualIndices.map { layout.imageStart + $0 } + Array(layout.textAfterImage)
        let visual = try f.model.visualEmbeddings(try f.model.encodeImage(ImageInput(pixels: f.pixels[0])))
        let embeddings = try f.model.inputEmbeddings(layout: layout, visual: visual).gatherRows(rows)
        var cache = f.model.language.makeCache()
        var state = try f.model.language.beginPrefill(embeddings: embeddings, positions: Array(rows.indices))
        try f.model.language.advance(&state, to: 3, cache: &cache)
        let logits = try f.model.language.logits(state.hidden, rows: [rows.count - 1]).scalars
        assertClose(renumber.nextTokenLogits, logits, atol: 1e-5, "renumbered")
        let tokens = try f.model.language.continuation(from: logits, nextPosition: rows.count, choosing: .greedy(maxCount: 3, stopAt: []),
                                                       cache: &cache).tokens
        XCTAssertEqual(renumber.generatedTokens, tokens)
    }

    func testWithdrawalCalibrationReturnsLayerAndCurve() throws {
        let f = try FixtureSamples.load()
        let samples = (0..<2).map { ImagePrompt(image: ImageInput(pixels: f.pixels[$0]), tokenIds: f.prompts[$0]) }
        var calls = 0
        let result = try WithdrawalCalibrator.calibrate(model: f.model, samples: samples, startLayer: 0, threshold: 1e9) { _, _ in calls += 1 }
        XCTAssertEqual(calls, 2)
        XCTAssertEqual(result.layers, [0, 1, 2])
        XCTAssertEqual(result.layer, 0)
        XCTAssertTrue(result.meanKL.allSatisfy { $0 >= 0 && $0.isFinite })
        // The curve is the mean over samples of KL(withdrawn at j || full), each computed by a plain pipeline run.
        for (i, j) in result.layers.enumerated() {
            var total = 0.0
            for s in 0..<2 {
                let full = try PruningPipeline(model: f.model).run(image: ImageInput(pixels: f.pixels[s]), tokenIds: f.prompts[s]).nextTokenLogits
                let cut = try PruningPipeline(model: f.model, withdrawalLayer: j).run(image: ImageInput(pixels: f.pixels[s]), tokenIds: f.prompts[s]).nextTokenLogits
                total += try Divergence.kl(p: cut, q: full)
            }
            XCTAssertEqual(result.meanKL[i], total / 2, accuracy: 1e-6)
        }
        let strict = try WithdrawalCalibrator.calibrate(model: f.model, samples: samples, startLayer: 0, threshold: 0)
        XCTAssertNil(strict.layer)
        assertThrows(try WithdrawalCalibrator.calibrate(model: f.model, samples: samples, startLayer: 5), PruningError.self, "start layer 5 leaves no candidate")
        assertThrows(try WithdrawalCalibrator.calibrate(model: f.model, samples: [], startLayer: 0), PruningError.self, "calibration needs at least one sample")
    }

    func testBadInputsThrowDescriptiveErrors() throws {
        let f = try FixtureSamples.load()
        for budget in [TokenBudget.count(0), .count(17), .ratio(0)] {
            assertThrows(try PruningPipeline(model: f.model, pruning: TokenPruning(ClassAttentionScorer(), keep: budget)), PruningError.self, "impossible budget: keep")
        }
        // A changed copy is validated like a new pipeline.
        let fastV = try PruningPipeline(model: f.model, pruning: TokenPruning(FastVScorer(), keep: .count(4)))
        assertThrows(try fastV.with { $0.withdrawalLayer = 2 }, PruningError.self, "withdrawal at layer 2 leaves no visual token")
        assertThrows(try fastV.with { $0.pruning?.budget = .count(17) }, PruningError.self, "keep 17 of 16 visual tokens")
        assertThrows(try fastV.with { $0.kvBudget = .calibratedPerRequest(retainedFraction: 0) }, PruningError.self, "a KV budget keeps a share in (0, 1]")
        let pipeline = try PruningPipeline(model: f.model, pruning: TokenPruning(NaNScorer(), keep: .count(3)))
        XCTAssertThrowsError(try pipeline.run(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0])) {
            XCTAssertEqual($0 as? PruningError, .nonFiniteScore(scorer: "nan", index: 2))
        }
        let plain = try PruningPipeline(model: f.model)
        assertThrows(try plain.run(image: ImageInput(pixels: f.pixels[0]), tokenIds: [1, 5, 6]), ModelError.self, "prompt has no image placeholder")  // no placeholder
        assertThrows(try plain.run(image: ImageInput(pixels: f.pixels[0]), tokenIds: [1, 299, 5, 299]), ModelError.self, "prompt has 2 image placeholders")  // two
        assertThrows(try plain.run(image: ImageInput(pixels: f.pixels[0]), tokenIds: [1, 299, 300]), ModelError.self, "token id 300 is outside the vocabulary")  // out of vocabulary
        var nanPixels = f.pixels[0]
        nanPixels[0, 3, 4] = .nan
        assertThrows(try plain.run(image: ImageInput(pixels: nanPixels), tokenIds: f.prompts[0]), ModelError.self, "channel 0, row 3, column 4 is NaN or infinite")
        assertThrows(try plain.run(image: ImageInput(pixels: Tensor(zeros: [3, 28, 28])), tokenIds: f.prompts[0]), ModelError.self, "expected [3, 56, 56]")
    }
}

/// A user-written scorer that returns NaN: the pipeline must refuse it.
private struct NaNScorer: TokenScorer {
    var name: String { "nan" }
    func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }
    func requirements(for model: any ModelDescription) throws -> ScoringRequirements { ScoringRequirements() }
    func scores(_ context: ScoringContext) throws -> [Float] {
        (0..<context.visualTokenCount).map { $0 == 2 ? .nan : Float($0) }
    }
}
