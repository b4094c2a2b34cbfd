/// The dimensions of a row-major tensor, outermost first (e.g. `[rows, columns]`).
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// Extent of each dimension; every entry is >= 0.
    public let dims: [Int]

    /// Creates a shape from dimensions known to be valid (literals, sizes computed by the library).
    /// - Precondition: no negative extent. Use `init(checking:)` for dimensions that come from outside.
    public init(_ dims: [Int]) {
        precondition(dims.allSatisfy { $0 >= 0 }, "negative dimension in \(dims)")
        self.dims = dims
    }

    /// Creates a shape from dimensions that come from outside (a file, a caller).
    /// - Throws: `TensorError.invalidArgument` for a negative extent or an element count that overflows.
    public init(checking dims: [Int]) throws {
        guard dims.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(operation: "Shape", reason: "negative dimension in \(dims)")
        }
        var count = 1
        for d in dims {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw TensorError.invalidArgument(operation: "Shape", reason: "\(dims) overflows") }
            count = product
        }
        self.init(dims)
    }

    /// Creates a shape from a literal such as `[577, 1024]`.
    public init(arrayLiteral elements: Int...) { self.init(elements) }

    /// Number of dimensions.
    public var rank: Int { dims.count }

    /// Number of elements (product of the dimensions; 1 for a scalar).
    public var count: Int { dims.reduce(1, *) }

    /// Extent of dimension `i`; negative `i` counts from the end.
    public subscript(_ i: Int) -> Int { dims[i < 0 ? dims.count + i : i] }

    /// The innermost extent (row length); 1 for a scalar.
    public var last: Int { dims.last ?? 1 }

    /// Product of all dimensions but the last: the number of rows when viewed as a matrix.
    public var rowCount: Int { dims.isEmpty ? 1 : dims.dropLast().reduce(1, *) }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
