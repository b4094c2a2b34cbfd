import Foundation
import FuzzSupport
import VisionTokenPruning

/// libFuzzer entry: any bytes must parse as a PrefixKV profile or throw; a parsed profile's values are in range.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPrefixKVProfile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let profile = try? PrefixKVProfile(data: Data(bytes: data, count: size), path: "fuzz") else { return 0 }
    precondition(profile.retainedRatios.allSatisfy { $0 > 0 && $0 <= 1 } && profile.retainedFraction > 0)
    return 0
}

@_cdecl("FuzzPrefixKVProfile_main")
public func fuzzPrefixKVProfileMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzzPrefixKVProfile)
}
