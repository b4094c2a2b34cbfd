import Foundation
import VisionTokenPruning

// OpenBLAS reads its settings when the library loads, before this code runs. Without a spin timeout its idle
// workers busy-wait after every call and steal the second core from the SIMD runs measured next to them,
// so restart once with the timeout set.
if GemmBackend.openBLAS.isAvailable, ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] == nil {
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
    let argv = CommandLine.unsafeArgv
    execv("/proc/self/exe", argv)
    FileHandle.standardError.write(Data("vtp-bench: could not restart with OPENBLAS_THREAD_TIMEOUT=4; figures may be noisy\n".utf8))
}

do {
    try BenchCommand.run(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("vtp-bench: \(error)\n".utf8))
    exit(1)
}
