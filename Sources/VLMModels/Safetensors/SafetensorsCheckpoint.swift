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
    /// - Throws: `ModelError` when no weights are found, the index is invalid or empty or names a shard outside the
    ///   folder (an absolute path, `..`, or a symbolic link leading out), a name appears in two files, or the
    ///   index names a tensor its shard lacks. Two spellings of one shard (`a.safetensors`,
    ///   `./a.safetensors`) are one shard.
    public init(directory: URL) throws {
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        let single = directory.appendingPathComponent("model.safetensors")
        var shards: [URL]
        var declared: [String: URL] = [:]
        if RegularFile.isPresent(index) {
            let map = try Self.weightMap(try RegularFile.read(index, limit: RegularFile.configurationByteLimit), path: index.path)
            guard !map.isEmpty else {
                throw ModelError.invalidConfiguration(path: index.path, reason: "weight_map is empty: the index names no tensor")
            }
            let root = directory.resolvingSymlinksInPath().standardizedFileURL.path
            var resolved: [String: URL] = [:]
            for file in Set(map.values) {
                resolved[file] = try Self.confined(file, in: directory, root: root, index: index.path)
            }
            declared = map.mapValues { resolved[$0]! }
            shards = Array(Set(resolved.values)).sorted { $0.path < $1.path }
        } else if RegularFile.isPresent(single) {
            shards = [single]
        } else {
            let listing = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            shards = listing.filter { $0.hasSuffix(".safetensors") }.sorted().map { directory.appendingPathComponent($0) }
        }
        guard !shards.isEmpty else {
            throw ModelError.fileUnreadable(path: directory.path, reason: "no .safetensors weights in this folder")
        }
        try self.init(files: shards.map { try SafetensorsFile(url: $0) })
        for (name, url) in declared {
            guard let i = owner[name], files[i].path == url.path else {
                throw ModelError.malformedSafetensors(
                    path: index.path, reason: "index places '\(name)' in \(url.lastPathComponent), which lacks it")
            }
        }
    }

    /// The `weight_map` of a `model.safetensors.index.json`: tensor name to shard file name.
    /// - Throws: `ModelError.invalidConfiguration` naming `path` for malformed JSON, a repeated key, a missing
    ///   `weight_map` or a value that is not a file name.
    public static func weightMap(_ data: Data, path: String) throws -> [String: String] {
        let json = try JSONValue.parseStrict(data, path: path)
        guard let members = json["weight_map"]?.members else {
            throw ModelError.invalidConfiguration(path: path, reason: "weight_map: expected an object of tensor name to file name")
        }
        var map: [String: String] = [:]
        for member in members {
            let key = member.key, value = member.value
            guard let file = value.string, !file.isEmpty else {
                throw ModelError.invalidConfiguration(path: path, reason: "weight_map.\(String(decoding: key, as: UTF8.self)): expected a file name")
            }
            map[String(decoding: key, as: UTF8.self)] = file
        }
        return map
    }

    /// The shard `file` named by the index, resolved (symbolic links included) and required to lie inside
    /// the folder whose resolved path is `root`.
    private static func confined(_ file: String, in directory: URL, root: String, index: String) throws -> URL {
        guard !file.isEmpty, !file.hasPrefix("/"), !file.split(separator: "/").contains("..") else {
            throw ModelError.invalidConfiguration(
                path: index, reason: "weight_map: shard '\(file)' must be a file name inside the model folder")
        }
        let url = directory.appendingPathComponent(file).resolvingSymlinksInPath().standardizedFileURL
        guard url.path.hasPrefix(root + "/") else {
            throw ModelError.invalidConfiguration(
                path: index, reason: "weight_map: shard '\(file)' resolves to \(url.path), outside the model folder")
        }
        return url
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
