// swift-tools-version:5.10
import PackageDescription

// The hot path keeps its state in classes; dynamic exclusivity checks on every access cost
// about 6 % of ingest time in release builds. Debug builds (and the tests) keep them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "AetherLens",
    products: [
        .executable(name: "aether", targets: ["aether"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    ],
    targets: [
        .systemLibrary(name: "CPcap", path: "Sources/CPcap"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(name: "AetherCore"),
        .target(name: "AetherCapture", dependencies: ["AetherCore", "CPcap", "CZlib", "CCrypto"], swiftSettings: hotPath),
        .target(name: "AetherDecode", dependencies: ["AetherCore"], swiftSettings: hotPath),
        .target(name: "AetherFlows", dependencies: ["AetherCore"], swiftSettings: hotPath),
        .target(name: "AetherDetect", dependencies: ["AetherCore", "AetherDecode", "AetherFlows"], swiftSettings: hotPath),
        .target(name: "AetherStore", dependencies: ["AetherCore", "AetherFlows", "CSQLite", "CZlib"], swiftSettings: hotPath),
        .target(name: "AetherEngine", dependencies: ["AetherCore", "AetherCapture", "AetherDecode", "AetherFlows", "AetherDetect", "AetherStore"], swiftSettings: hotPath),
        .target(name: "AetherReport", dependencies: ["AetherCore", "AetherStore"]),
        .target(name: "AetherLive", dependencies: [
            "AetherCore", "AetherCapture", "AetherFlows", "AetherStore", "AetherEngine",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "HummingbirdWSCompression", package: "hummingbird-websocket"),
        ]),
        .executableTarget(name: "aether", dependencies: [
            "AetherEngine",
            "AetherReport",
            "AetherLive",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "AetherTests", dependencies: ["AetherEngine", "AetherReport", "AetherCapture", "AetherDecode", "AetherDetect", "AetherFlows", "AetherStore", "AetherLive"]),
    ]
)
