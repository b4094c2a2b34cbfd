import Foundation
import VisionTokenPruning

/// `vtp-bench eval`: accuracy, agreement, KL, target recall and cost of one method (or a sweep of all
/// methods over budgets) on a `vtp-eval-1` set.
enum EvalCommand {
    static let sweepBudgets = [0.5, 0.25, 0.125, 0.0625]

    static func run(_ args: inout Arguments, json: Bool) throws {
        guard let modelPath = try args.value("--model"), let dataPath = try args.value("--data") else {
            throw BenchError.usage("eval needs --model DIR and --data FILE")
        }
        let sweep = try args.flag("--sweep")
        let svgPath = try args.value("--svg")
        let givenScorer = try args.value("--scorer")
        let scorerName = givenScorer ?? (sweep ? "none" : nil)
        let keep = try args.value("--keep")
        let positions = try args.positionPolicy()
        var withdrawal = try args.integer("--withdraw-layer")
        let calibrate = try args.flag("--calibrate-withdrawal")
        let calibrationStart = try args.integer("--calibrate-start")
        let givenEta = try args.number("--eta")
        let eta = givenEta ?? 0.003
        let dumpPath = try args.value("--dump")
        let kvBudget = try args.number("--kv-budget")
        let givenSteps = try args.integer("--decode-steps")
        let steps = givenSteps ?? 4
        let precision = try LoadPrecision(parsing: try args.value("--weights") ?? "checkpoint")
        try args.finish()
        // Every option is checked before any work; an option that does not apply is refused, not ignored.
        guard let scorerName else { throw BenchError.usage("eval needs --scorer NAME (or --sweep)") }
        if scorerName == "none", keep != nil, !sweep {
            throw BenchError.usage("--keep does not apply to --scorer none, which keeps every visual token")
        }
        if withdrawal != nil && calibrate { throw BenchError.usage("--withdraw-layer and --calibrate-withdrawal exclude each other") }
        if sweep {
            for (flag, given) in [("--scorer", givenScorer != nil), ("--keep", keep != nil), ("--dump", dumpPath != nil),
                                  ("--kv-budget", kvBudget != nil)] where given {
                throw BenchError.usage("\(flag) does not apply with --sweep (the sweep runs every scorer at 50/25/12.5/6.25 %)")
            }
        } else if svgPath != nil {
            throw BenchError.usage("--svg applies to --sweep only")
        }
        try Arguments.checkKVBudget(kvBudget)
        if givenSteps != nil && kvBudget == nil { throw BenchError.usage("--decode-steps applies with --kv-budget only") }
        if !(1...1_000_000).contains(steps) { throw BenchError.usage("--decode-steps is 1 ... 1000000, got \(steps)") }
        if !calibrate && (givenEta != nil || calibrationStart != nil) {
            throw BenchError.usage("--eta and --calibrate-start apply with --calibrate-withdrawal only")
        }
        if !(eta > 0 && eta.isFinite) { throw BenchError.usage("--eta must be a positive number, got \(eta)") }

        let directory = URL(fileURLWithPath: modelPath), dataURL = URL(fileURLWithPath: dataPath)
        let dumpFile = try dumpPath.map { try OutputFile($0, flag: "--dump", inputs: [dataURL], modelFolder: directory) }
        let svgFile = try svgPath.map { try OutputFile($0, flag: "--svg", inputs: [dataURL], modelFolder: directory) }
        let set = try EvaluationSet(url: dataURL)
        // The reference is always the unpruned model at the checkpoint's own precision, so agreement and KL
        // measure what the chosen weight precision changes as well as what pruning changes. It is released
        // before the evaluated model loads, so both are never in memory at once.
        Progress.say("eval: \(set.count) samples; computing the unpruned reference (checkpoint precision)")
        var checkpointModel: (any VisionLanguageModel)? = try ModelRegistry.load(directory: directory)
        let reference = try PruningEvaluation.referenceLogits(model: checkpointModel!, set: set) {
            Progress.say("reference \($0)/\($1)")
        }
        if precision != .checkpoint { checkpointModel = nil }
        let model = try checkpointModel ?? ModelRegistry.load(directory: directory, weights: precision)
        if calibrate {
            let layers = model.language.configuration.layerCount
            let samples = try set.prompts(for: model, limit: 20)
            let result = try WithdrawalCalibrator.calibrate(
                model: model, samples: samples, startLayer: calibrationStart ?? min(5, layers - 1), threshold: eta
            ) { Progress.say("calibration \($0)/\($1)") }
            for (layer, kl) in zip(result.layers, result.meanKL) { Progress.say(String(format: "  layer %2d: mean KL %.6f", layer, kl)) }
            Progress.say("calibrated withdrawal layer: \(result.layer.map(String.init) ?? "none (no layer within eta; not withdrawing)")")
            withdrawal = result.layer
        }
        var profile: PrefixKVProfile?
        if let kvBudget {
            let samples = try set.prompts(for: model, limit: 20)
            profile = try PrefixKVProfile.calibrate(model: model, samples: samples, retainedFraction: kvBudget) {
                Progress.say("KV calibration \($0)/\($1)")
            }
            Progress.say("KV retained share per layer: \(profile!.retainedRatios.map { String(format: "%.2f", $0) }.joined(separator: " "))")
        }
        if sweep {
            try runSweep(model: model, set: set, reference: reference, positions: positions, withdrawal: withdrawal,
                         json: json, svg: svgFile)
            return
        }
        let scorer = try ScorerCatalog.scorer(named: scorerName, for: model.modelDescription)
        guard scorer == nil || keep != nil else { throw BenchError.usage("--scorer \(scorerName) needs --keep N|P%") }
        let pruning = try scorer.map { TokenPruning($0, keep: try TokenBudget(parsing: keep!)) }
        let pipeline = try PruningPipeline(model: model, pruning: pruning, positions: positions, withdrawalLayer: withdrawal,
                                           kvBudget: profile.map(KVCacheBudget.profile))
        let evaluation = try PruningEvaluation.evaluate(pipeline, set: set, reference: reference) {
            Progress.say("\(scorerName) \($0)/\($1)")
        }
        let summary = evaluation.summary
        if let dumpFile { try dumpFile.write(try PruningEvaluation.dump(evaluation.outputs)) }
        Progress.say(String(format: "eval: peak resident memory %.2f GB", Double(MemoryUsage.peakResidentBytes()) / 1e9))
        let kvRows = try profile.map {
            try continuationRows(model: model, set: set, pipeline: pipeline, profile: $0, steps: steps)
        }
        let headline = String(format: "%@ keeping %@: accuracy %.3f, agreement with the unpruned model %.3f, mean KL %@ nats, %.1f visual tokens",
                              scorerName, keep ?? "100%", summary.accuracy, summary.agreement,
                              TableFormatter.plain(summary.meanKL), summary.keptVisualTokens)
        if json {
            // One object: the summary's keys, plus the KV-budget rows when a budget was given.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard var object = try JSONSerialization.jsonObject(with: try encoder.encode(summary)) as? [String: Any] else { return }
            object["headline"] = headline
            object["setup"] = BenchCommand.setupLine
            if let kvRows { object["kv_budget"] = kvRows }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(BenchCommand.setupLine + "\n" + headline + "\n")
            print(TableFormatter.table([row(scorerName, keep ?? "100%", summary)]))
            if let kvRows { print("\n" + TableFormatter.table(kvRows)) }
        }
    }

    /// The KV-budget rows: teacher-forced continuation fidelity and cache size, full cache vs the budget.
    private static func continuationRows(model: any VisionLanguageModel, set: EvaluationSet, pipeline: PruningPipeline,
                                         profile: PrefixKVProfile, steps: Int) throws -> [[String: Any]] {
        Progress.say("continuations: \(steps) teacher-forced steps per sample")
        let reference = try PruningEvaluation.referenceContinuations(model: model, set: set, steps: steps)
        let unbudgeted = try pipeline.with { $0.kvBudget = nil }
        return try [("full cache", unbudgeted), ("kv \(profile.retainedFraction * 100)%", pipeline)].map { label, p in
            let c = try PruningEvaluation.continuationFidelity(p, set: set, reference: reference)
            return ["kv_budget": label, "steps": c.steps, "agreement": c.agreement, "mean_kl": c.meanKL,
                    "kv_bytes": c.kvBytes, "decode_tokens_per_s": c.decodeTokensPerSecond]
        }
    }

    private static func row(_ scorer: String, _ budget: String, _ s: EvaluationSummary) -> [String: Any] {
        ["scorer": scorer, "keep": budget, "accuracy": s.accuracy, "agreement": s.agreement, "mean_kl": s.meanKL,
         "target_recall": s.targetRecall ?? NSNull(), "small_target_recall": s.smallTargetRecall ?? NSNull(),
         "kept_visual_tokens": s.keptVisualTokens, "seconds": s.seconds, "flops": s.flops]
    }

    private static func runSweep(model: any VisionLanguageModel, set: EvaluationSet, reference: [[Float]], positions: PositionPolicy,
                                 withdrawal: Int?, json: Bool, svg svgFile: OutputFile?) throws {
        var rows: [[String: Any]] = []
        var series: [String: [(budget: Double, summary: EvaluationSummary)]] = [:]
        let names = ScorerCatalog.names(for: model.modelDescription).filter { $0 != "none" }
        var clock = ProgressClock(total: names.count * sweepBudgets.count, label: "sweep")
        for name in names {
            for budget in sweepBudgets {
                clock.step(rows.count, "\(name) at \(budget * 100)%")
                let pipeline = try PruningPipeline(
                    model: model, pruning: ScorerCatalog.pruning(named: name, for: model.modelDescription, keep: .ratio(budget)),
                    positions: positions, withdrawalLayer: withdrawal)
                let summary = try PruningEvaluation.evaluate(pipeline, set: set, reference: reference).summary
                rows.append(row(name, "\(budget * 100)%", summary))
                series[name, default: []].append((budget * 100, summary))
            }
        }
        // Per budget, the most accurate method (lower mean KL breaks ties, then catalogue order).
        let ordered = ScorerCatalog.names.filter { series[$0] != nil }
        let winners = sweepBudgets.compactMap { budget -> String? in
            let best = ordered.compactMap { name in series[name]!.first { $0.budget == budget * 100 }.map { (name, $0.summary) } }
                .max { $0.1.accuracy != $1.1.accuracy ? $0.1.accuracy < $1.1.accuracy : $0.1.meanKL > $1.1.meanKL }
            return best.map { String(format: "%g%%: %@ (%.3f)", budget * 100, $0.0, $0.1.accuracy) }
        }
        let headline = "most accurate method per budget: " + winners.joined(separator: ", ")
        try BenchCommand.emit(["sweep": rows, "headline": headline], json: json)
        if let svgFile {
            var panels: [(metric: String, series: [(name: String, points: [(x: Double, y: Double)])])] = [
                ("accuracy", ordered.map { n in (n, series[n]!.map { ($0.budget, $0.summary.accuracy) }) }),
            ]
            if series.values.first?.first?.summary.targetRecall != nil {
                panels.append(("target recall", ordered.map { n in (n, series[n]!.map { ($0.budget, $0.summary.targetRecall ?? 0) }) }))
            }
            try svgFile.write(Data(SVG.lineCharts(title: "accuracy\(panels.count > 1 ? " and recall" : "") against budget",
                                                 panels: panels).utf8))
            Progress.say("wrote \(svgFile.url.path)")
        }
    }
}
