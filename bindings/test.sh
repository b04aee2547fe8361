#!/usr/bin/env bash
# Tests the generated bindings for real: takes libedl_ffi.so and the generator from the
# build `cargo test --workspace` makes (debug; after that step of scripts/test this build is
# a no-op), generates the Kotlin and Python bindings from the library (library mode) and
# runs the JUnit 5 and pytest suites against it. The Swift suite runs the committed Swift
# binding (bindings/swift/, kept equal to a fresh generation by the Rust test
# bindings/tests/swift_bindings.rs) under XCTest in Swift 6 language mode, inside the Debian
# trixie root of scripts/swift-root (made once per machine, then reused).
#
# Suite `viewmodels` compiles the demo apps' view models (android-demo/viewmodels) against
# the generated Kotlin and drives them through the driver's flow with JUnit 5; suite
# `screenshots` (not run by default: it needs Xvfb) runs their desktop window through every
# screen and saves a PNG of each beside the demos' READMEs (android-demo/screenshots.sh).
#
# Called by scripts/test; runs alone too: `bindings/test.sh [kotlin|python|viewmodels|swift]...`.
# Needs: cargo, python3 with bindings/python/requirements.txt, Java 17 and Maven 3.8; for
# Swift, root (debootstrap, chroot, a private mount namespace) and Debian's mirror once.
set -euo pipefail
cd "$(dirname "$0")/.."

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(python kotlin viewmodels swift)

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
case "$(uname -s)" in
    Darwin) lib_name=libedl_ffi.dylib ;;
    *) lib_name=libedl_ffi.so ;;
esac
lib="$target_dir/debug/$lib_name"
vectors="$PWD/core/tests/vectors/v1.txt"

echo "== bindings: libedl_ffi and uniffi-bindgen (the cargo test build)"
# Exactly the build of the Rust tests: `cargo build -p edl-ffi` would resolve the features
# of edl-core without the workspace's dev-dependencies, recompile edl-ffi and overwrite the
# cdylib, and the next `cargo test` would recompile it back. `cargo test` links the cdylib
# only under target/debug/deps; `build --lib --tests` (the same features, so no rebuild)
# copies it up to target/debug, where a fresh clone would otherwise lack it.
cargo test --workspace --locked --no-run -q
cargo build --workspace --lib --tests --locked -q
bindgen="$target_dir/debug/uniffi-bindgen"

# The wallet tests drive the real authority on loopback: `edl authority serve` (built by the
# same `cargo test` build, for cli/tests) on a fresh database and a free port. Its URL and
# admin token reach the Kotlin and Python tests as EDL_AUTHORITY_URL / EDL_ADMIN_TOKEN, the
# test identity provider's secret as EDL_IDENTITY_SECRET. Stopped on exit.
authority_dir=$(mktemp -d)
authority_pid=""
stop_authority() {
    if [ -n "$authority_pid" ]; then
        kill "$authority_pid" 2>/dev/null || true
        wait "$authority_pid" 2>/dev/null || true
    fi
    rm -rf "$authority_dir"
}
trap stop_authority EXIT
export EDL_ADMIN_TOKEN="bindings-test-admin-$$"
export EDL_IDENTITY_SECRET="bindings test identity secret"
# It signs its trust list with a fixed test root key (D72), whose public key the tests pin
# (EDL_ROOT_PUBLIC_KEY), and its status lists go stale after EDL_STATUS_LIST_TTL seconds,
# so the tests see "status unknown" without waiting an hour (D93).
export EDL_ROOT_PUBLIC_KEY=7b242f9778bbf9d1baa38a8026268be5566dff341e59bb3798db471c4cb282fa
export EDL_STATUS_LIST_TTL=12
echo "== bindings: authority on loopback"
# Made before the server's shell opens it: `sed` below may look first, and a missing file
# would end this script (set -e).
: >"$authority_dir/stderr"
EDL_AUTHORITY_ROOT_KEY=$(printf 'b7%.0s' $(seq 32)) \
    EDL_AUTHORITY_STATUS_LIST_TTL=$EDL_STATUS_LIST_TTL \
    "$target_dir/debug/edl" authority serve --db "$authority_dir/authority.db" \
    --listen 127.0.0.1:0 2>"$authority_dir/stderr" &
authority_pid=$!
EDL_AUTHORITY_URL=""
for _ in $(seq 100); do
    EDL_AUTHORITY_URL=$(sed -n 's/^edl authority listening on //p' "$authority_dir/stderr")
    [ -n "$EDL_AUTHORITY_URL" ] && break
    kill -0 "$authority_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$EDL_AUTHORITY_URL" ]; then
    echo "bindings/test.sh: the authority did not start:" >&2
    cat "$authority_dir/stderr" >&2
    exit 1
fi
export EDL_AUTHORITY_URL
# The clean fixture photo the wallet tests submit, and the face model they load first, as
# an app does (the shipped library has no model built in).
export EDL_PHOTO="$PWD/core/tests/photos/clean.jpg"
export EDL_FACE_MODEL="$PWD/core/models/seeta_fd_frontal_v1.0.bin"

# Fresh output each time, so a removed item cannot linger in a stale file.
generate() { # language out-dir
    rm -rf "$2"
    mkdir -p "$2"
    "$bindgen" generate "$lib" --language "$1" --out-dir "$2" --no-format >/dev/null
}

run_python() {
    local out="$PWD/bindings/python/build"
    echo "== bindings: python (pytest)"
    generate python "$out"
    ln -s "$lib" "$out/$lib_name"
    local rc=0
    EDL_PYTHON_DIR="$out" EDL_VECTORS="$vectors" \
        python3 -m pytest -q -p no:cacheprovider bindings/python/tests || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "bindings/test.sh: pytest collected no tests in bindings/python/tests" >&2
    fi
    return "$rc"
}

run_kotlin() {
    local dir=bindings/kotlin
    echo "== bindings: kotlin (Maven, JUnit 5)"
    generate kotlin "$dir/target/generated-sources/uniffi"
    # No stale class or report may stand in for a test that was removed or renamed.
    rm -rf "$dir/target/classes" "$dir/target/test-classes" "$dir/target/surefire-reports"
    # Every version in the pom is pinned, so once this machine has resolved this pom
    # (marker below) Maven runs offline (-o) and never touches the network.
    local marker="$dir/target/.resolved" pom_hash offline=()
    pom_hash=$(sha256sum "$dir/pom.xml" | cut -d' ' -f1)
    [ "$(cat "$marker" 2>/dev/null)" = "$pom_hash" ] && offline=(-o)
    # (Debian's Maven 3.8 prints colour resets even in batch mode: they are stripped.)
    mvn -q -B "${offline[@]}" -f "$dir/pom.xml" test \
        -Dedl.lib.dir="$(dirname "$lib")" -Dedl.vectors="$vectors" 2>&1 |
        sed -u $'s/\e\\[[0-9;]*m//g' | tee "$dir/target/mvn.log"
    echo "$pom_hash" >"$marker"
    junit_outcome "$dir" kotlin
}

# The outcome of a Maven test run in $1, reported as $2. JUnit skips, with only a warning, a
# @Test that returns a value (a `runBlocking` whose last expression is not Unit): such a test
# must fail the run, not vanish from it. `-q` hides Surefire's summary: the reports are
# counted so a run of no test cannot pass.
junit_outcome() { # dir label
    local dir=$1 label=$2
    if grep -q "It will not be executed" "$dir/target/mvn.log"; then
        echo "bindings/test.sh: JUnit skipped a $label test method (see the warning above)" >&2
        return 1
    fi
    python3 - "$dir/target/surefire-reports" "$label" <<'EOF'
import pathlib, sys, xml.etree.ElementTree as ET
suites = [ET.parse(p).getroot() for p in pathlib.Path(sys.argv[1]).glob("TEST-*.xml")]
label = sys.argv[2]
count = lambda key: sum(int(s.get(key, 0)) for s in suites)
run, failed = count("tests"), count("failures") + count("errors")
skipped = count("skipped")
print(f"{label}: {run - failed - skipped} passed, {failed} failed, {skipped} skipped")
if run == 0:
    sys.exit(f"bindings/test.sh: Surefire ran no {label} test")
sys.exit(1 if failed else 0)
EOF
}

# Maven in android-demo/viewmodels: generates the binding into it, then runs the goals given.
# Like run_kotlin, offline (-o) once this machine has resolved the pom for those goals.
viewmodels_mvn() { # goals...
    local dir=android-demo/viewmodels
    generate kotlin "$dir/target/generated-sources/uniffi"
    rm -rf "$dir/target/classes" "$dir/target/test-classes" "$dir/target/surefire-reports"
    local marker="$dir/target/.resolved-${1//:/-}" pom_hash offline=()
    pom_hash=$(sha256sum "$dir/pom.xml" | cut -d' ' -f1)
    [ "$(cat "$marker" 2>/dev/null)" = "$pom_hash" ] && offline=(-o)
    mvn -q -B "${offline[@]}" -f "$dir/pom.xml" "$@" -Dedl.lib.dir="$(dirname "$lib")" 2>&1 |
        sed -u $'s/\e\\[[0-9;]*m//g' | tee "$dir/target/mvn.log"
    echo "$pom_hash" >"$marker"
}

run_viewmodels() {
    local dir=android-demo/viewmodels
    echo "== bindings: demo view models (Maven, JUnit 5)"
    viewmodels_mvn test
    junit_outcome "$dir" viewmodels
}

# The desktop window under a virtual display: Debian's xvfb (xvfb-run) and, for the Chinese
# text, fonts-noto-cjk (`apt-get install -y xvfb fonts-noto-cjk`).
run_screenshots() {
    local shots="$PWD/android-demo/screenshots"
    echo "== bindings: demo screenshots (desktop window under Xvfb)"
    command -v xvfb-run >/dev/null || { echo "bindings/test.sh: needs xvfb-run (apt-get install -y xvfb)" >&2; return 1; }
    fc-list 2>/dev/null | grep -q "Noto Sans CJK" ||
        echo "bindings/test.sh: warning: fonts-noto-cjk is not installed; the Chinese will not show" >&2
    rm -rf "$shots"
    mkdir -p "$shots"
    export lib bindgen
    xvfb-run -a -s "-screen 0 1024x1000x24" bash -c "set -euo pipefail; $(declare -f generate viewmodels_mvn)
        viewmodels_mvn compile exec:java -Dexec.args='--tour $shots'"
    # The same pictures beside the SwiftUI demo's README: its views mirror these view models.
    rm -rf ios-demo/screenshots
    cp -r "$shots" ios-demo/screenshots
    ls "$shots"
}

run_swift() {
    echo "== bindings: swift (XCTest, Swift 6 language mode, in the trixie root)"
    scripts/swift-root ensure
    # The package is copied in with its links resolved (the committed binding, header and
    # module map), beside the library and the test data; the root has no view of the repo.
    # Its .build stays, so a second run compiles only what changed.
    local root stage=/work/edl-swift-tests
    root=$(scripts/swift-root path)
    rm -rf "$root$stage/Package.swift" "$root$stage/Sources" "$root$stage/Tests" "$root$stage/data"
    mkdir -p "$root$stage/data/photos"
    cp -rL bindings/swift-tests/Package.swift bindings/swift-tests/Sources \
        bindings/swift-tests/Tests "$root$stage/"
    cp "$lib" "$vectors" "$EDL_FACE_MODEL" "$root$stage/data/"
    cp core/tests/photos/*.jpg "$root$stage/data/photos/"
    # The iOS demo's model, type-checked against the module the tests built (below).
    rm -rf "$root$stage/ios-demo-check"
    cp -rL bindings/swift-tests/ios-demo-check "$root$stage/"
    cp ios-demo/EdlDemo/WalletSession.swift "$root$stage/ios-demo-check/"
    # The authority runs on the host; the root shares its network, so loopback reaches it.
    local log="$PWD/target/swift-test.log" rc=0
    scripts/swift-root run env \
        EDL_AUTHORITY_URL="$EDL_AUTHORITY_URL" EDL_ADMIN_TOKEN="$EDL_ADMIN_TOKEN" \
        EDL_IDENTITY_SECRET="$EDL_IDENTITY_SECRET" EDL_VECTORS="$stage/data/v1.txt" \
        EDL_ROOT_PUBLIC_KEY="$EDL_ROOT_PUBLIC_KEY" \
        EDL_PHOTO="$stage/data/photos/clean.jpg" \
        EDL_FACE_MODEL="$stage/data/$(basename "$EDL_FACE_MODEL")" \
        LD_LIBRARY_PATH="$stage/data" \
        /bin/sh -c "cd $stage && swift test -Xlinker -L$stage/data 2>&1" | tee "$log" || rc=$?
    # XCTest's summary, one line for the run's output; a run of no test cannot pass.
    local summary
    summary=$(grep -E "Executed [0-9]+ tests?, with" "$log" | tail -n 1 || true)
    if [ -z "$summary" ] || echo "$summary" | grep -q "Executed 0 tests"; then
        echo "bindings/test.sh: XCTest ran no Swift test" >&2
        return 1
    fi
    echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/swift: \1 run, \2 failed/'
    [ "$rc" -eq 0 ] || return "$rc"
    # ios-demo/EdlDemo/WalletSession.swift in Swift 6 language mode, warnings as errors, with
    # stand-ins for Combine and the Keychain key store (the files that need Apple's SDK
    # cannot compile here: ios-demo/README.md says which).
    echo "== bindings: swift: ios-demo WalletSession.swift type-checks (Swift 6)"
    scripts/swift-root run /bin/sh -c "cd $stage/ios-demo-check &&
        swiftc -typecheck -swift-version 6 -warnings-as-errors \
            -I $stage/.build/*/debug/Modules \
            -Xcc -fmodule-map-file=$stage/Sources/EdlWalletFFI/module.modulemap *.swift"
}

for suite in "${suites[@]}"; do
    case "$suite" in
        python) run_python ;;
        kotlin) run_kotlin ;;
        viewmodels) run_viewmodels ;;
        screenshots) run_screenshots ;;
        swift) run_swift ;;
        *) echo "bindings/test.sh: unknown suite '$suite' (python, kotlin, viewmodels, screenshots, swift)" >&2; exit 2 ;;
    esac
done
