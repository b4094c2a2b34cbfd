import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must decode (PNG, JPEG or PPM, by content) to an RGB image or throw; a decoded
/// image's pixel count must match its size.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageCodecs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let image = try? ImageFile.decode(Data(bytes: data, count: size)) else { return 0 }
    precondition(image.pixels.count == image.width * image.height * 3)
    return 0
}

@_cdecl("FuzzImageCodecs_main")
public func fuzzImageCodecsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzImageCodecs)
}
