import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must parse as a preprocessor_config.json or throw; a parsed processor with
/// modest sizes must preprocess a small image or throw.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPreprocessorConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let processor = try? CLIPImageProcessor(preprocessorConfig: Data(bytes: data, count: size), path: "fuzz", defaultSize: 8),
          // Large but valid sizes are bounded work, only slow (a 6562-pixel edge resizes a small image to
          // 72 M pixels): keep each execution fast.
          processor.shortestEdge <= 256, max(processor.cropWidth, processor.cropHeight) <= 256,
          let image = try? RGBImage(width: 5, height: 3, pixels: (0..<45).map { UInt8($0 * 5) }) else { return 0 }
    _ = try? processor.preprocess(image)
    return 0
}

@_cdecl("FuzzPreprocessorConfig_main")
public func fuzzPreprocessorConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzPreprocessorConfig)
}
