import Foundation

/// Files the benchmark writes (`--dump`, `--svg`): checked before any work, written whole or not at all.
struct OutputFile {
    let url: URL

    /// Checks that `path`, given with `flag`, can be written and would not overwrite an input: its folder
    /// exists, it is not a folder, and it does not resolve to any of `inputs` or to a file the model loader
    /// reads in `modelFolder` (config, generation and preprocessor configs, weights and their index).
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
        var protected = inputs.map { $0.resolvingSymlinksInPath().path }
        if let modelFolder {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: modelFolder.path)) ?? []
            protected += names.filter { $0.hasSuffix(".json") || $0.hasSuffix(".safetensors") }
                .map { modelFolder.appendingPathComponent($0).resolvingSymlinksInPath().path }
        }
        if protected.contains(resolved) { throw BenchError.usage("\(flag) \(path) would overwrite an input of this run") }
        self.url = url
    }

    /// Writes `data` to a temporary file beside the target and renames it over the target, so a failed run
    /// leaves an existing file untouched.
    func write(_ data: Data) throws {
        try data.write(to: url, options: .atomic)
    }
}
