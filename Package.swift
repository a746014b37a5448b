// swift-tools-version:5.10
import PackageDescription

let package = Package(
    name: "AetherLens",
    products: [
        .executable(name: "aether", targets: ["aether"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CPcap", path: "Sources/CPcap"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(name: "AetherCore"),
        .target(name: "AetherCapture", dependencies: ["AetherCore", "CPcap", "CZlib", "CCrypto"]),
        .target(name: "AetherDecode", dependencies: ["AetherCore"]),
        .target(name: "AetherFlows", dependencies: ["AetherCore"]),
        .target(name: "AetherStore", dependencies: ["AetherCore", "AetherFlows", "CSQLite", "CZlib"]),
        .target(name: "AetherEngine", dependencies: ["AetherCore", "AetherCapture", "AetherDecode", "AetherFlows", "AetherStore"]),
        .executableTarget(name: "aether", dependencies: [
            "AetherEngine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "AetherTests", dependencies: ["AetherEngine", "AetherCapture", "AetherDecode", "AetherFlows", "AetherStore"]),
    ]
)
