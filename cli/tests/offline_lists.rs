//! `edl verify --trust --root --status` as an offline verifier runs it: the root-signed
//! trust list is checked against the pinned root, the status list against the trust
//! list, and each outcome has its own line and exit status (D94). The lists are made
//! here with the sample e-licence, as the authority would sign them.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use edl_core::credential::{Audience, ElicenceStatus, StatusList, TrustListContents};
use edl_core::crypto::{KeyId, SecretKey};
use edl_core::present::{Form, payload_to_text};
use edl_core::sample;

use common::printed;

const ROOT_SEED: [u8; 32] = [0xA0; 32];

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

fn root() -> SecretKey {
    SecretKey::from_seed(ROOT_SEED)
}

fn root_hex() -> String {
    root().public().to_string()
}

/// `edl verify` by the police on an offline QR of the sample e-licence with these files.
fn verify(dir: &Path, payload: &str, trust: &[u8], status: Option<&[u8]>, root: &str) -> Output {
    std::fs::write(dir.join("trust.bin"), trust).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edl"));
    cmd.env_remove("EDL_ROOT")
        .args([
            "verify",
            "--audience",
            "enforcement",
            "--payload",
            payload,
            "--trust",
        ])
        .arg(dir.join("trust.bin"))
        .args(["--root", root]);
    if let Some(status) = status {
        std::fs::write(dir.join("status.bin"), status).unwrap();
        cmd.arg("--status").arg(dir.join("status.bin"));
    }
    cmd.output().unwrap()
}

/// Exit status `code`, and `words` in what was printed.
fn expect(out: &Output, code: i32, words: &str) {
    let all = printed(out);
    assert_eq!(out.status.code(), Some(code), "{all}");
    assert!(all.contains(words), "expected {words:?}: {all}");
    assert!(!all.contains("internal error"), "{all}");
}

/// The sample e-licence issued at `issued_at`, and its enforcement offline QR shown at
/// `now`, as text.
fn offline_qr(issued_at: u32, now: u32) -> (sample::Sample, String) {
    let s = sample::issued(issued_at);
    let p = s
        .holder
        .present(Form::Offline, Audience::Enforcement, u64::from(now), 30)
        .unwrap();
    let qr = payload_to_text(&p.payload);
    (s, qr)
}

fn trust_list(s: &sample::Sample, issued_at: u32, expires_at: u32, by: &SecretKey) -> Vec<u8> {
    TrustListContents {
        sequence: issued_at,
        issued_at,
        expires_at,
        next_root: None,
        keys: s.trust.clone(),
    }
    .sign(by)
}

fn status_list(made_at: u32, status: ElicenceStatus, signer: [u8; 32]) -> Vec<u8> {
    let mut list = StatusList::new(made_at, 3600, 100);
    list.set(sample::STATUS_INDEX, status).unwrap();
    list.sign(KeyId(1), &SecretKey::from_seed(signer))
}

#[test]
fn an_offline_check_with_signed_lists_gives_the_typed_outcome_and_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = now();
    let (s, qr) = offline_qr(now - 120, now);
    let trust = trust_list(&s, now - 60, now + 7 * 86_400, &root());
    let list = |status| status_list(now - 60, status, sample::ISSUER_SEED);
    let r = root_hex();

    let out = verify(d, &qr, &trust, Some(&list(ElicenceStatus::InForce)), &r);
    expect(&out, 0, "in force (fresh signed status list)");
    let out = verify(d, &qr, &trust, Some(&list(ElicenceStatus::Suspended)), &r);
    expect(&out, 5, "rejected: e-licence suspended (status list)");
    let out = verify(d, &qr, &trust, Some(&list(ElicenceStatus::Superseded)), &r);
    expect(
        &out,
        5,
        "rejected: e-licence no longer in force (status list)",
    );
    // A list past its time-to-live: the signatures hold, the status is unknown.
    let stale = status_list(now - 3600, ElicenceStatus::Suspended, sample::ISSUER_SEED);
    let out = verify(d, &qr, &trust, Some(&stale), &r);
    expect(&out, 3, "status unknown: check online");
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified offline"));
    // Scripts read the same outcome as JSON.
    let out = Command::new(env!("CARGO_BIN_EXE_edl"))
        .env_remove("EDL_ROOT")
        .args([
            "verify",
            "--audience",
            "enforcement",
            "--json",
            "--payload",
            &qr,
            "--root",
            &r,
            "--trust",
        ])
        .arg(d.join("trust.bin"))
        .arg("--status")
        .arg(d.join("status.bin"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), &v["verified"], &v["status_list"]),
        (
            Some(3),
            &serde_json::json!(true),
            &serde_json::json!("unknown")
        ),
        "{}",
        printed(&out)
    );
    // Without a status list only the status signed into the QR counts, and it says so.
    let out = verify(d, &qr, &trust, None, &r);
    expect(&out, 0, "status not checked against a status list");
}

#[test]
fn forged_expired_unsigned_and_foreign_lists_are_refused_with_exit_status_4() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = now();
    let (s, qr) = offline_qr(now - 120, now);
    let good = trust_list(&s, now - 60, now + 86_400, &root());
    let fresh = status_list(now - 60, ElicenceStatus::InForce, sample::ISSUER_SEED);
    let r = root_hex();

    let mut forged = good.clone();
    *forged.last_mut().unwrap() ^= 1;
    let out = verify(d, &qr, &forged, Some(&fresh), &r);
    expect(
        &out,
        4,
        "trust list refused: the trust list's root signature does not verify",
    );
    let expired = trust_list(&s, now - 7200, now - 1, &root());
    expect(
        &verify(d, &qr, &expired, Some(&fresh), &r),
        4,
        "the trust list expired",
    );
    let unsigned = s.trust.encode();
    expect(
        &verify(d, &qr, &unsigned, None, &r),
        4,
        "not signed by a root",
    );
    let other_root = SecretKey::from_seed([0xB0; 32]);
    let foreign = trust_list(&s, now - 60, now + 86_400, &other_root);
    expect(
        &verify(d, &qr, &foreign, None, &r),
        4,
        "root signature does not verify",
    );
    // A status list signed by a key the trust list does not hold (another authority).
    let foreign_status = status_list(now - 60, ElicenceStatus::InForce, [0x77; 32]);
    let out = verify(d, &qr, &good, Some(&foreign_status), &r);
    expect(&out, 4, "status list refused");
    let mut flipped = fresh.clone();
    flipped[20] ^= 0x40;
    expect(
        &verify(d, &qr, &good, Some(&flipped), &r),
        4,
        "status list refused",
    );
    // A trust list is never used unpinned.
    let out = Command::new(env!("CARGO_BIN_EXE_edl"))
        .env_remove("EDL_ROOT")
        .args(["verify", "--payload", &qr, "--trust"])
        .arg(d.join("trust.bin"))
        .output()
        .unwrap();
    expect(&out, 1, "give --root KEY");
}

/// A fake authority on loopback serving the signed trust list and `status`, for the
/// `n` connections of one `edl verify` (it fetches both lists).
fn serving(trust: Vec<u8>, status: Vec<u8>, n: usize) -> String {
    common::fake_authority(n, move |request, s| {
        let body = if request.starts_with(b"GET /v1/status-list") {
            &status
        } else {
            &trust
        };
        common::write_answer(
            s,
            "200 OK",
            "content-type: application/octet-stream\r\n",
            body,
        );
    })
}

/// Fetched live with `--authority URL --root KEY`, a status list made long before it was
/// asked for is not relied on: the authority signs one when asked, so an old one, still
/// inside its time-to-live, was replayed (or cached for far longer than its one minute).
/// The CLI review: a list from before a suspension, replayed, passed the suspended licence
/// with exit 0. The signatures still hold, so the answer is "status unknown, check
/// online" (exit 3, D145), not a refused list (exit 4).
#[test]
fn a_live_status_list_made_long_before_it_was_asked_for_leaves_the_status_unknown() {
    let now = now();
    let (s, qr) = offline_qr(now - 3000, now);
    let trust = trust_list(&s, now - 60, now + 7 * 86_400, &root());
    let r = root_hex();
    let run = |status: Vec<u8>| {
        let url = serving(trust.clone(), status, 2);
        Command::new(env!("CARGO_BIN_EXE_edl"))
            .env_remove("EDL_ROOT")
            .args([
                "verify",
                "--audience",
                "enforcement",
                "--payload",
                &qr,
                "--authority",
                &url,
                "--root",
                &r,
            ])
            .output()
            .unwrap()
    };
    let fresh = status_list(now - 30, ElicenceStatus::InForce, sample::ISSUER_SEED);
    expect(&run(fresh), 0, "in force (fresh signed status list)");
    let replayed = status_list(now - 1200, ElicenceStatus::InForce, sample::ISSUER_SEED);
    expect(
        &run(replayed),
        3,
        "status unknown: check online (the status list was made",
    );
}

/// A status list dated ahead of this machine's clock by more than the skew (an authority
/// whose clock jumped, or a leaked key) is refused by `edl verify --status`, as the phone
/// library refuses it: used, its "in force" was taken for hours; saved by `edl authority
/// status-list`, it outranked every correct list after it, so a checkpoint missed new
/// suspensions for the length of the jump (thirtieth review, AK-F4).
#[test]
fn a_status_list_dated_ahead_of_the_clock_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = now();
    let (s, qr) = offline_qr(now - 120, now);
    let trust = trust_list(&s, now - 60, now + 7 * 86_400, &root());
    let ahead = status_list(now + 6 * 3600, ElicenceStatus::InForce, sample::ISSUER_SEED);
    let out = verify(d, &qr, &trust, Some(&ahead), &root_hex());
    expect(&out, 4, "status list refused: not valid yet");
    // Within the skew (300 s) it is taken: the authority's clock may be a little ahead.
    let near = status_list(now + 200, ElicenceStatus::InForce, sample::ISSUER_SEED);
    let out = verify(d, &qr, &trust, Some(&near), &root_hex());
    expect(&out, 0, "in force (fresh signed status list)");
}
