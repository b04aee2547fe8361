//! Generates the UniFFI scaffolding from `udl/edl.udl`.
//!
//! The UDL lives outside the crate (it is the project's one API contract); `src/edl.udl` is
//! a symlink to it, because library-mode binding generation looks for
//! `<crate>/src/<namespace>.udl`. `generate_scaffolding_for_crate` is used because plain
//! `generate_scaffolding` guesses the crate from the file's canonical location.

fn main() {
    println!("cargo:rerun-if-changed=../udl/edl.udl");
    uniffi::generate_scaffolding_for_crate("src/edl.udl", "edl_ffi")
        .expect("udl/edl.udl is valid UniFFI UDL");
}
