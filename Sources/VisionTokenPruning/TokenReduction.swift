import TensorCore
import VLMModels

/// A token built from several vision-side tokens (VisionZip's contextual tokens, its [CLS] token): the weighted
/// sum of their vision features, taken before the projector and then projected like any visual token.
public struct MergedToken: Sendable, Equatable {
    /// The tokens combined: patches, a view's [CLS] (even where [CLS] is not a visual token), OneVision's
    /// resampled positions (their bilinear mix of crop features); never a newline.
    public var sources: [VisualTokenOrigin]
    /// One weight per source.
    public var weights: [Float]
    /// The visual-token index whose position the merged token takes: its original position under
    /// `PositionPolicy.keepOriginal` (all three components for 3-D positions), the withdrawal and KV accounting of
    /// a visual token.
    public var anchor: Int

    /// A merged token of `sources` with `weights` that takes visual token `anchor`'s position.
    public init(sources: [VisualTokenOrigin], weights: [Float], anchor: Int) {
        self.sources = sources
        self.weights = weights
        self.anchor = anchor
    }
}

/// What a pre-LLM method hands the language model in place of an image's visual tokens: rows in the order the
/// language model reads them, each a visual token passed as it is or a merged token. A pure selection is its
/// kept indices, ascending (`init(kept:)`).
public struct TokenReduction: Sendable, Equatable {
    /// One row of the reduced image.
    public enum Row: Sendable, Equatable {
        /// Visual token `index`, unchanged.
        case kept(Int)
        /// A merged token.
        case merged(MergedToken)

        /// The visual token whose position this row takes.
        public var anchor: Int {
            switch self {
            case .kept(let index): return index
            case .merged(let token): return token.anchor
            }
        }
    }

    /// The rows in sequence order.
    public var rows: [Row]

    /// Rows in the given order.
    public init(rows: [Row]) { self.rows = rows }

    /// A pure selection: the visual tokens at `kept` (ascending), unchanged.
    public init(kept: [Int]) { rows = kept.map(Row.kept) }

    /// Number of rows the language model receives.
    public var count: Int { rows.count }
    /// Indices of the visual tokens passed unchanged, ascending.
    public var keptIndices: [Int] { rows.compactMap { if case .kept(let i) = $0 { i } else { nil } }.sorted() }
    /// The merged tokens, in row order.
    public var mergedTokens: [MergedToken] { rows.compactMap { if case .merged(let m) = $0 { m } else { nil } } }
    /// Whether every row is a kept token in ascending order (a selection as `select` returns it).
    public var isAscendingSelection: Bool { mergedTokens.isEmpty && rows.map(\.anchor) == keptIndices }

    /// Throws unless the rows fit `tokens`: kept indices distinct and within the visual tokens, merged tokens
    /// with one finite weight per source, sources that are tokens of this image (not newlines), and anchors
    /// within the visual tokens; at least one row.
    func validate(against tokens: VisualTokenMap, scorer: String) throws {
        func fail(_ reason: String) -> PruningError { .invalidScores(scorer: scorer, reason: reason) }
        guard !rows.isEmpty else { throw fail("a reduction must leave at least one visual token") }
        let kept = keptIndices
        guard zip(kept, kept.dropFirst()).allSatisfy({ $0 < $1 }), kept.allSatisfy({ (0..<tokens.count).contains($0) }) else {
            throw fail("kept indices must be distinct and within 0..<\(tokens.count)")
        }
        for (i, token) in mergedTokens.enumerated() {
            guard !token.sources.isEmpty, token.sources.count == token.weights.count else {
                throw fail("merged token \(i) has \(token.sources.count) sources and \(token.weights.count) weights")
            }
            guard token.weights.allSatisfy(\.isFinite) else { throw fail("merged token \(i) has a NaN or infinite weight") }
            if let bad = token.sources.first(where: { if case .newline = $0 { true } else { !tokens.contains($0) } }) {
                throw fail("merged token \(i) has source \(bad), which is not a token of this image's vision features")
            }
            guard (0..<tokens.count).contains(token.anchor) else {
                throw fail("merged token \(i) anchors at \(token.anchor), outside 0..<\(tokens.count)")
            }
        }
    }

    /// The vision features of the merged tokens, `[merged, visionHidden]`: each one's weighted sum of its sources'
    /// rows of `features` (`EncodedImage.features`).
    func mergedFeatures(_ features: Tensor, tokens: VisualTokenMap) throws -> Tensor {
        let merged = mergedTokens, width = features.shape[1]
        let sourceRows = try tokens.values(features, of: merged.flatMap(\.sources))
        return Tensor(shape: [merged.count, width]) { out in
            sourceRows.withUnsafeBufferPointer { rows in
                var next = 0
                for (m, token) in merged.enumerated() {
                    let destination = out.baseAddress! + m * width
                    for weight in token.weights {
                        let row = rows.baseAddress! + next * width
                        for j in 0..<width { destination[j] += weight * row[j] }
                        next += 1
                    }
                }
            }
        }
    }
}
