// swift-tools-version: 6.2
import PackageDescription

// Every target is compiled in Swift 6 language mode with strict concurrency (the default for 6.x tools).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "embed",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "embed", targets: ["embed"]),
        .library(name: "EmbedKit", targets: ["EmbedKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // `embed serve`: the HTTP server, and graceful shutdown on SIGTERM.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // C libraries, each behind a tiny system-library target with a shim header.
        .systemLibrary(name: "CEmbedSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // The PostgreSQL store's client (libpq reads PGPASSWORD, ~/.pgpass and the other PG* variables itself).
        .systemLibrary(name: "CEmbedPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CEmbedXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(
            name: "CEmbedCMark", pkgConfig: "libcmark-gfm",
            providers: [.apt(["libcmark-gfm-dev", "libcmark-gfm-extensions-dev"])]),
        .systemLibrary(name: "CEmbedBLAS", providers: [.apt(["libopenblas-dev"])]),
        // Reading NAME.EXT.gz documents.
        .systemLibrary(name: "CEmbedZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // CRC-32C for the vector file's block checksums: SSE4.2 when the CPU has it (checked at run time).
        .target(name: "CEmbedCRC32C"),
        // The model's element-wise kernels: portable, AVX2+FMA and AVX-512F variants, picked at run time.
        // Optimised in debug builds too, for the same reason as EmbedKitBERT below.
        .target(
            name: "CEmbedKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))],
            linkerSettings: [.linkedLibrary("m")]),
        // The model's linear layers on oneDNN (Debian's libdnnl-dev): fp32 with AVX-512 kernels, and bf16, where the
        // CPU has them (checked at run time). libgomp is oneDNN's thread runtime in Debian's build.
        .target(
            name: "CEmbedMatmul", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))],
            linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),

        // The pipeline: parse, chunk, embed, store, search.
        .target(
            name: "EmbedKit",
            dependencies: [
                "CEmbedSQLite", "CEmbedPQ", "CEmbedXML2", "CEmbedCMark", "CEmbedBLAS", "CEmbedCRC32C", "CEmbedZlib",
                "CEmbedKernels",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The native all-MiniLM-L6-v2 (BERT) embedder.
        // Optimized in debug builds too: unoptimized numeric loops are ~50x slower, which would make the model's
        // parity tests and any debug run of `embed` with the default embedder crawl.
        .target(
            name: "EmbedKitBERT", dependencies: ["EmbedKit", "CEmbedBLAS", "CEmbedKernels", "CEmbedMatmul"],
            swiftSettings: swiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // `embed serve`: embeddings, search and ingest jobs over HTTP, with micro-batching. Apart from EmbedKit, so
        // that the library does not carry a server.
        // What embed serve's clients send, decoded and checked: no HTTP server, so the fuzzer can reach it.
        .target(name: "EmbedServeAPI", dependencies: ["EmbedKit"], swiftSettings: swiftSettings),
        .target(
            name: "EmbedServe",
            dependencies: [
                "EmbedKit", "EmbedKitBERT", "EmbedServeAPI", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings),
        // Fakes and helpers shared by the test targets.
        .target(name: "EmbedKitTestSupport", dependencies: ["EmbedKit"], swiftSettings: swiftSettings),
        // The thin command-line front end.
        .executableTarget(
            name: "embed",
            dependencies: [
                "EmbedKit", "EmbedKitBERT", "EmbedServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks (run by the scripts in benchmarks/).
        .executableTarget(
            name: "embed-bench-search", dependencies: ["EmbedKit", "CEmbedBLAS"],
            path: "benchmarks/search/Sources/embed-bench-search", swiftSettings: swiftSettings),

        // Throughput of the OpenAI-compatible embedder in the pipeline, against a loopback server.
        .executableTarget(
            name: "embed-bench-openai",
            dependencies: ["EmbedKit", "EmbedKitTestSupport"],
            path: "benchmarks/openai/Sources/embed-bench-openai",
            swiftSettings: swiftSettings
        ),

        // Throughput of an embedding fleet through 1, 2 and 4 loopback endpoints (benchmarks/fleet/run.sh).
        .executableTarget(
            name: "embed-bench-fleet",
            dependencies: ["EmbedKit", "EmbedKitTestSupport"],
            path: "benchmarks/fleet/Sources/embed-bench-fleet",
            swiftSettings: swiftSettings
        ),

        // Benchmark harness for the native BERT embedder (benchmarks/bert/run.sh).
        .executableTarget(
            name: "bert-bench",
            dependencies: ["EmbedKit", "EmbedKitBERT", "CEmbedBLAS", "CEmbedMatmul"],
            path: "benchmarks/bert/Sources/bert-bench",
            swiftSettings: swiftSettings
        ),

        // What every untrusted input must keep, checked by the fuzzer (scripts/fuzz.sh) and the regression tests.
        .target(
            name: "EmbedFuzzChecks", dependencies: ["EmbedKit", "EmbedKitBERT", "EmbedServeAPI"], swiftSettings: swiftSettings),

        .testTarget(
            name: "EmbedKitTests",
            dependencies: ["EmbedKit", "EmbedKitTestSupport", "CEmbedCRC32C"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmbedKitBERTTests",
            dependencies: ["EmbedKitBERT", "EmbedKit", "EmbedKitTestSupport", "CEmbedKernels", "CEmbedMatmul", "CEmbedBLAS"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "embedTests",
            dependencies: ["EmbedKit", "EmbedKitTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmbedServeTests",
            dependencies: [
                "EmbedServe", "EmbedServeAPI", "EmbedKit", "EmbedKitTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["EmbedFuzzChecks"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer driver, built only by scripts/fuzz.sh (which sets EMBED_FUZZ=1 and passes -sanitize=fuzzer):
// it calls libFuzzer, which only that flag links.
if Context.environment["EMBED_FUZZ"] == "1" {
    package.targets += [
        .target(name: "CEmbedFuzzer", path: "fuzz/Sources/CEmbedFuzzer"),
        .executableTarget(
            name: "embed-fuzz",
            dependencies: ["CEmbedFuzzer", "EmbedFuzzChecks"],
            path: "fuzz/Sources/embed-fuzz",
            swiftSettings: swiftSettings
        ),
    ]
}
