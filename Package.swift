// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "ANPRKit",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "anpr", targets: ["anpr"]),
    .library(name: "Linalg", targets: ["Linalg"]),
    .library(name: "Reads", targets: ["Reads"]),
    .library(name: "Modelling", targets: ["Modelling"]),
    .library(name: "Simulation", targets: ["Simulation"]),
    .library(name: "Hotspots", targets: ["Hotspots"]),
    .library(name: "Routes", targets: ["Routes"]),
    .library(name: "Linkage", targets: ["Linkage"]),
    .library(name: "ModelCatalogue", targets: ["ModelCatalogue"]),
    .library(name: "Evaluation", targets: ["Evaluation"]),
    .library(name: "Reporting", targets: ["Reporting"]),
    .library(name: "Governance", targets: ["Governance"]),
    .library(name: "Statistics", targets: ["Statistics"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
    // Mustache templates for the HTML report, so a force restyles it without code.
    .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    // A binary heap (HeapModule) for the candidate merges of average linkage.
    .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
  ],
  targets: [
    // C boundary: one systemLibrary per pkg-config file; nothing but a modulemap and a shim header.
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CLAPACKE", pkgConfig: "lapacke", providers: [.apt(["liblapacke-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CPROJ", pkgConfig: "proj", providers: [.apt(["libproj-dev"])]),
    .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

    .target(name: "Linalg", dependencies: ["CBLAS", "CLAPACKE"]),
    .target(
      name: "Reads",
      dependencies: ["CZlib", "CPROJ", .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "Modelling", dependencies: ["Linalg", "Reads"]),
    .target(name: "Simulation", dependencies: ["Reads", "Modelling", "CZlib"]),
    .target(name: "Hotspots", dependencies: ["Linalg", "Reads", "Modelling", "CSQLite"]),
    .target(name: "Routes", dependencies: ["Linalg", "Reads", "Modelling"]),
    .target(name: "Linkage", dependencies: ["Linalg", "Reads", "Modelling", .product(name: "HeapModule", package: "swift-collections")]),
    // The registry line-up, spec files and training: the one module that knows every model family.
    .target(name: "ModelCatalogue", dependencies: ["Reads", "Modelling", "Hotspots", "Routes", "Linkage", "Statistics", .product(name: "Yams", package: "Yams")]),
    .target(name: "Evaluation", dependencies: ["Linalg", "Reads", "Modelling", "Simulation", "Hotspots", "Routes", "Linkage", "Statistics", "ModelCatalogue", .product(name: "Yams", package: "Yams")]),
    // What an analyst reads: the HTML report (Mustache template), its PDF through Chromium, the road layer.
    .target(name: "Reporting", dependencies: ["Reads", "Modelling", "Hotspots", "Linkage", "Routes", "ModelCatalogue", "Evaluation",
                                           .product(name: "Mustache", package: "swift-mustache")]),
    .target(name: "Statistics", dependencies: ["Reads", "Hotspots", "Routes", .product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "Governance",
      dependencies: ["Reads", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Yams", package: "Yams")]),
    .executableTarget(
      name: "anpr",
      dependencies: [
        "Linalg", "Reads", "Modelling", "Simulation", "Hotspots", "Routes", "Linkage", "ModelCatalogue", "Evaluation", "Reporting", "Governance", "Statistics",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(name: "ANPRBench", dependencies: ["Linalg", "Reads", "Simulation", "Hotspots", "Routes", "Linkage", "Modelling", "ModelCatalogue", "Evaluation", "Governance"]),
    .target(
      name: "TestSupport",
      dependencies: ["Linalg", "Reads", "Modelling", "Hotspots", "ModelCatalogue", .product(name: "Numerics", package: "swift-numerics")]),

    .testTarget(
      name: "LinalgTests", dependencies: ["Linalg", "TestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ReadsTests", dependencies: ["Reads", "TestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(
      name: "HotspotsTests", dependencies: ["Hotspots", "Reads", "Modelling", "Linalg", "TestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(name: "RoutesTests", dependencies: ["Routes", "Reads", "Modelling", "Linalg", "TestSupport"]),
    .testTarget(name: "LinkageTests", dependencies: ["Linkage", "Evaluation", "Reads", "Modelling", "Linalg", "Simulation", "TestSupport"]),
    .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "ModelCatalogue", "Hotspots", "Routes", "Linkage", "Reads", "Modelling", "Simulation", "TestSupport"]),
    .testTarget(name: "ReportingTests", dependencies: ["Reporting", "Evaluation", "Linkage", "Routes", "ModelCatalogue", "Hotspots", "Reads", "Modelling", "TestSupport"]),
    .testTarget(
      name: "SimulationTests", dependencies: ["Simulation", "Reads", "TestSupport"]),
    .testTarget(name: "GovernanceTests", dependencies: ["Governance", "Reads"]),
    .testTarget(name: "StatisticsTests", dependencies: ["Statistics", "Routes", "Hotspots", "Reads", "Simulation"]),
    // The model contract over every registered model (ModelRegistry.standard).
    .testTarget(name: "ContractTests", dependencies: ["ModelCatalogue", "Modelling", "Hotspots", "Reads", "TestSupport"]),
    .testTarget(
      name: "CLITests",
      dependencies: ["anpr"]),
  ]
)
