//! The Swift binding is committed (bindings/swift/) because iOS builds cannot run the
//! generator: this test fails when the committed files differ from a fresh generation
//! from the current UDL and library. Fix: `bindings/update-swift.sh`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The generated files, in bindings/swift/.
const FILES: [&str; 3] = [
    "EdlWallet.swift",
    "EdlWalletFFI.h",
    "EdlWalletFFI.modulemap",
];

/// The cdylib cargo built for this test run, beside the generator binary.
fn cdylib(bindgen: &Path) -> PathBuf {
    let name = if cfg!(target_os = "macos") {
        "libedl_ffi.dylib"
    } else {
        "libedl_ffi.so"
    };
    let dir = bindgen.parent().expect("the binary is in a directory");
    [dir.join(name), dir.join("deps").join(name)]
        .into_iter()
        .find(|p| p.exists())
        .expect("cargo built the cdylib for this test")
}

#[test]
fn committed_swift_binding_matches_a_fresh_generation() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bindgen = PathBuf::from(env!("CARGO_BIN_EXE_uniffi-bindgen"));
    let out = std::env::temp_dir().join(format!("edl-swift-check-{}", std::process::id()));
    let _ = fs::remove_dir_all(&out);
    let status = Command::new(&bindgen)
        .arg("generate")
        .arg(cdylib(&bindgen))
        .args(["--language", "swift", "--no-format", "--out-dir"])
        .arg(&out)
        .current_dir(crate_dir)
        .status()
        .expect("uniffi-bindgen runs");
    assert!(status.success(), "uniffi-bindgen failed");

    let mut generated: Vec<String> = fs::read_dir(&out)
        .expect("output directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    generated.sort();
    assert_eq!(generated, FILES, "the generator's file set changed");

    let stale: Vec<&str> = FILES
        .into_iter()
        .filter(|name| {
            let fresh = fs::read(out.join(name)).expect("generated file");
            fs::read(crate_dir.join("swift").join(name)).ok() != Some(fresh)
        })
        .collect();
    fs::remove_dir_all(&out).expect("clean up");
    assert!(
        stale.is_empty(),
        "bindings/swift/{stale:?} differ from a fresh generation: run bindings/update-swift.sh \
         and commit the result"
    );
}
