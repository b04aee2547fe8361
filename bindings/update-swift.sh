#!/usr/bin/env bash
# Regenerates the committed Swift binding (bindings/swift/) from udl/edl.udl. Run it after
# changing the UDL; `cargo test -p edl-ffi` fails until the result is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
case "$(uname -s)" in Darwin) lib=libedl_ffi.dylib ;; *) lib=libedl_ffi.so ;; esac
# The build `cargo test --workspace` uses (see bindings/test.sh), so nothing is rebuilt;
# `build --lib --tests` copies the cdylib up to target/debug, where a fresh clone lacks it.
cargo test --workspace --locked --no-run -q
cargo build --workspace --lib --tests --locked -q
rm -f bindings/swift/EdlWallet.swift bindings/swift/EdlWalletFFI.h bindings/swift/EdlWalletFFI.modulemap
"$target_dir/debug/uniffi-bindgen" generate "$target_dir/debug/$lib" \
    --language swift --no-format --out-dir bindings/swift >/dev/null
echo "bindings/swift/ regenerated:"
ls bindings/swift
