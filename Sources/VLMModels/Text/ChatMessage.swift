import Foundation

/// One turn of a conversation, as chat templates receive it (`{"role": ..., "content": [{"type": ...}]}`).
public struct ChatMessage: Sendable, Equatable {
    /// A part of a message's content.
    public enum Part: Sendable, Equatable {
        /// An image placeholder (the template writes the model's image token).
        case image
        /// Text.
        case text(String)
    }

    /// `user`, `assistant` or `system`.
    public var role: String
    /// The content parts in order.
    public var content: [Part]

    /// A message with typed content.
    public init(role: String, content: [Part]) {
        self.role = role
        self.content = content
    }

    /// A user question about one image: the image first, then the text (the order LLaVA templates render).
    public static func userQuestion(_ text: String, withImage: Bool = true) -> ChatMessage {
        ChatMessage(role: "user", content: (withImage ? [.image] : []) + [.text(text)])
    }

    /// The template value transformers passes for this message: content as a list of typed parts, or (for
    /// text-only templates, `textContent`) the text parts joined into one string.
    func templateValue(textContent: Bool) -> TemplateValue {
        if textContent {
            let text = content.map { if case .text(let t) = $0 { return t } else { return "" } }.joined()
            return .dict([("role", .string(role)), ("content", .string(text))])
        }
        return .dict([("role", .string(role)), ("content", .list(content.map { part in
            switch part {
            case .image: return .dict([("type", .string("image"))])
            case .text(let t): return .dict([("type", .string("text")), ("text", .string(t))])
            }
        }))])
    }
}

extension ChatTemplate {
    /// Reads the checkpoint's template: `chat_template.json` (`{"chat_template": ...}`) if present, else the
    /// `chat_template` of `tokenizer_config.json` (a string, or a list of named templates: "default").
    /// - Throws: `ModelError.invalidConfiguration` when neither file has one, `ChatTemplateError` for a
    ///   template this subset cannot parse.
    public init(directory: URL) throws {
        for file in ["chat_template.json", "tokenizer_config.json"] {
            let url = directory.appendingPathComponent(file)
            guard RegularFile.isPresent(url) else { continue }
            let json = try JSONValue.readStrict(url)
            if let text = json["chat_template"]?.string {
                try self.init(text)
                return
            }
            if let named = json["chat_template"]?.array,
               let text = named.first(where: { $0["name"]?.string == "default" })?["template"]?.string {
                try self.init(text)
                return
            }
        }
        throw ModelError.invalidConfiguration(
            path: directory.path, reason: "no chat_template in chat_template.json or tokenizer_config.json; pass the prompt text instead")
    }

    /// The prompt for `messages`, ending with the assistant's turn opener when `addGenerationPrompt`.
    /// `variables` adds template variables (e.g. `bos_token`); `textContent` gives each message's content as
    /// one string (what text-only templates such as ChatML expect) instead of a list of typed parts.
    /// - Throws: `ChatTemplateError.render`.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool = true,
                       variables: [String: TemplateValue] = [:], textContent: Bool = false) throws -> String {
        var all = variables
        all["messages"] = .list(messages.map { $0.templateValue(textContent: textContent) })
        all["add_generation_prompt"] = .bool(addGenerationPrompt)
        return try render(all)
    }
}
