import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must parse as a GGUF file or throw `ModelError`, never crash; parsed tensors must
/// dequantise, and a llama configuration, tokenizer and chat template read from the metadata must either load
/// or throw a typed error, and a loaded tokenizer must encode and decode.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? GGUFFile(data: Data(bytes: data, count: size)) else { return 0 }
    for name in file.tensorNames { _ = try? file.floatTensor(name) }
    if let configuration = try? LlamaConfiguration(gguf: file) { _ = try? GGUFWeights(file: file, configuration: configuration) }
    if let tokenizer = try? Tokenizer(gguf: file), let ids = try? tokenizer.encode("Hello, world: 12 +  3 <|im_end|> é") {
        _ = try? tokenizer.decode(ids)
    }
    if let template = file.metadata["tokenizer.chat_template"]?.string, let parsed = try? ChatTemplate(template) {
        _ = try? parsed.render(messages: [.userQuestion("Hi", withImage: false)], textContent: true)
    }
    return 0
}

@_cdecl("FuzzGGUF_main")
public func fuzzGGUFMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzGGUF)
}
