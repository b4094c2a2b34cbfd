import Foundation
@testable import VLMModels
import XCTest

/// Chat templates from outside do bounded work: nesting, expression size, rendering steps and output size each
/// stop with a typed error naming the bound, and everything inside the bounds runs on a 1 MiB thread stack in every
/// build the suite runs in (debug, and under ThreadSanitizer and AddressSanitizer, whose frames are largest), so no
/// hostile template can overflow the stack.
final class ChatTemplateBoundsTests: XCTestCase {
    private func assertSyntax(_ source: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ChatTemplate(source), file: file, line: line) { error in
            guard case .syntax(let message, _)? = error as? ChatTemplateError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(message.contains(fragment), "'\(message)' does not say '\(fragment)'", file: file, line: line)
        }
    }

    private func assertRender(_ source: String, _ variables: [String: TemplateValue] = [:], _ fragment: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ChatTemplate(source).render(variables), file: file, line: line) { error in
            guard case .render(let message)? = error as? ChatTemplateError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(message.contains(fragment), "'\(message)' does not say '\(fragment)'", file: file, line: line)
        }
    }

    func testDeepNestingIsRefusedWhileParsing() {
        assertSyntax(String(repeating: "{% if true %}", count: 10_000) + String(repeating: "{% endif %}", count: 10_000),
                     "blocks nested deeper than 32")
        assertSyntax(String(repeating: "{% for x in y %}", count: 33) + String(repeating: "{% endfor %}", count: 33),
                     "blocks nested deeper than 32")
        assertSyntax("{{ " + String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100) + " }}",
                     "expression nested deeper than 32")
        assertSyntax("{{ " + String(repeating: "not ", count: 200) + "true }}", "expression nested deeper than 32")
        assertSyntax("{{ " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + " }}", "expression nested deeper than 32")
        assertSyntax("{{ " + String(repeating: "(", count: 10_000) + " }}", "expression longer than 512 tokens")
        assertSyntax("{{ " + Array(repeating: "'a'", count: 300).joined(separator: " ~ ") + " }}", "expression longer than 512 tokens")
    }

    func testRunawayRenderingStops() {
        let thirty = TemplateValue.list((0..<30).map { .int($0) })
        // String doubling: 2^30 bytes unless stopped.
        assertRender("{% set ns = namespace(s='x') %}{% for i in xs %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
                     ["xs": thirty], "a template value would exceed 16777216 bytes or elements")
        // List doubling.
        assertRender("{% set ns = namespace(l=[1]) %}{% for i in xs %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                     ["xs": thirty], "a template value would exceed")
        // Nested loops: 200^3 iterations.
        let many = TemplateValue.list((0..<200).map { .int($0) })
        assertRender("{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}{% endfor %}",
                     ["xs": many], "rendering took more than 1000000 steps")
        // Output: 20 copies of a 1 MiB string.
        assertRender("{% for i in xs %}{{ big }}{% endfor %}",
                     ["xs": .list((0..<20).map { .int($0) }), "big": .string(String(repeating: "a", count: 1 << 20))],
                     "the rendered prompt would exceed 16777216 bytes")
    }

    func testEverythingWithinTheBoundsRunsOnASmallStack() throws {
        let sources = [
            "{{ " + Array(repeating: "'a'", count: 255).joined(separator: " ~ ") + " }}",
            "{{ " + String(repeating: "not ", count: 31) + "true }}",
            "{{ " + String(repeating: "(", count: 31) + "1" + String(repeating: ")", count: 31) + " }}",
            String(repeating: "{% if true %}", count: 31) + "x" + String(repeating: "{% endif %}", count: 31),
            String(repeating: "{% for i in [1] %}", count: 31) + "y" + String(repeating: "{% endfor %}", count: 31),
        ]
        let expected = [String(repeating: "a", count: 255), "False", "1", "x", "y"]
        let results = Results()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            results.values = sources.map { (try? ChatTemplate($0).render([:])) ?? "error" }
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
        done.wait()
        XCTAssertEqual(results.values, expected)
    }

    /// Rendered texts handed back from the worker thread.
    private final class Results: @unchecked Sendable { var values: [String] = [] }
}
