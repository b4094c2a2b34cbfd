/// Errors thrown by tensor operations when a caller's arguments do not fit together.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Two shapes that must agree do not (operation, expected, actual).
    case shapeMismatch(operation: String, expected: Shape, actual: Shape)
    /// An element count does not match the shape it is meant to fill.
    case countMismatch(operation: String, expected: Int, actual: Int)
    /// An index (row, position, token) lies outside `0..<bound`.
    case indexOutOfRange(operation: String, index: Int, bound: Int)
    /// An argument is outside what the operation supports, with an explanation.
    case invalidArgument(operation: String, reason: String)
    /// A value that must be finite is NaN or infinite.
    case nonFinite(operation: String, index: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, expected, actual):
            return "\(op): expected shape \(expected), got \(actual)"
        case let .countMismatch(op, expected, actual):
            return "\(op): expected \(expected) elements, got \(actual)"
        case let .indexOutOfRange(op, index, bound):
            return "\(op): index \(index) is outside 0..<\(bound)"
        case let .invalidArgument(op, reason):
            return "\(op): \(reason)"
        case let .nonFinite(op, index):
            return "\(op): value at flat index \(index) is NaN or infinite"
        }
    }
}
