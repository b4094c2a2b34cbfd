import Foundation
import VisionTokenPruning

/// `vtp-bench tokenize`: check a tokenizer against a `vtp-tokenizer-cases-1` file, encode a text, or measure
/// single-thread encoding throughput on a text file.
enum TokenizeCommand {
    static func run(_ args: inout Arguments, json: Bool) throws {
        guard let folder = try args.value("--tokenizer") else {
            throw BenchError.usage("tokenize needs --tokenizer DIR and one of --check CASES.json, --throughput FILE, or a text")
        }
        let checkPath = try args.value("--check"), throughputPath = try args.value("--throughput")
        let text = try args.optionalPositional()
        try args.finish()
        guard [checkPath != nil, throughputPath != nil, text != nil].filter({ $0 }).count == 1 else {
            throw BenchError.usage("tokenize takes exactly one of --check CASES.json, --throughput FILE, or a text")
        }
        let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: folder))
        if let checkPath {
            let cases = try TokenizerCases(url: URL(fileURLWithPath: checkPath))
            let mismatches = cases.check(tokenizer)
            if json {
                try printJSON(["cases": cases.caseCount, "mismatches": mismatches])
            } else {
                for m in mismatches { print(m) }
                print("tokenize: \(cases.caseCount) cases, \(mismatches.count) mismatches")
            }
            if !mismatches.isEmpty { throw BenchError.failed("\(mismatches.count) tokenizer mismatches") }
        } else if let throughputPath {
            let file = try String(decoding: RegularFile.read(URL(fileURLWithPath: throughputPath)), as: UTF8.self)
            guard !file.isEmpty else { throw BenchError.usage("--throughput needs a non-empty text file") }
            // At least 4 MB of text, one line per encode call as a server would see prompts.
            let lines = file.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            let repeats = max(1, (4 << 20) / max(1, file.utf8.count))
            var tokens = 0, bytes = 0
            let t = try Stopwatch.time {
                for _ in 0..<repeats {
                    for line in lines { tokens += try tokenizer.encode(line, addSpecialTokens: false).count; bytes += line.utf8.count }
                }
            }
            try BenchCommand.emit(["tokenize": [["bytes": bytes, "tokens": tokens, "seconds": t.wallSeconds,
                                                 "tokens_per_s": Double(tokens) / t.wallSeconds,
                                                 "bytes_per_s": Double(bytes) / t.wallSeconds]]], json: json)
        } else if let text {
            let ids = try tokenizer.encode(text)
            let tokens = try ids.map { try tokenizer.token($0) }
            if json {
                try printJSON(["ids": ids, "tokens": tokens])
            } else {
                print(ids.map(String.init).joined(separator: " "))
                print(tokens.joined(separator: " | "))
            }
        }
    }

    /// One JSON object on stdout, keys sorted.
    private static func printJSON(_ object: [String: Any]) throws {
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
}
