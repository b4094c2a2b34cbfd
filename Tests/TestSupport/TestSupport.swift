import Foundation
import TensorCore
import VLMModels
import XCTest


/// A tensor of uniform values in `range`.
public func randomTensor(_ shape: Shape, seed: UInt64, range: ClosedRange<Float> = -1...1) -> Tensor {
    var g = SplitMix64(seed: seed)
    return try! Tensor(shape: shape, scalars: (0..<shape.count).map { _ in Float.random(in: range, using: &g) })
}

/// Asserts elementwise |actual − expected| <= atol + rtol·|expected|.
public func assertClose(
    _ actual: [Float], _ expected: [Double], atol: Double, rtol: Double = 0,
    _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
    var worst = 0.0, worstIndex = -1
    for i in 0..<min(actual.count, expected.count) {
        let excess = abs(Double(actual[i]) - expected[i]) - (atol + rtol * abs(expected[i]))
        if excess > worst || actual[i].isNaN { worst = actual[i].isNaN ? .infinity : excess; worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(message): element \(worstIndex) is \(actual[worstIndex]), expected \(expected[worstIndex])",
                file: file, line: line)
    }
}

/// The odd sizes every kernel is checked on: non-multiples of the SIMD width included.
public let oddSizes = [1, 3, 17, 65, 577]

/// The shared fixture folder `../shared/fixtures/tiny-llava` beside the package, or nil when it is absent.
public let tinyLlavaFixture: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let url = root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/tiny-llava")
    return FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) ? url : nil
}()

/// The fixture folder, or an `XCTSkip` saying it is absent.
public func requireTinyLlavaFixture() throws -> URL {
    guard let url = tinyLlavaFixture else {
        throw XCTSkip("../shared/fixtures/tiny-llava is absent: fixture parity tests need the shared folder beside the package")
    }
    return url
}

/// The shared LLaVA-NeXT fixture folder `../shared/fixtures/tiny-llava-next`, or nil when it is absent.
public let tinyLlavaNextFixture: URL? = tinyLlavaFixture.map {
    $0.deletingLastPathComponent().appendingPathComponent("tiny-llava-next")
}.flatMap { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) ? $0 : nil }

/// The LLaVA-NeXT fixture folder, or an `XCTSkip` saying it is absent.
public func requireTinyLlavaNextFixture() throws -> URL {
    guard let url = tinyLlavaNextFixture else {
        throw XCTSkip("../shared/fixtures/tiny-llava-next is absent: LLaVA-NeXT parity tests need the shared folder beside the package")
    }
    return url
}

/// The shared fixture folder `../shared/fixtures/NAME` (with a `config.json` or a `tokenizer.json`), or an
/// `XCTSkip` naming it when it is absent.
public func requireFixture(_ name: String) throws -> URL {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let url = root.appendingPathComponent("shared/fixtures/\(name)")
    let marker = ["config.json", "tokenizer.json"].contains { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) }
    guard marker else {
        throw XCTSkip("../shared/fixtures/\(name) is absent: its tests need the shared folder beside the package")
    }
    return url
}

/// Asserts two float arrays agree within `atol` (for fixture comparisons).
public func assertClose(
    _ actual: [Float], _ expected: [Float], atol: Double, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    assertClose(actual, expected.map(Double.init), atol: atol, message, file: file, line: line)
}

/// A minimal LLaVA configuration (1 vision layer of width 8 on 8x8 images, 2 decoder layers, vocabulary 23,
/// image token 22) for tests that write and load whole checkpoints.
public let minimalLlavaConfiguration = LlavaConfiguration(
    vision: VisionTowerConfiguration(hiddenSize: 8, intermediateSize: 16, layerCount: 1, headCount: 2,
                                     imageSize: 8, patchSize: 4),
    text: LlamaConfiguration(vocabularySize: 23, hiddenSize: 8, intermediateSize: 12, layerCount: 2, headCount: 2),
    imageTokenId: 22)

extension XCTestCase {
    /// A new empty folder in the temporary directory, removed when the test ends.
    public func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vtp-test-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// The repository's own tiny CLIP fixture, `Tests/Fixtures/tiny-clip` (made by `Tests/Fixtures/make_tiny_clip.py`).
public let tinyClipFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tiny-clip")

/// The repository's GGUF pair fixture, `Tests/Fixtures/tiny-llava-gguf` (made by `Tests/Fixtures/make_tiny_llava_gguf.py`
/// with llama.cpp's own converters): `source/` (a generated llava-hf checkpoint), `text-model-f32.gguf`, `mmproj-model-f32.gguf`.
public let tinyLlavaGGUFFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tiny-llava-gguf")

/// Asserts that `body` throws an error of type `E` whose description contains `fragment`: the typed error
/// and the words a user would read, not merely that something was thrown.
public func assertThrows<E: Error>(
    _ body: @autoclosure () throws -> some Any, _ type: E.Type, _ fragment: String, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try body(), message, file: file, line: line) { error in
        guard error is E else {
            return XCTFail("\(message) expected \(E.self), got \(Swift.type(of: error)): \(error)", file: file, line: line)
        }
        XCTAssertTrue("\(error)".contains(fragment), "\(message) '\(error)' lacks '\(fragment)'", file: file, line: line)
    }
}

/// The values `WeightPrecision.int4` stores for `values` (rows of `inputs`), written from its documented
/// scheme without the library: per row, groups of 32 inputs, scale = IEEE half of max|w| / 7,
/// q = round-half-even(w / scale) clamped to ±7, value q · scale (zero for a zero scale).
public func referenceInt4(_ values: [Float], inputs k: Int) -> [Float] {
    var out = [Float](repeating: 0, count: values.count)
    for row in stride(from: 0, to: values.count, by: max(1, k)) {
        for start in stride(from: row, to: row + k, by: 32) {
            let group = start..<min(row + k, start + 32)
            let scale = Float(Float16((values[group].map(abs).max() ?? 0) / 7))
            guard scale > 0 else { continue }
            for i in group { out[i] = max(-7, min(7, (values[i] / scale).rounded(.toNearestOrEven))) * scale }
        }
    }
    return out
}

