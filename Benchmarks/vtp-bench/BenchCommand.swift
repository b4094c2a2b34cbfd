import Foundation
import VisionTokenPruning

/// Parses the command line and runs one `vtp-bench` command.
enum BenchCommand {
    static let usage = """
    usage: vtp-bench [command] [options]
      (no command)   short representative run: kernels and e2e at reduced size (under a minute)
      kernels        GEMM GFLOP/s (SIMD vs OpenBLAS, 1 and 2 threads), softmax/norm GB/s, attention
                       [--reps N]
      models         CLIP-L/14-336 encoder and 1B-class decoder prefill throughput (generated weights)
      eval           --model DIR --data FILE --scorer NAME --keep N|P% [--positions keep|renumber]
                     [--weights checkpoint|f32|bf16|f16|int8]
                     [--withdraw-layer K | --calibrate-withdrawal [--calibrate-start J] [--eta E]]
                     [--kv-budget R [--decode-steps N]] [--dump FILE] [--sweep [--svg FILE]]
      e2e            time to first token and FLOPs, full vs pruned, generated LLaVA-1.5-shaped model, and
                     decode speed per weight precision [--quick] [--weights f32,bf16,f16,int8]
                     [--size 1b|7b|next-7b|onevision-0.5b|qwen2.5-vl-3b [--checkpoint DIR]]: next-7b is a
                     LLaVA-NeXT-7B shape on a 672x672 image (5 views, 2928 visual tokens), TTFT full and at
                     320/160 per method; onevision-0.5b a LLaVA-OneVision-0.5B shape on 384x384 and 1152x768
                     images, TTFT full and at 25 %/11 % per method; qwen2.5-vl-3b a Qwen2.5-VL-3B shape on
                     448x448, 896x896 and 1344x896 images, TTFT full and at 25 %/11 % per method;
                     7b writes (or reuses) a LLaVA-1.5-7B-shaped
                     BF16 checkpoint and reports load time, peak RSS, TTFT full and at 64 tokens, decode
      show           --model DIR --image FILE --prompt "ID ID ..." --keep N|P% --svg FILE [--scorers a,b]
      ask            --model DIR --image FILE [--tokenizer DIR] [--scorer NAME --keep N|P%]
                     [--positions keep|renumber] [--withdraw-layer K] [--kv-budget R] [--weights P]
                     [--max-tokens N] "question": streams the answer (PPM; PNG/JPEG with ImageCodecs);
                     --model TEXT.gguf --mmproj MMPROJ.gguf: a LLaVA-1.5 GGUF pair as llama.cpp runs it;
                     without --image, --model FILE.gguf (a llama text model) answers through its chat template
      parity         --fixture DIR: the long checks of a real-weight fixture against its tolerances
                     (smollm2-135m-instruct: logits, hidden states, attention, 24 greedy tokens per prompt;
                     dinov2-small-photos: pixels, hidden states, [CLS] attention, top-64 patches per photo)
      time           --model DIR|TEXT.gguf [--part decoder|vision] [--weights P] [--reps N]
                     [--prompt-tokens 640] [--decode-tokens 32]: one part of a model on disk timed as
                     llama-bench reports (mean and deviation after a warm-up): prefill from an empty cache and
                     decode after it, or the vision tower's forward pass (Benchmarks/peers)
      tokenize       --tokenizer DIR (--check CASES.json | --throughput TEXTFILE | "text"): checks a
                     tokenizer.json against vtp-tokenizer-cases-1 (exit 1 on any mismatch), measures
                     single-thread encoding, or prints a text's ids and tokens
    common options: --json (one JSON object on stdout), --threads N, --activations f32|bf16|int8 (bf16 or
                    int8: products with weights of that precision reduce the activations to it too and use the
                    CPU's AVX512-BF16 or AVX512-VNNI dot products where present; int8 with int4 weights:
                    decoding steps quantise activations per group of 32 and use AVX2 byte multiply-adds)
    scorers: \(ScorerCatalog.names.joined(separator: ", "))
    """

    /// The usage text for `command`: its own lines and the common options, or the whole text for none.
    static func help(for command: String) -> String {
        let lines = usage.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("  \(command) ") }), !command.isEmpty else { return usage }
        let end = lines[(start + 1)...].firstIndex { !$0.hasPrefix("      ") } ?? lines.endIndex
        let common = lines.drop { !$0.hasPrefix("common options") }
        return (["usage: vtp-bench \(command) [options]"] + lines[start..<end] + common).joined(separator: "\n")
    }

    static func run(_ arguments: [String]) throws {
        var args = Arguments(arguments)
        let command = arguments.first.map { $0.hasPrefix("-") ? "" : $0 } ?? ""
        if command == "help" || arguments.contains("--help") || arguments.contains("-h") {
            print(help(for: command == "help" ? (arguments.dropFirst().first ?? "") : command))
            return
        }
        if !command.isEmpty { _ = try args.flag(command) }
        let json = try args.flag("--json")
        var options = ComputeOptions.standard
        if let threads = try args.integer("--threads") {
            guard (1...1024).contains(threads) else { throw BenchError.usage("--threads is 1 ... 1024, got \(threads)") }
            options = try ComputeOptions(threads: threads)
        }
        if let text = try args.value("--activations") {
            guard let activations = ActivationPrecision(rawValue: text) else {
                throw BenchError.usage("--activations is f32, bf16 or int8, got '\(text)'")
            }
            options = options.withActivations(activations)
        }
        Progress.say("vtp-bench: \(CPUFeatures.summary); \(options)")
        try ComputeOptions.$current.withValue(options) {
            switch command {
            case "kernels":
                let reps = try args.integer("--reps") ?? 5
                guard (1...1000).contains(reps) else { throw BenchError.usage("--reps is 1 ... 1000, got \(reps)") }
                try args.finish()
                try emit(try KernelBenchmark(shapes: KernelBenchmark.fullShapes, repetitions: reps).run(), json: json)
            case "models":
                try args.finish()
                try emit(try ModelBenchmark().run(), json: json)
            case "eval":
                try EvalCommand.run(&args, json: json)
            case "e2e":
                let quick = try args.flag("--quick")
                let sizeText = try args.value("--size") ?? "1b"
                guard let size = EndToEndBenchmark.Size(rawValue: sizeText) else {
                    throw BenchError.usage("--size is 1b, 7b, next-7b, onevision-0.5b or qwen2.5-vl-3b, got '\(sizeText)'")
                }
                let precisions = try (try args.value("--weights") ?? (size == .oneBillion ? "f32" : "bf16"))
                    .split(separator: ",").map { text -> WeightPrecision in
                        guard case let .fixed(p) = try LoadPrecision(parsing: String(text)) else {
                            throw BenchError.usage("e2e --weights takes f32, bf16, f16, int8 or int4 (a generated model has no checkpoint precision)")
                        }
                        return p
                    }
                let checkpoint = try args.value("--checkpoint").map { URL(fileURLWithPath: $0) }
                if checkpoint != nil && size != .sevenBillion { throw BenchError.usage("--checkpoint applies to --size 7b only") }
                try args.finish()
                if size == .nextSevenBillion || size == .oneVisionHalfBillion || size == .qwenThreeBillion {
                    guard precisions.count == 1 else { throw BenchError.usage("--size \(sizeText) takes one --weights precision") }
                    switch size {
                    case .nextSevenBillion: try emit(try AnyResolutionBenchmark(quick: quick, precision: precisions[0]).run(), json: json)
                    case .oneVisionHalfBillion: try emit(try OneVisionBenchmark(quick: quick, precision: precisions[0]).run(), json: json)
                    default: try emit(try QwenBenchmark(quick: quick, precision: precisions[0]).run(), json: json)
                    }
                } else {
                    try emit(try EndToEndBenchmark(quick: quick, size: size, precisions: precisions, checkpoint: checkpoint).run(), json: json)
                }
            case "show", "ask":
                // Both write what they make elsewhere (an SVG, a streamed answer): no JSON object to print.
                guard !json else { throw BenchError.usage("--json does not apply to \(command), which writes \(command == "show" ? "an SVG" : "the answer as text")") }
                try command == "show" ? ShowCommand.run(&args) : AskCommand.run(&args)
            case "time":
                try TimeCommand.run(&args, json: json)
            case "tokenize":
                try TokenizeCommand.run(&args, json: json)
            case "parity":
                try ParityCommand.run(&args, json: json)
            case "":
                try args.finish()
                var report = try KernelBenchmark(shapes: Array(KernelBenchmark.fullShapes.prefix(2)), repetitions: 2).run()
                report["e2e"] = try EndToEndBenchmark(quick: true).run()
                try emit(report, json: json)
                if !json {
                    print("\nFull runs: vtp-bench kernels | models | e2e | eval --model DIR --data FILE ... (vtp-bench help)")
                }
            default:
                throw BenchError.usage("unknown command '\(command)'\n\(usage)")
            }
        }
    }

    static func emit(_ report: [String: Any], json: Bool) throws {
        var report = report
        report["setup"] = setupLine
        if json {
            let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(TableFormatter.render(report))
        }
    }

    /// What the figures were measured on: CPU model, vector features, threads and GEMM backend.
    static var setupLine: String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        return "setup: \(cpu); \(CPUFeatures.summary); \(ComputeOptions.current)"
    }
}

/// Errors of the benchmark's own command line.
enum BenchError: Error, CustomStringConvertible {
    /// Wrong or missing options.
    case usage(String)
    /// The command ran and found a failure (e.g. tokenizer mismatches).
    case failed(String)
    var description: String {
        switch self {
        case .usage(let s), .failed(let s): return s
        }
    }
}
