import Foundation
import FuzzSupport
import VisionTokenPruning

/// The folder every execution writes its two files into (one per process; libFuzzer runs inputs one by one).
private let folder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-family-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

/// A 5x3 test image.
private let image = try! RGBImage(width: 5, height: 3, pixels: (0..<45).map { UInt8($0 * 5) })

/// libFuzzer entry: the bytes before the first NUL are `config.json`, the rest (when there is a NUL)
/// `preprocessor_config.json`. The folder's `model_type` picks the family (LLaVA, LLaVA-NeXT, OneVision,
/// Qwen2.5-VL); its configuration and image processor must load or throw, and a processor with modest sizes
/// must preprocess a small image or throw.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFamilyFolder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let split = bytes.firstIndex(of: 0)
    let config = folder.appendingPathComponent("config.json"), preprocessor = folder.appendingPathComponent("preprocessor_config.json")
    try? FileManager.default.removeItem(at: preprocessor)
    guard (try? bytes[..<(split ?? bytes.endIndex)].write(to: config)) != nil else { return 0 }
    if let split { try? bytes[(split + 1)...].write(to: preprocessor) }
    guard let type = try? ModelRegistry.modelType(directory: folder) else { return 0 }
    if type == "qwen2_5_vl" {
        guard let configuration = try? Qwen25VLConfiguration.load(directory: folder),
              let processor = try? Qwen2VLImageProcessor(directory: folder, vision: configuration.vision),
              // Valid but large pixel limits are bounded work, only slow: keep each execution fast.
              processor.minPixels <= 1 << 16 else { return 0 }
        _ = try? processor.preprocess(image)
    } else {
        guard let configuration = try? LlavaConfiguration.load(directory: folder),
              let processor = try? LlavaImageProcessor(directory: folder, configuration: configuration),
              configuration.vision.imageSize <= 64,
              (configuration.imageGridPinpoints ?? []).allSatisfy({ $0.height <= 256 && $0.width <= 256 }) else { return 0 }
        if case .singleView(let clip) = processor, clip.shortestEdge > 256 || max(clip.cropWidth, clip.cropHeight) > 256 { return 0 }
        _ = try? processor.preprocess(image)
    }
    return 0
}

@_cdecl("FuzzFamilyFolder_main")
public func fuzzFamilyFolderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzFamilyFolder)
}
