//! The wallet's two hot paths against the real server on loopback:
//!
//! - `open_store_and_first_qr`: what a driver waits for after tapping the app icon — read
//!   the key file, open the encrypted store (unwrap the data key, check it, migrate), load
//!   the credential and secrets, sign the first offline QR for a business verifier.
//! - `sync_1000_entry_delta`: a sync that brings 1,000 feed entries (the verification-log
//!   entries of 1,000 online checks made in the setup, 5 pages of 200): fetching the
//!   pages from the server over loopback (server work included), checking them and
//!   writing them in one transaction. Each iteration starts from a copy of the store as it
//!   was before those checks, so every iteration applies the same 1,000 entries.
//!
//! `cargo bench -p edl-authority --bench wallet`

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use edl_authority::testing::*;
use edl_core::credential::Audience;
use edl_core::present::Form;
use edl_core::wallet::store::SoftwareKeyStore;
use edl_core::wallet::{TestIdentityProvider, Wallet};
use edl_core::wire::{ApplicationPhase, Base64, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CHECKS: usize = 1_000;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn wallet(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(TestServer::start());
    let n = number(900);
    let work = tempfile::tempdir().unwrap();
    let key_file = work.path().join("wallet.key");
    let dir = work.path().join("wallet");
    let keys = SoftwareKeyStore::create_key_file(&key_file).unwrap();
    let (wallet, police) = rt.block_on(async {
        let driver = t.create_driver(&n, true).await;
        let code = t
            .admin_ok(
                Method::POST,
                &paths::with_id(paths::ACTIVATION_CODE, driver),
                Value::Null,
            )
            .await["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let wallet = Wallet::open(&dir, &keys).unwrap();
        wallet.enrol(&t.url, &n, &code).await.unwrap();
        let view = wallet
            .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
            .await
            .unwrap();
        assert_eq!(view.phase, ApplicationPhase::Issued);
        (wallet, t.verifier("police", "enforcement").await)
    });
    drop(wallet);

    let mut group = c.benchmark_group("wallet");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);

    group.bench_function("open_store_and_first_qr", |b| {
        b.iter(|| {
            let keys = SoftwareKeyStore::from_key_file(&key_file).unwrap();
            let wallet = Wallet::open(&dir, &keys).unwrap();
            black_box(
                wallet
                    .present(Form::Offline, Audience::Business, None)
                    .unwrap(),
            )
        })
    });

    // The store before the checks, then 1,000 online checks at the authority.
    let template = work.path().join("template");
    copy_dir(&dir, &template);
    rt.block_on(async {
        let wallet = Wallet::open(&dir, &keys).unwrap();
        for _ in 0..CHECKS {
            let p = wallet
                .present_at(Form::Online, Audience::Enforcement, t.now(), 30)
                .unwrap();
            let (s, v, _) = t
                .verify(
                    &police,
                    json!({"method": "qr", "payload": Base64::encode(&p.payload)}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        // Check once that the delta is what it says.
        let probe = work.path().join("probe");
        copy_dir(&template, &probe);
        let w = Wallet::open(&probe, &keys).unwrap();
        let report = w.sync().await.unwrap();
        assert_eq!(report.verifications as usize, CHECKS);
        assert_eq!(w.verification_log().unwrap().len(), CHECKS);
    });

    let mut round = 0u32;
    group.sample_size(10);
    group.bench_function("sync_1000_entry_delta", |b| {
        b.iter_batched(
            || {
                round += 1;
                let to = work.path().join(format!("round{round}"));
                copy_dir(&template, &to);
                Wallet::open(&to, &keys).unwrap()
            },
            |w| {
                let report = rt.block_on(w.sync()).unwrap();
                assert_eq!(report.verifications as usize, CHECKS);
                w
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, wallet);
criterion_main!(benches);
