import Foundation
import VisionTokenPruning

/// `vtp-bench ask`: one question about one image, the answer streamed to stdout as it is generated, and one
/// line on stderr with the visual tokens kept, time to first token and decode speed. Without `--image`, a
/// question to a GGUF text model (`--model FILE.gguf`), answered through the model's own chat template. A LLaVA
/// GGUF pair is `--model TEXT.gguf --mmproj MMPROJ.gguf --image FILE`.
enum AskCommand {
    static func run(_ args: inout Arguments) throws {
        guard let modelPath = try args.value("--model") else {
            throw BenchError.usage("ask needs --model DIR --image FILE \"question\", or --model FILE.gguf \"question\"")
        }
        guard let imagePath = try args.value("--image") else { return try runText(&args, model: modelPath) }
        let mmprojPath = try args.value("--mmproj")
        let tokenizerPath = try args.value("--tokenizer")
        let clipPath = try args.value("--clip-text")
        let scorerName = try args.value("--scorer") ?? "none"
        let keep = try args.value("--keep")
        let positions = try args.positionPolicy()
        let withdrawal = try args.integer("--withdraw-layer")
        let kvShare = try args.number("--kv-budget")
        let maxTokens = try args.integer("--max-tokens") ?? 128
        let precision = try LoadPrecision(parsing: try args.value("--weights") ?? "checkpoint")
        let question = try args.positional("question")
        try args.finish()
        guard (1...100_000).contains(maxTokens) else { throw BenchError.usage("--max-tokens is 1 ... 100000, got \(maxTokens)") }
        try Arguments.checkKVBudget(kvShare)
        let assistant: LlavaAssistant
        if modelPath.hasSuffix(".gguf") {
            guard let mmprojPath, tokenizerPath == nil else {
                throw BenchError.usage("a GGUF text model with --image needs --mmproj MMPROJ.gguf (and takes no --tokenizer: the GGUF carries it)")
            }
            assistant = try LlavaAssistant(gguf: URL(fileURLWithPath: modelPath), mmproj: URL(fileURLWithPath: mmprojPath), weights: precision)
        } else {
            guard mmprojPath == nil else { throw BenchError.usage("--mmproj goes with a GGUF text model (--model FILE.gguf)") }
            assistant = try LlavaAssistant(directory: URL(fileURLWithPath: modelPath), tokenizerDirectory: tokenizerPath.map { URL(fileURLWithPath: $0) },
                                           weights: precision)
        }
        var scorer = try ScorerCatalog.scorer(named: scorerName, for: assistant.model.modelDescription)
        if let clipPath {
            guard scorerName == "cdpruner" else { throw BenchError.usage("--clip-text applies to --scorer cdpruner only") }
            // CDPruner's relevance as the official code computes it: CLIP's text embedding of the raw question.
            scorer = try CDPrunerScorer(clipTextTower: CLIPTextTower(directory: URL(fileURLWithPath: clipPath)), question: question)
        }
        guard (scorer == nil) == (keep == nil) else {
            throw BenchError.usage(scorer == nil ? "--keep needs --scorer NAME" : "--scorer \(scorerName) needs --keep N|P%")
        }
        let pruning = PruningOptions(pruning: try scorer.map { TokenPruning($0, keep: try TokenBudget(parsing: keep!)) },
                                     positions: positions, withdrawalLayer: withdrawal,
                                     kvBudget: kvShare.map { .calibratedPerRequest(retainedFraction: $0) })
        let answer = try assistant.answer(image: URL(fileURLWithPath: imagePath), question: question, pruning: pruning,
                                          maxNewTokens: maxTokens) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        print()
        let r = answer.report, fed = max(0, answer.tokens.count - 1)
        Progress.say(String(format: "ask: %d of %d visual tokens kept; time to first token %.2f s; %d tokens, %.2f tokens/s decoding",
                            r.keptVisualTokens, r.visualTokens, r.seconds.total - r.seconds.decode, answer.tokens.count,
                            fed > 0 && r.seconds.decode > 0 ? Double(fed) / r.seconds.decode : 0))
    }

    /// A text-only question to the GGUF text model at `path`.
    private static func runText(_ args: inout Arguments, model path: String) throws {
        let maxTokens = try args.integer("--max-tokens") ?? 128
        let precision = try LoadPrecision(parsing: try args.value("--weights") ?? "checkpoint")
        let question = try args.positional("question")
        try args.finish()
        guard path.hasSuffix(".gguf") else {
            throw BenchError.usage("ask without --image needs a GGUF text model (--model FILE.gguf); a model folder needs --image FILE")
        }
        guard (1...100_000).contains(maxTokens) else { throw BenchError.usage("--max-tokens is 1 ... 100000, got \(maxTokens)") }
        let model = try TextModel(gguf: URL(fileURLWithPath: path), weights: precision)
        let start = Stopwatch.wallNow()
        var firstToken: Double?
        let answer = try model.answer(question, maxNewTokens: maxTokens) { piece in
            if firstToken == nil { firstToken = Stopwatch.wallNow() - start }
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        let total = Stopwatch.wallNow() - start, first = firstToken ?? total, fed = max(0, answer.tokens.count - 1)
        Progress.say(String(format: "ask: %d prompt tokens; time to first token %.2f s; %d tokens, %.2f tokens/s decoding",
                            answer.promptIds.count, first, answer.tokens.count, fed > 0 && total > first ? Double(fed) / (total - first) : 0))
    }
}
