import Foundation
import TensorCore
import VLMModels

/// Ask a vision-language checkpoint (LLaVA-1.5, NeXT, OneVision, Qwen2.5-VL) a question about an image, in text:
/// the model, its tokenizer and its chat template.
///
/// ```swift
/// let assistant = try LlavaAssistant(directory: URL(fileURLWithPath: "llava-1.5-7b-hf"))
/// let answer = try assistant.answer(image: URL(fileURLWithPath: "cat.png"), question: "What is the cat doing?",
///                                   pruning: .init(pruning: TokenPruning(AdaptiveMixtureScorer(), keep: .count(64))))
/// print(answer.text)
/// ```
public struct LlavaAssistant: Sendable {
    /// The model (any family `ModelRegistry` loads).
    public let model: any VisionLanguageModel
    /// Its tokenizer (`tokenizer.json`).
    public let tokenizer: Tokenizer
    /// Its chat template.
    public let template: ChatTemplate

    /// What `answer` returns.
    public struct Answer: Sendable {
        /// The generated text (special tokens skipped).
        public var text: String
        /// The generated token ids.
        public var tokens: [Int]
        /// The prompt ids given to the model (one image placeholder).
        public var promptIds: [Int]
        /// Costs and token counts of the run.
        public var report: PipelineReport
    }

    /// An assistant from its parts.
    /// - Throws: `ModelError.invalidConfiguration` when the model's image token (`<image>`, `<|image_pad|>`) is
    ///   not one of the tokenizer's added tokens (a tokenizer of another model).
    public init(model: any VisionLanguageModel, tokenizer: Tokenizer, template: ChatTemplate) throws {
        let image = model.modelDescription.imageTokenId
        guard tokenizer.addedTokens.contains(where: { $0.id == image }) else {
            let placeholders = tokenizer.addedTokens.filter { ["<image>", "<|image_pad|>"].contains($0.content) }.map { "\($0.content) = \($0.id)" }
            throw ModelError.invalidConfiguration(
                path: "tokenizer.json",
                reason: "the model's image_token_index \(image) is not one of the tokenizer's added tokens (its image placeholders: \(placeholders.isEmpty ? "none" : placeholders.joined(separator: ", ")))")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
    }

    /// Loads the model from `directory` and the tokenizer and chat template from `tokenizerDirectory`
    /// (default: the same folder, as llava-hf checkpoints ship them).
    /// - Throws: `ModelError`, `TokenizerError` or `ChatTemplateError` for missing or unsupported files.
    public init(directory: URL, tokenizerDirectory: URL? = nil, weights: LoadPrecision = .checkpoint) throws {
        let text = tokenizerDirectory ?? directory
        try self.init(model: try ModelRegistry.load(directory: directory, weights: weights),
                      tokenizer: try Tokenizer(directory: text), template: try ChatTemplate(directory: text))
    }

    /// Loads a LLaVA-1.5 GGUF pair (`LlavaModel(gguf:mmproj:weights:)`) with the tokenizer the text file carries and
    /// its `tokenizer.chat_template`, or llava-hf's LLaVA-1.5 template (`ChatTemplate.llava15Source`) when it has none.
    /// - Throws: `ModelError`, `TokenizerError` or `ChatTemplateError`.
    public init(gguf text: URL, mmproj: URL, weights: LoadPrecision = .checkpoint) throws {
        let file = try GGUFFile(url: text)
        let source = try file.metadata["tokenizer.chat_template"].map { value -> String in
            guard let template = value.string else {
                throw ModelError.invalidConfiguration(path: file.path, reason: "tokenizer.chat_template is \(value.typeName), expected STRING")
            }
            return template
        } ?? ChatTemplate.llava15Source
        try self.init(model: try LlavaModel(gguf: text, mmproj: mmproj, weights: weights), tokenizer: try Tokenizer(gguf: file),
                      template: try ChatTemplate(source))
    }

    /// The prompt ids for one question about one image: the template's rendering of a user turn (image, then
    /// text) with the assistant's turn opened (Qwen2.5-VL's template adds its default system turn), encoded with
    /// the tokenizer's special tokens (LLaMA's BOS).
    /// - Throws: `ChatTemplateError`, `TokenizerError` (`.tooManyTokens` as soon as the text exceeds the model's
    ///   context), or `ModelError.invalidInput` when the rendering does not hold exactly one image placeholder or
    ///   an id is outside the model's vocabulary.
    public func promptIds(question: String) throws -> [Int] {
        let text = try template.render(messages: [.userQuestion(question)], addGenerationPrompt: true)
        let ids = try tokenizer.encode(text, addSpecialTokens: true, maximumTokens: model.language.configuration.maxPositionEmbeddings)
        _ = try model.layout(tokenIds: ids, imageTokenCount: 1)
        return ids
    }

    /// Answers `question` about the image file at `image` (PPM/PGM; PNG and JPEG with the ImageCodecs trait).
    /// `onText` receives the answer in complete pieces as it is generated.
    public func answer(image: URL, question: String, pruning: PruningOptions = .none, maxNewTokens: Int = 256,
                       onText: (String) -> Void = { _ in }) throws -> Answer {
        try answer(image: try ImageFile.read(image), question: question, pruning: pruning, maxNewTokens: maxNewTokens, onText: onText)
    }

    /// Answers `question` about `image`.
    /// - Throws: `ModelError`, `PruningError`, `TokenizerError` or `ChatTemplateError`.
    public func answer(image: RGBImage, question: String, pruning: PruningOptions = .none, maxNewTokens: Int = 256,
                       onText: (String) -> Void = { _ in }) throws -> Answer {
        let ids = try promptIds(question: question)
        let input = try model.preprocess(image)
        let pipeline = try PruningPipeline(model: model, options: pruning)
        var stream = TextStream(tokenizer: tokenizer)
        let result = try pipeline.run(image: input, tokenIds: ids, maxNewTokens: maxNewTokens) { token in
            guard !model.endOfSequenceIds.contains(token) else { return }
            let piece = try stream.append(token)
            if !piece.isEmpty { onText(piece) }
        }
        let tail = try stream.finish()
        if !tail.isEmpty { onText(tail) }
        let text = try tokenizer.decode(result.generatedTokens.filter { !model.endOfSequenceIds.contains($0) }, skipSpecialTokens: true)
        return Answer(text: text, tokens: result.generatedTokens, promptIds: ids, report: result.report)
    }

    /// The answer as an asynchronous sequence of text pieces, generated on a background thread.
    public func answerStream(image: URL, question: String, pruning: PruningOptions = .none,
                             maxNewTokens: Int = 256) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            let worker = Thread {
                do {
                    _ = try answer(image: image, question: question, pruning: pruning, maxNewTokens: maxNewTokens) {
                        continuation.yield($0)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            worker.stackSize = 8 << 20
            worker.start()
        }
    }
}
