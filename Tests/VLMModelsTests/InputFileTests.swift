import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files named by users: non-regular files are errors (never a block), and a checkpoint index cannot reach
/// outside its folder.
final class InputFileTests: XCTestCase {
    private let configuration = minimalLlavaConfiguration

    private func assertUnreadable(_ body: @autoclosure () throws -> some Any, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { error in
            guard case .fileUnreadable? = error as? ModelError else { return XCTFail("\(what): \(error)", file: file, line: line) }
        }
    }

    /// A FIFO, a folder and a dangling symbolic link in place of each kind of input file: typed errors at once.
    func testNonRegularFilesAreRefusedWithoutBlocking() throws {
        let dir = try temporaryFolder()
        try GeneratedCheckpoint.write(configuration: configuration, to: dir, dtype: .f32)
        let weights = dir.appendingPathComponent("model.safetensors")
        for kind in ["fifo", "folder", "dangling link"] {
            for name in ["config.json", "model.safetensors", "generation_config.json", "preprocessor_config.json"] {
                let url = dir.appendingPathComponent(name)
                let saved = dir.appendingPathComponent(name + ".saved")
                let had = FileManager.default.fileExists(atPath: url.path)
                if had { try FileManager.default.moveItem(at: url, to: saved) }
                switch kind {
                case "fifo": XCTAssertEqual(mkfifo(url.path, 0o600), 0)
                case "folder": try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
                default: try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: dir.path + "/absent")
                }
                if name == "preprocessor_config.json" {
                    assertUnreadable(try CLIPImageProcessor(directory: dir, defaultSize: 8), "\(kind) \(name)")
                } else {
                    assertUnreadable(try LlavaModel(directory: dir), "\(kind) \(name)")
                }
                try FileManager.default.removeItem(at: url)
                if had { try FileManager.default.moveItem(at: saved, to: url) }
            }
        }
        XCTAssertNoThrow(try LlavaModel(directory: dir))
        let fifo = dir.appendingPathComponent("image.ppm")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        assertUnreadable(try PortablePixmap.read(fifo), "fifo image")
        assertUnreadable(try SafetensorsFile(url: fifo), "fifo safetensors")
        assertUnreadable(try RegularFile.read(weights, limit: 100), "file above the size limit")
    }

    /// Writes replace a regular file whole or fail with a typed error naming the path, leaving what was there
    /// (and no temporary file) behind: a missing folder, a FIFO, a folder, and a read-only folder.
    func testWritesAreWholeOrTypedErrors() throws {
        let dir = try temporaryFolder()
        let target = dir.appendingPathComponent("out.bin")
        try RegularFile.write(Data("first".utf8), to: target)
        try RegularFile.write(Data("second".utf8), to: target)
        XCTAssertEqual(try RegularFile.read(target), Data("second".utf8))
        func assertUnwritable(_ url: URL, _ reason: String, line: UInt = #line) {
            XCTAssertThrowsError(try RegularFile.write(Data("x".utf8), to: url), line: line) {
                XCTAssertEqual($0 as? ModelError, .fileUnwritable(path: url.path, reason: reason), line: line)
            }
        }
        assertUnwritable(dir.appendingPathComponent("absent/out.bin"), "No such file or directory")
        let fifo = dir.appendingPathComponent("pipe")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let notAFile = "something other than a regular file is there (a folder, link, FIFO, socket or device)"
        assertUnwritable(fifo, notAFile)
        assertUnwritable(dir, notAFile)
        if getuid() != 0 {  // root ignores folder permissions
            XCTAssertEqual(chmod(dir.path, 0o500), 0)
            assertUnwritable(target, "Permission denied")
            XCTAssertEqual(chmod(dir.path, 0o700), 0)
        }
        XCTAssertEqual(try RegularFile.read(target), Data("second".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["out.bin", "pipe"])
    }

    /// Index entries that leave the folder (absolute, `..`, a symbolic link to elsewhere) are refused; two
    /// spellings of one shard are one shard.
    func testCheckpointIndexIsConfinedToItsFolder() throws {
        let outside = try temporaryFolder()
        let dir = try temporaryFolder()
        try GeneratedCheckpoint.write(configuration: configuration, to: dir, dtype: .f32, maxShardBytes: 2000)
        let indexURL = dir.appendingPathComponent("model.safetensors.index.json")
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: indexURL)) as! [String: Any]
        let map = original["weight_map"] as! [String: String]
        let (victim, shard) = map.min { $0.key < $1.key }!
        try FileManager.default.copyItem(at: dir.appendingPathComponent(shard), to: outside.appendingPathComponent(shard))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link.safetensors").path,
                                                   withDestinationPath: outside.appendingPathComponent(shard).path)
        func write(_ map: [String: String]) throws {
            try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(to: indexURL)
        }
        for bad in [outside.appendingPathComponent(shard).path, "../\(outside.lastPathComponent)/\(shard)", "link.safetensors"] {
            var edited = map
            for (name, file) in map where file == shard { edited[name] = bad }
            try write(edited)
            XCTAssertThrowsError(try LlavaModel(directory: dir), bad) { error in
                guard case let .invalidConfiguration(path, reason)? = error as? ModelError else { return XCTFail("\(error)") }
                XCTAssertTrue(path.hasSuffix("model.safetensors.index.json") && reason.contains("weight_map"), reason)
            }
        }
        var respelled = map
        respelled[victim] = "./" + shard
        try write(respelled)
        XCTAssertNoThrow(try LlavaModel(directory: dir), "./\(shard) and \(shard) are one shard")
    }
}

/// The checkpoint writer writes only into folders it owns.
final class GeneratedCheckpointFolderTests: XCTestCase {
    private let configuration = LlavaConfiguration(
        vision: VisionTowerConfiguration(hiddenSize: 8, intermediateSize: 8, layerCount: 1, headCount: 2, imageSize: 28, patchSize: 14),
        text: LlamaConfiguration(vocabularySize: 16, hiddenSize: 8, intermediateSize: 8, layerCount: 1, headCount: 2), imageTokenId: 15)

    func testForeignFoldersAreRefusedBeforeAnythingIsWritten() throws {
        let foreign = try temporaryFolder()
        try Data("keep me".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        XCTAssertThrowsError(try GeneratedCheckpoint.write(configuration: configuration, to: foreign, dtype: .f32)) {
            guard case .invalidInput(let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("holds other files (notes.txt) and no .vtp-generated-checkpoint"), reason)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: foreign.path), ["notes.txt"])
        XCTAssertEqual(try Data(contentsOf: foreign.appendingPathComponent("notes.txt")), Data("keep me".utf8))
        // A file where the folder should be.
        XCTAssertThrowsError(try GeneratedCheckpoint.write(configuration: configuration, to: foreign.appendingPathComponent("notes.txt"))) {
            guard case .invalidInput(let reason)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("is a file"), reason)
        }
    }

    func testNewEmptyAndEarlierGeneratedFoldersAreWritten() throws {
        let empty = try temporaryFolder()
        try GeneratedCheckpoint.write(configuration: configuration, to: empty, dtype: .f32, seed: 1)
        XCTAssertTrue(GeneratedCheckpoint.isGenerated(empty))
        let first = try Data(contentsOf: empty.appendingPathComponent("model.safetensors"))
        try GeneratedCheckpoint.write(configuration: configuration, to: empty, dtype: .f32, seed: 2)  // over its own
        XCTAssertNotEqual(try Data(contentsOf: empty.appendingPathComponent("model.safetensors")), first)
        let new = empty.appendingPathComponent("nested/new")
        try GeneratedCheckpoint.write(configuration: configuration, to: new, dtype: .bf16)
        XCTAssertNoThrow(try LlavaModel(directory: new))
    }
}

/// A checkpoint index that names no tensor says so, naming the index.
final class EmptyIndexTests: XCTestCase {
    func testAnEmptyWeightMapIsNamed() throws {
        let folder = try temporaryFolder()
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        try Data(#"{"weight_map": {}}"#.utf8).write(to: index)
        XCTAssertThrowsError(try SafetensorsCheckpoint(directory: folder)) {
            XCTAssertEqual($0 as? ModelError, .invalidConfiguration(path: index.path, reason: "weight_map is empty: the index names no tensor"))
        }
    }
}
