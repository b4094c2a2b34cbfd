import Foundation
import TensorCore
import XCTest

/// A small deterministic generator (SplitMix64) so every test run sees the same inputs.
public struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A tensor of uniform values in `range`.
public func randomTensor(_ shape: Shape, seed: UInt64, range: ClosedRange<Float> = -1...1) -> Tensor {
    var g = SeededGenerator(seed: seed)
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

/// Asserts two float arrays agree within `atol` (for fixture comparisons).
public func assertClose(
    _ actual: [Float], _ expected: [Float], atol: Double, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    assertClose(actual, expected.map(Double.init), atol: atol, message, file: file, line: line)
}
