// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "liaison",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "liaison", targets: ["liaison"]),
        .executable(name: "liaison-bench", targets: ["liaison-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "LiaisonCore"),
        .target(name: "CSQLiteWALBuffer", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "LiaisonStore",
            dependencies: [
                "LiaisonCore", "CSQLiteWALBuffer", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LiaisonRuntime",
            dependencies: ["LiaisonCore", "LiaisonStore", "Yams"]
        ),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CEpoll"),
        .target(
            name: "LiaisonDelivery",
            dependencies: [
                "CCurl", "LiaisonCore", "LiaisonStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "LiaisonServer",
            dependencies: [
                "LiaisonCore", "LiaisonStore", "LiaisonRuntime", "LiaisonDelivery",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Compiled into the binary by scripts/embed-assets (Staff/EmbeddedAssets.swift).
            exclude: ["Staff/Templates", "Staff/Assets"]
        ),
        .target(
            name: "LiaisonLoad",
            dependencies: [
                "CCurl", "CEpoll", "COpenSSL", "LiaisonCore", "LiaisonDelivery", "LiaisonServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "liaison-bench",
            dependencies: [
                "LiaisonLoad", "LiaisonCore", "LiaisonStore", "LiaisonServer", "LiaisonRuntime",
            ]
        ),
        // The request path over arbitrary bytes: a libFuzzer target built by scripts/fuzz, a corpus replayer
        // otherwise.
        .executableTarget(name: "liaison-fuzz", dependencies: ["LiaisonCore", "Yams"]),
        .executableTarget(
            name: "liaison",
            dependencies: [
                "LiaisonCore", "LiaisonStore", "LiaisonRuntime", "LiaisonServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LiaisonCoreTests",
            dependencies: ["LiaisonCore", "LiaisonRuntime", "LiaisonStore"]
        ),
        .testTarget(name: "LiaisonDeliveryTests", dependencies: ["LiaisonDelivery"]),
        .testTarget(
            name: "LiaisonIntegrationTests",
            dependencies: [
                "LiaisonLoad", "LiaisonCore", "LiaisonStore", "LiaisonServer", "LiaisonDelivery", "LiaisonRuntime",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LiaisonStoreTests",
            dependencies: [
                "LiaisonCore", "LiaisonStore", "LiaisonRuntime", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)
