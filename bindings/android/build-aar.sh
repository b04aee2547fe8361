#!/usr/bin/env bash
# Builds the Android library (AAR) of the EDL binding: libedl_ffi.so for arm64-v8a,
# armeabi-v7a and x86_64, linked for 16 KB pages, plus the generated Kotlin (`cn.edl.wallet`)
# compiled by the Gradle module beside this script.
#
# Needs: the Android NDK (ANDROID_NDK_HOME), cargo-ndk (`cargo install cargo-ndk`), the
# rustup targets below, and Gradle 8 with the Android SDK (ANDROID_HOME). Output:
# bindings/android/build/outputs/aar/edl-wallet-release.aar
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bindings/android

rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android

# 16 KB page alignment (required for Google Play from Android 15 devices on): NDK r28+ does it
# by default, the flag makes older NDKs do it too. Release profile of the workspace;
# `--no-default-features` leaves the generator out of the library.
RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384" \
    cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 --platform 24 \
    -o "$out/src/main/jniLibs" \
    build --locked --release -p edl-ffi --no-default-features --lib

# The Kotlin source, generated in library mode from the host's debug build (with the
# generator, as bindings/test.sh does). Not from the libraries just built: they are stripped
# (the release profile, and cargo-ndk), and stripping an ELF library removes the
# UNIFFI_META_* symbols library mode reads. The interface is the same on every architecture.
case "$(uname -s)" in Darwin) host_lib=libedl_ffi.dylib ;; *) host_lib=libedl_ffi.so ;; esac
cargo build --locked -q -p edl-ffi
rm -rf "$out/src/main/kotlin"
target/debug/uniffi-bindgen generate "target/debug/$host_lib" \
    --language kotlin --no-format --out-dir "$out/src/main/kotlin"

# The face model the photo checks load (`loadFaceModel`): an asset of the AAR, merged into the
# app's assets as edl/seeta_fd_frontal_v1.0.bin. The library itself does not build it in.
mkdir -p "$out/src/main/assets/edl"
cp core/models/seeta_fd_frontal_v1.0.bin "$out/src/main/assets/edl/"

(cd "$out" && gradle --no-daemon -q assembleRelease)
ls -l "$out/build/outputs/aar/"
