import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import VLMModels
import XCTest

/// DivPrune, CDPruner, VisPruner and HiPrune, each recomputed here from the fixtures' reference tensors following
/// the official code's steps (`NaiveSelection`), on a model with [CLS] (tiny-llava: CLIP, 4x4 patches) and one
/// without (tiny-llava-onevision: SigLIP, image 1, a 2x4 crop grid unpadded to 4x12 plus the 3x3 base view).
final class DiversityMethodTests: XCTestCase {
    /// What a method sees of one image, read from reference tensors: the content tokens' projected and
    /// pre-projector features, their text relevance inputs, and per-layer attention received / [CLS] attention.
    private struct Inputs {
        var content: [Int]  // visual-token indices that are not newlines
        var newlines: [Int]
        var projected: [Float]  // [content, width]
        var preProjector: [Float]  // [content, visionWidth]
        var text: [Float]  // [text rows, width]
        var width: Int
        var visionWidth: Int
        /// Per content token: (view, row, column) in a grid of `side` positions per row.
        var places: [(view: Int, flat: Int)]
        var side: Int
    }

    private func cosines(_ x: [Float], _ width: Int, _ n: Int) -> [Double] {
        (0..<(n * n)).map { NaiveSelection.cosine(x, width, $0 / n, $0 % n) }
    }

    /// CDPruner's relevance: mean cos to the text rows, min–max normalised (+1e-6).
    private func relevance(_ i: Inputs) -> [Double] {
        let n = i.content.count, m = i.text.count / i.width
        let raw = (0..<n).map { j -> Double in
            (0..<m).reduce(0.0) { acc, t in
                let v = (0..<i.width).map { Double(i.projected[j * i.width + $0]) }, u = (0..<i.width).map { Double(i.text[t * i.width + $0]) }
                let dot = zip(v, u).reduce(0) { $0 + $1.0 * $1.1 }
                return acc + dot / ((v.reduce(0) { $0 + $1 * $1 }).squareRoot() * (u.reduce(0) { $0 + $1 * $1 }).squareRoot())
            } / Double(m)
        }
        let low = raw.min()!, high = raw.max()!
        return raw.map { ($0 - low + 1e-6) / (high - low) }
    }

    private func expectedDivPrune(_ i: Inputs, _ budget: Int) -> [Int] {
        let n = i.content.count
        return NaiveSelection.divPrune(cosines(i.projected, i.width, n).map { 1 - $0 }, n, count: budget).map { i.content[$0] }
    }

    private func expectedCDPruner(_ i: Inputs, _ budget: Int) -> [Int] {
        let n = i.content.count, r = relevance(i), s = cosines(i.projected, i.width, n)
        let kernel = (0..<(n * n)).map { r[$0 / n] * s[$0] * r[$0 % n] }
        return NaiveSelection.greedyMAP(kernel, n, count: budget).map { i.content[$0] }
    }

    private func expectedVisPruner(_ i: Inputs, saliency: [Double], _ budget: Int) -> [Int] {
        let n = i.content.count, important = budget / 2
        let order = NaiveSelection.best(n, of: Array(0..<n), by: saliency)
        let diverse = NaiveSelection.deduplicate(Array(order[important...]), keep: budget - important) {
            NaiveSelection.cosine(i.preProjector, i.visionWidth, $0, $1)
        }
        return (order.prefix(important) + diverse).map { i.content[$0] }
    }

    private func expectedHiPrune(_ i: Inputs, object: [Double], deep: [Double], alpha: Double, _ budget: Int) -> [Int] {
        let n = i.content.count
        let anchors = NaiveSelection.best(Int((Double(budget) * alpha / 5).rounded(.toNearestOrEven)), of: Array(0..<n), by: object)
        var chosen = Set<Int>()
        for a in anchors {
            for flat in [0, -1, 1, -i.side, i.side].map({ i.places[a].flat + $0 }) {
                let clamped = min(max(flat, 0), i.side * i.side - 1)
                if let member = (0..<n).first(where: { i.places[$0].view == i.places[a].view && i.places[$0].flat == clamped }) {
                    chosen.insert(member)
                }
            }
        }
        let registers = NaiveSelection.best(budget - chosen.count, of: (0..<n).filter { !chosen.contains($0) }, by: deep)
        return (Array(chosen) + registers).map { i.content[$0] }
    }

    // MARK: - tiny-llava (CLIP, [CLS])

    /// Sample 0 of tiny-llava: 16 patches; head-mean attention maps of every vision layer `[17, 17]`.
    private func llavaInputs(_ f: FixtureSamples) throws -> (Inputs, attention: [[Double]]) {
        let ids = try f.reference.integerTensor("input_ids_expanded").values.prefix(27)
        let length = try f.reference.integerTensor("input_lengths_expanded").values[0]
        let start = try f.reference.integerTensor("image_token_start").values[0]
        let embeds = try f.referenceSample("lm.hidden_states.0", 0).scalars
        let text = ((start + 16)..<length).filter { ![0, 1, 2, 299].contains(ids[$0]) }.flatMap { r in embeds[(r * 64)..<(r * 64 + 64)] }
        let attention = try (0..<3).map { l -> [Double] in
            let a = try f.referenceSample("vision.attentions.\(l)", 0).scalars  // [4, 17, 17]
            return (0..<(17 * 17)).map { q in (0..<4).reduce(0.0) { $0 + Double(a[$1 * 289 + q]) } / 4 }
        }
        let inputs = Inputs(content: Array(0..<16), newlines: [], projected: try f.referenceSample("image_features", 0).scalars,
                            preProjector: try f.referenceSample("vision.selected_features", 0).scalars, text: text,
                            width: 64, visionWidth: 64, places: (0..<16).map { (0, $0) }, side: 4)
        return (inputs, attention)
    }

    private func run(_ model: any VisionLanguageModel, _ scorer: any TokenScorer, keep k: Int, image: ImageInput, prompt: [Int]) throws -> [Int] {
        try PruningPipeline(model: model, pruning: TokenPruning(scorer, keep: .count(k))).run(image: image, tokenIds: prompt).keptVisualIndices
    }

    func testEachMethodOnAModelWithClassToken() throws {
        let f = try FixtureSamples.load()
        let (i, attention) = try llavaInputs(f)
        let image = ImageInput(pixels: f.pixels[0])
        // [CLS] row of the feature layer (encoder layer 1), patches only; global attention = column means.
        let cls = (1...16).map { attention[1][$0] }
        func global(_ l: Int) -> [Double] { (1...16).map { j in (0..<17).reduce(0.0) { $0 + attention[l][$1 * 17 + j] } / 17 } }
        for k in [4, 7, 11] {
            XCTAssertEqual(try run(f.model, DivPruneScorer(), keep: k, image: image, prompt: f.prompts[0]),
                           expectedDivPrune(i, k).sorted(), "divprune k \(k)")
            XCTAssertEqual(try run(f.model, CDPrunerScorer(), keep: k, image: image, prompt: f.prompts[0]),
                           expectedCDPruner(i, k).sorted(), "cdpruner k \(k)")
            XCTAssertEqual(try run(f.model, VisPrunerScorer(), keep: k, image: image, prompt: f.prompts[0]),
                           expectedVisPruner(i, saliency: cls, k).sorted(), "vispruner k \(k)")
            // One anchor at 7 (0.98 rounds to 1), two at 11; at 4 the anchors' neighbours would overflow the share.
            guard k >= 7 else { continue }
            XCTAssertEqual(try run(f.model, HiPruneScorer(alpha: 0.7, objectLayer: 0), keep: k, image: image, prompt: f.prompts[0]),
                           expectedHiPrune(i, object: global(0), deep: global(1), alpha: 0.7, k).sorted(), "hiprune k \(k)")
        }
    }

    /// CDPruner as the official code runs it: relevance −cos(CLIP image head of the feature-layer patches, CLIP
    /// text embedding of the raw question), both taken from transformers' reference (the repository's tiny CLIP
    /// fixture, computed on this very sample's features), min–max normalised; greedy MAP on the projected tokens.
    func testCDPrunerWithCLIPTextRelevanceOnAModelWithClassToken() throws {
        let f = try FixtureSamples.load()
        let (i, _) = try llavaInputs(f)
        let clip = try CLIPTextTower(directory: tinyClipFixture)
        let reference = try SafetensorsFile(url: tinyClipFixture.appendingPathComponent("reference.safetensors"))
        let image = try reference.floatTensor("image.image_embeds").scalars  // [16, 16]
        for (question, index) in [("What is in the image?", 0), ("Is there a DOG on the left?", 2)] {
            let text = try reference.floatTensor("text.text_embeds.\(index)").scalars.map(Double.init)
            let raw = (0..<16).map { j -> Double in
                let v = (0..<16).map { Double(image[j * 16 + $0]) }
                let dot = zip(v, text).reduce(0) { $0 + $1.0 * $1.1 }
                return -dot / (v.reduce(0) { $0 + $1 * $1 }.squareRoot() * text.reduce(0) { $0 + $1 * $1 }.squareRoot())
            }
            let low = raw.min()!, high = raw.max()!
            let r = raw.map { ($0 - low + 1e-6) / (high - low) }, s = cosines(i.projected, i.width, 16)
            let kernel = (0..<256).map { r[$0 / 16] * s[$0] * r[$0 % 16] }
            for k in [4, 9] {
                let scorer = try CDPrunerScorer(clipTextTower: clip, question: question)
                XCTAssertEqual(try run(f.model, scorer, keep: k, image: ImageInput(pixels: f.pixels[0]), prompt: f.prompts[0]),
                               NaiveSelection.greedyMAP(kernel, 16, count: k).sorted(), "\(question) k \(k)")
            }
        }
        // The CLIP image head must take the model's vision width.
        XCTAssertThrowsError(try CDPrunerScorer(clipTextTower: clip, question: "a").requirements(for: ScorerTests.config)) {
            guard case .invalidConfiguration(let m) = $0 as? PruningError, m.contains("takes 64-wide features"), m.contains("8-wide") else {
                return XCTFail("\($0)")
            }
        }
    }

    // MARK: - tiny-llava-onevision (SigLIP, no [CLS])

    func testEachMethodOnAModelWithoutClassToken() throws {
        let f = try NextFixtureSamples.loadOneVision()
        let index = 1, dim = 64
        let packed = try f.floats("packed_features", index), newlines = try f.integers("newline_indices", index)
        let content = (0..<(packed.count / dim)).filter { !newlines.contains($0) }
        // Origins of image 1's packed tokens: the 3x3 base view, then grid rows 1...4 of a 6x12 crop map (2x4 views).
        let places = content.map { i -> (view: Int, flat: Int) in
            if i < 9 { return (0, i) }
            let position = i - 9, row = 1 + position / 13, column = position % 13
            return (1 + (row / 3) * 4 + column / 3, (row % 3) * 3 + column % 3)
        }
        let hidden = try f.floats("vision.feature_layer_hidden", index)  // [views, 9, 64]
        let ids = try f.integers("input_ids_expanded", index), embeds = try f.floats("inputs_embeds", index)
        let special = f.model.configuration.specialTokenIds
        let after = ((ids.lastIndex(of: 303)! + 1)..<ids.count).filter { !special.contains(ids[$0]) }
        let inputs = Inputs(content: content, newlines: newlines, projected: content.flatMap { packed[($0 * dim)..<($0 * dim + dim)] },
                            preProjector: places.flatMap { p in hidden[((p.view * 9 + p.flat) * dim)..<((p.view * 9 + p.flat) * dim + dim)] },
                            text: after.flatMap { embeds[($0 * dim)..<($0 * dim + dim)] }, width: dim, visionWidth: dim,
                            places: places, side: 3)
        let received = try (1...2).map { l in try f.floats("vision.attention_received.\(l)", index).map(Double.init) }
        func scores(_ layer: Int) -> [Double] { places.map { received[layer - 1][$0.view * 9 + $0.flat] } }
        let image = try f.model.imageProcessor.preprocess(f.images[index])
        for budget in [6, 10] {
            let k = budget + newlines.count
            XCTAssertEqual(try run(f.model, DivPruneScorer(), keep: k, image: image, prompt: f.prompts[index]),
                           (expectedDivPrune(inputs, budget) + newlines).sorted(), "divprune \(budget)")
            XCTAssertEqual(try run(f.model, CDPrunerScorer(allocation: .global), keep: k, image: image, prompt: f.prompts[index]),
                           (expectedCDPruner(inputs, budget) + newlines).sorted(), "cdpruner \(budget)")
            XCTAssertEqual(try run(f.model, VisPrunerScorer(allocation: .global), keep: k, image: image, prompt: f.prompts[index]),
                           (expectedVisPruner(inputs, saliency: scores(2), budget) + newlines).sorted(), "vispruner \(budget)")
            XCTAssertEqual(try run(f.model, HiPruneScorer(alpha: 1, objectLayer: 1, allocation: .global), keep: k, image: image,
                                   prompt: f.prompts[index]),
                           (expectedHiPrune(inputs, object: scores(1), deep: scores(2), alpha: 1, budget) + newlines).sorted(),
                           "hiprune \(budget)")
        }
    }

    func testImpossibleBudgetsAndBadOptionsAreTypedErrors() throws {
        let f = try FixtureSamples.load()
        let image = ImageInput(pixels: f.pixels[0])
        for scorer: any TokenScorer in [DivPruneScorer(), CDPrunerScorer(), VisPrunerScorer(), HiPruneScorer()] {
            XCTAssertThrowsError(try run(f.model, scorer, keep: 17, image: image, prompt: f.prompts[0]), scorer.name) {
                guard case .impossibleBudget = $0 as? PruningError else { return XCTFail("\($0)") }
            }
        }
        XCTAssertThrowsError(try PruningPipeline(model: f.model, pruning: TokenPruning(VisPrunerScorer(importantRatio: 1.5), keep: .count(4)))) {
            guard case .invalidConfiguration(let m) = $0 as? PruningError, m.contains("important ratio 1.5") else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try PruningPipeline(model: f.model, pruning: TokenPruning(HiPruneScorer(objectLayer: 5), keep: .count(4)))) {
            guard case .invalidConfiguration(let m) = $0 as? PruningError, m.contains("object layer 5 is outside 0..<3") else { return XCTFail("\($0)") }
        }
    }

    /// DART by hand: nine visual tokens (rows 1…9) whose normed hidden states are 2-D unit vectors at known
    /// angles, keys whose L1 norms pick visual token 3 and text row 11 as the pivots.
    func testDARTPivotsAndLeastSimilarPicksByHand() throws {
        let layout = try PromptLayout(tokenIds: [1, 99, 5, 6, 7], imageTokenId: 99, imageTokenCount: 9)
        var norms = [Float](repeating: 1, count: 13)
        norms[1 + 3] = 10
        norms[11] = 9
        let keys = try Tensor(shape: [13, 4], scalars: norms.flatMap { [$0 / 2, -$0 / 2, 0, 0] })
        // Angles in degrees per expanded row: text rows 0, 10, 12 anywhere; visual tokens 0…8; text row 11 at 90°.
        let angles: [Double] = [30, 0, 10, 170, 0, 90, 180, 45, 100, 135, 60, 90, 20]
        let hidden = try Tensor(shape: [13, 2], scalars: angles.flatMap { [Float(cos($0 * .pi / 180)), Float(sin($0 * .pi / 180))] })
        var config = minimalLlavaConfiguration
        config.imageTokenId = 99
        config.text.vocabularySize = 100
        let context = ScoringContext(configuration: config, layout: layout,
                                     tokens: VisualTokenMap(singleViewWithPatchesPerSide: 3, includesClassToken: false),
                                     languageKeys: keys, languageHidden: hidden)
        let dart = DARTScorer(imagePivots: 1, textPivots: 1)
        // Budget 5: pivot v3 (0°) takes the two least similar, v5 (180°) and v2 (170°); the text pivot (90°) then
        // takes v0 (cos 0) and v1 (cos 80° = 0.17).
        XCTAssertEqual(try dart.select(context, keep: 5), [0, 1, 2, 3, 5])
        // Budget 6: the first pivot's share is 3 (v8 at 135° too), the text pivot's 2.
        XCTAssertEqual(try dart.select(context, keep: 6), [0, 1, 2, 3, 5, 8])
        XCTAssertEqual(try dart.scores(context)[3], 10)
        let withoutKeys = ScoringContext(configuration: config, layout: layout,
                                         tokens: VisualTokenMap(singleViewWithPatchesPerSide: 3, includesClassToken: false))
        XCTAssertThrowsError(try dart.select(withoutKeys, keep: 5)) {
            guard case .missingInput = $0 as? PruningError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try DARTScorer(pruningLayer: 2).stage(for: config)) {
            guard case .invalidConfiguration(let m) = $0 as? PruningError, m.contains("1..<2") else { return XCTFail("\($0)") }
        }
    }

    /// DART through the pipeline on both fixture models: exactly the budget, newlines kept, original positions.
    func testDARTRunsInsideTheLanguageModelOnBothFamilies() throws {
        let f = try FixtureSamples.load()
        let r = try PruningPipeline(model: f.model, pruning: TokenPruning(DARTScorer(), keep: .count(6)))
            .run(image: ImageInput(pixels: f.pixels[0]), tokenIds: f.prompts[0], maxNewTokens: 2)
        XCTAssertEqual(r.keptVisualIndices.count, 6)
        XCTAssertEqual(r.report.tokensPerLayer[2], r.report.tokensPerLayer[0] - 10, "tokens leave at layer 2")
        let ov = try NextFixtureSamples.loadOneVision()
        let image = try ov.model.imageProcessor.preprocess(ov.images[4])
        let newlines = try ov.integers("newline_indices", 4)
        let o = try PruningPipeline(model: ov.model, pruning: TokenPruning(DARTScorer(), keep: .count(newlines.count + 9)))
            .run(image: image, tokenIds: ov.prompts[4], maxNewTokens: 2)
        XCTAssertEqual(o.keptVisualIndices.count, newlines.count + 9)
        XCTAssertTrue(Set(newlines).isSubset(of: o.keptVisualIndices))
    }

    /// Every 2025 method composes with withdrawal (VTW) and a per-request KV budget (PrefixKV): the same tokens
    /// are kept, visual tokens leave at the withdrawal layer and the budget shrinks the cache.
    func testNewMethodsComposeWithWithdrawalAndKVBudgets() throws {
        let f = try FixtureSamples.load()
        let image = ImageInput(pixels: f.pixels[0])
        for name in ["divprune", "cdpruner", "vispruner", "visionzip", "hiprune", "dart"] {
            let pruning = try ScorerCatalog.pruning(named: name, for: f.model.configuration, keep: .count(6))
            let alone = try PruningPipeline(model: f.model, pruning: pruning).run(image: image, tokenIds: f.prompts[0], maxNewTokens: 3)
            let combined = try PruningPipeline(model: f.model, pruning: pruning, withdrawalLayer: name == "dart" ? nil : 2,
                                               kvBudget: .calibratedPerRequest(retainedFraction: 0.5))
                .run(image: image, tokenIds: f.prompts[0], maxNewTokens: 3)
            XCTAssertEqual(combined.keptVisualIndices, alone.keptVisualIndices, name)
            XCTAssertEqual(combined.mergedVisualTokens, alone.mergedVisualTokens, name)
            XCTAssertLessThan(combined.report.kvCacheBytes, alone.report.kvCacheBytes, name)
            if name != "dart" { XCTAssertEqual(combined.report.tokensPerLayer[2], combined.report.tokensPerLayer[0] - 6, name) }
        }
    }
}
