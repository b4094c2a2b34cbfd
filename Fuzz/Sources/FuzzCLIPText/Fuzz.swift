import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: the bytes before the first NUL are a CLIP `config.json`, the rest a CLIP `tokenizer.json`
/// (lowercasing, `\s+` replacement, CLIP's split regex, `</w>` word ends, RobertaProcessing). Each must load
/// or throw; a loaded tokenizer must encode a few texts within the text tower's context, or throw, and decode
/// what it produced.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCLIPText(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let split = bytes.firstIndex(of: 0) ?? bytes.endIndex
    let configuration = try? CLIPTextConfiguration.decode(bytes[..<split], path: "fuzz")
    guard split < bytes.endIndex, let tokenizer = try? Tokenizer(data: bytes[(split + 1)...], path: "fuzz") else { return 0 }
    let context = min(configuration?.maxPositions ?? 77, 1024)
    for text in ["", "A photo of a CAT,  a Dog!", "don't 123 ΣΑΣ", "é\u{301}ß🙂\t\n", String(decoding: bytes.prefix(256), as: UTF8.self)] {
        guard let ids = try? tokenizer.encode(text, maximumTokens: context) else { continue }
        _ = try? tokenizer.decode(ids, skipSpecialTokens: false)
        _ = try? tokenizer.decode(ids, skipSpecialTokens: true)
    }
    return 0
}

@_cdecl("FuzzCLIPText_main")
public func fuzzCLIPTextMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzCLIPText)
}
