#!/usr/bin/env bash
# The verifier web page's checks: the committed bundle (dist/verify.js) equals a fresh
# build of src/, then the browser tests (node --test) drive Debian's Chromium headless
# against `edl authority serve` on loopback.
#
# Called by scripts/test; runs alone too. Needs: node 20+, the npm packages (`npm ci` here)
# and /usr/bin/chromium (Debian's `chromium`; CHROMIUM=path overrides).
set -euo pipefail
cd "$(dirname "$0")"

[ -d node_modules ] || npm ci --no-audit --no-fund

echo "== web: the committed bundle equals a fresh build"
node build.mjs --check

# The `edl` binary of the cargo test build (a no-op after scripts/test's `cargo test`).
target_dir=$(cargo metadata --format-version 1 --no-deps --locked --manifest-path ../../Cargo.toml |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cargo test --workspace --locked --no-run -q --manifest-path ../../Cargo.toml
export EDL_BIN="$target_dir/debug/edl"

echo "== web: the verifier page in headless Chromium"
node --test --test-concurrency=1 test/verify.test.mjs
