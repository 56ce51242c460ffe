// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "dynsync",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "dynsync", targets: ["dynsync"]),
    .library(name: "DynSync", targets: ["DynSync"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
  ],
  targets: [
    // The system libxml2, reached only by the readers: the core never sees a C type.
    .systemLibrary(
      name: "CLibXML2",
      pkgConfig: "libxml-2.0",
      providers: [.apt(["libxml2-dev"])]
    ),
    // The system zlib, for the deflated entries of a CMT data.zip package.
    .systemLibrary(
      name: "CZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]
    ),
    // glibc's malloc.h (mallopt), for the command line tool's memory settings.
    .systemLibrary(name: "CMalloc"),
    // Canonical records, snapshots and the diff: pure values, no I/O.
    .target(name: "DynSyncCore"),
    // One reader per export format; streaming, one record at a time.
    .target(name: "DynSyncReaders", dependencies: ["DynSyncCore", "CLibXML2", "CZlib"]),
    // Batch artifacts on disk: change sets, rejects, manifest, atomic commit.
    .target(
      name: "DynSyncArtifacts",
      dependencies: ["DynSyncCore", .product(name: "Crypto", package: "swift-crypto")]
    ),
    // The pipeline jobs the CLI runs: read -> normalize -> diff -> write.
    .target(name: "DynSync", dependencies: ["DynSyncCore", "DynSyncReaders", "DynSyncArtifacts"]),
    .executableTarget(
      name: "dynsync",
      dependencies: [
        "DynSync", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .target(name: "CMalloc", condition: .when(platforms: [.linux])),
      ]
    ),
    .testTarget(
      name: "DynSyncTests",
      dependencies: ["DynSync", "DynSyncCore", "DynSyncReaders", "DynSyncArtifacts"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
