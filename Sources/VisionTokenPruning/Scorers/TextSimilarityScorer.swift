import TensorCore
import VLMModels

/// Text-to-image similarity (AdaFV/AdaV "T2I"): cosine between the language model's input embeddings of the
/// prompt's text tokens and the projected visual tokens; per text token a softmax over visual tokens with
/// logit scale 100 (CLIP-style); then the maximum over text tokens.
public struct TextSimilarityScorer: TokenScorer {
    /// Which prompt tokens count as text.
    public enum Span: Sendable, Equatable {
        /// Every token after the image: the question and the template tail (AdaV's choice).
        case afterImage
        /// Every text token, before and after the image.
        case allText
        /// Explicit rows of the expanded prompt (visual rows are ignored).
        case rows(Range<Int>)
    }

    /// How per-text-token scores combine.
    public enum Aggregation: String, Sendable {
        /// Maximum over text tokens (AdaV).
        case max
        /// Mean over text tokens.
        case mean
    }

    /// Text span (default `.afterImage`); special and padding tokens are always excluded.
    public var span: Span
    /// How text tokens combine (default `.max`).
    public var aggregation: Aggregation
    /// Softmax logit scale over visual tokens (default 100); nil scores raw cosine similarity.
    public var softmaxScale: Float?

    public var name: String { "text-sim" }

    /// AdaV's T2I with its defaults unless overridden.
    public init(span: Span = .afterImage, aggregation: Aggregation = .max, softmaxScale: Float? = 100) {
        self.span = span
        self.aggregation = aggregation
        self.softmaxScale = softmaxScale
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        var r = ScoringRequirements()
        r.promptEmbeddings = true
        return r
    }

    /// Rows of the expanded prompt used as text, after dropping visual rows and special tokens.
    public func textRows(_ context: ScoringContext) throws -> [Int] {
        let layout = context.layout
        let candidates: [Int]
        switch span {
        case .afterImage: candidates = Array(layout.textAfterImage)
        case .allText: candidates = Array(layout.textBeforeImage) + Array(layout.textAfterImage)
        case .rows(let r):
            guard r.lowerBound >= 0, r.upperBound <= layout.expandedLength else {
                throw PruningError.emptyTextSpan("rows \(r) leave the prompt of \(layout.expandedLength) tokens")
            }
            candidates = r.filter { !layout.imageSpan.contains($0) }
        }
        let rows = candidates.filter { !context.specialTokenIds.contains(layout.expandedTokenId(row: $0)) }
        guard !rows.isEmpty else {
            throw PruningError.emptyTextSpan("no text token (other than special or padding tokens) in \(span)")
        }
        return rows
    }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        guard let embeddings = context.promptEmbeddings else {
            throw PruningError.missingInput(scorer: name, input: "the prompt's input embeddings")
        }
        let rows = try textRows(context)
        let text = try embeddings.gatherRows(rows)
        let visual = try context.projectedTokens ?? embeddings.gatherRows(Array(context.layout.imageSpan))
        var similarity = try Similarity.cosineMatrix(text, visual)  // [text, visual]
        if let scale = softmaxScale { similarity = similarity.scaled(by: scale).softmaxLastDimension() }
        let n = context.visualTokenCount, t = rows.count
        return similarity.withUnsafeBufferPointer { p in
            (0..<n).map { j in
                switch aggregation {
                case .max: return (0..<t).map { p[$0 * n + j] }.max()!
                case .mean: return (0..<t).reduce(Float(0)) { $0 + p[$1 * n + j] } / Float(t)
                }
            }
        }
    }
}
