import Foundation
import TestSupport
import VisionTokenPruning
import VLMModels
@testable import vtp_bench
import XCTest

/// `vtp-bench tokenize` and `ask` as a user runs them.
final class TextCommandTests: XCTestCase {
    private func tokenizerFolder(_ style: String) throws -> String {
        try requireTinyLlavaFixture().deletingLastPathComponent().appendingPathComponent("tokenizers/\(style)").path
    }

    func testTokenizeCheckPassesOnEachStyleAndFailsOnTheOthersCases() throws {
        for style in ["llama-sp", "llama-sp-metaspace", "byte-level"] {
            let dir = try tokenizerFolder(style)
            XCTAssertNoThrow(try BenchCommand.run(["tokenize", "--tokenizer", dir, "--check", dir + "/cases.json"]), style)
        }
        // The legacy file checked against the Metaspace cases: mismatches make the command fail (exit 1).
        XCTAssertThrowsError(try BenchCommand.run(["tokenize", "--tokenizer", try tokenizerFolder("llama-sp"),
                                                   "--check", try tokenizerFolder("llama-sp-metaspace") + "/cases.json"])) {
            guard case .failed(let m) = $0 as? BenchError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.hasSuffix("tokenizer mismatches"), m)
        }
        assertThrows(try BenchCommand.run(["tokenize", "--tokenizer", try tokenizerFolder("llama-sp")]), BenchError.self, "exactly one of --check")
    }

    func testAskRunsEndToEndAndRefusesBadInput() throws {
        let folder = try temporaryFolder()
        let image = try AssistantFixture.write(to: folder)
        XCTAssertNoThrow(try BenchCommand.run(["ask", "--model", folder.path, "--image", image.path, "--scorer", "cls",
                                               "--keep", "2", "--max-tokens", "3", "What is it?"]))
        assertThrows(try BenchCommand.run(["ask", "--model", folder.path, "--image", image.path, "--keep", "2", "Q?"]), BenchError.self, "--keep needs --scorer")
        // OneVision (ChatML, byte-level BPE) with attention-received pruning; a [CLS] scorer is refused by name.
        let oneVision = try temporaryFolder()
        let picture = try AssistantFixture.write(to: oneVision, family: .llavaOneVision)
        XCTAssertNoThrow(try BenchCommand.run(["ask", "--model", oneVision.path, "--image", picture.path, "--scorer", "received",
                                               "--keep", "6", "--max-tokens", "3", "What is it?"]))
        XCTAssertThrowsError(try BenchCommand.run(["ask", "--model", oneVision.path, "--image", picture.path, "--scorer", "cls",
                                                   "--keep", "6", "What is it?"])) {
            guard case .unsupportedModel(let scorer, _) = $0 as? PruningError else { return XCTFail("\($0)") }
            XCTAssertEqual(scorer, "cls")
        }
        assertThrows(try BenchCommand.run(["ask", "--model", folder.path, "--image", image.path]), BenchError.self, "missing the question")
        // A tokenizer.json of an unsupported model type is a typed error.
        let json = try String(contentsOf: folder.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        try json.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"Unigram\"")
            .write(to: folder.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BenchCommand.run(["ask", "--model", folder.path, "--image", image.path, "Q?"])) {
            guard case .unsupported(_, let what) = $0 as? TokenizerError, what.contains("Unigram") else { return XCTFail("\($0)") }
        }
    }

    func testAskWithoutAnImageAnswersFromAGGUFTextModel() throws {
        let folder = try temporaryFolder()
        let model = folder.appendingPathComponent("tiny.gguf")
        try TextGGUFFixture().data.write(to: model)
        XCTAssertNoThrow(try BenchCommand.run(["ask", "--model", model.path, "--max-tokens", "3", "hello"]))
        XCTAssertThrowsError(try BenchCommand.run(["ask", "--model", folder.path, "hello"])) {
            guard case .usage(let m)? = $0 as? BenchError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("needs a GGUF text model"), m)
        }
        // Pruning options need an image: an unknown option here, not silently ignored.
        XCTAssertThrowsError(try BenchCommand.run(["ask", "--model", model.path, "--scorer", "cls", "hello"])) {
            guard case .usage(let m)? = $0 as? BenchError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("--scorer"), m)
        }
    }

    func testAskWithALlavaGGUFPair() throws {
        let folder = try temporaryFolder()
        let image = folder.appendingPathComponent("picture.ppm")
        let pixels = (0..<(40 * 30 * 3)).map { UInt8(($0 * 37) % 251) }
        try PortablePixmap.encode(try RGBImage(width: 40, height: 30, pixels: pixels)).write(to: image)
        let text = tinyLlavaGGUFFixture.appendingPathComponent("text-model-f32.gguf").path
        let mmproj = tinyLlavaGGUFFixture.appendingPathComponent("mmproj-model-f32.gguf").path
        XCTAssertNoThrow(try BenchCommand.run(["ask", "--model", text, "--mmproj", mmproj, "--image", image.path,
                                               "--scorer", "cls", "--keep", "4", "--max-tokens", "3", "What is it?"]))
        XCTAssertThrowsError(try BenchCommand.run(["ask", "--model", text, "--image", image.path, "What is it?"])) {
            guard case .usage(let m)? = $0 as? BenchError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("needs --mmproj"), m)
        }
        XCTAssertThrowsError(try BenchCommand.run(["ask", "--model", folder.path, "--mmproj", mmproj, "--image", image.path, "Q?"])) {
            guard case .usage(let m)? = $0 as? BenchError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("--mmproj goes with a GGUF text model"), m)
        }
    }
}
