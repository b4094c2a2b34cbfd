import Foundation
import TensorCore
import VLMModels

/// A tiny generated `llama` text model written as a GGUF file the way llama.cpp's `convert_hf_to_gguf.py` lays
/// one out (dimensions contiguous first, q/k rows permuted to interleaved-pair RoPE, tied embeddings without
/// `output.weight`), with a byte-level BPE tokenizer (the 256 byte characters, a few merges, ChatML control
/// tokens) and a ChatML template. `reference` is the same decoder built from the Hugging Face layout directly.
public struct TextGGUFFixture {
    /// The decoder's configuration (vocabulary 261: 256 bytes, 3 merges, `<|im_start|>` 259, `<|im_end|>` 260).
    public static let configuration = LlamaConfiguration(
        vocabularySize: 261, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4, kvHeadCount: 2,
        rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 128, tieWordEmbeddings: true,
        padTokenId: nil, bosTokenId: 259, eosTokenIds: [260])
    /// The ChatML template the file carries.
    public static let template = """
        {% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """

    /// The decoder built from the generated Hugging Face tensors.
    public let reference: LlamaDecoder
    /// The GGUF file's bytes.
    public let data: Data

    /// Generates the weights from `seed` and stores matrices as ggml `type` (0 = F32, 1 = F16); `permuting` false
    /// writes q/k rows in Hugging Face order, which no converter does (to show the permutation matters).
    public init(seed: UInt64 = 7, type: UInt32 = 0, permuting: Bool = true) throws {
        let c = Self.configuration
        var recorder = Recorder(inner: GeneratedWeights(seed: seed))
        reference = try LlamaDecoder(configuration: c, weights: &recorder)
        var builder = GGUFBuilder()
        let bytes = Self.byteCharacters
        let tokens = bytes + ["he", "ll", "hell", "<|im_start|>", "<|im_end|>"].map { $0.replacingOccurrences(of: " ", with: "Ġ") }
        builder.metadata = [
            ("general.architecture", .string("llama")), ("llama.block_count", .u32(2)), ("llama.context_length", .u32(128)),
            ("llama.embedding_length", .u32(32)), ("llama.feed_forward_length", .u32(48)), ("llama.attention.head_count", .u32(4)),
            ("llama.attention.head_count_kv", .u32(2)), ("llama.rope.dimension_count", .u32(8)), ("llama.rope.freq_base", .f32(10000)),
            ("llama.attention.layer_norm_rms_epsilon", .f32(1e-5)), ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt-2")), ("tokenizer.ggml.tokens", .strings(tokens)),
            ("tokenizer.ggml.token_type", .array(5, tokens.indices.map { .i32($0 >= 259 ? 3 : 1) })),
            ("tokenizer.ggml.merges", .strings(["h e", "l l", "he ll"])), ("tokenizer.ggml.bos_token_id", .u32(259)),
            ("tokenizer.ggml.eos_token_id", .u32(260)), ("tokenizer.ggml.add_bos_token", .bool(false)),
            ("tokenizer.chat_template", .string(Self.template)),
        ]
        let names = ["attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
                     "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
                     "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"]
        func add(_ gguf: String, _ hf: String, heads: Int? = nil) throws {
            let tensor = try recorder.recorded(hf)
            var values = tensor.scalars
            if let heads, permuting { values = Self.permuteRows(values, rows: tensor.shape[0], columns: tensor.shape[1], heads: heads) }
            let dimensions = Array(tensor.shape.dims.reversed())
            if type == 1 && tensor.shape.rank == 2 {
                builder.addTensor(gguf, dimensions: dimensions, type: 1, data: values.flatMap { le(HalfPrecision.f16Bits($0)) })
            } else {
                builder.addF32(gguf, dimensions: dimensions, values: values)
            }
        }
        try add("token_embd.weight", "language_model.model.embed_tokens.weight")
        try add("output_norm.weight", "language_model.model.norm.weight")
        for layer in 0..<c.layerCount {
            for (gguf, hf) in names.sorted(by: { $0.key < $1.key }) {
                let heads = gguf == "attn_q" ? c.headCount : gguf == "attn_k" ? c.kvHeadCount : nil
                try add("blk.\(layer).\(gguf).weight", "language_model.model.layers.\(layer).\(hf).weight", heads: heads)
            }
        }
        data = builder.data
    }

    /// `convert_hf_to_gguf.py`'s `LlamaModel.permute`: `w.reshape(heads, 2, d/2, in).swapaxes(1, 2).reshape(out, in)`,
    /// i.e. GGUF row `h·d + 2i + s` holds Hugging Face row `h·d + s·d/2 + i`.
    static func permuteRows(_ w: [Float], rows: Int, columns: Int, heads: Int) -> [Float] {
        let d = rows / heads
        var out = [Float](repeating: 0, count: w.count)
        for h in 0..<heads {
            for i in 0..<(d / 2) {
                for s in 0..<2 {
                    let target = h * d + 2 * i + s, source = h * d + s * (d / 2) + i
                    out.replaceSubrange((target * columns)..<((target + 1) * columns), with: w[(source * columns)..<((source + 1) * columns)])
                }
            }
        }
        return out
    }

    /// GPT-2's byte-to-character table: printable Latin-1 bytes stand for themselves, the others for U+0100 onward.
    static let byteCharacters: [String] = {
        let printable = Set(Array(33...126) + Array(161...172) + Array(174...255))
        var next = 256
        return (0..<256).map { byte in
            if printable.contains(byte) { return String(UnicodeScalar(UInt8(byte))) }
            defer { next += 1 }
            return String(UnicodeScalar(UInt32(next))!)
        }
    }()

    /// Records every tensor a model asks for (matrices part by part), in the Hugging Face layout.
    private struct Recorder: WeightSource {
        var inner: GeneratedWeights
        var tensors: [String: Tensor] = [:]

        mutating func tensor(_ name: String, shape: [Int]) throws -> Tensor {
            let t = try inner.tensor(name, shape: shape)
            tensors[name] = t
            return t
        }

        mutating func matrix(_ names: [String], rowCounts: [Int], inputs: Int) throws -> PackedMatrix {
            let parts = try zip(names, rowCounts).map { try tensor($0.0, shape: [$0.1, inputs]) }
            return try PackedMatrix(try Tensor.concatenateRows(parts), precision: inner.precision)
        }

        func recorded(_ name: String) throws -> Tensor {
            guard let t = tensors[name] else { throw ModelError.missingTensor(name: name) }
            return t
        }
    }
}
