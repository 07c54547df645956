// swift-tools-version:6.0
// libFuzzer targets for the readers of untrusted files (issue 18). Built apart from the main package,
// because a libFuzzer binary has no main of its own:
//   swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// `make fuzz` builds and runs each (FUZZ_SECONDS each); `make test` runs each for 30 s. ANPRKit is
// reached through the `ANPRKit` link to the repository root (a path dependency's identity is its
// folder name, so the link keeps it the same in any clone).
import PackageDescription

let package = Package(
  name: "ANPRKitFuzz",
  dependencies: [.package(path: "ANPRKit")],
  targets: [
    .target(name: "CFuzzerDriver"),
    .executableTarget(name: "fuzz-ingest", dependencies: ["CFuzzerDriver", .product(name: "Reads", package: "ANPRKit")]),
    .executableTarget(name: "fuzz-store", dependencies: ["CFuzzerDriver", .product(name: "Reads", package: "ANPRKit")]),
    .executableTarget(
      name: "fuzz-model",
      dependencies: [
        "CFuzzerDriver", .product(name: "Reads", package: "ANPRKit"), .product(name: "Modelling", package: "ANPRKit"),
        .product(name: "Hotspots", package: "ANPRKit"), .product(name: "Routes", package: "ANPRKit"),
        .product(name: "ModelCatalogue", package: "ANPRKit"),
      ]),
  ]
)
