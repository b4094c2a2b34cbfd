import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must load as a `vtp-eval-1` set or throw.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvaluationSet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? SafetensorsFile(data: Data(bytes: data, count: size)) else { return 0 }
    _ = try? EvaluationSet(file: file)
    return 0
}

@_cdecl("FuzzEvaluationSet_main")
public func fuzzEvaluationSetMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzEvaluationSet)
}
