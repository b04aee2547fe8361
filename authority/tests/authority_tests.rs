//! The authority's integration tests, one binary (D200): each file is a module of this
//! crate, so the test support and the generic code it instantiates are compiled and linked
//! once rather than once a file. A test is named by its file, as the docs cite it:
//! `cargo test -p edl-authority --test authority_tests flows::` runs `flows.rs`.
//! A new file of `tests/` needs its `mod` line here: `scripts/check-test-files` fails
//! on one declared nowhere, which would never be compiled.
//!
//! Two files stay binaries of their own, as they read what is the process's: `logging.rs`
//! installs the global subscriber and searches every record, which other tests running
//! beside it would add to; `pg_commit_cut.rs` counts how the process's cut commits were
//! settled, which the fail-over and outage tests here move too.

mod common;

mod admin_roles;
mod at_rest;
mod authz_matrix;
mod bad_input;
mod brute_force;
mod cache_control;
mod clock_skew;
mod concurrency;
mod enrol_throttle;
mod flows;
mod guess_budget;
mod identity_gate;
mod issuer_key_across_processes;
mod key_files;
mod online_verifier;
mod openapi;
mod ops;
mod pg_failover;
mod pg_outage;
mod pg_prune_clock;
mod pg_standby_away;
mod photo;
mod photo_grant;
mod photo_quota;
mod probing;
mod replay;
mod resign_after_rotation;
mod restart;
mod review_answer;
mod root_rotation;
mod slowloris;
mod spent_after_restart;
mod start_together;
mod status_list;
mod status_list_load;
mod tls;
mod upload_budget;
mod upload_race;
mod wallet_callbacks;
mod wallet_e2e;
mod wallet_flow;
mod wallet_races;
mod wallet_resilience;
mod web;
mod writer_deadlocks;
