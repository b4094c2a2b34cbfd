import Foundation
import VisionTokenPruning

/// `vtp-bench show`: which patches each scorer keeps for one picture and prompt, drawn as an SVG.
enum ShowCommand {
    static func run(_ args: inout Arguments) throws {
        guard let modelPath = try args.value("--model"), let imagePath = try args.value("--image"),
              let promptText = try args.value("--prompt"), let keep = try args.value("--keep"),
              let svgPath = try args.value("--svg") else {
            throw BenchError.usage("show needs --model DIR --image FILE.ppm --prompt \"ID ID ...\" --keep N|P% --svg FILE")
        }
        let names = try args.value("--scorers")?.split(separator: ",").map(String.init)
            ?? ScorerCatalog.names.filter { $0 != "none" }
        try args.finish()
        let directory = URL(fileURLWithPath: modelPath)
        let output = try OutputFile(svgPath, flag: "--svg", inputs: [URL(fileURLWithPath: imagePath)], modelFolder: directory)
        let model = try LlavaModel(directory: directory)
        let c = model.configuration
        let processor = try CLIPImageProcessor(directory: directory, defaultSize: c.vision.imageSize)
        let seen = try processor.resizedAndCropped(try PortablePixmap.read(URL(fileURLWithPath: imagePath)))
        let pixels = processor.normalize(seen)
        let prompt = try promptText.split(separator: " ").map { token -> Int in
            guard let id = Int(token) else { throw BenchError.usage("--prompt takes token ids separated by spaces, got '\(token)'") }
            return id
        }
        let budget = try TokenBudget(parsing: keep)
        var panels: [(title: String, kept: Set<Int>)] = []
        for name in names {
            Progress.say("show: \(name)")
            let pipeline = try PruningPipeline(model: model, scorer: ScorerCatalog.scorer(named: name, for: c), budget: budget)
            let result = try pipeline.run(image: ImageInput(pixels: pixels), tokenIds: prompt)
            panels.append(("\(name) (\(result.keptVisualIndices.count))", Set(result.keptVisualIndices)))
        }
        let svg = SVG.patchPanels(image: seen, patchesPerSide: c.vision.patchesPerSide, panels: panels)
        try output.write(Data(svg.utf8))
        print("wrote \(svgPath): \(panels.count) panels, \(c.vision.patchCount) patches each")
    }
}
