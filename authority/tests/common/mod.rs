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
