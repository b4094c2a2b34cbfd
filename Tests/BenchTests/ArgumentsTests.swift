import Foundation
import TestSupport
@testable import vtp_bench
import XCTest

/// The benchmark's command-line reader and output checks, on hand-made argument lists.
final class ArgumentsTests: XCTestCase {
    func testValuesFlagsAndLeftovers() throws {
        var args = Arguments(["--model", "m", "--sweep", "--reps", "3", "--eta", "0.5"])
        XCTAssertEqual(try args.value("--model"), "m")
        XCTAssertTrue(try args.flag("--sweep"))
        XCTAssertFalse(try args.flag("--json"))
        XCTAssertEqual(try args.integer("--reps"), 3)
        XCTAssertEqual(try args.number("--eta"), 0.5)
        XCTAssertNil(try args.value("--dump"))
        XCTAssertNoThrow(try args.finish())
    }

    func testMalformedRepeatedAndUnknownOptionsAreErrors() {
        var missing = Arguments(["--model"])
        XCTAssertThrowsError(try missing.value("--model")) { XCTAssertTrue("\($0)".contains("--model needs a value")) }
        var notInteger = Arguments(["--reps", "three"])
        XCTAssertThrowsError(try notInteger.integer("--reps")) { XCTAssertTrue("\($0)".contains("'three'")) }
        var repeated = Arguments(["--keep", "4", "--keep", "8"])
        XCTAssertThrowsError(try repeated.value("--keep")) { XCTAssertEqual("\($0)", "--keep is given more than once") }
        var repeatedFlag = Arguments(["--quick", "--quick"])
        XCTAssertThrowsError(try repeatedFlag.flag("--quick")) { XCTAssertEqual("\($0)", "--quick is given more than once") }
        let leftover = Arguments(["--bogus"])
        XCTAssertThrowsError(try leftover.finish()) { XCTAssertTrue("\($0)".contains("--bogus")) }
    }

    /// Outputs are refused before work when they would overwrite an input or their folder is missing.
    func testOutputFileRefusesInputsAndMissingFolders() throws {
        let folder = try temporaryFolder()
        let model = folder.appendingPathComponent("model"), data = folder.appendingPathComponent("data.safetensors")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] { try Data("x".utf8).write(to: model.appendingPathComponent(name)) }
        try Data("d".utf8).write(to: data)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("alias").path, withDestinationPath: data.path)
        for bad in [data.path, model.appendingPathComponent("config.json").path, folder.appendingPathComponent("alias").path,
                    model.path, folder.appendingPathComponent("absent/out.svg").path] {
            XCTAssertThrowsError(try OutputFile(bad, flag: "--dump", inputs: [data], modelFolder: model), bad) {
                XCTAssertTrue("\($0)".hasPrefix("--dump "), "\($0)")
            }
        }
        // Anywhere inside the model folder, shards in subfolders included.
        let shards = model.appendingPathComponent("shards")
        try FileManager.default.createDirectory(at: shards, withIntermediateDirectories: true)
        for inside in [shards.appendingPathComponent("model-00001.safetensors").path, model.appendingPathComponent("new.svg").path] {
            XCTAssertThrowsError(try OutputFile(inside, flag: "--svg", inputs: [], modelFolder: model), inside) {
                XCTAssertTrue("\($0)".contains("is inside the model folder"), "\($0)")
            }
        }
        // A write that fails (here: its folder vanished after the check) is a typed error naming the option and path.
        let gone = folder.appendingPathComponent("gone")
        try FileManager.default.createDirectory(at: gone, withIntermediateDirectories: true)
        let late = try OutputFile(gone.appendingPathComponent("x.svg").path, flag: "--svg", inputs: [], modelFolder: nil)
        try FileManager.default.removeItem(at: gone)
        XCTAssertThrowsError(try late.write(Data("x".utf8))) {
            guard case .failed(let message)? = $0 as? BenchError else { return XCTFail("\($0)") }
            XCTAssertEqual(message, "--svg: cannot write \(gone.path)/x.svg: No such file or directory")
        }
        let good = try OutputFile(folder.appendingPathComponent("out.svg").path, flag: "--svg", inputs: [data], modelFolder: model)
        try good.write(Data("<svg/>".utf8))
        XCTAssertEqual(try String(contentsOf: good.url, encoding: .utf8), "<svg/>")
        XCTAssertEqual(try Data(contentsOf: data), Data("d".utf8))
    }

    /// `--help` / `-h` give each command's own lines and the common options; the tool's gives everything.
    func testHelpPerCommand() {
        let eval = BenchCommand.help(for: "eval")
        XCTAssertTrue(eval.hasPrefix("usage: vtp-bench eval"), eval)
        XCTAssertTrue(eval.contains("--kv-budget") && eval.contains("common options"), eval)
        XCTAssertFalse(eval.contains("--checkpoint"), "e2e's options stay out of eval's help")
        XCTAssertTrue(BenchCommand.help(for: "e2e").contains("--checkpoint"))
        XCTAssertEqual(BenchCommand.help(for: ""), BenchCommand.usage)
        XCTAssertEqual(BenchCommand.help(for: "nonsense"), BenchCommand.usage)
        XCTAssertNoThrow(try BenchCommand.run(["eval", "-h"]))
        XCTAssertNoThrow(try BenchCommand.run(["--help"]))
    }

    /// Options that would do nothing are refused before any file is read (the paths here do not exist).
    func testOptionsThatWouldDoNothingAreRefusedFirst() {
        let cases: [([String], String)] = [
            (["ask", "--json", "--model", "/absent/m.gguf", "q"], "--json does not apply to ask"),
            (["show", "--json", "--model", "/absent", "--image", "/absent.ppm", "--keep", "4", "--svg", "/tmp/x.svg"], "--json does not apply to show"),
            (["eval", "--model", "/absent", "--data", "/absent.safetensors", "--scorer", "none", "--keep", "4"], "--keep does not apply to --scorer none"),
            (["show", "--model", "/absent", "--image", "/absent.ppm", "--keep", "4", "--svg", "/tmp/x.svg", "--scorers", ""], "an empty name"),
            (["show", "--model", "/absent", "--image", "/absent.ppm", "--keep", "4", "--svg", "/tmp/x.svg", "--scorers", "cls,"], "an empty name"),
        ]
        for (arguments, fragment) in cases {
            XCTAssertThrowsError(try BenchCommand.run(arguments), arguments.joined(separator: " ")) {
                guard case .usage(let message)? = $0 as? BenchError else { return XCTFail("\($0)") }
                XCTAssertTrue(message.contains(fragment), message)
            }
        }
    }
}
