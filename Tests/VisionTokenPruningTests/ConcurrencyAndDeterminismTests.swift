import Foundation
import TestSupport
import VisionTokenPruning
import XCTest

/// One loaded model serving concurrent requests, batches of different lengths, and results that do not
/// depend on the thread count or the GEMM backend.
final class ConcurrencyAndDeterminismTests: XCTestCase {
    /// 8 requests mixing samples, scorers and options.
    private func requests(_ f: FixtureSamples) throws -> [(PruningPipeline, Int)] {
        let names = ["none", "cls", "cls-ensemble", "text-sim", "mixture", "fastv", "uniform", "random"]
        return try names.enumerated().map { i, name in
            let pipeline = try PruningPipeline(model: f.model, pruning: ScorerCatalog.pruning(named: name, for: f.model.configuration, keep: .count(3 + i)),
                                               positions: i % 2 == 0 ? .keepOriginal : .renumber,
                                               withdrawalLayer: i == 3 ? 2 : nil)
            return (pipeline, i % 2)
        }
    }

    func testEightConcurrentRequestsEqualSequentialResults() async throws {
        let f = try FixtureSamples.load()
        let work = try requests(f)
        let sequential = try work.map { try $0.0.run(image: ImageInput(pixels: f.pixels[$0.1]), tokenIds: f.prompts[$0.1], maxNewTokens: 3) }
        let concurrent = try await withThrowingTaskGroup(of: (Int, PipelineResult).self) { group in
            for (i, (pipeline, sample)) in work.enumerated() {
                let pixels = f.pixels[sample], prompt = f.prompts[sample]
                group.addTask { (i, try pipeline.run(image: ImageInput(pixels: pixels), tokenIds: prompt, maxNewTokens: 3)) }
            }
            var results = [PipelineResult?](repeating: nil, count: work.count)
            for try await (i, r) in group { results[i] = r }
            return results.map { $0! }
        }
        for i in work.indices {
            XCTAssertEqual(concurrent[i].nextTokenLogits, sequential[i].nextTokenLogits, "request \(i)")
            XCTAssertEqual(concurrent[i].generatedTokens, sequential[i].generatedTokens, "request \(i)")
            XCTAssertEqual(concurrent[i].keptVisualIndices, sequential[i].keptVisualIndices, "request \(i)")
        }
    }

    func testBatchOfDifferentLengthsEqualsOneAtATime() throws {
        let f = try FixtureSamples.load()
        let dir = try requireTinyLlavaFixture()
        let set = try EvaluationSet(url: dir.appendingPathComponent("eval.safetensors"))
        let batch = try set.prompts(for: f.model, limit: 6)
        XCTAssertGreaterThan(Set(batch.map(\.tokenIds.count)).count, 1, "prompts of different lengths")
        for pipeline in [try PruningPipeline(model: f.model), try PruningPipeline(model: f.model, pruning: TokenPruning(FastVScorer(), keep: .count(5)))] {
            let batched = try pipeline.run(batch: batch, maxNewTokens: 2)
            for (i, request) in batch.enumerated() {
                let alone = try pipeline.run(image: request.image, tokenIds: request.tokenIds, maxNewTokens: 2)
                assertClose(batched[i].nextTokenLogits, alone.nextTokenLogits, atol: 1e-5, "sample \(i)")
                XCTAssertEqual(batched[i].generatedTokens, alone.generatedTokens)
                XCTAssertEqual(batched[i].keptVisualIndices, alone.keptVisualIndices)
            }
        }
        var bad = batch
        bad[2].tokenIds = [1, 2, 3]
        assertThrows(try PruningPipeline(model: f.model).run(batch: bad), ModelError.self, "prompt has no image placeholder")
        XCTAssertEqual(try PruningPipeline(model: f.model).run(batch: []).count, 0)
    }

    func testResultsDoNotDependOnThreadsOrBackend() throws {
        // The fixture's products are below the GEMM's threading cutoff (2 M FLOPs), so threads would change
        // nothing there. This model's are above it: the vision MLP alone is 2 · 65 · 256 · 128 = 4.3 M.
        let vision = VisionTowerConfiguration(hiddenSize: 128, intermediateSize: 256, layerCount: 2, headCount: 4, imageSize: 56, patchSize: 7)
        let text = LlamaConfiguration(vocabularySize: 64, hiddenSize: 128, intermediateSize: 256, layerCount: 3, headCount: 4, kvHeadCount: 2)
        let config = LlavaConfiguration(vision: vision, text: text, imageTokenId: 63)
        XCTAssertGreaterThan(2 * vision.tokenCount * vision.intermediateSize * vision.hiddenSize, 2_000_000)
        let model = try LlavaModel.generated(configuration: config, seed: 4)
        let image = ImageInput(pixels: randomTensor([3, 56, 56], seed: 8))
        let prompt = [1] + Array(2..<12) + [63] + Array(20..<30)
        let pipeline = try PruningPipeline(model: model, pruning: TokenPruning(AdaptiveMixtureScorer(), keep: .count(24)))
        func run(_ options: ComputeOptions) throws -> PipelineResult {
            try ComputeOptions.$current.withValue(options) {
                try pipeline.run(image: image, tokenIds: prompt, maxNewTokens: 4, stopAtEndOfSequence: false)
            }
        }
        let one = try run(try ComputeOptions(threads: 1))
        for options in [try ComputeOptions(threads: 2), try ComputeOptions(threads: 3)]
            + (GemmBackend.openBLAS.isAvailable ? [try ComputeOptions(backend: .openBLAS, threads: 1),
                                                   try ComputeOptions(backend: .openBLAS, threads: 2)] : []) {
            let other = try run(options)
            assertClose(other.nextTokenLogits, one.nextTokenLogits, atol: 1e-4, "\(options)")
            XCTAssertEqual(other.generatedTokens, one.generatedTokens, "\(options)")
            XCTAssertEqual(other.keptVisualIndices, one.keptVisualIndices, "\(options)")
        }
        // A bigger product than the fixture's, across the threading split, on every available backend.
        let a = randomTensor([300, 200], seed: 1), b = randomTensor([130, 200], seed: 2)
        let reference = try ComputeOptions.$current.withValue(try ComputeOptions(threads: 1)) { try a.matmul(b, transposeOther: true) }
        for backend in GemmBackend.allCases where backend.isAvailable {
            for threads in [1, 2] {
                let c = try ComputeOptions.$current.withValue(try ComputeOptions(backend: backend, threads: threads)) {
                    try a.matmul(b, transposeOther: true)
                }
                assertClose(c.scalars, reference.scalars, atol: 1e-4, "\(backend) x\(threads)")
            }
        }
    }
}
