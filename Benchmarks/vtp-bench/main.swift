import Foundation
import VisionTokenPruning

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    try BenchCommand.run(arguments)
} catch {
    FileHandle.standardError.write(Data("vtp-bench: \(error)\n".utf8))
    exit(1)
}
