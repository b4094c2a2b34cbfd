import Foundation
import VisionTokenPruning

/// `vtp-bench kernels` precision columns: products with packed weights in each `WeightPrecision` against
/// Float32 packed weights on the same shapes in the same run, at prefill sizes and at m = 1 (a decode step),
/// with the weight bytes read per second next to a large-array copy and a streaming read (`MemoryBandwidth`).
struct PrecisionBenchmark {
    static let shapes = [
        KernelBenchmark.GemmShape(m: 577, k: 1024, n: 4096, label: "CLIP-L fc1"),
        KernelBenchmark.GemmShape(m: 640, k: 2048, n: 5632, label: "1B mlp"),
        KernelBenchmark.GemmShape(m: 1, k: 2048, n: 5632, label: "1B mlp, decode step"),
        KernelBenchmark.GemmShape(m: 1, k: 4096, n: 11008, label: "7B mlp, decode step"),
    ]

    var repetitions: Int

    func run() throws -> [String: Any] {
        let copy = MemoryBandwidth.copy(repetitions: repetitions), read = MemoryBandwidth.read(repetitions: repetitions)
        var rows: [[String: Any]] = []
        for shape in Self.shapes {
            Progress.say("packed gemm \(shape.m)x\(shape.k)x\(shape.n): \(WeightPrecision.allCases.count) precisions x \(repetitions)")
            let a = BenchData.tensor([shape.m, shape.k], seed: 1)
            let w = BenchData.tensor([shape.n, shape.k], seed: 2, scale: 0.05)
            // Each precision with Float32 activations, and BF16 (int8) weights with BF16 (int8) activations where
            // the CPU has vdpbf16ps (vpdpbusd): labels bf16_dot (prefill shapes), int8_dot (every shape).
            // A decode step reads each weight once from memory, so at m = 1 the product cycles through enough
            // copies of the matrix (over 128 MB) that none is still in the last-level cache when read again.
            func copies(_ precision: WeightPrecision) -> Int {
                shape.m > 1 ? 1 : min(16, 1 + (128 << 20) / (shape.n * shape.k * precision.bitsPerWeight / 8))
            }
            var configurations = try WeightPrecision.allCases.map { precision in
                (label: precision.rawValue, packed: try (0..<copies(precision)).map { _ in try PackedMatrix(w, precision: precision) },
                 options: ComputeOptions.current)
            }
            if CPUFeatures.hasBFloat16DotProduct && shape.m > 1 {
                configurations.append(("bf16_dot", configurations[1].packed, ComputeOptions.current.withActivations(.bf16)))
            }
            if CPUFeatures.hasInt8DotProduct {
                configurations.append(("int8_dot", configurations[3].packed, ComputeOptions.current.withActivations(.int8)))
            }
            var best = [Double](repeating: .infinity, count: configurations.count)
            var cpuPerWall = [Double](repeating: 0, count: configurations.count)
            // Small products repeat inside one timing so that each figure spans milliseconds.
            let inner = shape.m == 1 ? 32 : 1
            for rep in -1..<repetitions {
                for (i, c) in configurations.enumerated() {
                    let t = try ComputeOptions.$current.withValue(c.options) {
                        try Stopwatch.time { for j in 0..<inner { _ = try a.matmul(c.packed[j % c.packed.count]) } }
                    }
                    if rep >= 0, t.wallSeconds / Double(inner) < best[i] {
                        best[i] = t.wallSeconds / Double(inner)
                        cpuPerWall[i] = t.cpuPerWall
                    }
                }
            }
            var row: [String: Any] = ["m": shape.m, "k": shape.k, "n": shape.n, "label": shape.label]
            let flops = 2.0 * Double(shape.m * shape.n * shape.k)
            for (i, c) in configurations.enumerated() {
                row["\(c.label)_gflops"] = flops / best[i] / 1e9
                row["\(c.label)_over_f32"] = best[0] / best[i]
                row["\(c.label)_cpu_per_wall"] = cpuPerWall[i]
                if shape.m == 1 {
                    let gbPerSecond = Double(c.packed[0].storageBytes) / best[i] / 1e9
                    row["\(c.label)_weight_gb_per_s"] = gbPerSecond
                    row["\(c.label)_weight_read_over_copy"] = gbPerSecond / copy
                    row["\(c.label)_weight_read_over_read"] = gbPerSecond / read
                }
            }
            rows.append(row)
        }
        return ["copy_gb_per_s": copy, "read_gb_per_s": read, "rows": rows]
    }
}
