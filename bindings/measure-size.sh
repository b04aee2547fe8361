#!/usr/bin/env bash
# Measures the stripped x86_64 release cdylib (libedl_ffi.so, without the generator) under
# candidate release profiles, without touching the workspace's [profile.release]: each
# setting is passed as a CARGO_PROFILE_RELEASE_* override and built in its own target dir.
# When bindings/test.sh has generated the Python module, each candidate is also timed
# (verify_offline on the committed vectors): opt-level is a speed choice too.
# Figures and the chosen profile: docs/BINDINGS.md ("Library size").
#
#   bindings/measure-size.sh            # all candidates (about 25 min on 2 cores)
#   bindings/measure-size.sh z s        # only these opt-levels (with lto, cgu=1, strip)
set -euo pipefail
cd "$(dirname "$0")/.."
candidates=("$@")
[ ${#candidates[@]} -eq 0 ] && candidates=(baseline 3 s z)

for c in "${candidates[@]}"; do
    dir="target/size-$c"
    if [ "$c" = baseline ]; then
        # The release profile as cargo defines it (opt-level 3, no LTO, 16 codegen units),
        # stripped. Spelled out: the workspace's [profile.release] is the tuned one.
        env CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false \
            CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_STRIP=symbols \
            cargo build --locked -q --release -p edl-ffi --no-default-features --lib \
            --target-dir "$dir"
    else
        # panic stays `unwind`: UniFFI turns a panic into an InternalException instead of
        # aborting the app, and the QR scanner relies on catching a dependency's panic.
        env CARGO_PROFILE_RELEASE_OPT_LEVEL="$c" CARGO_PROFILE_RELEASE_LTO=fat \
            CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_STRIP=symbols \
            CARGO_PROFILE_RELEASE_PANIC=unwind \
            cargo build --locked -q --release -p edl-ffi --no-default-features --lib \
            --target-dir "$dir"
    fi
    bytes=$(stat -c %s "$dir/release/libedl_ffi.so")
    awk -v c="$c" -v b="$bytes" 'BEGIN { printf "%-9s %9d bytes  %5.2f MiB\n", c, b, b / 1048576 }'
    if [ -f bindings/python/build/edl.py ]; then
        bench="$dir/bench"
        rm -rf "$bench" && mkdir -p "$bench"
        cp bindings/python/build/edl.py "$bench/"
        ln -s "$PWD/$dir/release/libedl_ffi.so" "$bench/"
        python3 bindings/python/bench_verify.py "$bench"
    fi
done
