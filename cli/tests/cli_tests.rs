//! The CLI's integration tests, one binary (D200): each file is a module of this crate,
//! so the test support is compiled and linked once rather than once a file. A test is
//! named by its file, as the docs cite it: `cargo test -p edl-cli --test cli_tests demo::`
//! runs `demo.rs`.
//! A new file of `tests/` needs its `mod` line here: `scripts/check-test-files` fails
//! on one declared nowhere, which would never be compiled.

mod common;

mod authority_kill;
mod authority_serve;
mod authority_shutdown;
mod demo;
mod hostile_authority;
mod offline_lists;
mod open_files;
mod signed_lists;
mod user_flow;
