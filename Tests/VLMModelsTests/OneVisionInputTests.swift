import Foundation
import TensorCore
import TestSupport
import VLMModels
import XCTest

/// LLaVA-OneVision's two on-disk layouts and the configurations and checkpoints it refuses, each with its typed error.
final class OneVisionInputTests: XCTestCase {
    /// The fixture's config.json as a mutable dictionary.
    private func fixtureConfig() throws -> [String: Any] {
        let dir = try requireFixture("tiny-llava-onevision")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
    }

    /// The reason of the `ModelError.invalidConfiguration` that decoding `config` throws.
    private func refusal(_ config: [String: Any], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try LlavaConfiguration.decode(try JSONSerialization.data(withJSONObject: config))
            XCTFail("accepted", file: file, line: line)
        } catch ModelError.invalidConfiguration(_, let reason) {
            return reason
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return ""
    }

    func testTransformers5ConfigAndKeyLayoutGiveTheSameTokens() throws {
        let dir = try requireFixture("tiny-llava-onevision")
        let f = try NextFixtureSamples.loadOneVision()
        let folder = try temporaryFolder()
        // transformers 5's save: rope theta under rope_parameters, dtype, every default written out.
        var config = try fixtureConfig()
        var text = config["text_config"] as! [String: Any]
        text["rope_parameters"] = ["rope_theta": text.removeValue(forKey: "rope_theta")!, "rope_type": "default"]
        text["hidden_act"] = "silu"
        config["text_config"] = text
        var vision = config["vision_config"] as! [String: Any]
        vision["hidden_act"] = "gelu_pytorch_tanh"
        vision["layer_norm_eps"] = 1e-6
        config["vision_config"] = vision
        config["dtype"] = "float32"
        config["multimodal_projector_bias"] = true
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: dir.appendingPathComponent("preprocessor_config.json"),
                                         to: folder.appendingPathComponent("preprocessor_config.json"))
        // ... and its key layout: the vision tower without `vision_model.`, the rest as on the hub.
        let source = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for name in source.tensorNames {
            let saved = name.replacingOccurrences(of: "vision_tower.vision_model.", with: "vision_tower.")
            try writer.add(saved, try source.floatTensor(name))
        }
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        let model = try LlavaModel(directory: folder)
        XCTAssertEqual(model.configuration, f.model.configuration)
        let image = try model.imageProcessor.preprocess(f.images[1])
        XCTAssertEqual(try model.generate(image: image, tokenIds: f.prompts[1], maxNewTokens: 8, stopAtEndOfSequence: false).tokens,
                       try f.integers("generated_ids", 1))

        // Both vision prefixes in one checkpoint: refused, naming one key of each.
        var mixed = SafetensorsWriter(metadata: ["format": "pt"])
        for name in source.tensorNames {
            try mixed.add(name.contains("layers.0.") ? name.replacingOccurrences(of: "vision_model.", with: "") : name,
                          try source.floatTensor(name))
        }
        try mixed.write(to: folder.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try LlavaModel(directory: folder)) {
            guard case .mixedWeightLayouts(let example) = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(example.contains("goes through 'vision_model.'") && example.contains("vision_tower.encoder.layers.0."), example)
        }
    }

    func testRefusedConfigurations() throws {
        var config = try fixtureConfig()
        // A SigLIP tower "with a [CLS] token": the 'default' strategy would drop a patch.
        config["vision_feature_select_strategy"] = "default"
        XCTAssertTrue(refusal(config).contains("drops a [CLS] token, but the siglip_vision_model tower has none: use 'full'"))
        config = try fixtureConfig()
        config["vision_feature_layer"] = -5
        XCTAssertTrue(refusal(config).contains("vision_feature_layer -5 is outside the 4 hidden states"))
        config["vision_feature_layer"] = 4
        XCTAssertTrue(refusal(config).contains("vision_feature_layer 4 is outside the 4 hidden states"))
        config = try fixtureConfig()
        config["image_grid_pinpoints"] = [[26, 26], [26, 40]]
        XCTAssertTrue(refusal(config).contains("pinpoint [26, 40] is not a positive multiple of the view size 26"))
        config = try fixtureConfig()
        config["vision_aspect_ratio"] = "anyres_max_0"
        XCTAssertTrue(refusal(config).contains("'anyres_max_0' is not anyres_max_N with N in 1...64"))
        config = try fixtureConfig()
        var vision = config["vision_config"] as! [String: Any]
        vision["model_type"] = "dinov2"
        config["vision_config"] = vision
        XCTAssertTrue(refusal(config).contains("vision model_type 'dinov2' is not 'clip_vision_model' or 'siglip_vision_model'"))
        config = try fixtureConfig()
        config.removeValue(forKey: "text_config")
        XCTAssertTrue(refusal(config).contains("llava_onevision needs a text_config"))
    }

    func testPreprocessorSizeMustBeTheViewSize() throws {
        let dir = try requireFixture("tiny-llava-onevision")
        let folder = try temporaryFolder()
        var pre = try JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.appendingPathComponent("preprocessor_config.json"))) as! [String: Any]
        pre["size"] = ["height": 26, "width": 30]
        try JSONSerialization.data(withJSONObject: pre).write(to: folder.appendingPathComponent("preprocessor_config.json"))
        let configuration = try LlavaConfiguration.load(directory: dir)
        XCTAssertThrowsError(try LlavaImageProcessor(directory: folder, configuration: configuration)) {
            guard case .invalidConfiguration(_, let reason) = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("size must be {\"height\": 26, \"width\": 26}"), reason)
        }
    }

    /// Python's float floor division where it differs from floor(a / b), and the anyres_max_9 size rule.
    func testDownsampledSizeUsesPythonFloorDivision() throws {
        func layout(_ height: Int, _ width: Int, view: Int, patch: Int, limit: Int?) throws -> AnyResolutionLayout {
            let pinpoints = (1...6).flatMap { a in (1...6).map { b in PixelSize(height: view * a, width: view * b) } }
            return try AnyResolutionLayout(imageSize: PixelSize(height: height, width: width), pinpoints: pinpoints,
                                           viewSize: view, patchSize: patch, maxGridViews: limit)
        }
        // 15x15 patches of 9-token views: ratio √(225/81) = 1.667; 15 / ratio is 9.0 in double, 15 // ratio is 8.
        let fifteen = try layout(118, 121, view: 26, patch: 8, limit: 9)
        XCTAssertEqual([fifteen.keptRows.count, fifteen.keptColumns.count], [15, 15])
        XCTAssertEqual(fifteen.outputRows, 8)
        XCTAssertEqual((15 / (225.0 / 81).squareRoot()).rounded(.down), 9)
        // The real model's table (MODELS-2025 §1.6): 162x162 → 81x81, 98x81 (ratio 1.0998) kept, no limit kept.
        let large = try layout(2048, 2048, view: 384, patch: 14, limit: 9)
        XCTAssertEqual([large.keptRows.count, large.outputRows], [162, 81])
        let edge = try layout(1159, 949, view: 384, patch: 14, limit: 9)
        XCTAssertEqual([edge.keptRows.count, edge.keptColumns.count, edge.outputRows, edge.outputColumns], [98, 81, 98, 81])
        let unlimited = try layout(1152, 2304, view: 384, patch: 14, limit: nil)
        XCTAssertEqual([unlimited.keptRows.count, unlimited.keptColumns.count, unlimited.outputColumns], [81, 162, 162])
    }

    /// The real OneVision configuration's visual-token counts (MODELS-2025 §1.6 table, from transformers).
    func testRealConfigurationTokenCounts() throws {
        let siglip = VisionTowerConfiguration.siglipSo400m384
        XCTAssertEqual(siglip.patchesPerSide, 27)
        for (size, tokens) in [((384, 384), 1485), ((100, 150), 1261), ((480, 640), 2929), ((640, 480), 2943),
                               ((768, 1024), 4725), ((899, 1024), 6551), ((1080, 1920), 7269), ((2048, 2048), 7371),
                               ((200, 1500), 2364), ((1159, 949), 8765)] {
            let layout = try AnyResolutionLayout(
                imageSize: PixelSize(height: size.0, width: size.1), pinpoints: LlavaConfiguration.defaultPinpoints384,
                viewSize: 384, patchSize: 14, maxGridViews: 9)
            XCTAssertEqual(layout.imageTokenCount, tokens, "\(size.0)x\(size.1)")
        }
    }

    /// Generated checkpoints list every tensor of each family (NeXT's and OneVision's `image_newline`, SigLIP's
    /// patch bias and missing [CLS], Qwen2's biases): they load with none missing or unused, and run.
    func testGeneratedNextAndOneVisionCheckpointsLoad() throws {
        for dir in [try requireTinyLlavaNextFixture(), try requireFixture("tiny-llava-onevision")] {
            let configuration = try LlavaConfiguration.load(directory: dir)
            let folder = try temporaryFolder()
            try GeneratedCheckpoint.write(configuration: configuration, to: folder, dtype: .bf16)
            let model = try LlavaModel(directory: folder)
            XCTAssertEqual(model.configuration, configuration)
            let image = try model.imageProcessor.preprocess(try RGBImage(width: 40, height: 30, pixels: [UInt8](repeating: 90, count: 3600)))
            let prompt = [1, configuration.imageTokenId, 5]
            XCTAssertEqual(try model.generate(image: image, tokenIds: prompt, maxNewTokens: 2, stopAtEndOfSequence: false).tokens.count, 2)
        }
    }
}
