import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import VLMModels
import XCTest

/// VisionZip recomputed here from the fixtures following `visionzip/clip_encoder.py` step by step: keys of the
/// feature layer from its input, layer norm and `k_proj` in double precision, head-mean; dominant tokens by
/// saliency; targets every ⌊n / C⌋-th remaining token; members by key cosine; target + mean(members).
final class VisionZipTests: XCTestCase {
    /// One group's expected choice: dominant visual tokens (ascending) and contextual (target, members).
    private struct Expected {
        var dominant: [Int]
        var contexts: [(target: Int, members: [Int])]
    }

    /// Keys of `layer` averaged over `heads`, from that layer's input rows `hidden [rows, width]`.
    private func headMeanKeys(_ hidden: [Float], width: Int, heads: Int, weights: SafetensorsFile, prefix: String, eps: Double) throws -> [[Double]] {
        let gamma = try weights.floatTensor("\(prefix).layer_norm1.weight").scalars, beta = try weights.floatTensor("\(prefix).layer_norm1.bias").scalars
        let kw = try weights.floatTensor("\(prefix).self_attn.k_proj.weight").scalars, kb = try weights.floatTensor("\(prefix).self_attn.k_proj.bias").scalars
        let d = width / heads
        return (0..<(hidden.count / width)).map { r in
            let x: [Double] = (0..<width).map { Double(hidden[r * width + $0]) }
            let mean: Double = x.reduce(0, +) / Double(width)
            let variance: Double = x.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            let scale = 1 / (variance + eps).squareRoot()
            let normed: [Double] = (0..<width).map { (x[$0] - mean) * scale * Double(gamma[$0]) + Double(beta[$0]) }
            let key: [Double] = (0..<width).map { o in
                var sum = Double(kb[o])
                for i in 0..<width { sum += Double(kw[o * width + i]) * normed[i] }
                return sum
            }
            return (0..<d).map { j in (0..<heads).reduce(0.0) { $0 + key[$1 * d + j] } / Double(heads) }
        }
    }

    /// The official steps on one group of visual tokens with `quota` rows (one of them [CLS] when `hasClass`),
    /// `ratio` of them contextual.
    private func expected(_ group: [Int], salience: [Int: Double], keys: [Int: [Double]], quota: Int, ratio: Double = 10.0 / 64,
                          hasClass: Bool) -> Expected {
        let contextual = Int((Double(quota) * ratio).rounded()), dominantCount = quota - contextual - (hasClass ? 1 : 0)
        var byIndex = [Double](repeating: -.infinity, count: group.max()! + 1)
        for i in group { byIndex[i] = salience[i]! }
        let dominant = NaiveSelection.best(dominantCount, of: group, by: byIndex).sorted()
        let rest = group.filter { !dominant.contains($0) }
        guard contextual > 0 else { return Expected(dominant: dominant, contexts: []) }
        let step = max(1, rest.count / contextual)
        let targets = Array(stride(from: 0, to: rest.count, by: step).prefix(contextual)).map { rest[$0] }
        func cosine(_ a: [Double], _ b: [Double]) -> Double {
            zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
        }
        var members = [[Int]](repeating: [], count: targets.count)
        for token in rest where !targets.contains(token) {
            let similarities = targets.map { cosine(keys[token]!, keys[$0]!) }
            members[similarities.firstIndex(of: similarities.max()!)!].append(token)
        }
        return Expected(dominant: dominant, contexts: Array(zip(targets, members)))
    }

    private func merged(_ context: (target: Int, members: [Int]), _ tokens: VisualTokenMap) -> MergedToken {
        MergedToken(sources: ([context.target] + context.members).map { tokens.origins[$0] },
                    weights: [1] + Array(repeating: 1 / Float(max(1, context.members.count)), count: context.members.count),
                    anchor: context.target)
    }

    /// tiny-llava sample 0 (CLIP, 16 patches, feature layer 1): [CLS] + dominant + contextual rows, their merged
    /// sources, and the logits of the language model reading exactly those rows at their anchors' positions.
    func testOfficialStepsOnAModelWithClassToken() throws {
        let f = try FixtureSamples.load()
        let weights = try SafetensorsFile(url: try requireTinyLlavaFixture().appendingPathComponent("model.safetensors"))
        let attention = try f.referenceSample("vision.attentions.1", 0).scalars  // [4, 17, 17]
        let salience = Dictionary(uniqueKeysWithValues: (0..<16).map { p in (p, (0..<4).reduce(0.0) { $0 + Double(attention[$1 * 289 + 1 + p]) }) })
        let keyRows = try headMeanKeys(try f.referenceSample("vision.hidden_states.1", 0).scalars, width: 64, heads: 4, weights: weights,
                                       prefix: "vision_tower.vision_model.encoder.layers.1", eps: 1e-5)
        let keys = Dictionary(uniqueKeysWithValues: (0..<16).map { ($0, keyRows[$0 + 1]) })
        let hidden = try f.referenceSample("vision.hidden_states.2", 0).scalars  // [17, 64], row 0 = [CLS]
        let projected = try f.referenceSample("image_features", 0).scalars  // [16, 64]
        let image = ImageInput(pixels: f.pixels[0]), tokens = try f.model.encodeImage(image).tokens
        for (k, ratio) in [(4, 10.0 / 64), (7, 10.0 / 64), (11, 10.0 / 64), (9, 0.4)] {
            let scorer = VisionZipScorer(contextualRatio: ratio)
            let result = try PruningPipeline(model: f.model, pruning: TokenPruning(scorer, keep: .count(k)))
                .run(image: image, tokenIds: f.prompts[0])
            let e = expected(Array(0..<16), salience: salience, keys: keys, quota: k, ratio: ratio, hasClass: true)
            let classToken = MergedToken(sources: [.classToken(view: 0)], weights: [1], anchor: 0)
            XCTAssertEqual(result.keptVisualIndices, e.dominant, "k \(k)")
            XCTAssertEqual(result.mergedVisualTokens, [classToken] + e.contexts.map { merged($0, tokens) }, "k \(k)")
            XCTAssertEqual(e.contexts.count, Int((Double(k) * ratio).rounded()))
            XCTAssertEqual(result.report.keptVisualTokens, k)

            // The language model reads [CLS], the dominant patches, then target + mean(members), projected.
            func row(_ i: Int) -> [Double] { (0..<64).map { Double(hidden[i * 64 + $0]) } }
            var features: [Float] = row(0).map(Float.init)
            for c in e.contexts {
                let mean = c.members.isEmpty ? [Double](repeating: 0, count: 64)
                    : (0..<64).map { j in c.members.reduce(0.0) { $0 + row($1 + 1)[j] } / Double(c.members.count) }
                features += zip(row(c.target + 1), mean).map { Float($0 + $1) }
            }
            let mergedRows = try f.model.projectFeatures(Tensor(shape: [1 + e.contexts.count, 64], scalars: features)).scalars
            let visual = Array(mergedRows[0..<64]) + e.dominant.flatMap { projected[($0 * 64)..<($0 * 64 + 64)] } + Array(mergedRows[64...])
            let layout = try f.model.layout(tokenIds: f.prompts[0], imageTokenCount: 16)
            let anchors = [0] + e.dominant + e.contexts.map(\.target)
            let positions = Array(layout.textBeforeImage) + anchors.map { layout.imageStart + $0 } + Array(layout.textAfterImage)
            var state = try f.model.language.beginPrefill(
                embeddings: try f.model.embeddings(layout: layout, splicing: Tensor(shape: [k, 64], scalars: visual)), positions: positions)
            var cache = f.model.language.makeCache()
            try f.model.language.advance(&state, to: 3, cache: &cache)
            assertClose(result.nextTokenLogits, try f.model.language.logits(state.hidden, rows: [positions.count - 1]).scalars,
                        atol: 1e-4, "k \(k)")
        }
    }

    /// tiny-llava-onevision image 1 (SigLIP, no [CLS]; a 3x3 base view and eight 3x3 crops unpadded to 4x12):
    /// per view, dominant tokens by attention received and contextual tokens by key cosine, in the official
    /// NeXT order (base view's rows, then the crops' dominant tokens with the newlines, then their contextual).
    func testOfficialStepsPerViewOnAModelWithoutClassToken() throws {
        let f = try NextFixtureSamples.loadOneVision()
        let weights = try SafetensorsFile(url: try requireFixture("tiny-llava-onevision").appendingPathComponent("model.safetensors"))
        let index = 1, image = try f.model.imageProcessor.preprocess(f.images[index])
        let tokens = try f.model.encodeImage(image).tokens
        let received = try f.floats("vision.attention_received.2", index)  // [views, 9]
        var salience: [Int: Double] = [:], keys: [Int: [Double]] = [:]
        var viewKeys: [[[Double]]] = []
        for view in image.views {
            let input = try f.model.vision.encode(pixels: view, hiddenStates: [2]).hiddenStates[2]!.scalars
            viewKeys.append(try headMeanKeys(input, width: 64, heads: 4, weights: weights,
                                             prefix: "vision_tower.vision_model.encoder.layers.2",
                                             eps: Double(f.model.configuration.vision.layerNormEps)))
        }
        for i in tokens.contentIndices {
            let source = tokens.encoderToken(tokens.origins[i])!
            salience[i] = Double(received[source.view * 9 + source.token])
            keys[i] = viewKeys[source.view][source.token]
        }
        for budget in [14, 30] {
            let k = budget + tokens.newlineIndices.count
            let result = try PruningPipeline(model: f.model, pruning: TokenPruning(VisionZipScorer(), keep: .count(k)))
                .run(image: image, tokenIds: f.prompts[index])
            let groups = try TokenSelection.groups(keeping: k, tokens: tokens, allocation: .perView)
            let perGroup = groups.map { expected($0.indices, salience: salience, keys: keys, quota: $0.quota, hasClass: false) }
            XCTAssertEqual(result.keptVisualIndices, (perGroup.flatMap(\.dominant) + tokens.newlineIndices).sorted(), "budget \(budget)")
            XCTAssertEqual(result.mergedVisualTokens, perGroup.flatMap { $0.contexts.map { merged($0, tokens) } }, "budget \(budget)")
            XCTAssertEqual(result.report.keptVisualTokens, k)
            XCTAssertEqual(result.mergedVisualTokens.isEmpty, budget == 14, "budget \(budget): shares of 4 or more merge")
        }
    }

    /// Rows in the official order, merged rows from weighted features, and the bad inputs of a reduction.
    func testReductionRowsAndTypedErrors() throws {
        let f = try FixtureSamples.load()
        let image = ImageInput(pixels: f.pixels[0])
        XCTAssertThrowsError(try PruningPipeline(model: f.model, pruning: TokenPruning(VisionZipScorer(), keep: .count(17)))) {
            guard case .impossibleBudget = $0 as? PruningError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try PruningPipeline(model: f.model, pruning: TokenPruning(VisionZipScorer(contextualRatio: 1), keep: .count(4)))) {
            guard case .invalidConfiguration(let m) = $0 as? PruningError, m.contains("contextual ratio 1.0") else { return XCTFail("\($0)") }
        }
        // A user method that merges a newline or anchors outside the image is refused with its name.
        struct BadMerge: TokenScorer {
            var source: VisualTokenOrigin
            var anchor: Int
            var name: String { "bad-merge" }
            func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }
            func requirements(for model: any ModelDescription) throws -> ScoringRequirements { ScoringRequirements() }
            func scores(_ context: ScoringContext) throws -> [Float] { [Float](repeating: 0, count: context.visualTokenCount) }
            func reduce(_ context: ScoringContext, keep k: Int) throws -> TokenReduction {
                TokenReduction(rows: [.kept(1), .merged(MergedToken(sources: [source], weights: [1], anchor: anchor))])
            }
        }
        for (scorer, reason) in [(BadMerge(source: .newline(row: 0), anchor: 0), "not a token of this image"),
                                 (BadMerge(source: .patch(view: 0, row: 4, column: 0), anchor: 0), "not a token of this image"),
                                 (BadMerge(source: .patch(view: 0, row: 0, column: 0), anchor: 16), "anchors at 16")] {
            XCTAssertThrowsError(try PruningPipeline(model: f.model, pruning: TokenPruning(scorer, keep: .count(2)))
                .run(image: image, tokenIds: f.prompts[0])) {
                guard case .invalidScores(let name, let m) = $0 as? PruningError, name == "bad-merge", m.contains(reason) else {
                    return XCTFail("\($0)")
                }
            }
        }
        // A merged token of one source with weight 1 is that token: same logits as keeping it, at its position.
        let same = try PruningPipeline(model: f.model, pruning: TokenPruning(BadMerge(source: .patch(view: 0, row: 1, column: 2), anchor: 6),
                                                                          keep: .count(2))).run(image: image, tokenIds: f.prompts[0])
        let kept = try PruningPipeline(model: f.model, pruning: TokenPruning(FixedSelection(indices: [1, 6]), keep: .count(2)))
            .run(image: image, tokenIds: f.prompts[0])
        assertClose(same.nextTokenLogits, kept.nextTokenLogits, atol: 1e-5, "one-source merge")
        XCTAssertEqual(same.report.flops.projector, kept.report.flops.projector)
    }
}
