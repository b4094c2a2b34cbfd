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
        let input = try model.preprocess(try PortablePixmap.read(imageURL))
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

    /// OneVision: the ChatML template and the Qwen2 byte-level tokenizer give the `tokenizers` fixture's ids; the
    /// answer is the model's own greedy continuation, ending at `<|im_end|>`; pruning runs across the views.
    func testOneVisionAsksThroughChatMLAndTheByteLevelTokenizer() throws {
        let folder = try temporaryFolder()
        let imageURL = try AssistantFixture.write(to: folder, family: .llavaOneVision)
        let assistant = try LlavaAssistant(directory: folder)
        let ids = try assistant.promptIds(question: "What is shown in this image?")
        XCTAssertEqual(ids, [2996, 614, 260, 198, 2998, 198, 2625, 282, 323, 493, 1652, 291, 336, 1832, 30, 2997, 198, 2996, 2501,
                             703, 404, 198])
        let answer = try assistant.answer(image: imageURL, question: "What is shown in this image?", maxNewTokens: 6)
        let input = try assistant.model.preprocess(try PortablePixmap.read(imageURL))
        XCTAssertEqual(answer.tokens, try assistant.model.generate(image: input, tokenIds: ids, maxNewTokens: 6).tokens)
        // 40x30 → a 1x2 grid (30x60) of 2x2-patch views, a 2x4 map unpadded to 2x2 (40·2/30 = 2 columns kept):
        // 4 base tokens + 2 rows of 2 + newline.
        XCTAssertEqual(answer.report.visualTokens, 10)
        let pruned = try assistant.answer(image: imageURL, question: "What is shown in this image?",
                                          pruning: PruningOptions(pruning: TokenPruning(AdaptiveMixtureScorer(), keep: .count(5))),
                                          maxNewTokens: 2)
        XCTAssertEqual(pruned.report.keptVisualTokens, 5)
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
