import Foundation

/// Which implementation runs matrix products.
public enum GemmBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The package's own packed-panel SIMD kernel (always available).
    case simd
    /// OpenBLAS `cblas_sgemm`; available only when the package is built with the `OpenBLAS` trait.
    case openBLAS

    /// True when this backend was compiled into the build.
    public var isAvailable: Bool {
        switch self {
        case .simd: return true
        case .openBLAS:
            #if OpenBLAS
            return true
            #else
            return false
            #endif
        }
    }

    public var description: String { rawValue }
}

/// The precision activations are multiplied in, in products with low-precision weights. Each reduced mode
/// applies to weights of its own precision, on CPUs with the matching dot-product instructions (bfloat16: in
/// products of at least 6 rows, i.e. prefill; int8: decoding steps too); everything else runs the Float32
/// path. They change the numerics: opt in.
public enum ActivationPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Float32 activations times weights widened to Float32 (exact products; the default).
    case f32
    /// With bfloat16 weights: activations rounded to bfloat16, Float32 accumulation (`vdpbf16ps`, AVX512-BF16,
    /// `CPUFeatures.hasBFloat16DotProduct`).
    case bf16
    /// With int8 weights: activations quantised to int8 per row (symmetric, `max|a| / 127`), int32
    /// accumulation (`vpdpbusd`, AVX512-VNNI with VBMI, `CPUFeatures.hasInt8DotProduct`). With int4 weights,
    /// in decoding products (fewer than 6 rows): activations quantised to int8 per group of 32 steps, int16
    /// sums over each group (`vpmaddubsw`, AVX2 with FMA and F16C, `CPUFeatures.hasInt4DotProduct`).
    case int8

    /// True when a product of `rows` activation rows with `weights` runs this mode's dot products on this CPU:
    /// bfloat16 from 6 rows (the blocked kernel), int8 at every size, int4 below 6 rows (decoding).
    func usesDotProducts(for weights: WeightPrecision, rows: Int) -> Bool {
        switch (self, weights) {
        case (.bf16, .bf16): return BFloat16DotProduct.isAvailable && rows >= SIMDGemm.mr
        case (.int8, .int8): return Int8DotProduct.isAvailable
        case (.int8, .int4): return Int4DotProduct.isAvailable && rows < SIMDGemm.mr
        default: return false
        }
    }

    public var description: String { rawValue }
}

/// How heavy kernels run: which GEMM backend, how many threads, and the activation precision.
///
/// Kernels read `ComputeOptions.current`, a task-local value, so a caller scopes a setting with
/// `ComputeOptions.$current.withValue(options) { ... }` without threading it through every call.
public struct ComputeOptions: Sendable, Equatable, CustomStringConvertible {
    /// GEMM implementation.
    public let backend: GemmBackend
    /// Worker threads for one kernel call (>= 1).
    public let threads: Int
    /// Precision of activations in products with low-precision weights (see `ActivationPrecision`).
    public let activations: ActivationPrecision

    /// Options for `backend` with `threads` workers (default: the active processor count) and `activations`.
    /// - Throws: `TensorError.invalidArgument` when the backend is not in this build or `threads < 1`.
    public init(
        backend: GemmBackend = .simd, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        activations: ActivationPrecision = .f32
    ) throws {
        guard backend.isAvailable else {
            throw TensorError.invalidArgument(
                operation: "ComputeOptions", reason: "backend \(backend) is not built in (build with --traits OpenBLAS)")
        }
        guard threads >= 1 else {
            throw TensorError.invalidArgument(operation: "ComputeOptions", reason: "threads must be >= 1, got \(threads)")
        }
        self.backend = backend
        self.threads = threads
        self.activations = activations
    }

    private init(unchecked backend: GemmBackend, threads: Int, activations: ActivationPrecision = .f32) {
        self.backend = backend
        self.threads = threads
        self.activations = activations
    }

    /// The SIMD backend on every active processor.
    public static let standard = ComputeOptions(
        unchecked: .simd, threads: max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// The options kernels use in the current task (default: `standard`).
    @TaskLocal public static var current: ComputeOptions = .standard

    /// The same options with `threads` workers (clamped to >= 1).
    public func withThreads(_ threads: Int) -> ComputeOptions {
        ComputeOptions(unchecked: backend, threads: max(1, threads), activations: activations)
    }

    /// The same options with `activations`.
    public func withActivations(_ activations: ActivationPrecision) -> ComputeOptions {
        ComputeOptions(unchecked: backend, threads: threads, activations: activations)
    }

    public var description: String { "\(backend) x\(threads)" + (activations == .f32 ? "" : ", \(activations) activations") }
}
