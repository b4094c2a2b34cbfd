import Foundation
import TensorCore
import VLMModels

/// An evaluation set in the `vtp-eval-1` format: a safetensors file holding `pixel_values` F32 [n,3,H,W]
/// (normalised), `input_ids` I64 [n,L] (one image placeholder each, right-padded), `input_lengths` I64 [n],
/// `answer_ids` I64 [n] (the expected next token), optionally `target_patch_mask` U8 [n, patches] and
/// `is_small_target` U8 [n]; metadata `format` = `vtp-eval-1`, `image_token_index`, `pad_token_id`.
public struct EvaluationSet: Sendable {
    /// The format name stored in the metadata.
    public static let formatName = "vtp-eval-1"

    /// Normalised images, `[n, 3, H, W]`.
    public var pixelValues: Tensor
    /// Unpadded prompts, one image placeholder each.
    public var prompts: [[Int]]
    /// Expected next token per sample.
    public var answerIds: [Int]
    /// Per sample, which patches the question is about (raster order), if known.
    public var targetPatchMask: [[Bool]]?
    /// Per sample, whether its target is small, if known.
    public var isSmallTarget: [Bool]?
    /// The image placeholder id.
    public var imageTokenIndex: Int
    /// The padding id used to right-pad `input_ids`.
    public var padTokenId: Int

    /// Number of samples.
    public var count: Int { prompts.count }

    /// A set from its parts.
    /// - Throws: `ModelError.invalidInput` when the parts disagree in count or a prompt lacks exactly one placeholder.
    public init(pixelValues: Tensor, prompts: [[Int]], answerIds: [Int], targetPatchMask: [[Bool]]? = nil,
                isSmallTarget: [Bool]? = nil, imageTokenIndex: Int, padTokenId: Int) throws {
        self.pixelValues = pixelValues
        self.prompts = prompts
        self.answerIds = answerIds
        self.targetPatchMask = targetPatchMask
        self.isSmallTarget = isSmallTarget
        self.imageTokenIndex = imageTokenIndex
        self.padTokenId = padTokenId
        try validate()
    }

    /// Reads a `vtp-eval-1` file.
    /// - Throws: `ModelError` for a malformed file, a wrong format name, missing tensors or inconsistent shapes.
    public init(url: URL) throws {
        try self.init(file: SafetensorsFile(url: url))
    }

    /// Reads a `vtp-eval-1` file already opened.
    public init(file: SafetensorsFile) throws {
        func fail(_ reason: String) -> ModelError { .invalidInput("evaluation file \(file.path): \(reason)") }
        guard file.metadata["format"] == Self.formatName else {
            throw fail("metadata format is \(file.metadata["format"].map { "'\($0)'" } ?? "absent"), expected '\(Self.formatName)'")
        }
        guard let image = file.metadata["image_token_index"].flatMap(Int.init),
              let pad = file.metadata["pad_token_id"].flatMap(Int.init) else {
            throw fail("metadata needs integer image_token_index and pad_token_id")
        }
        let pixels = try file.floatTensor("pixel_values")
        let ids = try file.integerTensor("input_ids"), lengths = try file.integerTensor("input_lengths")
        let answers = try file.integerTensor("answer_ids")
        guard pixels.shape.rank == 4, ids.shape.count == 2 else { throw fail("pixel_values must be 4-D and input_ids 2-D") }
        let n = ids.shape[0], width = ids.shape[1]
        guard n >= 1 else { throw fail("input_ids holds no samples") }
        guard width >= 1 else { throw fail("input_ids has zero-width rows") }
        guard lengths.values.count == n, answers.values.count == n, pixels.shape[0] == n else {
            throw fail("sample counts differ: input_ids \(n), input_lengths \(lengths.values.count), answer_ids \(answers.values.count), pixel_values \(pixels.shape[0])")
        }
        if let bad = lengths.values.firstIndex(where: { !(1...width).contains($0) }) {
            throw fail("input_lengths[\(bad)] = \(lengths.values[bad]) is outside 1...\(width)")
        }
        let prompts = (0..<n).map { Array(ids.values[($0 * width)..<($0 * width + lengths.values[$0])]) }
        var mask: [[Bool]]?
        if file.tensors["target_patch_mask"] != nil {
            let m = try file.integerTensor("target_patch_mask")
            guard m.shape.count == 2, m.shape[0] == n else { throw fail("target_patch_mask must be [\(n), patches]") }
            mask = (0..<n).map { i in (0..<m.shape[1]).map { m.values[i * m.shape[1] + $0] != 0 } }
        }
        var small: [Bool]?
        if file.tensors["is_small_target"] != nil {
            let s = try file.integerTensor("is_small_target")
            guard s.values.count == n else { throw fail("is_small_target must have \(n) entries") }
            small = s.values.map { $0 != 0 }
        }
        try self.init(pixelValues: pixels, prompts: prompts, answerIds: answers.values, targetPatchMask: mask,
                      isSmallTarget: small, imageTokenIndex: image, padTokenId: pad)
    }

    /// Checks the set against the model it will run on, before any work: image size and channels, the image
    /// placeholder id, every prompt and answer id inside the vocabulary, and the target masks' patch count.
    /// - Throws: `ModelError.invalidInput` naming the tensor (or metadata key) that does not fit.
    public func validate(for configuration: LlavaConfiguration) throws {
        func fail(_ reason: String) -> ModelError { .invalidInput("evaluation set does not fit the model: \(reason)") }
        let v = configuration.vision, vocabulary = configuration.text.vocabularySize
        let expected = [count, v.channelCount, v.imageSize, v.imageSize]
        guard pixelValues.shape.dims == expected else {
            throw fail("pixel_values has shape \(pixelValues.shape), the model takes \(Shape(expected))")
        }
        guard imageTokenIndex == configuration.imageTokenIndex else {
            throw fail("image_token_index \(imageTokenIndex) differs from the model's \(configuration.imageTokenIndex)")
        }
        for (i, prompt) in prompts.enumerated() {
            if let bad = prompt.first(where: { !(0..<vocabulary).contains($0) }) {
                throw fail("input_ids[\(i)] holds \(bad), outside the vocabulary 0..<\(vocabulary)")
            }
        }
        if let i = answerIds.firstIndex(where: { !(0..<vocabulary).contains($0) }) {
            throw fail("answer_ids[\(i)] = \(answerIds[i]) is outside the vocabulary 0..<\(vocabulary)")
        }
        if let mask = targetPatchMask, let width = mask.first?.count, width != configuration.visualTokenCount {
            throw fail("target_patch_mask has \(width) patches per sample, the model \(configuration.visualTokenCount) visual tokens")
        }
    }

    private func validate() throws {
        let n = prompts.count
        guard n >= 1 else { throw ModelError.invalidInput("evaluation set: no samples") }
        guard pixelValues.shape.rank == 4, pixelValues.shape[0] == n, answerIds.count == n,
              targetPatchMask.map({ $0.count == n }) ?? true, isSmallTarget.map({ $0.count == n }) ?? true else {
            throw ModelError.invalidInput("evaluation set: pixel_values, prompts, answers and masks must all have \(n) samples")
        }
        if let bad = prompts.firstIndex(where: { $0.filter { $0 == imageTokenIndex }.count != 1 }) {
            throw ModelError.invalidInput("evaluation set: prompt \(bad) must hold exactly one image placeholder \(imageTokenIndex)")
        }
        if let bad = pixelValues.firstNonFiniteIndex {
            throw ModelError.invalidInput("evaluation set: pixel value at flat index \(bad) is NaN or infinite")
        }
    }

    /// Image `i`, `[3, H, W]`.
    public func pixels(_ i: Int) throws -> Tensor {
        let s = pixelValues.shape
        return try pixelValues.rows(i..<(i + 1)).reshaped([s[1], s[2], s[3]])
    }

    /// The file's bytes.
    public func data() throws -> Data {
        let n = count, width = prompts.map(\.count).max() ?? 0
        var writer = SafetensorsWriter(metadata: ["format": Self.formatName, "image_token_index": "\(imageTokenIndex)",
                                                  "pad_token_id": "\(padTokenId)"])
        try writer.add("pixel_values", pixelValues)
        try writer.add("input_ids", integers: prompts.flatMap { $0 + Array(repeating: padTokenId, count: width - $0.count) },
                       shape: [n, width])
        try writer.add("input_lengths", integers: prompts.map(\.count), shape: [n])
        try writer.add("answer_ids", integers: answerIds, shape: [n])
        if let mask = targetPatchMask {
            try writer.add("target_patch_mask", integers: mask.flatMap { $0.map { $0 ? 1 : 0 } },
                           shape: [n, mask.first?.count ?? 0], as: .u8)
        }
        if let small = isSmallTarget { try writer.add("is_small_target", integers: small.map { $0 ? 1 : 0 }, shape: [n], as: .u8) }
        return try writer.data()
    }

    /// Writes the set to `url`.
    public func write(to url: URL) throws { try data().write(to: url, options: .atomic) }
}
