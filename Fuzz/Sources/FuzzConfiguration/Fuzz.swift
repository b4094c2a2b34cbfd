import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must decode to a valid configuration or throw `ModelError`; a decoded
/// configuration must re-encode and decode to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let config = try? LlavaConfiguration.decode(Data(bytes: data, count: size)) else { return 0 }
    guard let again = try? LlavaConfiguration.decode(config.jsonData()), again == config else {
        fatalError("configuration does not round-trip: \(config)")
    }
    return 0
}

@_cdecl("FuzzConfiguration_main")
public func fuzzConfigurationMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzConfiguration)
}
