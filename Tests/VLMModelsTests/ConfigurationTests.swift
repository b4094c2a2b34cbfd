import Foundation
import TestSupport
import VLMModels
import XCTest

/// `config.json` decoding: the fixture, sparse hub configs with transformers' defaults, and bad files.
final class ConfigurationTests: XCTestCase {
    func testFixtureConfig() throws {
        let c = try LlavaConfiguration.load(directory: try requireTinyLlavaFixture())
        XCTAssertEqual(c.vision.hiddenSize, 64)
        XCTAssertEqual(c.vision.patchCount, 16)
        XCTAssertEqual(c.vision.activation, .quickGelu)
        XCTAssertEqual(c.text.kvHeadCount, 2)
        XCTAssertEqual(c.text.ropeTheta, 10000)
        XCTAssertEqual(c.text.rmsNormEps, 1e-6)
        XCTAssertEqual(c.imageTokenId, 299)
        XCTAssertEqual(c.visionFeatureHiddenState, 2)
        XCTAssertEqual(c.visionFeatureSelection, .patchesOnly)
        XCTAssertEqual(c.visualTokenCount, 16)
    }

    /// The llava-hf/llava-1.5-7b-hf config as published: sparse, transformers-4 style.
    func testSparseHubConfigTakesTransformersDefaults() throws {
        let json = """
        {"architectures":["LlavaForConditionalGeneration"],"ignore_index":-100,"image_token_index":32000,
         "model_type":"llava","pad_token_id":32001,"projector_hidden_act":"gelu",
         "text_config":{"_name_or_path":"lmsys/vicuna-7b-v1.5","architectures":["LlamaForCausalLM"],
           "max_position_embeddings":4096,"model_type":"llama","rms_norm_eps":1e-05,"torch_dtype":"float16","vocab_size":32064},
         "tie_word_embeddings":false,"torch_dtype":"float16","transformers_version":"4.36.0.dev0",
         "vision_config":{"hidden_size":1024,"image_size":336,"intermediate_size":4096,"model_type":"clip_vision_model",
           "num_attention_heads":16,"num_hidden_layers":24,"patch_size":14,"projection_dim":768,"vocab_size":32000},
         "vision_feature_layer":-2,"vision_feature_select_strategy":"default"}
        """
        let c = try LlavaConfiguration.decode(Data(json.utf8))
        XCTAssertEqual(c.text.hiddenSize, 4096)
        XCTAssertEqual(c.text.layerCount, 32)
        XCTAssertEqual(c.text.kvHeadCount, 32)
        XCTAssertEqual(c.text.headDimension, 128)
        XCTAssertEqual(c.text.rmsNormEps, 1e-5)
        XCTAssertEqual(c.text.ropeTheta, 10000)
        XCTAssertEqual(c.text.vocabularySize, 32064)
        XCTAssertEqual(c.vision.activation, .quickGelu)
        XCTAssertEqual(c.vision.layerNormEps, 1e-5)
        XCTAssertEqual(c.vision.patchCount, 576)
        XCTAssertEqual(c.visionFeatureHiddenState, 23)
        XCTAssertEqual(c.visionFeatureEncoderLayer, 22)
        XCTAssertEqual(c.visualTokenCount, 576)
        // rope_theta at top level of text_config, and a round trip through our own encoder.
        let withTheta = json.replacingOccurrences(of: "\"rms_norm_eps\":1e-05", with: "\"rms_norm_eps\":1e-05,\"rope_theta\":500000")
        XCTAssertEqual(try LlavaConfiguration.decode(Data(withTheta.utf8)).text.ropeTheta, 500000)
        XCTAssertEqual(try LlavaConfiguration.decode(c.jsonData()), c)
    }

    func testBadConfigsThrowDescriptiveErrors() {
        func reason(_ json: String) -> String {
            do { _ = try LlavaConfiguration.decode(Data(json.utf8), path: "c.json"); return "no error" } catch {
                guard case let .invalidConfiguration(path, reason) = error as? ModelError, path == "c.json" else { return "\(error)" }
                return reason
            }
        }
        XCTAssertEqual(reason("{"), "JSON: expected a member name at byte 1")
        XCTAssertTrue(reason(#"{"model_type":"qwen2_vl"}"#).contains("qwen2_vl"))
        XCTAssertTrue(reason(#"{"text_config":{"num_attention_heads":32,"num_key_value_heads":5}}"#).contains("multiple of 5"))
        XCTAssertTrue(reason(#"{"text_config":{"hidden_size":"big"}}"#).contains("text_config.hidden_size"))
        XCTAssertTrue(reason(#"{"vision_feature_layer":40}"#).contains("vision_feature_layer 40"))
        XCTAssertTrue(reason(#"{"vision_feature_layer":[-2,-5]}"#).contains("list"))
        XCTAssertTrue(reason(#"{"vision_config":{"image_size":300,"patch_size":14}}"#).contains("multiple of patch_size"))
        XCTAssertTrue(reason(#"{"projector_hidden_act":"relu6"}"#).contains("relu6"))
        XCTAssertTrue(reason(#"{"text_config":{"rope_scaling":{"rope_type":"llama3"}}}"#).contains("llama3"))
        assertThrows(try LlavaConfiguration.load(directory: URL(fileURLWithPath: "/nonexistent")), ModelError.self, "/nonexistent/config.json: No such file")
    }

    /// Found by FuzzConfiguration: a non-integer eos_token_id was silently dropped, and the configuration
    /// then re-encoded to a different one (eos absent → default 2). Crashing input, trimmed.
    func testFuzzRegressionSpecialTokenIdsRoundTrip() throws {
        let crash = #"{"image_token_index": 299, "model_type": "llava", "text_config": {"bos_token_id": 1, "eos_token_id": "quick_gelu", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 3}}"#
        XCTAssertThrowsError(try LlavaConfiguration.decode(Data(crash.utf8))) { error in
            guard case let .invalidConfiguration(_, reason) = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("eos_token_id"), reason)
        }
        for (eos, expected) in [("null", []), ("[2, 7]", [2, 7]), ("5", [5])] as [(String, [Int])] {
            let json = #"{"text_config": {"eos_token_id": \#(eos), "bos_token_id": null, "hidden_size": 64, "num_attention_heads": 4}}"#
            let c = try LlavaConfiguration.decode(Data(json.utf8))
            XCTAssertEqual(c.text.eosTokenIds, expected)
            XCTAssertNil(c.text.bosTokenId)
            XCTAssertEqual(try LlavaConfiguration.decode(c.jsonData()), c, "eos \(eos)")
        }
    }

    /// Malformed eos lists in config.json are typed errors naming the key.
    func testMalformedEndOfSequenceListsAreRejected() {
        for eos in [#"[2, "x"]"#, "[2.5]", "[-1]", #"{"id": 2}"#] {
            let json = #"{"text_config": {"eos_token_id": \#(eos), "hidden_size": 64, "num_attention_heads": 4}}"#
            XCTAssertThrowsError(try LlavaConfiguration.decode(Data(json.utf8)), eos) { error in
                guard case let .invalidConfiguration(_, reason) = error as? ModelError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("eos_token_id"), reason)
            }
        }
    }

    /// Sizes beyond `ConfigurationBounds` are refused before anything is multiplied or allocated, naming the
    /// file, the key and the bound; values at the bound pass this check.
    func testSizesBeyondBoundsAreRefusedNamingTheKey() throws {
        let cases: [(section: String, key: String, value: Int)] = [
            ("text_config", "num_hidden_layers", 1025), ("text_config", "vocab_size", 1 << 40),
            ("text_config", "hidden_size", 1_000_000_000_000_000), ("text_config", "max_position_embeddings", 1 << 30),
            ("text_config", "num_key_value_heads", 5000), ("vision_config", "image_size", 16386),
            ("vision_config", "num_channels", 17), ("vision_config", "intermediate_size", Int.max),
        ]
        for c in cases {
            let json = #"{"\#(c.section)": {"\#(c.key)": \#(c.value)}}"#
            XCTAssertThrowsError(try LlavaConfiguration.decode(Data(json.utf8), path: "/m/config.json"), c.key) { error in
                guard case let .invalidConfiguration(path, reason)? = error as? ModelError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, "/m/config.json")
                XCTAssertTrue(reason.contains("\(c.section).\(c.key) \(c.value) exceeds the bound"), reason)
            }
        }
        let product = #"{"text_config": {"num_attention_heads": 4096, "head_dim": 128, "hidden_size": 4096}}"#
        XCTAssertThrowsError(try LlavaConfiguration.decode(Data(product.utf8))) { error in
            XCTAssertTrue("\(error)".contains("num_attention_heads × head_dim = 524288 exceeds the bound 262144"), "\(error)")
        }
        let atBound = #"{"text_config": {"num_hidden_layers": 1024, "max_position_embeddings": 16777216}}"#
        XCTAssertEqual(try LlavaConfiguration.decode(Data(atBound.utf8)).text.layerCount, ConfigurationBounds.layers)
    }
}
