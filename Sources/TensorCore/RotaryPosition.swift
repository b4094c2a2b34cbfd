/// A token's rotary position. Text sits at one index on every axis; under multimodal RoPE (M-RoPE, Qwen2-VL and
/// Qwen2.5-VL) an image token has a temporal, a height and a width index of its own.
public struct RotaryPosition: Sendable, Hashable {
    /// Temporal index (the only one a 1-D RoPE model reads).
    public var temporal: Int
    /// Height index.
    public var height: Int
    /// Width index.
    public var width: Int

    /// The same index on every axis (text, and every token of a 1-D RoPE model).
    public init(_ position: Int) {
        temporal = position
        height = position
        width = position
    }

    /// A position with its three components.
    public init(temporal: Int, height: Int, width: Int) {
        self.temporal = temporal
        self.height = height
        self.width = width
    }

    /// Whether every axis holds the same index.
    public var isUniform: Bool { temporal == height && height == width }
    /// The largest component.
    public var maximum: Int { max(temporal, height, width) }
    /// The smallest component.
    public var minimum: Int { min(temporal, height, width) }

    /// The component on `axis` (0 temporal, 1 height, 2 width).
    func component(_ axis: Int) -> Int { axis == 0 ? temporal : axis == 1 ? height : width }
}
