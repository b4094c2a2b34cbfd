// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for the parsers that read untrusted files. Kept out of the main package so that
// `swift build`/`swift test` never need the fuzzing runtime. See README.md for how to run them.
let package = Package(
    name: "VisionTokenPruningFuzz",
    dependencies: [.package(name: "VisionTokenPruning", path: "..", traits: ["ImageCodecs"])],
    targets: [.target(name: "FuzzSupport")]
        + ["FuzzSafetensors", "FuzzConfiguration", "FuzzPortablePixmap", "FuzzEvaluationSet", "FuzzImageCodecs",
           "FuzzTokenizer", "FuzzChatTemplate", "FuzzPreprocessorConfig", "FuzzPrefixKVProfile", "FuzzCheckpointIndex", "FuzzGGUF",
           "FuzzFamilyFolder", "FuzzCLIPText"].map { name in
            .executableTarget(name: name, dependencies: [
                "FuzzSupport", .product(name: "VisionTokenPruning", package: "VisionTokenPruning"),
            ])
        },
    swiftLanguageModes: [.v6]
)
