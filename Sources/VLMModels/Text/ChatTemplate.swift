import Foundation

/// Errors from parsing or rendering a chat template.
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A tag this Jinja subset does not know (e.g. `{% macro %}`).
    case unknownTag(String)
    /// A syntax error, with the template offset where it was found.
    case syntax(String, offset: Int)
    /// An error raised while rendering (`raise_exception(...)`, an unknown filter or method).
    case render(String)

    public var description: String {
        switch self {
        case .unknownTag(let t): return "chat template: unknown tag '{% \(t) %}' (pass the prompt text directly instead)"
        case let .syntax(m, offset): return "chat template: \(m) at offset \(offset)"
        case .render(let m): return "chat template: \(m)"
        }
    }
}

/// A Hugging Face chat template (Jinja2, as transformers renders it with `trim_blocks`, `lstrip_blocks` and
/// loop controls), in the subset LLaVA, LLaVA-NeXT and LLaVA-OneVision templates use: `for` (with `loop.*`,
/// `break`, `continue`), `if`/`elif`/`else`, `set`, `{# comments #}`, `{%- -%}` trimming, transformers'
/// `{% generation %}` (renders its body), string and list literals, `+`, `~`, comparisons, `and`/`or`/`not`,
/// `in`, `is defined`/`is none`, subscripts, `.upper()`/`.lower()`/`.strip()`, filters `selectattr`,
/// `rejectattr`, `length`, `upper`, `lower`, `trim`, `first`, `last`, and `raise_exception`. Unknown tags are
/// `ChatTemplateError.unknownTag` when the template is parsed.
///
/// Work is bounded: blocks, and sub-expressions inside one expression, nest at most `maximumNesting` deep, an
/// expression has at most
/// `maximumExpressionTokens` tokens, and rendering stops with `ChatTemplateError.render` after `maximumSteps`
/// statements and loop iterations or once the output or any string or list value would exceed
/// `maximumOutputBytes` bytes (elements).
public struct ChatTemplate: Sendable {
    /// Deepest nesting of `for`, `if` and `generation` blocks, and of parentheses, brackets, arguments and `not`
    /// inside one expression.
    public static let maximumNesting = 32
    /// Most tokens in one `{{ … }}` expression or statement expression.
    public static let maximumExpressionTokens = 512
    /// Most statements, outputs and loop iterations one rendering runs.
    public static let maximumSteps = 1_000_000
    /// Largest output, and largest string (bytes) or list (elements) any expression may build: 16 MiB.
    public static let maximumOutputBytes = 16 << 20

    let nodes: [TemplateNode]

    /// The template llava-hf ships with LLaVA-1.5 (`USER: <image>\n… ASSISTANT:`), for checkpoints that carry none
    /// (llama.cpp's LLaVA GGUF files; llama.cpp itself asks for `--chat-template vicuna`).
    public static let llava15Source = "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"

    /// Parses `source`.
    /// - Throws: `ChatTemplateError` for a syntax error or an unknown tag.
    public init(_ source: String) throws {
        var parser = TemplateParser(tokens: try TemplateLexer.tokens(source))
        nodes = try parser.parseBlock(until: [])
    }

    /// Renders the template for `messages` with the given extra variables (`add_generation_prompt`, …).
    /// - Throws: `ChatTemplateError.render`, also when rendering exceeds the work bounds above.
    public func render(_ variables: [String: TemplateValue]) throws -> String {
        var scope = TemplateScope(variables: variables)
        var out = ""
        _ = try TemplateRenderer.run(nodes, &scope, &out)
        return out
    }
}
