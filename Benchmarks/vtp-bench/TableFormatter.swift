import Foundation

/// Renders a report dictionary as aligned text tables: one table per array of rows.
enum TableFormatter {
    static func render(_ report: [String: Any]) -> String {
        var out: [String] = []
        for key in report.keys.sorted() {
            if let rows = report[key] as? [[String: Any]], !rows.isEmpty {
                out.append("\n== \(key) ==")
                out.append(table(rows))
            } else if let nested = report[key] as? [String: Any] {
                out.append("\n== \(key) ==")
                out.append(render(nested))
            } else if !(report[key] is [[String: Any]]) {
                out.append("\(key): \(format(report[key]!))")
            }
        }
        return out.joined(separator: "\n")
    }

    static func table(_ rows: [[String: Any]]) -> String {
        let leading = ["method", "scorer", "keep", "kv_budget", "model", "kernel", "label", "m", "k", "n"]
        var columns: [String] = leading.filter { key in rows.contains { $0[key] != nil } }
        for row in rows { for k in row.keys.sorted() where !columns.contains(k) { columns.append(k) } }
        let cells = rows.map { row in columns.map { row[$0].map(format) ?? "-" } }
        let widths = columns.indices.map { c in max(columns[c].count, cells.map { $0[c].count }.max() ?? 0) }
        func line(_ items: [String]) -> String {
            zip(items, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(columns)] + cells.map(line)).joined(separator: "\n")
    }

    static func format(_ value: Any) -> String {
        switch value {
        case let d as Double:
            if d.isNaN { return "nan" }
            if d != 0 && abs(d) < 0.001 { return String(format: "%.2e", d) }
            return String(format: abs(d) >= 100 ? "%.1f" : "%.3f", d)
        case is NSNull: return "-"
        default: return "\(value)"
        }
    }
}
