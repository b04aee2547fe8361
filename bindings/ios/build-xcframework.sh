#!/usr/bin/env bash
# Builds EdlWalletFFI.xcframework (the static library and its C header) for iOS devices and
# the simulator, next to Package.swift, so that this directory is a Swift package: add it
# to an Xcode project (or depend on it by path) and `import EdlWallet`.
#
# Needs: macOS with Xcode and rustup. The Swift source is the committed
# bindings/swift/EdlWallet.swift (Sources/EdlWallet links to it); regenerate it with
# bindings/update-swift.sh after changing the UDL.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bindings/ios
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)

rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
    # Release profile of the workspace; the generator stays out of the static library.
    cargo build --locked --release -p edl-ffi --no-default-features --lib --target "$t"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The C module: the header and its module map under the name Xcode looks for.
mkdir -p "$work/headers"
cp bindings/swift/EdlWalletFFI.h "$work/headers/"
cp bindings/swift/EdlWalletFFI.modulemap "$work/headers/module.modulemap"
# One library per platform: the two simulator architectures go into one fat archive.
lipo -create target/aarch64-apple-ios-sim/release/libedl_ffi.a \
    target/x86_64-apple-ios/release/libedl_ffi.a -output "$work/libedl_ffi-sim.a"

rm -rf "$out/EdlWalletFFI.xcframework"
xcodebuild -create-xcframework \
    -library target/aarch64-apple-ios/release/libedl_ffi.a -headers "$work/headers" \
    -library "$work/libedl_ffi-sim.a" -headers "$work/headers" \
    -output "$out/EdlWalletFFI.xcframework"
echo "built $out/EdlWalletFFI.xcframework"
