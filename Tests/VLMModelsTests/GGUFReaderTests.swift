import Foundation
import TestSupport
@testable import VLMModels
import XCTest

/// The GGUF container: metadata of every value type, alignment, tensor infos, and every malformed file a typed
/// `ModelError.malformedGGUF` naming the problem.
final class GGUFReaderTests: XCTestCase {
    func testMetadataOfEveryValueType() throws {
        var b = GGUFBuilder()
        b.metadata = [
            ("u8", .u8(200)), ("i8", .i8(-100)), ("u16", .u16(60000)), ("i16", .i16(-30000)), ("u32", .u32(4_000_000_000)),
            ("i32", .i32(-2_000_000_000)), ("f32", .f32(1.5)), ("bool", .bool(true)), ("string", .string("héllo ✓")),
            ("u64", .u64(UInt64.max)), ("i64", .i64(Int64.min)), ("f64", .f64(-0.125)),
            ("strings", .strings(["a", "", "ü"])), ("nested", .array(9, [.array(5, [.i32(1), .i32(-2)]), .array(5, [])])),
        ]
        b.version = 2
        let file = try GGUFFile(data: b.data)
        XCTAssertEqual(file.version, 2)
        XCTAssertEqual(file.metadataKeys, b.metadata.map(\.0))
        let m = file.metadata
        XCTAssertEqual(m["u8"], .unsigned(200, bits: 8))
        XCTAssertEqual(m["i8"], .signed(-100, bits: 8))
        XCTAssertEqual(m["u16"], .unsigned(60000, bits: 16))
        XCTAssertEqual(m["i16"], .signed(-30000, bits: 16))
        XCTAssertEqual(m["u32"], .unsigned(4_000_000_000, bits: 32))
        XCTAssertEqual(m["i32"], .signed(-2_000_000_000, bits: 32))
        XCTAssertEqual(m["f32"], .float(1.5, bits: 32))
        XCTAssertEqual(m["bool"], .bool(true))
        XCTAssertEqual(m["string"], .string("héllo ✓"))
        XCTAssertEqual(m["u64"], .unsigned(UInt64.max, bits: 64))
        XCTAssertNil(m["u64"]?.integer, "UInt64.max does not fit an Int")
        XCTAssertEqual(m["i64"], .signed(Int64.min, bits: 64))
        XCTAssertEqual(m["f64"], .float(-0.125, bits: 64))
        XCTAssertEqual(m["strings"], .array(elementType: 8, [.string("a"), .string(""), .string("ü")]))
        XCTAssertEqual(m["nested"]?.array?.first?.array?.compactMap(\.integer), [1, -2])
        XCTAssertEqual(m["nested"]?.typeName, "ARRAY[ARRAY]")
    }

    func testAlignmentAndTensorPlacement() throws {
        var b = GGUFBuilder()
        b.metadata = [("general.alignment", .u32(64))]
        b.alignment = 64
        b.addF32("a", dimensions: [3], values: [1, 2, 3])
        b.addF32("b", dimensions: [2, 2], values: [4, 5, 6, 7])
        let file = try GGUFFile(data: b.data)
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(try file.info("b").offset, 64)
        XCTAssertEqual(try file.floatTensor("a").scalars, [1, 2, 3])
        XCTAssertEqual(try file.floatTensor("b").shape, [2, 2])
        XCTAssertEqual(try file.floatTensor("b").scalars, [4, 5, 6, 7])
        XCTAssertEqual(file.tensorNames, ["a", "b"])
    }

    /// Asserts that `data` is refused as a malformed GGUF whose reason contains `fragment`.
    private func assertMalformed(_ data: Data, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try GGUFFile(data: data, label: "bad.gguf"), file: file, line: line) { error in
            guard case let ModelError.malformedGGUF(path, reason) = error else {
                return XCTFail("expected malformedGGUF, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(path, "bad.gguf", file: file, line: line)
            XCTAssertTrue(reason.contains(fragment), "'\(reason)' does not say '\(fragment)'", file: file, line: line)
        }
    }

    private var valid: GGUFBuilder {
        var b = GGUFBuilder()
        b.metadata = [("general.architecture", .string("llama")), ("names", .strings(["x", "y"]))]
        b.addF32("a", dimensions: [4], values: [1, 2, 3, 4])
        b.addF32("b", dimensions: [4, 2], values: Array(repeating: 1, count: 8))
        return b
    }

    func testTruncatedFilesAreRefused() throws {
        let bytes = valid.bytes()
        XCTAssertNoThrow(try GGUFFile(data: Data(bytes)))
        for length in [0, 10, 23, 30, 60, 100, bytes.count - 200, bytes.count - 1] {
            XCTAssertThrowsError(try GGUFFile(data: Data(bytes.prefix(length)))) { error in
                guard case ModelError.malformedGGUF = error else { return XCTFail("length \(length): \(error)") }
            }
        }
        assertMalformed(Data(bytes.prefix(bytes.count - 1)), "runs past the end")
        assertMalformed(Data(bytes.prefix(12)), "shorter than the 24-byte GGUF header")
    }

    func testHeaderErrors() {
        var b = valid
        b.magic = Array("GGML".utf8)
        assertMalformed(b.data, "no GGUF magic")
        b = valid
        b.version = 1
        assertMalformed(b.data, "version 1 is not supported")
        b = valid
        b.declaredKeyCount = UInt64.max
        assertMalformed(b.data, "metadata entries cannot fit")
        b = valid
        b.declaredTensorCount = 1 << 40
        assertMalformed(b.data, "tensor infos cannot fit")
    }

    func testMetadataErrors() {
        var b = valid
        b.metadata.append(("general.architecture", .string("gpt2")))
        assertMalformed(b.data, "metadata key 'general.architecture' appears more than once")
        b = valid
        b.metadata.append(("huge", .array(8, [], count: UInt64.max / 2)))
        assertMalformed(b.data, "more than the")
        b = valid
        b.metadata.append(("huge", .array(4, [], count: 1 << 40)))
        assertMalformed(b.data, "elements, more than the")
        b = valid
        b.metadata.append(("bad", GGUFBuilder.Value(type: 13, bytes: [])))
        assertMalformed(b.data, "unknown type 13")
        b = valid
        b.metadata.append(("bad", .array(77, [])))
        assertMalformed(b.data, "unknown element type 77")
        b = valid
        b.metadata.append(("bad", GGUFBuilder.Value(type: 8, bytes: le(UInt64(2)) + [0xC3, 0x28])))
        assertMalformed(b.data, "not valid UTF-8")
        b = valid
        b.metadata.append(("bad", GGUFBuilder.Value(type: 7, bytes: [2])))
        assertMalformed(b.data, "BOOL at byte")
        b = valid
        var deep = GGUFBuilder.Value.u8(1)
        for _ in 0..<6 { deep = .array(deep.type, [deep]) }
        b.metadata.append(("deep", deep))
        assertMalformed(b.data, "nested deeper than")
        b = valid
        b.metadata.append(("general.alignment", .u32(48)))
        assertMalformed(b.data, "general.alignment")
        b = valid
        b.metadata.append(("general.alignment", .u64(32)))
        assertMalformed(b.data, "is not a UINT32 power of two")
    }

    func testTensorInfoErrors() {
        let cases: [(String, (inout GGUFBuilder) -> Void)] = [
            ("tensor 'a' appears more than once", { $0.tensors[1].name = "a" }),
            ("ggml type Q2_K (type 10), which this reader does not convert", { $0.tensors[0].type = 10 }),
            ("ggml type type 99", { $0.tensors[0].type = 99 }),
            ("has 5 dimensions", { $0.tensors[0].dimensions = [1, 1, 1, 1, 1] }),
            ("overflow", { $0.tensors[0].dimensions = [1 << 40, 1 << 40] }),
            ("not a multiple of the alignment 32", { $0.tensors[1].offset = 4 }),
            ("overlaps 'a'", { $0.tensors[1].offset = 0 }),
            ("runs past the end of the file", { $0.tensors[1].dimensions = [4, 1000] }),
        ]
        for (fragment, change) in cases {
            var b = valid
            change(&b)
            assertMalformed(b.data, fragment)
        }
        var b = valid
        b.tensors = []
        b.addTensor("q", dimensions: [20, 1], type: 8, data: [UInt8](repeating: 0, count: 34))
        assertMalformed(b.data, "do not fill whole Q8_0 blocks of 32")
    }

    func testUnsupportedArchitectureAndTokenizerAreTyped() throws {
        var b = valid
        b.metadata[0].1 = .string("gpt2")
        let file = try GGUFFile(data: b.data, label: "gpt2.gguf")
        XCTAssertThrowsError(try LlamaConfiguration(gguf: file)) { error in
            XCTAssertEqual(error as? ModelError, .invalidConfiguration(
                path: "gpt2.gguf", reason: "general.architecture \"gpt2\" is not supported (only llama text models are)"))
        }
        b = valid
        b.metadata.append(("llama.vocab_size", .u32(2)))
        XCTAssertThrowsError(try LlamaConfiguration(gguf: try GGUFFile(data: b.data, label: "m.gguf"))) { error in
            XCTAssertEqual(error as? ModelError, .invalidConfiguration(path: "m.gguf", reason: "no metadata key 'llama.embedding_length'"))
        }
        b.metadata.append(("llama.embedding_length", .f32(64)))
        XCTAssertThrowsError(try LlamaConfiguration(gguf: try GGUFFile(data: b.data, label: "m.gguf"))) { error in
            XCTAssertEqual(error as? ModelError, .invalidConfiguration(
                path: "m.gguf", reason: "llama.embedding_length is FLOAT32 64.0, expected an integer"))
        }
        b = valid
        b.metadata.append(("tokenizer.ggml.model", .string("bert")))
        XCTAssertThrowsError(try Tokenizer(gguf: try GGUFFile(data: b.data, label: "m.gguf"))) { error in
            guard case .unsupported(path: "m.gguf", let what)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertTrue(what.contains("\"bert\""), what)
        }
        b = valid
        b.metadata += [("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", .strings(["<unk>", "a"]))]
        XCTAssertThrowsError(try Tokenizer(gguf: try GGUFFile(data: b.data, label: "m.gguf"))) { error in
            XCTAssertEqual(error as? TokenizerError, .malformed(path: "m.gguf", reason: "tokenizer.ggml.scores must be 2 numbers, one per token"))
        }
    }

    func testUnpermutingQueryKeyRows() {
        // Heads of 4 rows: HF rows 0, 1 (first half) are GGUF rows 0, 2; HF rows 2, 3 are GGUF rows 1, 3.
        XCTAssertEqual((0..<8).map { GGUFWeights.ggufRow($0, headWidth: 4) }, [0, 2, 1, 3, 4, 6, 5, 7])
        XCTAssertEqual(GGUFWeights.ggufRow(64 + 32 + 5, headWidth: 64), 64 + 11)
        XCTAssertEqual(GGUFWeights.canonicalName("blk.12.attn_k.weight"), "language_model.model.layers.12.self_attn.k_proj.weight")
        XCTAssertNil(GGUFWeights.canonicalName("blk.01.attn_k.weight"))
        XCTAssertNil(GGUFWeights.canonicalName("blk.1.attn_qkv.weight"))
    }
}
