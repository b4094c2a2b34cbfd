/// Where the image sits in a LLaVA prompt: the unexpanded token ids hold one placeholder, which expands
/// into `imageTokenCount` visual tokens in the sequence the language model sees.
public struct PromptLayout: Sendable, Equatable {
    /// The prompt as given, with exactly one image placeholder.
    public let tokenIds: [Int]
    /// Index of the placeholder in `tokenIds` = index of the first visual token in the expanded sequence.
    public let imageStart: Int
    /// Visual tokens the placeholder expands into.
    public let imageTokenCount: Int

    /// Finds the single placeholder `imageTokenId` in `tokenIds`.
    /// - Throws: `ModelError.invalidInput` when there is no placeholder or more than one.
    public init(tokenIds: [Int], imageTokenId: Int, imageTokenCount: Int) throws {
        let hits = tokenIds.indices.filter { tokenIds[$0] == imageTokenId }
        guard hits.count == 1 else {
            throw ModelError.invalidInput(hits.isEmpty
                ? "prompt has no image placeholder (token \(imageTokenId))"
                : "prompt has \(hits.count) image placeholders (token \(imageTokenId)); exactly one is supported")
        }
        self.tokenIds = tokenIds
        imageStart = hits[0]
        self.imageTokenCount = imageTokenCount
    }

    /// Length of the expanded sequence.
    public var expandedLength: Int { tokenIds.count - 1 + imageTokenCount }
    /// Visual-token rows in the expanded sequence.
    public var imageSpan: Range<Int> { imageStart..<(imageStart + imageTokenCount) }
    /// Text rows before the image in the expanded sequence.
    public var textBeforeImage: Range<Int> { 0..<imageStart }
    /// Text rows after the image in the expanded sequence (the question and the template tail).
    public var textAfterImage: Range<Int> { imageSpan.upperBound..<expandedLength }
    /// Token ids after the placeholder.
    public var tokenIdsAfterImage: ArraySlice<Int> { tokenIds[(imageStart + 1)...] }

    /// The token id at `row` of the expanded sequence (the placeholder id for visual rows).
    public func expandedTokenId(row: Int) -> Int {
        if row < imageStart { return tokenIds[row] }
        if row < imageSpan.upperBound { return tokenIds[imageStart] }
        return tokenIds[row - imageTokenCount + 1]
    }
}
