import Foundation
import VLMModels

/// Files the benchmark writes (`--dump`, `--svg`): checked before any work, written whole or not at all.
struct OutputFile {
    let url: URL
    /// The option that named the file, for error messages.
    let flag: String

    /// Checks that `path`, given with `flag`, can be written and would not overwrite an input: its folder
    /// exists, it is not a folder, it does not resolve to any of `inputs`, and it does not lie anywhere inside
    /// `modelFolder` (whose shards may sit in subfolders).
    /// - Throws: `BenchError.usage` naming the flag.
    init(_ path: String, flag: String, inputs: [URL], modelFolder: URL?) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let resolved = url.resolvingSymlinksInPath().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.deletingLastPathComponent().path, isDirectory: &isFolder),
              isFolder.boolValue else {
            throw BenchError.usage("\(flag) \(path): the folder \(url.deletingLastPathComponent().path) does not exist")
        }
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            throw BenchError.usage("\(flag) \(path) is a folder")
        }
        if inputs.map({ $0.resolvingSymlinksInPath().path }).contains(resolved) {
            throw BenchError.usage("\(flag) \(path) would overwrite an input of this run")
        }
        // Nothing is written anywhere inside a model folder (its shards may sit in subfolders).
        if let modelFolder, resolved.hasPrefix(modelFolder.resolvingSymlinksInPath().standardizedFileURL.path + "/") {
            throw BenchError.usage("\(flag) \(path) is inside the model folder \(modelFolder.path); write it elsewhere")
        }
        self.url = url
        self.flag = flag
    }

    /// Writes `data` whole or not at all (`RegularFile.write`), so a failed run leaves an existing file untouched.
    /// - Throws: `BenchError.failed` naming the option, the path and the system's reason.
    func write(_ data: Data) throws {
        do { try RegularFile.write(data, to: url) } catch {
            throw BenchError.failed("\(flag): \(error)")
        }
    }
}
