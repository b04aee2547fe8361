//! The authority's test support lives in the crate (`edl_authority::testing`, feature
//! `testing`) so the benches use it too; the tests reach it through here.

#![allow(unused_imports)]

// Only the PostgreSQL fault tests use it.
#[allow(dead_code)]
pub mod cluster;

// Only the wallet tests that hold a sync's answer use it.
#[allow(dead_code)]
pub mod holding_proxy;

// Only the tests that hold a store call for a race use it.
#[allow(dead_code)]
pub mod pausing;

pub use edl_authority::testing::*;

/// That a child run of this binary (by [`harness_name`] and `--exact`) ran its one test
/// and it passed: a name the harness did not know would run nothing and succeed.
#[allow(dead_code)]
pub fn assert_child_passed(out: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The name the test harness gives `test` of the module `module` (pass `module_path!()`):
/// the module's path without the crate's name, as `--exact` wants it when a test runs
/// this binary again for a child process.
#[allow(dead_code)]
pub fn harness_name(module: &str, test: &str) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{test}"),
        None => test.to_owned(),
    }
}
