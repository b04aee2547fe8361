//! The core's integration tests, one binary (D200): each file is a module of this crate,
//! so the generic code they instantiate is compiled and linked once rather than once a
//! file. A test is named by its file, as the docs cite it:
//! `cargo test -p edl-core --test core_tests trust_chain::` runs `trust_chain.rs`.
//! A new file of `tests/` needs its `mod` line here: `scripts/check-test-files` fails
//! on one declared nowhere, which would never be compiled.

mod format_vectors;
mod hostile_network;
mod leaked_key;
mod offline_status;
mod offline_verification;
mod online_codes;
mod own_status;
mod photo_checks;
mod qr_scan;
mod status_list;
mod store_at_rest;
mod store_hostile_files;
mod store_row_rollback;
mod sync_clock;
mod trust_chain;
mod untrusted_input;
mod vector_cases;
