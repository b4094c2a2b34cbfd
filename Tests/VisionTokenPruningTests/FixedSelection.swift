import VisionTokenPruning
import VLMModels

/// A selection written by hand: keeps exactly `indices` (ascending), whatever the budget says.
struct FixedSelection: TokenScorer {
    let indices: [Int]
    var name: String { "fixed" }
    func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }
    func requirements(for model: any ModelDescription) throws -> ScoringRequirements { ScoringRequirements() }
    func scores(_ context: ScoringContext) throws -> [Float] { (0..<context.visualTokenCount).map { indices.contains($0) ? 1 : 0 } }
    func select(_ context: ScoringContext, keep k: Int) throws -> [Int] { indices }
}
