import Foundation
import TensorCore

/// All tensors of a checkpoint folder: `model.safetensors`, or shards listed by `model.safetensors.index.json`
/// (`{"weight_map": {tensorName: fileName}}`), or every `*.safetensors` file in the folder.
public struct SafetensorsCheckpoint: Sendable {
    /// The opened files.
    public let files: [SafetensorsFile]
    /// Which file holds each tensor.
    private let owner: [String: Int]

    /// Opens the checkpoint in `directory`.
    /// - Throws: `ModelError` when no weights are found, the index is invalid, a name appears in two files,
    ///   or the index names a tensor its shard lacks.
    public init(directory: URL) throws {
        let fm = FileManager.default
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var fileNames: [String]
        var declared: [String: String] = [:]
        if fm.fileExists(atPath: index.path) {
            guard let data = fm.contents(atPath: index.path),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = object["weight_map"] as? [String: String] else {
                throw ModelError.invalidConfiguration(path: index.path, reason: "no weight_map of string to string")
            }
            declared = map
            fileNames = Array(Set(map.values)).sorted()
        } else if fm.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) {
            fileNames = ["model.safetensors"]
        } else {
            let listing = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
            fileNames = listing.filter { $0.hasSuffix(".safetensors") }.sorted()
        }
        guard !fileNames.isEmpty else {
            throw ModelError.fileUnreadable(path: directory.path, reason: "no .safetensors weights in this folder")
        }
        try self.init(files: fileNames.map { try SafetensorsFile(url: directory.appendingPathComponent($0)) })
        for (name, file) in declared {
            guard let i = owner[name], files[i].path.hasSuffix("/" + file) else {
                throw ModelError.malformedSafetensors(
                    path: index.path, reason: "index places '\(name)' in \(file), which lacks it")
            }
        }
    }

    /// A checkpoint made of already opened files.
    /// - Throws: `ModelError.duplicateTensor` when two files hold the same name.
    public init(files: [SafetensorsFile]) throws {
        var owner: [String: Int] = [:]
        for (i, f) in files.enumerated() {
            for name in f.tensorNames {
                guard owner[name] == nil else { throw ModelError.duplicateTensor(name: name) }
                owner[name] = i
            }
        }
        self.files = files
        self.owner = owner
    }

    /// Every tensor name in the checkpoint.
    public var tensorNames: [String] { owner.keys.sorted() }

    /// The entry for `name`. - Throws: `ModelError.missingTensor`.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let i = owner[name] else { throw ModelError.missingTensor(name: name) }
        return try files[i].info(name)
    }

    /// Tensor `name` as Float32. - Throws: see `SafetensorsFile.floatTensor`.
    public func floatTensor(_ name: String) throws -> Tensor {
        try file(holding: name).floatTensor(name)
    }

    /// The file that holds tensor `name`. - Throws: `ModelError.missingTensor`.
    public func file(holding name: String) throws -> SafetensorsFile {
        guard let i = owner[name] else { throw ModelError.missingTensor(name: name) }
        return files[i]
    }
}
