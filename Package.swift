// swift-tools-version:6.1
// Skiff: a CRI v1 container runtime for Kubernetes nodes.
// Targets follow docs/ARCHITECTURE.md: policy in Swift, mechanism in C (CShims),
// transport (CRIServer, CRIAPI) kept apart from logic.
import PackageDescription

let package = Package(
    name: "Skiff",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "skiffd", targets: ["skiffd"]),
        .executable(name: "skiffctl", targets: ["skiffctl"]),
        .executable(name: "skiff", targets: ["skiff"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Generated protobuf + grpc-swift-2 code for CRI v1 (see Scripts/gen-protos.sh).
        .target(
            name: "CRIAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The C half: syscalls Glibc's module lacks and the allocation-free child path (see its header).
        .target(
            name: "CShims",
            path: "CShims",
            // monitor/ is the skiff-monitor program, built with cc by Scripts/build-monitor.sh: linked
            // by swiftc it carried the Swift runtime, 1 MiB of private dirty memory per container.
            exclude: ["unpack", "monitor", "zlib", "terminal"],
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"])],
            linkerSettings: [.linkedLibrary("seccomp")]
        ),
        // Layer extraction with libarchive: its own target, so the runtime binary never loads it.
        .target(
            name: "CUnpack",
            path: "CShims/unpack",
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"])],
            linkerSettings: [.linkedLibrary("archive")]
        ),
        .target(name: "LinuxKit", dependencies: ["CShims"]),
        .target(name: "SkiffConfig"),
        .target(name: "OCI"),
        // Codable JSON without Foundation, for the runtime's start path (see JSONDecoding).
        .target(name: "JSONCoding"),
        .target(name: "Capabilities"),
        .target(name: "CommandLineSupport"),
        // A D-Bus client for systemd's Manager (transient scopes of the systemd cgroup driver).
        .target(name: "SystemdBus", dependencies: ["LinuxKit"]),
        .target(name: "Cgroups", dependencies: ["CShims", "LinuxKit", "OCI", "SystemdBus"]),
        .target(name: "Seccomp", dependencies: ["CShims", "OCI"]),
        .target(name: "RuntimeEngine", dependencies: ["CShims", "LinuxKit", "OCI", "Capabilities", "Cgroups", "Seccomp", "JSONCoding", "SystemdBus"]),
        .target(
            name: "ImageStore",
            dependencies: [
                "CUnpack", "LinuxKit", "OCI", "SkiffConfig",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(name: "PodNetwork", dependencies: ["SkiffConfig", "LinuxKit"]),
        // Debian's zlib: SPDY's header compression.
        .systemLibrary(name: "CZlib", path: "CShims/zlib"),
        // Pure codecs of the streaming protocols: SPDY/3.1 frames, WebSocket frames, Kubernetes'
        // remote-command channels. Shared by the server in skiffd and the client in skiffctl.
        .target(name: "StreamProtocols", dependencies: ["CZlib", "JSONCoding"]),
        // skiffctl's end of the streams: blocking WebSocket and SPDY clients for exec, attach and
        // port-forward, and the local terminal (raw mode, window size: CTerminal).
        .target(name: "CTerminal", path: "CShims/terminal", cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])]),
        .target(name: "StreamClient", dependencies: ["StreamProtocols", "CTerminal"]),
        // The HTTP/1.1 server behind Exec, Attach and PortForward, on SwiftNIO.
        .target(
            name: "StreamServer",
            dependencies: [
                "StreamProtocols", "LinuxKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Pure: CRI container config + image + pod → OCI runtime spec.
        .target(name: "SpecBuilder", dependencies: ["OCI", "Capabilities"]),
        .target(name: "PodManager", dependencies: ["CTerminal", "PodNetwork", "SkiffConfig", "LinuxKit", "JSONCoding", "CShims", "RuntimeEngine", "SpecBuilder", "ImageStore", "OCI", "Cgroups", "Capabilities"]),
        .target(
            name: "CRIServer",
            dependencies: [
                "CRIAPI", "SkiffConfig", "ImageStore", "PodManager", "PodNetwork", "RuntimeEngine", "Cgroups", "LinuxKit", "OCI", "StreamServer", "StreamProtocols",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The client half shared by skiffctl and the end-to-end tests.
        .target(
            name: "CRIClient",
            dependencies: [
                "CRIAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        ),
        .executableTarget(
            name: "skiffd",
            dependencies: [
                "CRIServer", "SkiffConfig", "LinuxKit", "StreamServer",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "skiffctl",
            dependencies: [
                "CRIClient", "CRIAPI", "SkiffConfig", "CommandLineSupport", "JSONCoding", "StreamClient",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The OCI runtime: a runc-compatible command line over RuntimeEngine.
        .executableTarget(
            name: "skiff",
            dependencies: [
                "RuntimeEngine", "OCI", "CommandLineSupport", "SkiffConfig", "LinuxKit", "JSONCoding", "CShims", "CTerminal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Fully static: no dynamic loader, no relocations and no shared libraries to map at each
            // start, which halves the cost of every `skiff` call (docs/BENCHMARKS.md). The three
            // libraries are FoundationEssentials' own dependencies, which a static link must name
            // (release builds drop the code that needs them, debug builds do not).
            linkerSettings: [.unsafeFlags(["-static-executable", "-l_FoundationCollections", "-lswiftSynchronization", "-l_FoundationCShims"])]
        ),
        .testTarget(name: "SkiffConfigTests", dependencies: ["SkiffConfig"]),
        .testTarget(name: "JSONCodingTests", dependencies: ["JSONCoding", "OCI"]),
        .testTarget(name: "RuntimeEngineTests", dependencies: ["RuntimeEngine", "Cgroups", "OCI", "CShims", "LinuxKit", "SystemdBus"]),
        // Privileged: runs `skiff` (and runc, as the reference) on generated bundles with a probe.
        // `skiff` is not a dependency: `swift test` builds every product anyway, and a test target
        // that depends on an executable links that executable's code, and its static link flags,
        // into the test bundle.
        .testTarget(
            name: "RuntimeIntegrationTests",
            dependencies: ["OCI", "Capabilities", "LinuxKit", "CShims"]
        ),
        .testTarget(name: "LinuxKitTests", dependencies: ["LinuxKit"]),
        // The test images and a private docker-registry, shared by the image and daemon tests.
        .target(name: "ImageFixtures", dependencies: ["LinuxKit"], path: "Tests/ImageFixtures"),
        .testTarget(
            name: "ImageStoreTests",
            dependencies: ["ImageStore", "ImageFixtures", "OCI", "LinuxKit", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "PodManagerTests", dependencies: ["PodManager", "PodNetwork", "SkiffConfig", "LinuxKit", "JSONCoding", "CShims"]),
        .testTarget(name: "SpecBuilderTests", dependencies: ["SpecBuilder", "OCI", "Capabilities"]),
        .testTarget(name: "StreamProtocolsTests", dependencies: ["StreamProtocols", "StreamServer"]),
        .testTarget(name: "SkiffctlTests", dependencies: ["skiffctl", "JSONCoding"]),
        .testTarget(
            name: "CRIServerTests",
            dependencies: ["CRIServer", "ImageStore", "RuntimeEngine", "Cgroups", "LinuxKit", "PodManager", "PodNetwork", .product(name: "GRPCCore", package: "grpc-swift-2")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "CRIClient", "CRIAPI", "LinuxKit", "ImageFixtures", "StreamProtocols",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
