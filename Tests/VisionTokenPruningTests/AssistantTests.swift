import Foundation
import TensorCore
import TestSupport
import VisionTokenPruning
import XCTest

/// Asking a question in text end to end: chat template, tokenizer, image file, pruning, streamed answer.
final class AssistantTests: XCTestCase {
    func testAnswerMatchesTheModelAndStreamsCompleteText() throws {
        let folder = try temporaryFolder()
        let imageURL = try AssistantFixture.write(to: folder)
        let assistant = try LlavaAssistant(directory: folder)
        let question = "What is shown in this image?"
        // The llava-1.5 prompt, encoded as tokenizers does (the fixture's chat_image_question case).
        let ids = try assistant.promptIds(question: question)
        XCTAssertEqual(ids, [1, 681, 2915, 449, 2944, 2887, 2998, 2887, 13, 2938, 2896, 286, 325, 497, 1660, 294, 332, 1837,
                             2967, 2658, 712, 1483, 886, 2944])
        var pieces: [String] = []
        let answer = try assistant.answer(image: imageURL, question: question, maxNewTokens: 12) { pieces.append($0) }
        // The same tokens as the model's own greedy generation on the same inputs.
        let model = assistant.model
        let input = try model.imageProcessor.preprocess(try PortablePixmap.read(imageURL))
        XCTAssertEqual(answer.tokens, try model.generate(image: input, tokenIds: ids, maxNewTokens: 12).tokens)
        let expectedText = try assistant.tokenizer.decode(answer.tokens.filter { $0 != 2 }, skipSpecialTokens: true)
        XCTAssertEqual(Array(answer.text.utf8), Array(expectedText.utf8))
        XCTAssertEqual(Array(pieces.joined().utf8), Array(expectedText.utf8), "the streamed pieces add up to the answer")
        XCTAssertEqual(answer.report.visualTokens, 4)

        let pruned = try assistant.answer(image: imageURL, question: question,
                                          pruning: PruningOptions(pruning: TokenPruning(AdaptiveMixtureScorer(), keep: .count(2)), withdrawalLayer: 2,
                                                                  kvBudget: .calibratedPerRequest(retainedFraction: 0.5)),
                                          maxNewTokens: 4)
        XCTAssertEqual(pruned.report.keptVisualTokens, 2)
        XCTAssertLessThanOrEqual(pruned.tokens.count, 4)
    }

    func testStreamIsAnAsyncSequenceOfThePieces() async throws {
        let folder = try temporaryFolder()
        let imageURL = try AssistantFixture.write(to: folder)
        let assistant = try LlavaAssistant(directory: folder)
        var text = ""
        for try await piece in assistant.answerStream(image: imageURL, question: "Hi?", maxNewTokens: 6) { text += piece }
        let direct = try assistant.answer(image: imageURL, question: "Hi?", maxNewTokens: 6)
        XCTAssertEqual(Array(text.utf8), Array(direct.text.utf8))
    }

    func testMismatchedTokenizerIsATypedError() throws {
        let folder = try temporaryFolder()
        _ = try AssistantFixture.write(to: folder)
        // The tiny-llava model's image token is 299; the llama-sp tokenizer's <image> is 2998.
        XCTAssertThrowsError(try LlavaAssistant(directory: try requireTinyLlavaFixture(), tokenizerDirectory: folder)) {
            guard case .invalidConfiguration(_, let reason) = $0 as? ModelError, reason.contains("image_token_index 299") else {
                return XCTFail("\($0)")
            }
        }
    }
}
