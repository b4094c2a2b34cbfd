import Foundation
import TestSupport
import VLMModels
import XCTest

/// Replays every input a fuzz target once crashed on (kept in FuzzRegressions/<target>/): each must now be
/// parsed or refused with a typed error, exactly as the fuzz target exercises it.
final class FuzzRegressionTests: XCTestCase {
    private func inputs(_ target: String) throws -> [(name: String, data: Data)] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzRegressions/\(target)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) }
    }

    /// A Strip decoder with a negative start made decoding trap on a negative range.
    func testTokenizerInputs() throws {
        let cases = try inputs("FuzzTokenizer")
        XCTAssertFalse(cases.isEmpty)
        for (name, data) in cases {
            do {
                let tokenizer = try Tokenizer(data: data)
                for text in ["", " hello  world\n", "<image>\nWhat?", String(decoding: data.prefix(256), as: UTF8.self)] {
                    guard let ids = try? tokenizer.encode(text) else { continue }
                    _ = try? tokenizer.decode(ids, skipSpecialTokens: false)
                    _ = try? tokenizer.decode(ids, skipSpecialTokens: true)
                }
            } catch {
                XCTAssertTrue(error is TokenizerError, "\(name): \(error)")
            }
        }
    }

    /// A for loop over repeated (empty) variable names trapped on a duplicate dictionary key.
    func testChatTemplateInputs() throws {
        let cases = try inputs("FuzzChatTemplate")
        XCTAssertFalse(cases.isEmpty)
        for (name, data) in cases {
            do {
                let template = try ChatTemplate(String(decoding: data, as: UTF8.self))
                _ = try? template.render(messages: [.userQuestion("What is this?")], addGenerationPrompt: true)
            } catch {
                XCTAssertTrue(error is ChatTemplateError, "\(name): \(error)")
            }
        }
        assertThrows(try ChatTemplate("{% for a, a in x %}{% endfor %}"), ChatTemplateError.self, "for loop variables must be distinct names")
    }
}
