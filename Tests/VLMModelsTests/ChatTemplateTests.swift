import Foundation
import TestSupport
import VLMModels
import XCTest

/// Chat templates: the fixture tokenizers' templates against the prompts transformers rendered, and the Jinja
/// subset on hand-checked templates.
final class ChatTemplateTests: XCTestCase {
    /// The messages of a cases.json chat case.
    private func messages(_ value: JSONValue) -> [ChatMessage] {
        (value.array ?? []).map { m in
            ChatMessage(role: m["role"]?.string ?? "", content: (m["content"]?.array ?? []).map { part in
                part["type"]?.string == "image" ? .image : .text(part["text"]?.string ?? "")
            })
        }
    }

    func testFixtureTemplatesRenderTheReferencePrompts() throws {
        let root = try requireTinyLlavaFixture().deletingLastPathComponent().appendingPathComponent("tokenizers")
        var checked = 0
        for style in ["llama-sp", "llama-sp-metaspace", "byte-level"] {
            let dir = root.appendingPathComponent(style)
            let template = try ChatTemplate(directory: dir)
            let cases = try JSONValue.parse(Data(contentsOf: dir.appendingPathComponent("cases.json")))
            for c in cases["cases"]?.array ?? [] where c["kind"]?.string == "chat" {
                let rendered = try template.render(messages: messages(c["messages"]!),
                                                   addGenerationPrompt: c["add_generation_prompt"]?.bool ?? false)
                XCTAssertEqual(Array(rendered.utf8), Array((c["text"]?.string ?? "").utf8), "\(style) \(c["name"]?.string ?? "")")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 12)
    }

    /// Qwen2.5-VL's template keeps image and video counts in `namespace()` objects that loop bodies update.
    func testNamespacesOutliveTheLoopsThatChangeThem() throws {
        let counting = try ChatTemplate("{% set ns = namespace(n=0, seen='') %}{% for x in [1, 2, 3] %}{% set ns.n = ns.n + x %}"
            + "{% set ns.last = x %}{% endfor %}{{ ns.n }} {{ ns.last }} {{ ns.seen == '' }}{% set ns = namespace() %}[{{ ns.n }}]")
        XCTAssertEqual(try counting.render([:]), "6 3 True[]")
        XCTAssertThrowsError(try ChatTemplate("{% set x = 1 %}{% set x.y = 2 %}").render([:])) {
            guard case .render(let m) = $0 as? ChatTemplateError, m.contains("not a namespace") else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try ChatTemplate("{{ namespace(1) }}")) {
            guard case .syntax(let m, _) = $0 as? ChatTemplateError, m.contains("name=value") else { return XCTFail("\($0)") }
        }
    }

    func testJinjaSubsetOnHandCheckedTemplates() throws {
        // The LLaVA-NeXT Mistral prompt form.
        let mistral = try ChatTemplate("""
            {%- for message in messages -%}
              {%- if message['role'] == 'user' -%}
                {{ '[INST] ' }}{% for c in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}
                {%- for c in message['content'] | selectattr('type', 'equalto', 'text') %}{{ c['text'] }}{% endfor %}{{ ' [/INST]' }}
              {%- elif message['role'] == 'assistant' -%}
                {{ ' ' + message['content'][0]['text'] + '</s> ' }}
              {%- else -%}
                {{ raise_exception('Only user and assistant roles are supported!') }}
              {%- endif -%}
            {%- endfor -%}
            """)
        XCTAssertEqual(try mistral.render(messages: [.userQuestion("What is shown in this image?")]),
                       "[INST] <image>\nWhat is shown in this image? [/INST]")
        XCTAssertThrowsError(try mistral.render(messages: [ChatMessage(role: "system", content: [.text("x")])])) {
            guard case .render(let m) = $0 as? ChatTemplateError, m.contains("Only user and assistant") else { return XCTFail("\($0)") }
        }
        // trim_blocks / lstrip_blocks, loop variables, set, break, tests, conditional expressions, ~ and filters;
        // the expected text is what Jinja2 3.1 renders with transformers' settings.
        let loops = try ChatTemplate("""
            {% set sep = ', ' %}
            {% for x in items %}
                {% if x == 3 %}{% break %}{% endif %}
            {{ loop.index }}:{{ x }}{{ sep if not loop.last else '' }}
            {% endfor %}
            {{ items | length }} {{ 'n' ~ none is none }} {{ missing is defined }} {{ 'ab'.upper() }}
            """)
        XCTAssertEqual(try loops.render(["items": .list([.int(1), .int(2), .int(3), .int(4)])]),
                       "1:1, \n2:2, \n4 nTrue False AB")
        for (bad, reason) in [("{% macro m() %}{% endmacro %}", "unknown tag '{% macro %}'"), ("{% include 'x' %}", "unknown tag '{% include %}'"),
                              ("{{ 'a' ", "unclosed tag at offset 0"),
                              ("ab{% for x in y %}", "block never closed (missing {% else / endfor %}) at offset 2")] {
            assertThrows(try ChatTemplate(bad), ChatTemplateError.self, reason, bad)
        }
        XCTAssertThrowsError(try ChatTemplate("{% macro m() %}{% endmacro %}")) {
            XCTAssertEqual($0 as? ChatTemplateError, .unknownTag("macro"))
        }
    }
}
