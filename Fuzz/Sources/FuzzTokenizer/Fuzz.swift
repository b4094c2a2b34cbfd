import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must parse as a tokenizer.json or throw; a parsed tokenizer must encode a few
/// texts (and the input itself as text) and decode every id it produced, or throw a typed error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let tokenizer = try? Tokenizer(data: bytes) else { return 0 }
    for text in ["", " hello  world\n", "<image>\nWhat?", "é\u{301}ß🙂", String(decoding: bytes.prefix(256), as: UTF8.self)] {
        guard let ids = try? tokenizer.encode(text) else { continue }
        _ = try? tokenizer.decode(ids, skipSpecialTokens: false)
        _ = try? tokenizer.decode(ids + [-1, Int.max], skipSpecialTokens: true)
    }
    return 0
}

@_cdecl("FuzzTokenizer_main")
public func fuzzTokenizerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzTokenizer)
}
