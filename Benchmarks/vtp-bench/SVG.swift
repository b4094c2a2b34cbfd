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

    /// One panel per entry: the image as patch-sized blocks (2x2 samples per patch), dropped patches dimmed.
    static func patchPanels(image: RGBImage, patchesPerSide: Int, panels: [(title: String, kept: Set<Int>)]) -> String {
        // About 240 px per panel whatever the grid; up to 4x4 colour samples per patch.
        let cell = max(8, 240 / patchesPerSide), sub = max(1, min(4, cell / 4)), side = patchesPerSide * cell, gap = 16
        var body = ""
        for (p, panel) in panels.enumerated() {
            let ox = p * (side + gap)
            body += "<text x=\"\(ox)\" y=\"14\" font-size=\"12\">\(escape(panel.title))</text>\n<g transform=\"translate(\(ox),20)\">\n"
            for patch in 0..<(patchesPerSide * patchesPerSide) {
                let row = patch / patchesPerSide, col = patch % patchesPerSide
                for sy in 0..<sub {
                    for sx in 0..<sub {
                        let (r, g, b) = average(image, patchesPerSide: patchesPerSide, row: row, col: col, sy: sy, sx: sx, sub: sub)
                        body += "<rect x=\"\(col * cell + sx * cell / sub)\" y=\"\(row * cell + sy * cell / sub)\" width=\"\(cell / sub)\" height=\"\(cell / sub)\" fill=\"rgb(\(r),\(g),\(b))\"/>"
                    }
                }
                if !panel.kept.contains(patch) {
                    body += "<rect x=\"\(col * cell)\" y=\"\(row * cell)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"black\" fill-opacity=\"0.75\"/>"
                }
                body += "\n"
            }
            body += "</g>\n"
        }
        return document(width: panels.count * (side + gap), height: side + 24, body: body)
    }

    private static func average(_ image: RGBImage, patchesPerSide: Int, row: Int, col: Int, sy: Int, sx: Int, sub: Int) -> (Int, Int, Int) {
        let patch = image.width / patchesPerSide, step = max(1, patch / sub)
        var sum = (0, 0, 0), n = 0
        for y in (row * patch + sy * step)..<min(image.height, row * patch + (sy + 1) * step) {
            for x in (col * patch + sx * step)..<min(image.width, col * patch + (sx + 1) * step) {
                let i = (y * image.width + x) * 3
                sum.0 += Int(image.pixels[i]); sum.1 += Int(image.pixels[i + 1]); sum.2 += Int(image.pixels[i + 2]); n += 1
            }
        }
        return n == 0 ? (0, 0, 0) : (sum.0 / n, sum.1 / n, sum.2 / n)
    }

    private static func document(width: Int, height: Int, body: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body + "</svg>\n"
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
