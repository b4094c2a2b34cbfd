extension DecodingError {
    /// The coding path and what is wrong there, for `ModelError.invalidConfiguration` (Foundation's own text
    /// names neither plainly).
    public var readableReason: String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch self {
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "\(path(context)): \(context.debugDescription)"
        case let .keyNotFound(key, context):
            return "\(path(context)): missing key '\(key.stringValue)'"
        case let .dataCorrupted(context):
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            return (path(context).isEmpty ? "" : "\(path(context)): ") + context.debugDescription + underlying
        @unknown default:
            return "\(self)"
        }
    }
}

/// `DecodingError.readableReason` for a decoding error, the error's own description for anything else.
public func readableDecodingReason(_ error: any Error) -> String {
    (error as? DecodingError)?.readableReason ?? "\(error)"
}
