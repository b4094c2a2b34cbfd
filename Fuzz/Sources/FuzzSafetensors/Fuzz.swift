import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must parse or throw `ModelError`, never crash; parsed tensors must read back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? SafetensorsFile(data: Data(bytes: data, count: size)) else { return 0 }
    for name in file.tensorNames {
        _ = try? file.floatTensor(name)
        _ = try? file.integerTensor(name)
    }
    return 0
}

@_cdecl("FuzzSafetensors_main")
public func fuzzSafetensorsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzSafetensors)
}
