import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import XCTest

/// Pruning across LLaVA-NeXT's views, checked against selections recomputed here from the fixture's own
/// reference tensors (transformers' [CLS] rows and input embeddings), and evaluation on its `vtp-eval-2` set.
final class LlavaNextPruningTests: XCTestCase {
    /// Per packed visual token of reference image `i`: (view, patch index within the view) or nil for a
    /// newline, rebuilt from the fixture's grid_shape and unpadded_grid (base view first, newline after each
    /// kept row of the 3-patch-per-view crop map).
    private func packedOrigins(_ f: NextFixtureSamples, _ i: Int) throws -> [(view: Int, patch: Int)?] {
        let grid = try f.integers("grid_shape", i), kept = try f.integers("unpadded_grid", i)
        let rows = grid[0] * 3, columns = grid[1] * 3
        let top = (rows - kept[0]) / 2, left = (columns - kept[1]) / 2
        var origins: [(view: Int, patch: Int)?] = (0..<9).map { (0, $0) }
        for r in top..<(top + kept[0]) {
            for c in left..<(left + kept[1]) { origins.append((1 + (r / 3) * grid[1] + c / 3, (r % 3) * 3 + c % 3)) }
            origins.append(nil)
        }
        return origins
    }

    /// Indices of the `k` largest values of `scores` over `candidates` (ties to the lower index).
    private func best(_ k: Int, of candidates: [Int], by scores: [Double]) -> [Int] {
        Array(candidates.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k))
    }

    /// FasterVLM-style per-view choice of `budget` content tokens: each view a share proportional to its
    /// packed tokens (largest remainders first, ties to the earlier view), best scores within the view.
    private func perView(_ budget: Int, origins: [(view: Int, patch: Int)?], scores: [Double]) -> [Int] {
        let content = origins.indices.filter { origins[$0] != nil }
        let views = Dictionary(grouping: content) { origins[$0]!.view }.sorted { $0.key < $1.key }.map(\.value)
        var quotas = views.map { budget * $0.count / content.count }
        let order = views.indices.sorted {
            let a = budget * views[$0].count % content.count, b = budget * views[$1].count % content.count
            return a != b ? a > b : $0 < $1
        }
        for v in order.prefix(budget - quotas.reduce(0, +)) { quotas[v] += 1 }
        return zip(views, quotas).flatMap { best($1, of: $0, by: scores) }
    }

    /// Per packed token of image `i`: the head-mean [CLS] attention of vision layer 1 (the feature layer's).
    private func classScores(_ f: NextFixtureSamples, _ i: Int, _ origins: [(view: Int, patch: Int)?]) throws -> [Double] {
        let rows = try f.floats("vision.cls_attention.1", i)  // [views, 4 heads, 10 tokens]
        return origins.map { o in o.map { o in (0..<4).reduce(0.0) { $0 + Double(rows[(o.view * 4 + $1) * 10 + 1 + o.patch]) } / 4 } ?? 0 }
    }

    func testClassAttentionPerViewAndGlobalAllocation() throws {
        let f = try NextFixtureSamples.load()
        for i in 0..<4 {
            let origins = try packedOrigins(f, i)
            // Feature layer −2 = output of vision layer 1: FasterVLM reads that layer's [CLS] row, head mean.
            let scores = try classScores(f, i, origins)
            let newlines = origins.indices.filter { origins[$0] == nil }
            let content = origins.indices.filter { origins[$0] != nil }
            let input = try f.model.imageProcessor.preprocess(f.images[i])
            for k in [newlines.count + 1, newlines.count + 7, origins.count / 2] {
                let budget = k - newlines.count
                let global = best(budget, of: content, by: scores) + newlines
                let shared = perView(budget, origins: origins, scores: scores) + newlines
                for (allocation, expected) in [(ViewAllocation.global, global), (.perView, shared)] {
                    let pipeline = try PruningPipeline(model: f.model, pruning: TokenPruning(ClassAttentionScorer(allocation: allocation), keep: .count(k)))
                    let result = try pipeline.run(image: input, tokenIds: f.prompts[i])
                    XCTAssertEqual(result.keptVisualIndices, expected.sorted(), "image \(i), k \(k), \(allocation)")
                    XCTAssertEqual(result.report.keptVisualTokens, k)
                }
            }
            XCTAssertThrowsError(try PruningPipeline(model: f.model, pruning: TokenPruning(ClassAttentionScorer(), keep: .count(newlines.count)))
                .run(image: input, tokenIds: f.prompts[i])) {
                guard case .impossibleBudget(let reason) = $0 as? PruningError, reason.contains("newline tokens are always kept") else {
                    return XCTFail("\($0)")
                }
            }
        }
    }

    func testTextSimilarityMixtureUniformAndEveryScorerOverAllViews() throws {
        let f = try NextFixtureSamples.load()
        for i in 0..<4 {
            let origins = try packedOrigins(f, i)
            let ids = try f.integers("input_ids_expanded", i), embeds = try f.floats("inputs_embeds", i)
            let span = ids.indices.filter { ids[$0] == 299 }
            // AdaV T2I on transformers' inputs_embeds: text after the image (no special ids), softmax(100 · cos), max.
            let text = ids.indices.filter { $0 > span.last! && ![0, 1, 2, 299].contains(ids[$0]) }
            func row(_ r: Int) -> [Double] { (0..<64).map { Double(embeds[r * 64 + $0]) } }
            func cosine(_ a: [Double], _ b: [Double]) -> Double {
                zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / ((a.reduce(0) { $0 + $1 * $1 }).squareRoot() * (b.reduce(0) { $0 + $1 * $1 }).squareRoot())
            }
            var scores = [Double](repeating: -1, count: span.count)
            for t in text {
                let logits = span.map { 100 * cosine(row(t), row($0)) }
                let top = logits.max()!, total = logits.reduce(0) { $0 + exp($1 - top) }
                for j in span.indices { scores[j] = max(scores[j], exp(logits[j] - top) / total) }
            }
            let newlines = origins.indices.filter { origins[$0] == nil }, content = origins.indices.filter { origins[$0] != nil }
            let k = newlines.count + 6
            let input = try f.model.imageProcessor.preprocess(f.images[i])
            let textSim = try PruningPipeline(model: f.model, pruning: TokenPruning(TextSimilarityScorer(), keep: .count(k)))
                .run(image: input, tokenIds: f.prompts[i])
            XCTAssertEqual(textSim.keptVisualIndices, (best(6, of: content, by: scores) + newlines).sorted(), "text-sim, image \(i)")
            // AdaV's mixture: T2I ranked over all patches, [CLS] ranked within the per-view choice, 25 % reserved
            // for each, the rest split by the largest product of the next prefix sums, then the de-duplicated
            // union refilled from the list with the larger share first.
            let cls = try classScores(f, i, origins), budget = 6
            let textRanking = best(budget, of: content, by: scores)
            let clsRanking = best(budget, of: perView(budget, origins: origins, scores: cls), by: cls)
            let base = budget / 4, rest = budget - 2 * base
            var split = 0, bestProduct = -1.0
            for k1 in 0...rest {
                let product = textRanking[base..<(base + k1)].reduce(0.0) { $0 + scores[$1] }
                    * clsRanking[base..<(base + rest - k1)].reduce(0.0) { $0 + cls[$1] }
                if product > bestProduct { (split, bestProduct) = (k1, product) }
            }
            let shares = [base + split, base + rest - split]
            var mixed = Set(textRanking.prefix(shares[0])).union(clsRanking.prefix(shares[1]))
            let lists = shares[0] >= shares[1] ? [textRanking, clsRanking] : [clsRanking, textRanking]
            var cursors = shares[0] >= shares[1] ? shares : [shares[1], shares[0]]
            while mixed.count < budget {
                for l in 0..<2 where mixed.count < budget && cursors[l] < lists[l].count {
                    mixed.insert(lists[l][cursors[l]])
                    cursors[l] += 1
                }
            }
            let mixture = try PruningPipeline(model: f.model, pruning: TokenPruning(AdaptiveMixtureScorer(), keep: .count(k)))
                .run(image: input, tokenIds: f.prompts[i])
            XCTAssertEqual(mixture.keptVisualIndices, (Array(mixed) + newlines).sorted(), "mixture, image \(i)")
            let uniform = try PruningPipeline(model: f.model, pruning: TokenPruning(UniformScorer(), keep: .count(k))).run(image: input, tokenIds: f.prompts[i])
            XCTAssertEqual(uniform.keptVisualIndices, ((0..<6).map { content[(2 * $0 + 1) * content.count / 12] } + newlines).sorted())
            // Every catalogued method keeps exactly k tokens, newlines included, and agrees with its own logits run.
            for name in ScorerCatalog.names where name != "none" && i < 2 {
                let pruning = try ScorerCatalog.pruning(named: name, for: f.model.configuration, keep: .count(k))
                let r = try PruningPipeline(model: f.model, pruning: pruning).run(image: input, tokenIds: f.prompts[i])
                XCTAssertEqual(r.keptVisualIndices.count + r.mergedVisualTokens.count, k, "\(name), image \(i)")
                XCTAssertTrue(Set(newlines).isSubset(of: r.keptVisualIndices), "\(name) keeps the newlines")
                XCTAssertEqual(r.report.visualTokens, origins.count)
            }
            let withdrawn = try PruningPipeline(model: f.model, withdrawalLayer: 1).run(image: input, tokenIds: f.prompts[i])
            XCTAssertEqual(withdrawn.report.tokensPerLayer, [ids.count, ids.count - span.count, ids.count - span.count])
        }
    }

    func testEvaluationSetScoresTwelveOfTwelveUnprunedAndIsRefusedByLlava15() throws {
        let dir = try requireTinyLlavaNextFixture()
        let f = try NextFixtureSamples.load()
        let set = try EvaluationSet(url: dir.appendingPathComponent("eval.safetensors"))
        XCTAssertEqual(set.count, 12)
        let reference = try PruningEvaluation.referenceLogits(model: f.model, set: set)
        let summary = try PruningEvaluation.evaluate(try PruningPipeline(model: f.model), set: set, reference: reference).summary
        XCTAssertEqual(summary.accuracy, 1, "the unpruned model reproduces all 12 answers")
        // The README's per-sample image-token counts.
        let counts = [39, 51, 24, 39, 33, 19, 45, 51, 37, 24, 37, 33]
        for i in 0..<12 {
            XCTAssertEqual(try f.model.encodeImage(set.image(i, for: f.model)).tokens.count, counts[i], "sample \(i)")
        }
        let reread = try EvaluationSet(file: SafetensorsFile(data: set.data()))
        XCTAssertEqual(reread.images, set.images)
        XCTAssertEqual(reread.prompts, set.prompts)
        let llava15 = try FixtureSamples.load().model
        XCTAssertThrowsError(try PruningEvaluation.referenceLogits(model: llava15, set: set)) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("vtp-eval-2") else { return XCTFail("\($0)") }
        }
    }
}
