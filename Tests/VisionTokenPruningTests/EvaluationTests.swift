import Foundation
import TestSupport
import VisionTokenPruning
import XCTest

/// The `vtp-eval-1` reader/writer and the evaluation metrics on the fixture's eval set.
final class EvaluationTests: XCTestCase {
    func testFixtureEvalSetUnprunedScoresPerfectly() throws {
        let dir = try requireTinyLlavaFixture()
        let set = try EvaluationSet(url: dir.appendingPathComponent("eval.safetensors"))
        XCTAssertEqual(set.count, 16)
        XCTAssertEqual(set.imageTokenId, 299)
        let model = try LlavaModel(directory: dir)
        let reference = try PruningEvaluation.referenceLogits(model: model, set: set)
        let unpruned = try PruningEvaluation.evaluate(try PruningPipeline(model: model), set: set, reference: reference)
        let summary = unpruned.summary, outputs = unpruned.outputs
        XCTAssertEqual(summary.accuracy, 1)
        XCTAssertEqual(summary.agreement, 1)
        XCTAssertEqual(summary.meanKL, 0)
        XCTAssertEqual(summary.keptVisualTokens, 16)
        XCTAssertNil(summary.targetRecall)
        XCTAssertEqual(outputs.keptIndices.first, Array(0..<16))
        // Pruned: accuracy and agreement count the same argmax decisions by hand.
        let pruned = try PruningPipeline(model: model, pruning: TokenPruning(ClassAttentionScorer(), keep: .count(4)))
        let evaluation = try PruningEvaluation.evaluate(pruned, set: set, reference: reference)
        let p = evaluation.summary, out = evaluation.outputs
        let byHand = (0..<16).filter { LlamaDecoder.argmax(out.nextTokenLogits[$0]) == set.answerIds[$0] }.count
        XCTAssertEqual(p.accuracy, Double(byHand) / 16)
        XCTAssertEqual(p.keptVisualTokens, 4)
        // Agreement and KL recomputed here in double from the two sets of logits (naive softmax and sum).
        func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] || (v[$0] == v[$1] && $0 > $1) }! }
        func logSoftmax(_ v: [Float]) -> [Double] {
            let top = Double(v.max()!), total = v.reduce(0.0) { $0 + exp(Double($1) - top) }
            return v.map { Double($0) - top - log(total) }
        }
        let agreeing = (0..<16).filter { argmax(out.nextTokenLogits[$0]) == argmax(reference[$0]) }.count
        let kl = (0..<16).reduce(0.0) { sum, i in
            let lp = logSoftmax(out.nextTokenLogits[i]), lq = logSoftmax(reference[i])
            return sum + zip(lp, lq).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
        } / 16
        XCTAssertEqual(p.agreement, Double(agreeing) / 16)
        XCTAssertEqual(p.meanKL, kl, accuracy: 1e-6 * max(1, kl))
        XCTAssertLessThan(agreeing, 16, "4 of 16 tokens must change some answers, or this check proves little")
    }

    func testRoundTripWithMasksAndRecall() throws {
        let f = try FixtureSamples.load()
        let pixels = try Tensor.concatenateRows([f.pixels[0].reshaped([1, 3, 56, 56]), f.pixels[1].reshaped([1, 3, 56, 56])])
        var mask = [[Bool]](repeating: [Bool](repeating: false, count: 16), count: 2)
        mask[0][0] = true; mask[0][15] = true; mask[1][5] = true
        let set = try EvaluationSet(pixelValues: pixels, prompts: f.prompts, answerIds: [224, 175], targetPatchMask: mask,
                                    isSmallTarget: [false, true], imageTokenId: 299, padTokenId: 0)
        let reread = try EvaluationSet(file: SafetensorsFile(data: set.data()))
        XCTAssertEqual(reread.prompts, f.prompts)
        XCTAssertEqual(reread.targetPatchMask, mask)
        XCTAssertEqual(reread.isSmallTarget, [false, true])
        XCTAssertEqual(reread.pixelValues, pixels)
        // Uniform keeps 4 of 16: patches 2, 6, 10, 14 → recall 0 for both samples.
        let reference = try PruningEvaluation.referenceLogits(model: f.model, set: reread)
        let uniform = try PruningPipeline(model: f.model, pruning: TokenPruning(UniformScorer(), keep: .count(4)))
        let evaluation = try PruningEvaluation.evaluate(uniform, set: reread, reference: reference)
        let summary = evaluation.summary, outputs = evaluation.outputs
        XCTAssertEqual(outputs.keptIndices[0], [2, 6, 10, 14])
        XCTAssertEqual(summary.targetRecall, 0)
        let nine = try PruningPipeline(model: f.model, pruning: TokenPruning(UniformScorer(), keep: .count(8)))  // 1, 3, 5, ..., 15
        let s9 = try PruningEvaluation.evaluate(nine, set: reread, reference: reference).summary
        XCTAssertEqual(s9.targetRecall, (0.5 + 1) / 2)  // sample 0 keeps 15 not 0; sample 1 keeps 5
        XCTAssertEqual(s9.smallTargetRecall, 1)
        // JSON keys, with nulls.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(summary)) as! [String: Any]
        XCTAssertEqual(Set(json.keys), ["samples", "accuracy", "agreement", "mean_kl", "target_recall", "small_target_recall",
                                        "kept_visual_tokens", "merged_visual_tokens", "seconds", "flops"])
        let plain = try JSONSerialization.jsonObject(with: JSONEncoder().encode(
            try PruningEvaluation.evaluate(try PruningPipeline(model: f.model), set: EvaluationSet(
                pixelValues: pixels, prompts: f.prompts, answerIds: [224, 175], imageTokenId: 299, padTokenId: 0),
                reference: reference).summary)) as! [String: Any]
        XCTAssertTrue(plain["target_recall"] is NSNull)
        // The dump pads kept indices with −1.
        let dump = try SafetensorsFile(data: PruningEvaluation.dump(EvaluationOutputs(
            nextTokenLogits: [[1, 2], [3, 4]], keptIndices: [[0, 3], [1]])))
        XCTAssertEqual(try dump.integerTensor("kept_indices").values, [0, 3, 1, -1])
        XCTAssertEqual(try dump.floatTensor("next_token_logits").shape, [2, 2])
        XCTAssertFalse(dump.tensorNames.contains("merged_anchors"))
        // A merging method's summary counts its merged tokens among the kept ones; the dump lists their anchors.
        let zipped = try PruningEvaluation.evaluate(
            try PruningPipeline(model: f.model, pruning: TokenPruning(VisionZipScorer(), keep: .count(11))), set: reread, reference: reference)
        XCTAssertEqual(zipped.summary.keptVisualTokens, 11)
        XCTAssertEqual(zipped.summary.mergedVisualTokens, 3)  // [CLS] and round(11 · 10/64) = 2 contextual tokens
        XCTAssertEqual(zipped.outputs.keptIndices.map(\.count), [8, 8])
        let anchors = try SafetensorsFile(data: PruningEvaluation.dump(zipped.outputs)).integerTensor("merged_anchors")
        XCTAssertEqual(anchors.shape, [2, 3])
        XCTAssertEqual(anchors.values.enumerated().filter { $0.offset % 3 == 0 }.map(\.element), [0, 0])  // [CLS] at patch 0
    }

    func testMalformedEvalFilesAreRejected() throws {
        var writer = SafetensorsWriter(metadata: ["format": "something-else"])
        try writer.add("answer_ids", integers: [1], shape: [1])
        assertThrows(try EvaluationSet(file: SafetensorsFile(data: writer.data())), ModelError.self, "metadata format is 'something-else'")
        assertThrows(try EvaluationSet(pixelValues: Tensor(zeros: [1, 3, 2, 2]), prompts: [[1, 2]], answerIds: [1],
                                               imageTokenId: 299, padTokenId: 0), ModelError.self, "prompt 0 must hold exactly one image placeholder 299")  // no placeholder
        assertThrows(try EvaluationSet(pixelValues: Tensor(zeros: [2, 3, 2, 2]), prompts: [[299]], answerIds: [1],
                                               imageTokenId: 299, padTokenId: 0), ModelError.self, "must all have 1 samples")  // counts differ
        assertThrows(try ScorerCatalog.scorer(named: "magic", for: ScorerTests.config), PruningError.self, "unknown scorer 'magic'")
        for name in ScorerCatalog.names { XCTAssertNoThrow(try ScorerCatalog.scorer(named: name, for: ScorerTests.config)) }
    }
}

/// Evaluation sets that do not fit the model, or hold nothing, are refused before any work, naming the tensor.
final class EvaluationSetValidationTests: XCTestCase {
    private let config = minimalLlavaConfiguration

    private func set(
        pixels: Shape = [2, 3, 8, 8], prompts: [[Int]] = [[1, 22, 5], [1, 4, 22]], answers: [Int] = [3, 4],
        mask: [[Bool]]? = nil, imageToken: Int = 22
    ) throws -> EvaluationSet {
        try EvaluationSet(pixelValues: Tensor(zeros: pixels), prompts: prompts, answerIds: answers, targetPatchMask: mask,
                          imageTokenId: imageToken, padTokenId: 0)
    }

    func testMismatchesNameTheTensor() throws {
        XCTAssertNoThrow(try set().validate(for: config))
        let cases: [(EvaluationSet, String)] = [
            (try set(answers: [3, 23]), "answer_ids[1] = 23"),
            (try set(prompts: [[1, 22, 99], [1, 22]]), "input_ids[0] holds 99"),
            (try set(pixels: [2, 3, 16, 16]), "pixel_values has shape"),
            (try set(prompts: [[1, 21, 5], [21, 4]], imageToken: 21), "image_token_index 21"),
            (try set(mask: [[true, false], [false, true]]), "target_patch_mask has 2 patches"),
        ]
        let model = try LlavaModel.generated(configuration: config)
        for (bad, expected) in cases {
            XCTAssertThrowsError(try bad.validate(for: config), expected) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
            assertThrows(try PruningEvaluation.referenceLogits(model: model, set: bad), ModelError.self, expected, expected)
        }
    }

    func testEmptyAndZeroWidthSetsAreErrors() throws {
        XCTAssertThrowsError(try set(pixels: [0, 3, 8, 8], prompts: [], answers: [])) { XCTAssertTrue("\($0)".contains("no samples")) }
        for (n, width) in [(0, 3), (2, 0)] {
            var writer = SafetensorsWriter(metadata: ["format": "vtp-eval-1", "image_token_index": "22", "pad_token_id": "0"])
            try writer.add("pixel_values", Tensor(zeros: [n, 3, 8, 8]))
            try writer.add("input_ids", integers: [], shape: [n, width])
            try writer.add("input_lengths", integers: Array(repeating: 1, count: n), shape: [n])
            try writer.add("answer_ids", integers: Array(repeating: 1, count: n), shape: [n])
            XCTAssertThrowsError(try EvaluationSet(file: SafetensorsFile(data: writer.data())), "\(n)x\(width)") {
                XCTAssertTrue("\($0)".contains(n == 0 ? "no samples" : "zero-width"), "\($0)")
            }
        }
    }
}
