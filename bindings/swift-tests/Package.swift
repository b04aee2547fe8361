// swift-tools-version:6.0
// The Swift binding's tests on Linux (bindings/test.sh swift): the committed generated
// Swift and C header (links to bindings/swift/ and bindings/ios/Sources/) over
// libedl_ffi.so, in Swift 6 language mode. An app uses bindings/ios/Package.swift, which
// takes the library as an XCFramework (Apple platforms only).
import PackageDescription

let package = Package(
    name: "EdlWalletTests",
    targets: [
        // The C side of the binding: the committed header and module map.
        .systemLibrary(name: "EdlWalletFFI", path: "Sources/EdlWalletFFI"),
        // The Swift of the iOS package itself (a link to bindings/ios/Sources/EdlWallet: the
        // committed EdlWallet.swift, FaceModel.swift and the face model resource), linked
        // against libedl_ffi (its directory is passed with `-Xlinker -L`).
        .target(
            name: "EdlWallet",
            dependencies: ["EdlWalletFFI"],
            path: "Sources/EdlWallet",
            resources: [.copy("Resources/seeta_fd_frontal_v1.0.bin")],
            linkerSettings: [.linkedLibrary("edl_ffi")]
        ),
        .testTarget(name: "EdlWalletTests", dependencies: ["EdlWallet"], path: "Tests/EdlWalletTests"),
    ],
    swiftLanguageModes: [.v6]
)
