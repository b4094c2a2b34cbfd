import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must decode to an RGB image or throw; a decoded image is preprocessed at a
/// small size to exercise the resampler on odd shapes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPortablePixmap(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let image = try? PortablePixmap.decode(Data(bytes: data, count: size)) else { return 0 }
    guard image.width * image.height <= 1 << 16 else { return 0 }
    _ = try? CLIPImageProcessor(size: 8).preprocess(image)
    return 0
}

@_cdecl("FuzzPortablePixmap_main")
public func fuzzPortablePixmapMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzPortablePixmap)
}
