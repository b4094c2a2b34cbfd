import Foundation
@testable import VLMModels
import XCTest

/// Tokenizer work is bounded and tokenizer.json is read strictly: normalizers cannot grow text without limit,
/// added tokens are matched through a trie, encoding stops at a model's context, and repeated keys or bytes that
/// are not UTF-8 are typed errors.
final class TokenizerBoundsTests: XCTestCase {
    /// A byte-level-free BPE tokenizer.json over single characters with `normalizer` and `added` tokens.
    private func tokenizer(normalizer: String = "null", added: [String] = [], extra: String = "") throws -> Tokenizer {
        let letters = (Array("abcdefghijklmnopqrstuvwxyz <>▁") + ["é"]).map(String.init)
        var vocab = letters.enumerated().map { "\"\($1)\": \($0)" }
        let addedJSON = added.enumerated().map { i, content -> String in
            vocab.append("\"\(content)\": \(letters.count + i)")
            return "{\"id\": \(letters.count + i), \"content\": \"\(content)\", \"special\": true}"
        }
        let json = """
            {"normalizer": \(normalizer), "pre_tokenizer": null, "post_processor": null, "decoder": null,
             "added_tokens": [\(addedJSON.joined(separator: ","))]\(extra),
             "model": {"type": "BPE", "vocab": {\(vocab.joined(separator: ","))}, "merges": []}}
            """
        return try Tokenizer(data: Data(json.utf8), path: "t.json")
    }

    private func assertGrowth(_ tokenizer: Tokenizer, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try tokenizer.encode(text), file: file, line: line) { error in
            guard case let .normalizationGrowth(from, to, bound)? = error as? TokenizerError else {
                return XCTFail("\(error)", file: file, line: line)
            }
            XCTAssertGreaterThan(to, bound, file: file, line: line)
            XCTAssertEqual(bound, Tokenizer.maximumNormalizedGrowth * from + 64, file: file, line: line)
        }
    }

    func testNormalizersCannotGrowTextWithoutLimit() throws {
        let long = String(repeating: "x", count: 1000)
        assertGrowth(try tokenizer(normalizer: #"{"type": "Replace", "pattern": {"String": " "}, "content": "\#(long)"}"#),
                     String(repeating: " ", count: 10_000))
        assertGrowth(try tokenizer(normalizer: #"{"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": "\#(long)"}"#),
                     String(repeating: "a b", count: 1000))
        assertGrowth(try tokenizer(normalizer: #"{"type": "Prepend", "prepend": "\#(long)"}"#), "ab")
        // Chained replacements that double the text each time stop at the first step beyond the bound.
        let doubling = (0..<30).map { _ in #"{"type": "Replace", "pattern": {"String": "x"}, "content": "xx"}"# }.joined(separator: ",")
        assertGrowth(try tokenizer(normalizer: #"{"type": "Sequence", "normalizers": [\#(doubling)]}"#), "xxxx")
        // Within the bound, normalizers work as before.
        let space = try tokenizer(normalizer: #"{"type": "Replace", "pattern": {"String": " "}, "content": "▁"}"#)
        XCTAssertEqual(try space.encode("a b"), try space.encode("a▁b"))
    }

    func testEncodingStopsAtTheContext() throws {
        let t = try tokenizer()
        XCTAssertEqual(try t.encode("abc", maximumTokens: 3), [0, 1, 2])
        for (text, limit) in [("abcd", 3), (String(repeating: "ab", count: 100_000), 10), ("<>", 1)] {
            XCTAssertThrowsError(try t.encode(text, maximumTokens: limit)) {
                XCTAssertEqual($0 as? TokenizerError, .tooManyTokens(limit: limit))
            }
        }
    }

    func testAddedTokensMatchLeftmostLongestLikeALinearScan() throws {
        // Prefixes of one another, so the longest match matters; compared with a naive leftmost-longest scan.
        let added = ["<a>", "<a><b>", "<a><b><c>", "<b>", "ab", "abc", "é<x>"]
        let t = try tokenizer(added: added)
        let texts = ["<a><b><c>", "<a><b>c", "x<a><b", "abcab", "ééé<x><b><a>", "<<a>>", "aab<b><a><b><c><a>"]
        for text in texts {
            var expected: [Int] = [], i = 0
            let scalars = Array(text.unicodeScalars)
            while i < scalars.count {
                let best = added.enumerated().filter { Array($0.element.unicodeScalars).elementsEqual(scalars[i..<min(scalars.count, i + $0.element.unicodeScalars.count)]) }
                    .max { $0.element.unicodeScalars.count < $1.element.unicodeScalars.count }
                if let best {
                    expected.append(31 + best.offset)
                    i += best.element.unicodeScalars.count
                } else {
                    expected.append(try XCTUnwrap(t.id(of: String(scalars[i]))))
                    i += 1
                }
            }
            XCTAssertEqual(try t.encode(text), expected, text)
        }
    }

    func testRepeatedKeysAndInvalidUTF8AreRefused() throws {
        for (extra, fragment) in [(#", "normalizer": null"#, "key 'normalizer' appears more than once")] {
            XCTAssertThrowsError(try tokenizer(extra: extra)) {
                guard case .malformed("t.json", let reason)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
                XCTAssertTrue(reason.contains(fragment), reason)
            }
        }
        let nested = #"{"model": {"type": "BPE", "type": "BPE", "vocab": {}, "merges": []}}"#
        XCTAssertThrowsError(try Tokenizer(data: Data(nested.utf8), path: "n.json")) {
            XCTAssertEqual($0 as? TokenizerError, .malformed(path: "n.json", reason: "key 'model.type' appears more than once"))
        }
        var bytes = Array(#"{"model": {"type": "BPE", "vocab": {"a": 0, "X": 1}, "merges": []}}"#.utf8)
        bytes[bytes.firstIndex(of: UInt8(ascii: "X"))!] = 0xFF
        XCTAssertThrowsError(try Tokenizer(data: Data(bytes), path: "u.json")) {
            guard case .malformed("u.json", let reason)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("string is not valid UTF-8"), reason)
        }
        // Overlong encodings and lone surrogates written as bytes are not UTF-8 either.
        for bad in [[0xC0, 0xAF], [0xED, 0xA0, 0x80]] as [[UInt8]] {
            let json = Array(#"{"a": ""#.utf8) + bad + Array(#""}"#.utf8)
            XCTAssertThrowsError(try JSONValue.parse(Data(json))) {
                guard case .invalidInput(let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
                XCTAssertTrue(reason.contains("not valid UTF-8"), reason)
            }
        }
    }

    /// A member of the wrong kind is refused with its path, where it used to fall back to a default
    /// (`"byte_fallback": "yes"` read as false); `tokenizers` refuses each of these too.
    func testMembersOfTheWrongKindAreRefused() throws {
        func assertKind(_ json: String, _ reason: String, line: UInt = #line) {
            XCTAssertThrowsError(try Tokenizer(data: Data(json.utf8), path: "k.json"), line: line) {
                XCTAssertEqual($0 as? TokenizerError, .malformed(path: "k.json", reason: reason), line: line)
            }
        }
        let model = #""model": {"type": "BPE", "vocab": {"a": 0}, "merges": []"#
        assertKind(#"{\#(model), "byte_fallback": "yes"}}"#, "model.byte_fallback: expected boolean, got string")
        assertKind(#"{\#(model), "unk_token": 0}}"#, "model.unk_token: expected null or string, got number")
        assertKind(#"{\#(model)}, "added_tokens": [{"id": 0, "content": "a", "special": 1}]}"#,
                   "added_tokens.0.special: expected boolean, got number")
        assertKind(#"{\#(model)}, "normalizer": "NFC"}"#, "normalizer: expected null or object, got string")
        assertKind(#"{\#(model)}, "decoder": {"type": "Strip", "content": " ", "start": "1", "stop": 0}}"#,
                   "decoder.start: expected number, got string")
        assertKind(#"{\#(model)}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": {}}}"#,
                   "pre_tokenizer.pretokenizers: expected array, got object")
        // Tokens are names, not keys: a vocabulary may hold "ids" or "type", a template's special tokens too.
        XCTAssertNoThrow(try Tokenizer(data: Data(#"{"model": {"type": "BPE", "vocab": {"ids": 0, "type": 1}, "merges": []}, "post_processor": {"type": "TemplateProcessing", "single": [], "pair": [], "special_tokens": {"type": {"id": "type", "ids": [1], "tokens": ["type"]}}}}"#.utf8)))
        assertKind(#"{\#(model)}, "post_processor": {"type": "TemplateProcessing", "single": [], "pair": [], "special_tokens": {"type": {"id": "type", "ids": 1, "tokens": ["type"]}}}}"#,
                   "post_processor.special_tokens.type.ids: expected array, got number")
        // The same document with each value of its right kind is read.
        XCTAssertNoThrow(try Tokenizer(data: Data(#"{\#(model), "byte_fallback": false, "unk_token": null}, "added_tokens": [{"id": 0, "content": "a", "special": true}]}"#.utf8)))
    }
}
