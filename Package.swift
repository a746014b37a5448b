// swift-tools-version:6.1
import PackageDescription

// The hot path keeps its state in classes; dynamic exclusivity checks on every access cost
// much of ingest time in release builds (measured 2026-11-26 on the 2 M-packet bench file, best
// of 5: 5.76 s without this flag, 3.21 s with it). Debug builds (and the tests) keep the checks.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

// gRPC (`tail --grpc`) is a trait: grpc-swift's HTTP/2 transport brings swift-nio-ssl and
// swift-certificates, whose BoringSSL is hundreds of C files that the main job does not need
// (a fresh `make run` took 11 min 49 s with it). `make test` and `make release-full` turn it on
// (`--traits GRPC`); without it `aether tail --grpc` says how to build with it.
let grpc: Set<String> = ["GRPC"]

let package = Package(
    name: "AetherLens",
    products: [
        .executable(name: "aether", targets: ["aether"]),
    ],
    traits: [
        .trait(name: "GRPC", description: "the gRPC event stream of aether tail (grpc-swift 2 over HTTP/2)"),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Already built for Hummingbird and gRPC; named so that their channel handlers can be used.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
    ],
    targets: [
        .systemLibrary(name: "CPcap", path: "Sources/CPcap"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(name: "AetherCore"),
        .target(name: "AetherCapture", dependencies: ["AetherCore", "CPcap", "CZlib", "CCrypto"], swiftSettings: hotPath),
        .target(name: "AetherDecode", dependencies: ["AetherCore"], swiftSettings: hotPath),
        .target(name: "AetherFlows", dependencies: ["AetherCore", "AetherDecode"], swiftSettings: hotPath),
        .target(name: "AetherDetect", dependencies: ["AetherCore", "AetherDecode", "AetherFlows"], swiftSettings: hotPath),
        .target(name: "AetherStore", dependencies: ["AetherCore", "AetherFlows", "CSQLite", "CZlib"], swiftSettings: hotPath),
        .target(
            name: "AetherEngine", dependencies: ["AetherCore", "AetherCapture", "AetherDecode", "AetherFlows", "AetherDetect", "AetherStore", "CCrypto", "CZlib"],
            swiftSettings: hotPath),
        // Page assets are files, embedded at build time (Asset).
        .target(
            name: "AetherReport", dependencies: ["AetherCore", "AetherDetect", "AetherStore"],
            resources: [.embedInCode("Resources/report.css"), .embedInCode("Resources/report.js")]),
        .target(name: "AetherLive", dependencies: [
            "AetherCore", "AetherCapture", "AetherFlows", "AetherStore", "AetherEngine",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "HummingbirdWSCompression", package: "hummingbird-websocket"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ], resources: [.embedInCode("Resources/live.html"), .embedInCode("Resources/live.css"), .embedInCode("Resources/live.js")]),
        // Empty without the trait (its sources are `#if GRPC`), so that `swift build` builds
        // none of grpc-swift.
        .target(name: "AetherGRPC", dependencies: [
            "AetherLive",
            .product(name: "GRPCCore", package: "grpc-swift-2", condition: .when(traits: grpc)),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport", condition: .when(traits: grpc)),
            .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: grpc)),
            .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: grpc)),
            .product(name: "NIOHTTP2", package: "swift-nio-http2", condition: .when(traits: grpc)),
        ]),
        .executableTarget(name: "aether", dependencies: [
            .target(name: "AetherGRPC", condition: .when(traits: grpc)),
            "AetherCore",
            "AetherCapture",
            "AetherDecode",
            "AetherStore",
            "AetherEngine",
            "AetherDetect",
            "AetherFlows",
            "AetherReport",
            "AetherLive",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "AetherTests", dependencies: ["AetherCore", "AetherEngine", "AetherReport", "AetherCapture", "AetherDecode", "AetherDetect", "AetherFlows", "AetherStore", "AetherLive"]),
    ],
    // The code is written for Swift 5 mode (tools 6.1 would default to Swift 6's).
    swiftLanguageModes: [.v5]
)
