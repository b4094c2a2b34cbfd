import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must parse as a model.safetensors.index.json weight map or throw.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpointIndex(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? SafetensorsCheckpoint.weightMap(Data(bytes: data, count: size), path: "fuzz")
    return 0
}

@_cdecl("FuzzCheckpointIndex_main")
public func fuzzCheckpointIndexMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzCheckpointIndex)
}
