import Foundation
import VisionTokenPruning

/// Minimal SVG drawing for the benchmark's charts and patch overlays.
enum SVG {
    /// A line chart per metric: x = budget (% of visual tokens kept, log scale), one line per series.
    static func lineCharts(title: String, panels: [(metric: String, series: [(name: String, points: [(x: Double, y: Double)])])]) -> String {
        let width = 520, height = 300, margin = 50, legend = 100
        let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]
        var body = "<text x=\"10\" y=\"20\" font-size=\"14\">\(escape(title))</text>\n"
        for (p, panel) in panels.enumerated() {
            let ox = p * (width + 20)
            let xs = panel.series.flatMap { $0.points.map(\.x) }
            let lo = log2(xs.min() ?? 1), hi = log2(xs.max() ?? 2)
            func px(_ x: Double) -> Double { Double(ox + margin) + (log2(x) - lo) / max(hi - lo, 1e-9) * Double(width - 2 * margin - legend) }
            func py(_ y: Double) -> Double { Double(height - margin + 30) - y * Double(height - 2 * margin) }
            body += "<g><text x=\"\(ox + margin)\" y=\"45\" font-size=\"12\">\(escape(panel.metric)) vs % kept</text>\n"
            body += "<line x1=\"\(px(xs.min() ?? 1))\" y1=\"\(py(0))\" x2=\"\(px(xs.max() ?? 2))\" y2=\"\(py(0))\" stroke=\"black\"/>\n"
            body += "<line x1=\"\(ox + margin)\" y1=\"\(py(0))\" x2=\"\(ox + margin)\" y2=\"\(py(1))\" stroke=\"black\"/>\n"
            for t in [0.0, 0.5, 1.0] {
                body += "<text x=\"\(ox + 15)\" y=\"\(py(t) + 4)\" font-size=\"10\">\(t)</text>\n"
            }
            for x in Set(xs).sorted() {
                body += "<text x=\"\(px(x) - 10)\" y=\"\(py(0) + 15)\" font-size=\"10\">\(String(format: "%g", x))</text>\n"
            }
            for (i, s) in panel.series.enumerated() {
                let color = colors[i % colors.count]
                let points = s.points.sorted { $0.x < $1.x }.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
                body += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
                body += "<text x=\"\(ox + width - legend)\" y=\"\(60 + 14 * i)\" font-size=\"10\" fill=\"\(color)\">\(escape(s.name))</text>\n"
            }
            body += "</g>\n"
        }
        return document(width: panels.count * (width + 20), height: height + 40, body: body)
    }

    /// What became of a patch token.
    enum Fate {
        /// Reaches the language model as it is.
        case kept
        /// Reaches it only inside a merged token (drawn tinted).
        case merged
        /// Dropped (drawn dimmed).
        case dropped
    }

    /// A patch token's region of the drawn image (in its pixels) and what became of it.
    struct Cell {
        var x: ClosedRange<Double>
        var y: ClosedRange<Double>
        var fate: Fate
    }

    /// One method's drawing: per view group, the cells over a copy of the image.
    struct TokenPanel {
        var title: String
        var views: [[Cell]]
    }

    /// One row per panel, one copy of the image per view group (about 240 px on its longer side, drawn as
    /// colour blocks), dropped tokens' regions dimmed, merged tokens' sources tinted orange.
    static func tokenPanels(image: RGBImage, panels: [TokenPanel]) -> String {
        let scale = 240 / Double(max(image.width, image.height))
        let width = Double(image.width) * scale, height = Double(image.height) * scale, gap = 16.0
        let block = max(1, max(image.width, image.height) / 60)
        var picture = ""
        for by in stride(from: 0, to: image.height, by: block) {
            for bx in stride(from: 0, to: image.width, by: block) {
                var sum = (0, 0, 0), n = 0
                for y in by..<min(image.height, by + block) {
                    for x in bx..<min(image.width, bx + block) {
                        let i = (y * image.width + x) * 3
                        sum.0 += Int(image.pixels[i]); sum.1 += Int(image.pixels[i + 1]); sum.2 += Int(image.pixels[i + 2]); n += 1
                    }
                }
                picture += "<rect x=\"\(number(Double(bx) * scale))\" y=\"\(number(Double(by) * scale))\" width=\"\(number(Double(block) * scale + 0.5))\" height=\"\(number(Double(block) * scale + 0.5))\" fill=\"rgb(\(sum.0 / n),\(sum.1 / n),\(sum.2 / n))\"/>"
            }
        }
        var body = ""
        let columns = panels.map(\.views.count).max() ?? 1
        for (p, panel) in panels.enumerated() {
            let oy = Double(p) * (height + 24)
            body += "<text x=\"0\" y=\"\(oy + 14)\" font-size=\"12\">\(escape(panel.title))</text>\n"
            for (v, cells) in panel.views.enumerated() {
                body += "<g transform=\"translate(\(Double(v) * (width + gap)),\(oy + 20))\">\n" + picture + "\n"
                for cell in cells where cell.fate != .kept {
                    let fill = cell.fate == .merged ? "fill=\"orange\" fill-opacity=\"0.55\"" : "fill=\"black\" fill-opacity=\"0.75\""
                    body += "<rect x=\"\(number(cell.x.lowerBound * scale))\" y=\"\(number(cell.y.lowerBound * scale))\" width=\"\(number((cell.x.upperBound - cell.x.lowerBound) * scale))\" height=\"\(number((cell.y.upperBound - cell.y.lowerBound) * scale))\" \(fill)/>"
                }
                body += "\n</g>\n"
            }
        }
        return document(width: Int(Double(columns) * (width + gap)), height: Int(Double(panels.count) * (height + 24)), body: body)
    }

    private static func document(width: Int, height: Int, body: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body + "</svg>\n"
    }

    /// A coordinate with two decimals (a hundredth of a pixel), keeping drawings small.
    private static func number(_ value: Double) -> String { String(format: "%.2f", value) }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
