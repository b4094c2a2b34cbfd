import Foundation

extension TextModel {
    /// Loads a `llama`-architecture text model from one GGUF file: configuration, weights (dequantised into
    /// `weights`; quantised types as BF16 under `.checkpoint`), tokenizer and `tokenizer.chat_template`.
    /// - Throws: `ModelError` (`.malformedGGUF`, `.invalidConfiguration`, `.unusedTensors`, …), `TokenizerError`
    ///   or `ChatTemplateError`.
    public init(gguf url: URL, weights: LoadPrecision = .checkpoint) throws {
        let file = try GGUFFile(url: url)
        let configuration = try LlamaConfiguration(gguf: file)
        var source = try GGUFWeights(file: file, configuration: configuration, precision: weights)
        let decoder = try LlamaDecoder(configuration: configuration, weights: &source)
        try source.verifyAllConsumed()
        let template = try file.metadata["tokenizer.chat_template"].map { value -> ChatTemplate in
            guard let text = value.string else {
                throw ModelError.invalidConfiguration(path: file.path, reason: "tokenizer.chat_template is \(value.typeName), expected STRING")
            }
            return try ChatTemplate(text)
        }
        try self.init(decoder: decoder, tokenizer: try Tokenizer(gguf: file), template: template)
    }
}
