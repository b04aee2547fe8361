//! The phone library leaves the core's test support out: the fixed sample keys and the
//! fictitious licence (`edl_core::sample`, `edl_core::licence::fixtures`, the core's
//! `test-support` feature) are for tests and the CLI's demo only.
//!
//! Checked on cargo's feature resolution, which is what decides whether that code is
//! compiled into the library: the phone builds (`bindings/android/build-aar.sh`,
//! `bindings/ios/build-xcframework.sh`) build `-p edl-ffi --no-default-features --lib` on
//! its own, and this asks cargo which core features that build turns on, without building.
//! A build of the whole workspace would unify in the features other members (the CLI) and
//! dev-dependencies ask for, so the phone library is always built with `-p edl-ffi`.
//! `bindings/check-no-test-support.sh` checks the built library's symbols, by hand.

use std::path::Path;
use std::process::Command;

/// The features cargo enables on `edl-core` when building `package` with `args`, resolved
/// over normal dependencies only (as `cargo build` of the library resolves them).
fn core_features(package: &str, args: &[&str]) -> Vec<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bindings/ is in the workspace");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace)
        .args(["tree", "--locked", "--offline", "-p", package])
        .args(["-e", "normal", "--prefix", "none", "-f", "{p} [{f}]"])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).expect("UTF-8 output");
    let line = tree
        .lines()
        .find(|l| l.starts_with("edl-core "))
        .unwrap_or_else(|| panic!("edl-core is not in the tree of {package}:\n{tree}"));
    let features = line
        .rsplit_once('[')
        .and_then(|(_, f)| f.strip_suffix(']'))
        .expect("the format's feature list");
    features
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_phone_library_is_built_without_the_cores_test_support() {
    for args in [&["--no-default-features"][..], &[][..]] {
        let features = core_features("edl-ffi", args);
        // What the phone library needs is there, so the list is the one that counts.
        assert!(features.iter().any(|f| f == "wallet"), "{features:?}");
        assert!(
            !features.iter().any(|f| f == "test-support"),
            "edl-ffi {args:?} builds edl-core with {features:?}"
        );
    }
}

#[test]
fn the_check_sees_test_support_where_it_is_on() {
    // The CLI's demo needs the sample licence, so its build has the feature: the same
    // query finds it there.
    let features = core_features("edl-cli", &[]);
    assert!(features.iter().any(|f| f == "test-support"), "{features:?}");
}
