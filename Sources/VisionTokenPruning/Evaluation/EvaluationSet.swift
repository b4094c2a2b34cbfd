import Foundation
import TensorCore
import VLMModels

/// The images of an evaluation set.
public enum EvaluationImages: Sendable, Equatable {
    /// `vtp-eval-1`: normalised single-view images `[n, 3, H, W]` (LLaVA-1.5).
    case pixelValues(Tensor)
    /// `vtp-eval-2`: raw RGB images of any size, preprocessed by the model's own image processor (LLaVA-NeXT, OneVision).
    case raw([RGBImage])
}

/// An evaluation set: images, prompts with one image placeholder each, and the expected next token.
///
/// Two file formats (safetensors with string metadata `format`):
/// - `vtp-eval-1`: `pixel_values` F32 [n,3,H,W] (normalised), `input_ids` I64 [n,L] (right-padded),
///   `input_lengths` I64 [n], `answer_ids` I64 [n], optionally `target_patch_mask` U8 [n, patches] and
///   `is_small_target` U8 [n]; metadata `image_token_index`, `pad_token_id`.
/// - `vtp-eval-2`: per sample `image.i` U8 [H_i, W_i, 3] (raw RGB, any size) and `input_ids.i` I64 [L_i]
///   (unpadded), and `answer` I64 [n]; metadata `samples`, `image_token_index`, `bos_token_id`.
public struct EvaluationSet: Sendable {
    /// The single-view format's name.
    public static let formatName = "vtp-eval-1"
    /// The raw-image (any-resolution) format's name.
    public static let rawImageFormatName = "vtp-eval-2"
    /// Most samples a `vtp-eval-2` file may declare, so a corrupt count cannot drive the reader.
    public static let maximumSamples = 1_000_000

    /// The images.
    public var images: EvaluationImages
    /// Unpadded prompts, one image placeholder each.
    public var prompts: [[Int]]
    /// Expected next token per sample.
    public var answerIds: [Int]
    /// Per sample, which patches the question is about (raster order), if known (`vtp-eval-1` only).
    public var targetPatchMask: [[Bool]]?
    /// Per sample, whether its target is small, if known.
    public var isSmallTarget: [Bool]?
    /// The image placeholder id.
    public var imageTokenId: Int
    /// The padding id used to right-pad `vtp-eval-1` prompts (nil for `vtp-eval-2`, which pads nothing).
    public var padTokenId: Int?

    /// Number of samples.
    public var count: Int { prompts.count }

    /// The normalised images of a `vtp-eval-1` set, nil for raw images.
    public var pixelValues: Tensor? {
        if case .pixelValues(let t) = images { t } else { nil }
    }

    /// A `vtp-eval-1` set from its parts.
    /// - Throws: `ModelError.invalidInput` when the parts disagree in count or a prompt lacks exactly one placeholder.
    public init(pixelValues: Tensor, prompts: [[Int]], answerIds: [Int], targetPatchMask: [[Bool]]? = nil,
                isSmallTarget: [Bool]? = nil, imageTokenId: Int, padTokenId: Int) throws {
        try self.init(images: .pixelValues(pixelValues), prompts: prompts, answerIds: answerIds,
                      targetPatchMask: targetPatchMask, isSmallTarget: isSmallTarget, imageTokenId: imageTokenId,
                      padTokenId: padTokenId)
    }

    /// A set from its parts.
    /// - Throws: `ModelError.invalidInput` when the parts disagree in count or a prompt lacks exactly one placeholder.
    public init(images: EvaluationImages, prompts: [[Int]], answerIds: [Int], targetPatchMask: [[Bool]]? = nil,
                isSmallTarget: [Bool]? = nil, imageTokenId: Int, padTokenId: Int? = nil) throws {
        self.images = images
        self.prompts = prompts
        self.answerIds = answerIds
        self.targetPatchMask = targetPatchMask
        self.isSmallTarget = isSmallTarget
        self.imageTokenId = imageTokenId
        self.padTokenId = padTokenId
        try validate()
    }

    /// Reads a `vtp-eval-1` or `vtp-eval-2` file.
    /// - Throws: `ModelError` for a malformed file, an unknown format name, missing tensors or inconsistent shapes.
    public init(url: URL) throws {
        try self.init(file: SafetensorsFile(url: url))
    }

    /// Reads a `vtp-eval-1` or `vtp-eval-2` file already opened.
    public init(file: SafetensorsFile) throws {
        func fail(_ reason: String) -> ModelError { .invalidInput("evaluation file \(file.path): \(reason)") }
        switch file.metadata["format"] {
        case Self.formatName: try self.init(singleViewFile: file, fail: fail)
        case Self.rawImageFormatName: try self.init(rawImageFile: file, fail: fail)
        case let other:
            throw fail("metadata format is \(other.map { "'\($0)'" } ?? "absent"), expected '\(Self.formatName)' or '\(Self.rawImageFormatName)'")
        }
    }

    private init(singleViewFile file: SafetensorsFile, fail: (String) -> ModelError) throws {
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
                      isSmallTarget: small, imageTokenId: image, padTokenId: pad)
    }

    private init(rawImageFile file: SafetensorsFile, fail: (String) -> ModelError) throws {
        guard let n = file.metadata["samples"].flatMap(Int.init), (1...Self.maximumSamples).contains(n) else {
            throw fail("metadata samples must be an integer in 1...\(Self.maximumSamples), got \(file.metadata["samples"] ?? "nothing")")
        }
        guard let imageToken = file.metadata["image_token_index"].flatMap(Int.init),
              file.metadata["bos_token_id"].flatMap(Int.init) != nil else {
            throw fail("metadata needs integer image_token_index and bos_token_id")
        }
        let expected = Set((0..<n).flatMap { ["image.\($0)", "input_ids.\($0)"] } + ["answer"])
        if let extra = file.tensorNames.first(where: { !expected.contains($0) }) {
            throw fail("unexpected tensor '\(extra)' for \(n) samples")
        }
        let answers = try file.integerTensor("answer")
        guard answers.shape == [n] else { throw fail("answer has shape \(answers.shape), expected [\(n)]") }
        var images: [RGBImage] = [], prompts: [[Int]] = []
        for i in 0..<n {
            let info = try file.info("image.\(i)")
            guard info.dtype == .u8, info.shape.count == 3, info.shape[2] == 3 else {
                throw fail("image.\(i) must be U8 [height, width, 3], got \(info.dtype.rawValue) \(info.shape)")
            }
            let (height, width) = (info.shape[0], info.shape[1])
            guard (1...PortablePixmap.maximumSide).contains(height), (1...PortablePixmap.maximumSide).contains(width) else {
                throw fail("image.\(i) is \(width)x\(height); both sides must be in 1...\(PortablePixmap.maximumSide)")
            }
            images.append(try RGBImage(width: width, height: height,
                                       pixels: try file.integerTensor("image.\(i)").values.map { UInt8($0) }))
            let ids = try file.integerTensor("input_ids.\(i)")
            guard ids.shape.count == 1, ids.shape[0] >= 1 else { throw fail("input_ids.\(i) must be a non-empty 1-D list") }
            prompts.append(ids.values)
        }
        try self.init(images: .raw(images), prompts: prompts, answerIds: answers.values, imageTokenId: imageToken)
    }

    /// Image `i` as `model` takes it: the stored pixels (`vtp-eval-1`) or the raw image through
    /// `model.imageProcessor` (`vtp-eval-2`).
    public func image(_ i: Int, for model: any VisionLanguageModel) throws -> ImageInput {
        switch images {
        case .pixelValues(let all):
            let s = all.shape
            return ImageInput(pixels: try all.rows(i..<(i + 1)).reshaped([s[1], s[2], s[3]]))
        case .raw(let list):
            return try model.preprocess(list[i])
        }
    }

    /// Every sample as a pipeline input for `model` (the first `limit` when given).
    public func prompts(for model: any VisionLanguageModel, limit: Int? = nil) throws -> [ImagePrompt] {
        try (0..<min(limit ?? count, count)).map { ImagePrompt(image: try image($0, for: model), tokenIds: prompts[$0]) }
    }

    /// Checks the set against the model it will run on, before any work: the format against the model family,
    /// image size and channels, the image placeholder id, every prompt and answer id inside the vocabulary,
    /// and the target masks' patch count.
    /// - Throws: `ModelError.invalidInput` naming the tensor (or metadata key) that does not fit.
    public func validate(for description: any ModelDescription) throws {
        func fail(_ reason: String) -> ModelError { .invalidInput("evaluation set does not fit the model: \(reason)") }
        let vocabulary = description.vocabularySize
        switch images {
        case .pixelValues(let pixelValues):
            guard let view = description.singleViewPixelShape else {
                throw fail("a \(Self.formatName) set holds single-view pixel values; an any-resolution model (\(description.modelType)) takes raw images (\(Self.rawImageFormatName))")
            }
            let expected = [count] + view
            guard pixelValues.shape.dims == expected else {
                throw fail("pixel_values has shape \(pixelValues.shape), the model takes \(Shape(expected))")
            }
        case .raw:
            guard description.singleViewPixelShape == nil else {
                throw fail("a \(Self.rawImageFormatName) set holds raw images for any-resolution views (LLaVA-NeXT, OneVision); this LLaVA-1.5 model takes \(Self.formatName) pixel values")
            }
        }
        guard imageTokenId == description.imageTokenId else {
            throw fail("image_token_index \(imageTokenId) differs from the model's \(description.imageTokenId)")
        }
        for (i, prompt) in prompts.enumerated() {
            if let bad = prompt.first(where: { !(0..<vocabulary).contains($0) }) {
                throw fail("input_ids[\(i)] holds \(bad), outside the vocabulary 0..<\(vocabulary)")
            }
        }
        if let i = answerIds.firstIndex(where: { !(0..<vocabulary).contains($0) }) {
            throw fail("answer_ids[\(i)] = \(answerIds[i]) is outside the vocabulary 0..<\(vocabulary)")
        }
        if let mask = targetPatchMask, let width = mask.first?.count, width != description.fixedVisualTokens?.count {
            throw fail("target_patch_mask has \(width) patches per sample, the model \(description.fixedVisualTokens?.count ?? 0) visual tokens")
        }
    }

    private func validate() throws {
        let n = prompts.count
        guard n >= 1 else { throw ModelError.invalidInput("evaluation set: no samples") }
        let imageCount: Int
        switch images {
        case .pixelValues(let t): imageCount = t.shape.rank == 4 ? t.shape[0] : -1
        case .raw(let list): imageCount = list.count
        }
        guard imageCount == n, answerIds.count == n,
              targetPatchMask.map({ $0.count == n }) ?? true, isSmallTarget.map({ $0.count == n }) ?? true else {
            throw ModelError.invalidInput("evaluation set: images (4-D pixel values or raw), prompts, answers and masks must all have \(n) samples")
        }
        if let bad = prompts.firstIndex(where: { $0.filter { $0 == imageTokenId }.count != 1 }) {
            throw ModelError.invalidInput("evaluation set: prompt \(bad) must hold exactly one image placeholder \(imageTokenId)")
        }
        if let pixelValues, let bad = pixelValues.firstNonFiniteIndex {
            let d = pixelValues.shape.dims, plane = d[2] * d[3], image = d[1] * plane
            throw ModelError.invalidInput(
                "evaluation set: pixel_values[\(bad / image), \(bad % image / plane), \(bad % plane / d[3]), \(bad % d[3])] is NaN or infinite")
        }
    }

    /// The file's bytes, in the format of its images.
    public func data() throws -> Data {
        let n = count
        switch images {
        case .pixelValues(let pixelValues):
            let width = prompts.map(\.count).max() ?? 0, pad = padTokenId ?? 0
            var writer = SafetensorsWriter(metadata: ["format": Self.formatName, "image_token_index": "\(imageTokenId)",
                                                      "pad_token_id": "\(pad)"])
            try writer.add("pixel_values", pixelValues)
            try writer.add("input_ids", integers: prompts.flatMap { $0 + Array(repeating: pad, count: width - $0.count) },
                           shape: [n, width])
            try writer.add("input_lengths", integers: prompts.map(\.count), shape: [n])
            try writer.add("answer_ids", integers: answerIds, shape: [n])
            if let mask = targetPatchMask {
                try writer.add("target_patch_mask", integers: mask.flatMap { $0.map { $0 ? 1 : 0 } },
                               shape: [n, mask.first?.count ?? 0], as: .u8)
            }
            if let small = isSmallTarget { try writer.add("is_small_target", integers: small.map { $0 ? 1 : 0 }, shape: [n], as: .u8) }
            return try writer.data()
        case .raw(let list):
            var writer = SafetensorsWriter(metadata: ["format": Self.rawImageFormatName, "samples": "\(n)",
                                                      "image_token_index": "\(imageTokenId)", "bos_token_id": "\(prompts[0][0])"])
            for (i, image) in list.enumerated() {
                try writer.add("image.\(i)", integers: image.pixels.map(Int.init), shape: [image.height, image.width, 3], as: .u8)
                try writer.add("input_ids.\(i)", integers: prompts[i], shape: [prompts[i].count])
            }
            try writer.add("answer", integers: answerIds, shape: [n])
            return try writer.data()
        }
    }

    /// Writes the set to `url` atomically (whole or not at all).
    /// - Throws: `ModelError.fileUnwritable` naming the path and the reason.
    public func write(to url: URL) throws { try RegularFile.write(data(), to: url) }
}
