import Foundation

/// Renders a report for a person: the setup line and the headline first, then each section in the order of
/// the story, tables with identity columns first, then sizes, times, speed-ups and details; numbers in
/// human units (36.6 s, 2.5 ms, 2.53 TFLOP, 29.4 MB, 8.58x), never a bare exponent.
enum TableFormatter {
    /// Report keys in the order they are told; other keys follow alphabetically.
    static let sectionOrder = ["setup", "headline", "model", "image", "prompt_tokens", "threads", "backend", "rows", "spread",
                               "weights", "kv_budget", "sweep", "gemm", "weight_precision", "models", "scorer_overhead", "tokenize"]

    static func render(_ report: [String: Any]) -> String {
        var out: [String] = []
        let keys = sectionOrder.filter { report[$0] != nil } + report.keys.filter { !sectionOrder.contains($0) }.sorted()
        for key in keys {
            let value = report[key]!
            if let rows = value as? [[String: Any]] {
                guard !rows.isEmpty else { continue }
                out.append("\n== \(header(key)) ==")
                out.append(table(rows))
            } else if let nested = value as? [String: Any] {
                out.append("\n== \(header(key)) ==")
                out.append(render(nested))
            } else if key == "setup" || key == "headline" {
                out.append("\(value)")
            } else {
                out.append("\(header(key)): \(format(value, key: key))")
            }
        }
        return out.joined(separator: "\n")
    }

    /// Columns: what a row is, then how much it keeps, its times, its speed-ups, then the rest.
    static func rank(_ key: String) -> Int {
        let identity = ["method", "scorer", "keep", "weights", "kv_budget", "model", "kernel", "label", "m", "k", "n"]
        if let i = identity.firstIndex(of: key) { return i }
        if key.contains("tokens") && !key.hasSuffix("_per_s") { return 20 }
        if key.hasPrefix("ttft") { return 30 }
        if key.contains("speedup") || key.contains("ratio") || key.contains("_over_") { return 40 }
        if key == "accuracy" || key == "agreement" || key == "mean_kl" { return 25 }
        if key.hasSuffix("_s") { return 50 }
        return 60
    }

    static func table(_ rows: [[String: Any]]) -> String {
        var columns: [String] = []
        for row in rows { for k in row.keys where !columns.contains(k) { columns.append(k) } }
        columns.sort { rank($0) != rank($1) ? rank($0) < rank($1) : $0 < $1 }
        let cells = rows.map { row in columns.map { key in row[key].map { format($0, key: key) } ?? "-" } }
        let titles = columns.map(header)
        let widths = columns.indices.map { c in max(titles[c].count, cells.map { $0[c].count }.max() ?? 0) }
        func line(_ items: [String]) -> String {
            zip(items, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }
        return ([line(titles)] + cells.map(line)).joined(separator: "\n")
    }

    /// A column title from a JSON key: words, unit suffixes spelled out.
    static func header(_ key: String) -> String {
        var k = key
        for (suffix, unit) in [("_gb_per_s", " (GB/s)"), ("_per_s", " (/s)"), ("_gflops", " (GFLOP/s)"), ("_bytes", ""), ("_s", "")]
            where k.hasSuffix(suffix) {
            k = String(k.dropLast(suffix.count)) + unit
            break
        }
        let words = k.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: "ttft", with: "TTFT")
            .replacingOccurrences(of: "flops", with: "FLOPs").replacingOccurrences(of: "kl", with: "KL")
        return words == "kv" ? "KV cache" : words.replacingOccurrences(of: "kv ", with: "KV ")
    }

    /// A value in the unit its key names.
    static func format(_ value: Any, key: String = "") -> String {
        if value is NSNull { return "-" }
        guard let number = (value as? Double) ?? (value as? Int).map(Double.init) else { return "\(value)" }
        if value is Int && !(key.hasSuffix("_bytes") || key == "bytes" || key.contains("flops")) { return "\(value)" }
        if number.isNaN { return "nan" }
        if key.contains("speedup") || key.contains("ratio") || key.contains("_over_") { return String(format: "%.2fx", number) }
        if key.hasSuffix("_gflops") { return String(format: "%.1f", number) }
        if key.contains("flops") { return scaled(number, unit: "FLOP") }
        if key.hasSuffix("_bytes") || key == "bytes" { return scaled(number, unit: "B") }
        if key.hasSuffix("_gb_per_s") { return String(format: "%.1f", number) }
        if key.hasSuffix("_per_s") { return number >= 1000 ? scaled(number, unit: "") : String(format: "%.2f", number) }
        if key.hasSuffix("_s") || key == "seconds" {
            return number < 0.9995 ? String(format: "%.1f ms", number * 1000) : String(format: "%.1f s", number)
        }
        return plain(number)
    }

    /// `number` with a metric prefix: 2.53 T, 29.4 M, 512 k.
    static func scaled(_ number: Double, unit: String) -> String {
        let prefixes = ["", "k", "M", "G", "T", "P"]
        var v = number, i = 0
        while abs(v) >= 1000 && i < prefixes.count - 1 { v /= 1000; i += 1 }
        let digits = abs(v) >= 100 ? "%.0f" : abs(v) >= 10 ? "%.1f" : "%.2f"
        return String(format: digits, v) + " " + prefixes[i] + unit
    }

    /// A plain decimal with three significant digits after leading zeros (0.917, 0.00029), no exponent.
    static func plain(_ d: Double) -> String {
        if d == 0 { return "0" }
        if abs(d) >= 100 { return String(format: "%.1f", d) }
        let decimals = max(3, Int((-log10(abs(d))).rounded(.down)) + 3)
        return String(format: "%.\(min(decimals, 12))f", d)
    }
}
