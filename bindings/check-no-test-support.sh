#!/usr/bin/env bash
# Checks that the phone library carries none of the core's test support (the fixed sample
# keys and the fictitious licence: edl-core's `test-support` feature, docs/DECISIONS.md D40).
# Builds the library as the phone builds do, `-p edl-ffi --no-default-features --lib` on its
# own (a workspace build would unify in the CLI's and the dev-dependencies' features), and
# looks in it for the sample modules' symbols and the sample address.
#
# Debug by default: without LTO the staticlib keeps every function the core compiled, so
# "absent" means "not compiled in", not "dropped by the linker". `--release` checks the
# release cdylib the AAR ships (stripped, so only the string can be looked for); there LTO
# drops unreferenced code anyway, so the control below may find nothing, and the debug check
# is the one that counts. In debug, a control build with the feature on must show them, or
# the check proves nothing.
# Run by hand (minutes on 2 cores, in its own target dir); the check that runs with the tests
# is bindings/tests/phone_build.rs (cargo's feature resolution, no build).
#
#   bindings/check-no-test-support.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/check-no-test-support
profile=debug
flags=()
if [ "${1:-}" = --release ]; then
    profile=release
    flags=(--release)
fi

# Legacy-mangled symbol paths of edl_core::sample and edl_core::licence::fixtures, and the
# sample licence's address (UTF-8), which only the fixtures hold.
pattern='8edl_core6sample|8fixtures14sample_licence|北京市东城区东华门街道正义路2号'

found() { # the library files of one build; prints the distinct matches
    grep -a -o -E "$pattern" "$@" | sed 's/^[^:]*://' | sort -u || true
}

build() { # extra cargo arguments
    cargo build --locked -q "${flags[@]}" -p edl-ffi --no-default-features --lib \
        --target-dir "$dir" "$@"
}

libs() {
    ls "$dir/$profile"/libedl_ffi.{so,dylib,a} 2>/dev/null || true
}

echo "== control: edl-ffi with edl-core/test-support ($profile)"
build --features edl-core/test-support
control=$(found $(libs))
if [ -z "$control" ] && [ "$profile" = debug ]; then
    echo "the control build shows none of the test support: the check cannot see it" >&2
    exit 2
fi
echo "${control:-(nothing: LTO dropped it)}" | sed 's/^/   found: /'

echo "== the phone build: edl-ffi --no-default-features ($profile)"
build
leaked=$(found $(libs))
if [ -n "$leaked" ]; then
    echo "$leaked" | sed 's/^/   LEAKED: /' >&2
    exit 1
fi
ls -l $(libs) | awk '{ print "   clean: " $NF " (" $5 " bytes)" }'
