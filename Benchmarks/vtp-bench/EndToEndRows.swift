import Foundation
import VisionTokenPruning

/// The rows, headline and timing spread `e2e` reports, shared by the LLaVA-1.5, NeXT, OneVision and Qwen2.5-VL runs.
enum EndToEndRows {
    /// A labelled pipeline to time.
    typealias Case = (label: String, pipeline: PruningPipeline)

    /// Each case's fastest report (by time to first token) and every run's encoder seconds.
    struct BestRuns {
        var reports: [PipelineReport]
        var encoderSeconds: [Double]

        /// The report's `rows` (each case against the first, unpruned one), `headline` (for `method`, the
        /// scorer the headline quotes) and `spread`.
        func sections(labels: [String], headlineMethod method: String = "cls") -> [String: Any] {
            ["rows": zip(labels, reports).map { EndToEndRows.row($0, $1, full: reports[0]) },
             "headline": EndToEndRows.headline(labels, reports, method: method), "spread": EndToEndRows.spread(encoderSeconds)]
        }
    }

    /// The unpruned pipeline, then each catalogued scorer at each budget, labelled `name@budget`.
    static func scorerCases(model: any VisionLanguageModel, scorers: [String], budgets: [TokenBudget]) throws -> [Case] {
        var cases: [Case] = [("full", try PruningPipeline(model: model))]
        for budget in budgets {
            for name in scorers {
                cases.append(("\(name)@\(budget)", try PruningPipeline(
                    model: model, pruning: ScorerCatalog.pruning(named: name, for: model.modelDescription, keep: budget))))
            }
        }
        return cases
    }

    /// Runs every case once per repetition, alternating, and keeps each case's fastest run: a disturbance on a
    /// shared machine then hits one repetition of a case, not a whole row.
    static func bestOfAlternating(
        _ cases: [Case], repetitions: Int, progressLabel: String,
        run: (PruningPipeline) throws -> PipelineReport
    ) throws -> BestRuns {
        var best = [PipelineReport?](repeating: nil, count: cases.count)
        var encoderSeconds: [Double] = []
        var clock = ProgressClock(total: repetitions * cases.count, label: progressLabel, period: cases.count)
        for rep in 0..<repetitions {
            for (i, c) in cases.enumerated() {
                clock.step(rep * cases.count + i, "\(c.label), repetition \(rep + 1) of \(repetitions)")
                let r = try run(c.pipeline)
                encoderSeconds.append(r.seconds.encoder)
                if best[i] == nil || r.seconds.total < best[i]!.seconds.total { best[i] = r }
            }
        }
        return BestRuns(reports: best.map { $0! }, encoderSeconds: encoderSeconds)
    }

    /// One method's row against the unpruned run `full`: kept tokens, TTFT, speed-ups, then stage details.
    static func row(_ label: String, _ r: PipelineReport, full: PipelineReport) -> [String: Any] {
        [
            "method": label, "kept_visual_tokens": r.keptVisualTokens,
            "ttft_s": r.seconds.total, "encoder_s": r.seconds.encoder, "scoring_s": r.seconds.scoring,
            "projector_s": r.seconds.projector, "prefill_s": r.seconds.prefill,
            "prefill_flops": r.flops.prefill, "total_flops": r.flops.total,
            "speedup_ttft": full.seconds.total / r.seconds.total,
            "speedup_prefill": full.seconds.prefill / r.seconds.prefill,
            "flops_ratio_prefill": full.flops.prefill / r.flops.prefill,
            "kv_bytes": r.kvCacheBytes,
        ]
    }

    /// One line for a person: `method`'s row at the smallest budget against the unpruned run.
    static func headline(_ labels: [String], _ reports: [PipelineReport], method: String) -> String {
        guard let full = reports.first else { return "" }
        let candidates = labels.indices.filter { labels[$0].hasPrefix("\(method)@") }
        guard let i = candidates.min(by: { reports[$0].keptVisualTokens < reports[$1].keptVisualTokens }) else { return "" }
        let r = reports[i]
        return String(format: "%@: time to first token %.1f s vs %.1f s unpruned (%.1fx); prefill %.1fx faster for %.1fx fewer FLOPs",
                      labels[i], r.seconds.total, full.seconds.total, full.seconds.total / r.seconds.total,
                      full.seconds.prefill / r.seconds.prefill, full.flops.prefill / r.flops.prefill)
    }

    /// The spread of one stage that does the same work in every run: a wide spread means the machine was
    /// busy with something else during some runs.
    static func spread(_ encoderSeconds: [Double]) -> String {
        guard let lo = encoderSeconds.min(), let hi = encoderSeconds.max() else { return "" }
        return String(format: "vision encoder (the same work in every run): %.2f ... %.2f s over %d runs (max/min %.2f)",
                      lo, hi, encoderSeconds.count, hi / lo)
    }
}
