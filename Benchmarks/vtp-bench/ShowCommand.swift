import Foundation
import VisionTokenPruning

/// `vtp-bench show`: which visual tokens each scorer keeps for one picture and prompt, drawn as an SVG over
/// the image (LLaVA-NeXT, OneVision: the base view's patches, then every crop's patches, or OneVision's
/// downsampled grid, over the original image; Qwen2.5-VL: its merged tokens over the original image). For a
/// vision tower on its own (DINOv2), no prompt: the patches its last layer's [CLS] attention keeps.
enum ShowCommand {
    static func run(_ args: inout Arguments) throws {
        guard let modelPath = try args.value("--model"), let imagePath = try args.value("--image"),
              let keep = try args.value("--keep"), let svgPath = try args.value("--svg") else {
            throw BenchError.usage("show needs --model DIR --image FILE [--prompt \"ID ID ...\"] --keep N|P% --svg FILE")
        }
        let promptText = try args.value("--prompt")
        let listed = try args.value("--scorers")?.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if let listed, listed.contains(where: \.isEmpty) {
            throw BenchError.usage("--scorers takes a comma-separated list of scorer names, got an empty name")
        }
        try args.finish()
        let directory = URL(fileURLWithPath: modelPath)
        let output = try OutputFile(svgPath, flag: "--svg", inputs: [URL(fileURLWithPath: imagePath)], modelFolder: directory)
        if try ModelRegistry.modelType(directory: directory) == VisionTowerFamily.dinov2.rawValue {
            guard promptText == nil, listed == nil else {
                throw BenchError.usage("a vision tower on its own has no prompt and one selection ([CLS] attention): drop --prompt and --scorers")
            }
            return try showClassAttention(directory: directory, image: URL(fileURLWithPath: imagePath),
                                          budget: try TokenBudget(parsing: keep), output: output, path: svgPath)
        }
        guard let promptText else { throw BenchError.usage("show needs --prompt \"ID ID ...\" for a vision-language model") }
        let model = try ModelRegistry.load(directory: directory)
        let c = model.modelDescription
        let names = listed ?? ScorerCatalog.names(for: c).filter { $0 != "none" }
        let original = try ImageFile.read(URL(fileURLWithPath: imagePath))
        let prompt = try promptText.split(separator: " ").map { token -> Int in
            guard let id = Int(token) else { throw BenchError.usage("--prompt takes token ids separated by spaces, got '\(token)'") }
            return id
        }
        let budget = try TokenBudget(parsing: keep)
        // What is drawn: the image the model saw (LLaVA-1.5: resized and cropped) or the original (the others).
        let image: ImageInput, backdrop: RGBImage
        if let llava = model as? LlavaModel, case .singleView(let clip) = llava.imageProcessor {
            backdrop = try clip.resizedAndCropped(original)
            image = ImageInput(pixels: clip.normalize(backdrop))
        } else {
            backdrop = original
            image = try model.preprocess(original)
        }
        let tokens = try model.encodeImage(image).tokens
        var panels: [SVG.TokenPanel] = []
        for name in names {
            Progress.say("show: \(name)")
            let pipeline = try PruningPipeline(model: model, pruning: ScorerCatalog.pruning(named: name, for: c, keep: budget))
            let result = try pipeline.run(image: image, tokenIds: prompt)
            let kept = Set(result.keptVisualIndices), merged = result.mergedVisualTokens
            let index = Dictionary(tokens.origins.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let mergedSources = Set(merged.flatMap(\.sources).compactMap { index[$0] }).subtracting(kept)
            let counts = merged.isEmpty ? "\(kept.count)" : "\(kept.count) kept + \(merged.count) merged"
            panels.append(SVG.TokenPanel(title: "\(name) (\(counts) of \(tokens.count))",
                                         views: regions(tokens, kept: kept, merged: mergedSources, backdrop: backdrop)))
        }
        try output.write(Data(SVG.tokenPanels(image: backdrop, panels: panels).utf8))
        print("wrote \(svgPath): \(panels.count) panels, \(tokens.count) visual tokens in \(tokens.viewCount) views each")
    }

    /// Per view (base view, then the crops or the downsampled grid drawn together over the image), each content
    /// token's region of the backdrop and whether it was kept, merged into another token or dropped; newline
    /// tokens have no region.
    private static func regions(_ tokens: VisualTokenMap, kept: Set<Int>, merged: Set<Int>, backdrop: RGBImage) -> [[SVG.Cell]] {
        var base: [SVG.Cell] = [], crops: [SVG.Cell] = []
        let rows = Double(tokens.patchRows), columns = Double(tokens.patchColumns)
        for (i, origin) in tokens.origins.enumerated() {
            let region: AnyResolutionLayout.ImageRegion?, isBase: Bool
            switch origin {
            case let .patch(view, row, column):
                region = tokens.anyResolution.map { $0.imageRegion(view: view, row: row, column: column) }
                    ?? AnyResolutionLayout.ImageRegion(
                        x: Double(column) * Double(backdrop.width) / columns...Double(column + 1) * Double(backdrop.width) / columns,
                        y: Double(row) * Double(backdrop.height) / rows...Double(row + 1) * Double(backdrop.height) / rows)
                isBase = view == 0
            case let .resampled(row, column):
                region = tokens.anyResolution?.imageRegion(outputRow: row, column: column)
                isBase = false
            case .classToken, .newline:
                continue
            }
            guard let region else { continue }
            let cell = SVG.Cell(x: region.x, y: region.y, fate: kept.contains(i) ? .kept : merged.contains(i) ? .merged : .dropped)
            if isBase { base.append(cell) } else { crops.append(cell) }
        }
        return crops.isEmpty ? [base] : [base, crops]
    }

    /// The patches a standalone tower's last-layer [CLS] attention (averaged over heads) keeps, over the crop it saw.
    private static func showClassAttention(directory: URL, image: URL, budget: TokenBudget, output: OutputFile, path: String) throws {
        let model = try StandaloneVisionTower(directory: directory)
        let backdrop = try model.processor.resizedAndCropped(try ImageFile.read(image))
        let c = model.tower.configuration
        let scores = try model.classAttention(pixels: model.processor.normalize(backdrop), layer: c.layerCount - 1)
        let kept = Set(try TopK.indices(of: scores, k: try budget.resolve(available: scores.count)))
        let side = Double(c.patchesPerSide), cellWidth = Double(backdrop.width) / side, cellHeight = Double(backdrop.height) / side
        let cells = scores.indices.map { p in
            SVG.Cell(x: Double(p % c.patchesPerSide) * cellWidth...Double(p % c.patchesPerSide + 1) * cellWidth,
                     y: Double(p / c.patchesPerSide) * cellHeight...Double(p / c.patchesPerSide + 1) * cellHeight,
                     fate: kept.contains(p) ? .kept : .dropped)
        }
        let title = "[CLS] attention: \(kept.count) of \(scores.count) kept"
        try output.write(Data(SVG.tokenPanels(image: backdrop, panels: [SVG.TokenPanel(title: title, views: [cells])]).utf8))
        print("wrote \(path): \(kept.count) of \(scores.count) patches kept by [CLS] attention")
    }
}
