// swift-tools-version: 6.1
import PackageDescription

/// Strict concurrency and Swift 6 mode everywhere; no unsafe flags, so the package stays usable as a
/// versioned dependency. Build with `-Xswiftc -target-cpu -Xswiftc native` for FMA speed (see README).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "VisionTokenPruning",
    products: [
        .library(name: "VisionTokenPruning", targets: ["VisionTokenPruning"]),
        .executable(name: "vtp-bench", targets: ["vtp-bench"]),
    ],
    traits: [
        .trait(name: "OpenBLAS", description: "Offer OpenBLAS cblas_sgemm as a GEMM backend (needs libopenblas-dev)."),
        .trait(name: "ImageCodecs", description: "Read PNG and JPEG images through libpng and libjpeg-turbo (needs libpng-dev and libjpeg-dev)."),
        .default(enabledTraits: []),
    ],
    targets: [
        .target(name: "_TensorShims"),
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "TensorCore",
            dependencies: [
                "_TensorShims",
                .target(name: "COpenBLAS", condition: .when(traits: ["OpenBLAS"])),
            ],
            swiftSettings: strictSettings,
            linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]
        ),
        .target(
            name: "_ImageCodecShims",
            linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg")]
        ),
        .target(
            name: "VLMModels",
            dependencies: ["TensorCore", .target(name: "_ImageCodecShims", condition: .when(traits: ["ImageCodecs"]))],
            swiftSettings: strictSettings
        ),
        .target(name: "VisionTokenPruning", dependencies: ["TensorCore", "VLMModels"], swiftSettings: strictSettings),
        .executableTarget(
            name: "vtp-bench",
            dependencies: ["VisionTokenPruning"],
            path: "Benchmarks/vtp-bench",
            swiftSettings: strictSettings
        ),
        .target(name: "TestSupport", dependencies: ["TensorCore", "VLMModels"], path: "Tests/TestSupport", swiftSettings: strictSettings),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "VLMModelsTests", dependencies: ["VLMModels", "TestSupport"], exclude: ["ImageFixtures", "FuzzRegressions"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "BenchTests", dependencies: ["vtp-bench", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "VisionTokenPruningTests",
            dependencies: ["VisionTokenPruning", "TestSupport"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
