import Foundation
import VisionTokenPruning

/// Parses the command line and runs one `vtp-bench` command.
enum BenchCommand {
    static let usage = """
    usage: vtp-bench [command] [options]
      (no command)       short representative run: kernels at reduced size
      kernels            GEMM GFLOP/s (SIMD vs OpenBLAS, 1 and 2 threads), softmax/norm GB/s, attention
    options:
      --json             print one JSON object instead of a table
      --reps N           repetitions per figure (best is kept)
    """

    static func run(_ arguments: [String]) throws {
        var args = arguments
        let command = args.first.map { $0.hasPrefix("-") ? "" : args.removeFirst() } ?? ""
        let json = args.contains("--json")
        let reps = value(after: "--reps", in: args).flatMap(Int.init) ?? 5
        Progress.say("vtp-bench: \(CPUFeatures.summary)")
        switch command {
        case "kernels":
            let report = try KernelBenchmark(shapes: KernelBenchmark.fullShapes, repetitions: reps, quick: false).run()
            try emit(report, json: json)
        case "":
            let report = try KernelBenchmark(shapes: Array(KernelBenchmark.fullShapes.prefix(2)), repetitions: 2,
                                             quick: true).run()
            try emit(report, json: json)
            if !json { print("\nMore: vtp-bench kernels | vtp-bench --help") }
        case "help", "--help", "-h":
            print(usage)
        default:
            throw BenchError.usage("unknown command '\(command)'\n\(usage)")
        }
    }

    static func value(after flag: String, in args: [String]) -> String? {
        guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
        return args[i + 1]
    }

    static func emit(_ report: [String: Any], json: Bool) throws {
        if json {
            let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(TableFormatter.render(report))
        }
    }
}

/// Errors of the benchmark's own command line.
enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    var description: String {
        switch self { case .usage(let s): return s }
    }
}
