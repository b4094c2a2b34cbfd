import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any text must parse as a chat template or throw; a parsed template must render a
/// two-turn conversation or throw a typed error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let template = try? ChatTemplate(String(decoding: Data(bytes: data, count: size), as: UTF8.self)) else { return 0 }
    _ = try? template.render(messages: [.userQuestion("What is this?"), ChatMessage(role: "assistant", content: [.text("A cat.")])],
                             addGenerationPrompt: true, variables: ["bos_token": .string("<s>")])
    return 0
}

@_cdecl("FuzzChatTemplate_main")
public func fuzzChatTemplateMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzChatTemplate)
}
