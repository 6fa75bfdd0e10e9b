// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "liaison",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "liaison", targets: ["liaison"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(name: "LiaisonCore"),
        .target(
            name: "LiaisonStore",
            dependencies: ["LiaisonCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "LiaisonRuntime",
            dependencies: ["LiaisonCore", "LiaisonStore", "Yams"]
        ),
        .executableTarget(
            name: "liaison",
            dependencies: [
                "LiaisonCore", "LiaisonStore", "LiaisonRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "LiaisonCoreTests",
            dependencies: ["LiaisonCore", "LiaisonRuntime"]
        ),
        .testTarget(
            name: "LiaisonStoreTests",
            dependencies: [
                "LiaisonCore", "LiaisonStore", "LiaisonRuntime", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)
