// swift-tools-version:5.9
// The EDL binding as a Swift package: `import EdlWallet`. Run build-xcframework.sh first;
// it builds EdlWalletFFI.xcframework (the Rust library and its C header) beside this file.
// Sources/EdlWallet is also compiled and tested on Linux, in Swift 6 language mode, by
// bindings/swift-tests (bindings/test.sh swift); this manifest needs Xcode (an XCFramework).
import PackageDescription

let package = Package(
    name: "EdlWallet",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "EdlWallet", targets: ["EdlWallet"]),
    ],
    targets: [
        .binaryTarget(name: "EdlWalletFFI", path: "EdlWalletFFI.xcframework"),
        // The UniFFI-generated Swift (a link to the committed bindings/swift/EdlWallet.swift),
        // and the face model the photo checks load (`loadFaceModel`), a link to
        // core/models/seeta_fd_frontal_v1.0.bin: the library does not build it in.
        .target(
            name: "EdlWallet",
            dependencies: ["EdlWalletFFI"],
            path: "Sources/EdlWallet",
            resources: [.copy("Resources/seeta_fd_frontal_v1.0.bin")]
        ),
    ]
)
