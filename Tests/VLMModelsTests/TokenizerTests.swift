import Foundation
import TestSupport
import VLMModels
import XCTest

/// `tokenizer.json` against the `tokenizers` library's own outputs in ../shared/fixtures/tokenizers.
final class TokenizerTests: XCTestCase {
    func folder(_ style: String) throws -> URL {
        let url = try requireTinyLlavaFixture().deletingLastPathComponent().appendingPathComponent("tokenizers/\(style)")
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("tokenizer.json").path) else {
            throw XCTSkip("../shared/fixtures/tokenizers/\(style) is absent")
        }
        return url
    }

    func testEveryCaseOfTheThreeStyles() throws {
        for style in ["llama-sp", "llama-sp-metaspace", "byte-level"] {
            let dir = try folder(style)
            let tokenizer = try Tokenizer(directory: dir)
            let cases = try TokenizerCases(url: dir.appendingPathComponent("cases.json"))
            XCTAssertGreaterThan(cases.caseCount, 70, style)
            let mismatches = cases.check(tokenizer)
            XCTAssertEqual(mismatches.count, 0, "\(style): \(mismatches.prefix(5).map(\.description).joined(separator: "\n"))")
        }
    }
}

extension TokenizerTests {
    /// The legacy and Metaspace layouts share a vocabulary but not their ids: checking one folder's cases with
    /// the other's file must fail on exactly the README's 14 differing cases.
    func testLayoutsAreNotInterchangeable() throws {
        let legacy = try Tokenizer(directory: try folder("llama-sp"))
        let cases = try TokenizerCases(url: try folder("llama-sp-metaspace").appendingPathComponent("cases.json"))
        let differing = Set(cases.check(legacy).map(\.name))
        XCTAssertEqual(differing, ["single_space", "two_spaces", "leading_space", "leading_spaces", "space_newline_space",
                                   "special_image_prompt", "special_bos_eos_text", "special_inside_word", "special_with_spaces",
                                   "special_repeated", "pad_unk_text", "chat_image_question", "chat_image_question_2",
                                   "chat_multi_turn"])
    }
}

extension TokenizerTests {
    /// Streaming emits only complete characters: the three byte tokens of "你" give nothing, nothing, then "你".
    func testStreamingHoldsBackUnfinishedCharacters() throws {
        let tokenizer = try Tokenizer(directory: try folder("llama-sp"))
        let hello = try tokenizer.encode("hello", addSpecialTokens: false)
        var stream = TextStream(tokenizer: tokenizer)
        var pieces = try hello.map { try stream.append($0) }
        pieces += try [231, 192, 163].map { try stream.append($0) }
        XCTAssertEqual(pieces.suffix(3), ["", "", "你"])
        XCTAssertEqual(Array(pieces.joined().utf8), Array(try tokenizer.decode(hello + [231, 192, 163], skipSpecialTokens: true).utf8))
        // An unfinished character at the end comes out as U+FFFD when the stream is finished.
        var cut = TextStream(tokenizer: tokenizer)
        XCTAssertEqual(try cut.append(231), "")
        XCTAssertEqual(try cut.finish(), "\u{FFFD}")
    }
}
