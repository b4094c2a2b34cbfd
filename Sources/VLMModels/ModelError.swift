import TensorCore

/// Errors from reading checkpoints, configurations and model inputs. Each case says what and where.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be opened or read.
    case fileUnreadable(path: String, reason: String)
    /// A file could not be written (the folder is missing or read-only, the disk is full, a non-file is there).
    case fileUnwritable(path: String, reason: String)
    /// A safetensors file breaks the format (truncated, bad header, offsets, dtype, sizes).
    case malformedSafetensors(path: String, reason: String)
    /// A GGUF file breaks the format (truncated, bad header, metadata, tensor infos, offsets, types).
    case malformedGGUF(path: String, reason: String)
    /// A tensor the model needs is absent from the checkpoint.
    case missingTensor(name: String)
    /// A tensor has a different shape than the configuration implies.
    case tensorShapeMismatch(name: String, expected: [Int], actual: [Int])
    /// A tensor's stored dtype cannot be read as requested.
    case unsupportedDType(name: String, dtype: String)
    /// Checkpoint tensors that no part of the model consumed (usually a wrong config or layout).
    case unusedTensors(names: [String])
    /// Two checkpoint names map to the same model weight.
    case duplicateTensor(name: String)
    /// One checkpoint mixes two key layouts (e.g. `vision_tower.vision_model.*` beside `vision_tower.*`).
    case mixedWeightLayouts(String)
    /// `config.json` (or another JSON file) is invalid or describes something unsupported.
    case invalidConfiguration(path: String, reason: String)
    /// A caller's input does not fit the model (token ids, image placeholder, pixel shape, layer index).
    case invalidInput(String)
    /// A tensor operation failed underneath.
    case tensor(TensorError)

    public var description: String {
        switch self {
        case let .fileUnreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .fileUnwritable(path, reason): return "cannot write \(path): \(reason)"
        case let .malformedSafetensors(path, reason): return "malformed safetensors file \(path): \(reason)"
        case let .malformedGGUF(path, reason): return "malformed GGUF file \(path): \(reason)"
        case let .missingTensor(name): return "checkpoint has no tensor '\(name)'"
        case let .tensorShapeMismatch(name, expected, actual):
            return "tensor '\(name)' has shape \(actual), expected \(expected)"
        case let .unsupportedDType(name, dtype): return "tensor '\(name)' has dtype \(dtype), which cannot be read here"
        case let .unusedTensors(names):
            return "checkpoint tensors not used by the model: \(names.prefix(10).joined(separator: ", "))"
                + (names.count > 10 ? " and \(names.count - 10) more" : "")
        case let .duplicateTensor(name): return "two checkpoint tensors map to '\(name)'"
        case let .mixedWeightLayouts(example): return "checkpoint mixes two key layouts: \(example)"
        case let .invalidConfiguration(path, reason): return "invalid configuration \(path): \(reason)"
        case let .invalidInput(reason): return "invalid input: \(reason)"
        case let .tensor(error): return error.description
        }
    }
}

/// Runs `body`, turning a `TensorError` into `ModelError.tensor` so model APIs throw one error type.
@inline(__always)
func wrapTensorErrors<R>(_ body: () throws -> R) throws -> R {
    do { return try body() } catch let error as TensorError { throw ModelError.tensor(error) }
}
