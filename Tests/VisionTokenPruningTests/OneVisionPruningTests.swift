import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import VLMModels
import XCTest

/// Pruning on LLaVA-OneVision (SigLIP without [CLS], Qwen2, anyres_max_9), checked against selections recomputed
/// here from the fixture's own reference tensors, and evaluation on its `vtp-eval-2` set.
final class OneVisionPruningTests: XCTestCase {
    /// Where a packed token of reference image `i` comes from, rebuilt from the fixture's grid sizes: a patch
    /// (view, index in the view), a position of the downsampled grid, or a newline.
    private enum Origin: Equatable { case patch(view: Int, patch: Int), grid(row: Int, column: Int), newline }

    private func packedOrigins(_ f: NextFixtureSamples, _ i: Int) throws -> [Origin] {
        let grid = try f.integers("grid_shape", i), kept = try f.integers("unpadded_grid", i), final = try f.integers("final_grid", i)
        let top = (grid[0] * 3 - kept[0]) / 2, left = (grid[1] * 3 - kept[1]) / 2
        var origins: [Origin] = (0..<9).map { .patch(view: 0, patch: $0) }
        for r in 0..<final[0] {
            for c in 0..<final[1] {
                origins.append(final == kept
                    ? .patch(view: 1 + ((top + r) / 3) * grid[1] + (left + c) / 3, patch: ((top + r) % 3) * 3 + (left + c) % 3)
                    : .grid(row: r, column: c))
            }
            origins.append(.newline)
        }
        return origins
    }

    /// Textbook bilinear resize (align_corners false, edges clamped) of a `rows x columns` map, in double.
    private func bilinear(_ map: [[Double]], to outRows: Int, _ outColumns: Int) -> [[Double]] {
        func axis(_ n: Int, _ m: Int, _ o: Int) -> (Int, Int, Double) {
            let source = max((Double(o) + 0.5) * Double(n) / Double(m) - 0.5, 0)
            let i0 = min(Int(source), n - 1)
            return (i0, min(i0 + 1, n - 1), source - Double(i0))
        }
        return (0..<outRows).map { r in
            let (r0, r1, a) = axis(map.count, outRows, r)
            return (0..<outColumns).map { c in
                let (c0, c1, b) = axis(map[0].count, outColumns, c)
                return (1 - a) * ((1 - b) * map[r0][c0] + b * map[r0][c1]) + a * ((1 - b) * map[r1][c0] + b * map[r1][c1])
            }
        }
    }

    /// Per packed token: the attention it receives in SigLIP layer 2 (the feature layer), from the fixture's
    /// `vision.attention_received.2.i`, carried through the unpad and the downsampling like the features.
    private func receivedScores(_ f: NextFixtureSamples, _ i: Int, _ origins: [Origin]) throws -> [Double] {
        let received = try f.floats("vision.attention_received.2", i).map(Double.init)  // [views, 9]
        let grid = try f.integers("grid_shape", i), kept = try f.integers("unpadded_grid", i), final = try f.integers("final_grid", i)
        let top = (grid[0] * 3 - kept[0]) / 2, left = (grid[1] * 3 - kept[1]) / 2
        let map = (0..<kept[0]).map { r in
            (0..<kept[1]).map { c in
                received[(1 + ((top + r) / 3) * grid[1] + (left + c) / 3) * 9 + ((top + r) % 3) * 3 + (left + c) % 3]
            }
        }
        let resized = bilinear(map, to: final[0], final[1])
        return origins.map {
            switch $0 {
            case let .patch(view, patch): return received[view * 9 + patch]
            case let .grid(row, column): return resized[row][column]
            case .newline: return 0
            }
        }
    }

    private func best(_ k: Int, of candidates: [Int], by scores: [Double]) -> [Int] {
        Array(candidates.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k))
    }

    func testAttentionReceivedSelectionsRecomputedFromTheFixturesAttention() throws {
        let f = try NextFixtureSamples.loadOneVision()
        for i in 0..<5 {
            let origins = try packedOrigins(f, i), scores = try receivedScores(f, i, origins)
            let encoded = try f.model.encodeImage(try f.model.imageProcessor.preprocess(f.images[i]), requesting: VisionRequest(attentionReceivedLayers: [2]))
            let context = ScoringContext(
                configuration: f.model.configuration,
                layout: try f.model.layout(tokenIds: f.prompts[i], imageTokenCount: encoded.tokens.count),
                tokens: encoded.tokens, visionAttentionReceived: encoded.attentionReceived)
            XCTAssertEqual(origins.count, try f.integers("num_image_tokens", i)[0])
            let newlines = origins.indices.filter { origins[$0] == .newline }
            let content = origins.indices.filter { origins[$0] != .newline }
            // Per view: the base view and the grid (its crops, or the downsampled grid as one group).
            let groups = [content.filter { if case .patch(0, _) = origins[$0] { true } else { false } }]
                + Dictionary(grouping: content.filter { if case .patch(0, _) = origins[$0] { false } else { true } }) {
                    if case let .patch(view, _) = origins[$0] { view } else { -1 }
                }.sorted { $0.key < $1.key }.map(\.value)
            for k in [newlines.count + 1, newlines.count + 5, origins.count / 2] {
                let budget = k - newlines.count
                var quotas = groups.map { budget * $0.count / content.count }
                let order = groups.indices.sorted {
                    let a = budget * groups[$0].count % content.count, b = budget * groups[$1].count % content.count
                    return a != b ? a > b : $0 < $1
                }
                for g in order.prefix(budget - quotas.reduce(0, +)) { quotas[g] += 1 }
                let perView = zip(groups, quotas).flatMap { best($1, of: $0, by: scores) }
                let global = best(budget, of: content, by: scores)
                for (allocation, expected) in [(ViewAllocation.perView, perView), (.global, global)] {
                    XCTAssertEqual(try AttentionReceivedScorer(allocation: allocation).select(context, keep: k),
                                   (expected + newlines).sorted(), "image \(i), k \(k), \(allocation)")
                }
            }
        }
        // Through the pipeline, which computes the same inputs itself.
        let input = try f.model.imageProcessor.preprocess(f.images[4])
        let origins = try packedOrigins(f, 4), scores = try receivedScores(f, 4, origins)
        let newlines = origins.indices.filter { origins[$0] == .newline }
        let result = try PruningPipeline(model: f.model, pruning: TokenPruning(AttentionReceivedScorer(allocation: .global), keep: .count(newlines.count + 9)))
            .run(image: input, tokenIds: f.prompts[4])
        XCTAssertEqual(result.keptVisualIndices,
                       (best(9, of: origins.indices.filter { origins[$0] != .newline }, by: scores) + newlines).sorted())
    }

    func testKeptSubsetAtOriginalPositionsMatchesTransformers() throws {
        let f = try NextFixtureSamples.loadOneVision()
        for i in 0..<5 {
            let kept = try f.integers("kept.visual_indices", i)
            let input = try f.model.imageProcessor.preprocess(f.images[i])
            let pipeline = try PruningPipeline(model: f.model, pruning: TokenPruning(FixedSelection(indices: kept), keep: .count(kept.count)))
            let result = try pipeline.run(image: input, tokenIds: f.prompts[i], maxNewTokens: 8, stopAtEndOfSequence: false)
            XCTAssertEqual(result.keptVisualIndices, kept)
            XCTAssertEqual(result.report.tokensPerLayer.first, try f.integers("kept.position_ids", i).count)
            assertClose(result.nextTokenLogits, try f.floats("kept.logits", i), atol: 2e-4, "kept logits \(i)")
            XCTAssertEqual(result.generatedTokens, try f.integers("kept.generated_ids", i), "kept greedy tokens \(i)")
            if i == 4 { assertClose(result.nextTokenLogits, try f.reference.floatTensor("spec64.kept.logits.4").scalars, atol: 2e-4) }
        }
    }

    func testEveryScorerWithdrawalAndKVBudgetRunOnADownsampledOneVisionImage() throws {
        let f = try NextFixtureSamples.loadOneVision()
        let names = ScorerCatalog.names(for: f.model.configuration)
        XCTAssertEqual(names, ["none", "random", "uniform", "received", "received-global", "text-sim", "mixture", "fastv",
                               "divprune", "cdpruner", "vispruner", "visionzip", "hiprune", "dart"])
        let i = 4  // a 3x5 grid downsampled to 6x11
        let input = try f.model.imageProcessor.preprocess(f.images[i])
        let total = try f.integers("num_image_tokens", i)[0], newlines = try f.integers("newline_indices", i)
        let k = newlines.count + 6
        for name in names where name != "none" {
            for positions in [PositionPolicy.keepOriginal, .renumber] where positions == .keepOriginal || name == "mixture" {
                let pruning = try ScorerCatalog.pruning(named: name, for: f.model.configuration, keep: .count(k))
                let r = try PruningPipeline(model: f.model, pruning: pruning, positions: positions)
                    .run(image: input, tokenIds: f.prompts[i], maxNewTokens: 2)
                XCTAssertEqual(r.report.keptVisualTokens, k, "\(name)")
                XCTAssertEqual(r.keptVisualIndices.count + r.mergedVisualTokens.count, k, "\(name)")
                XCTAssertTrue(Set(newlines).isSubset(of: r.keptVisualIndices), "\(name) keeps the newlines")
                XCTAssertEqual(r.report.visualTokens, total)
                XCTAssertFalse(r.nextTokenLogits.contains { !$0.isFinite })
            }
        }
        let length = f.prompts[i].count - 1 + total
        let withdrawn = try PruningPipeline(model: f.model, withdrawalLayer: 1).run(image: input, tokenIds: f.prompts[i])
        XCTAssertEqual(withdrawn.report.tokensPerLayer, [length, length - total, length - total])
        let budgeted = try PruningPipeline(
            model: f.model, pruning: TokenPruning(AdaptiveMixtureScorer(), keep: .ratio(0.5)),
            kvBudget: .calibratedPerRequest(retainedFraction: 0.5))
        let evicted = try budgeted.run(image: input, tokenIds: f.prompts[i], maxNewTokens: 2)
        let full = try budgeted.with { $0.kvBudget = nil }.run(image: input, tokenIds: f.prompts[i], maxNewTokens: 2)
        XCTAssertLessThan(evicted.report.kvCacheBytes, full.report.kvCacheBytes)
        XCTAssertEqual(evicted.keptVisualIndices, full.keptVisualIndices)
    }

    func testClassAttentionScorersAreRefusedWhenThePipelineIsBuilt() throws {
        let model = try NextFixtureSamples.loadOneVision().model
        for scorer: any TokenScorer in [ClassAttentionScorer(), ClassAttentionScorer(allocation: .global),
                                         ClassAttentionScorer(layers: .ensemble(start: 0))] {
            XCTAssertThrowsError(try PruningPipeline(model: model, pruning: TokenPruning(scorer, keep: .count(20)))) {
                guard case let .unsupportedModel(name, reason) = $0 as? PruningError else { return XCTFail("\($0)") }
                XCTAssertEqual(name, scorer.name)
                XCTAssertTrue(reason.contains("siglip_vision_model tower of this llava_onevision model has no [CLS] token"), reason)
                XCTAssertTrue(reason.contains("use 'received'"), reason)
            }
        }
        XCTAssertThrowsError(try model.encodeImage(
            try model.imageProcessor.preprocess(NextFixtureSamples.loadOneVision().images[0]), requesting: VisionRequest(classAttentionLayers: [2]))) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("has no [CLS] token") else { return XCTFail("\($0)") }
        }
        // The mixtures take attention received as their saliency instead.
        XCTAssertEqual(try AdaptiveMixtureScorer().requirements(for: model.configuration).visionAttentionReceivedLayers, [2])
        XCTAssertEqual(try AdaptiveMixtureScorer().requirements(for: model.configuration).visionAttentionLayers, [])
    }

    func testEvaluationSetScoresTwelveOfTwelveUnpruned() throws {
        let dir = try requireFixture("tiny-llava-onevision")
        let model = try NextFixtureSamples.loadOneVision().model
        let set = try EvaluationSet(url: dir.appendingPathComponent("eval.safetensors"))
        XCTAssertEqual(set.count, 12)
        // The README's per-sample image-token counts (four of them downsampled).
        let counts = [28, 13, 33, 79, 48, 61, 93, 89, 81, 97, 39, 73]
        for i in 0..<12 { XCTAssertEqual(try model.tokenMap(for: set.image(i, for: model)).count, counts[i], "sample \(i)") }
        let reference = try PruningEvaluation.referenceLogits(model: model, set: set)
        let answers = reference.map { logits in logits.indices.max { logits[$0] < logits[$1] }! }
        XCTAssertEqual(answers, set.answerIds, "the unpruned model reproduces all 12 answers")
    }
}
