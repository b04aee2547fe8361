//! The one logging path carries no personal data: a whole flow (register, activation
//! code, enrol, apply, photo, review, sync, online check) with every record captured at
//! TRACE, then searched for the sample driver's name, licence number, address and date
//! of birth. The expected records must be there too, so the search cannot pass on an
//! empty log.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use edl_core::credential::Audience;
use edl_core::licence::fixtures::sample_licence;
use edl_core::wallet::store::SoftwareKeyStore;
use edl_core::wallet::{PhotoSource, TestIdentityProvider, Wallet};
use edl_core::wire::{ApplicationPhase, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every record written, as the text subscriber prints it (span fields included).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_flow_logs_ids_and_outcomes_but_no_personal_datum() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .init();

    let t = TestServer::start().await;
    let n = number(7);
    let driver = t.create_driver(&n, false).await;
    let code = t.activation_code(driver).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new([5; 32]));
    let wallet = Wallet::open(dir.path(), &keys).unwrap();
    wallet.enrol(&t.url, &n, &code).await.unwrap();
    let view = wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .unwrap();
    assert_eq!(view.phase, ApplicationPhase::AwaitingPhoto);
    let clean = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/photos/clean.jpg"
    ))
    .unwrap();
    let accepted = wallet
        .submit_photo(clean, PhotoSource::Camera, None)
        .await
        .unwrap();
    t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::APPROVE, accepted.photo_id),
        Value::Null,
    )
    .await;
    wallet.sync().await.unwrap();
    let police = t.verifier("police", "enforcement").await;
    t.clock.set(wallet.now().unwrap());
    let manual = wallet
        .dynamic_code(Audience::Enforcement, None)
        .unwrap()
        .manual_code;
    let (s, v, _) = t
        .verify(
            &police,
            json!({"method": "manual", "licence_number": n, "code": manual}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A wrong code: the refusal paths log too.
    // The first digit is the audience; the rest is the code.
    let wrong: String = manual
        .chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (0, c) => c,
            (_, '0') => '1',
            _ => '0',
        })
        .collect();
    let (s, _, _) = t
        .verify(
            &police,
            json!({"method": "manual", "licence_number": n, "code": wrong}),
        )
        .await;
    assert_ne!(s, StatusCode::OK);
    wallet.sync().await.unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let sample = sample_licence(edl_core::verify::china_date(START));
    let personal = [
        ("licence number", n.clone()),
        ("name", sample.main.name.clone()),
        ("address", sample.supplementary.address.clone()),
        ("date of birth", "1990-03-07".to_owned()),
        ("date of birth", "19900307".to_owned()),
        ("activation code", code.clone()),
    ];
    for (what, value) in &personal {
        assert!(
            !log.contains(value.as_str()),
            "the {what} appears in the log:\n{log}"
        );
    }
    for expected in [
        "driver registered",
        "activation code issued",
        "device enrolled",
        "application",
        "photo uploaded",
        "photo approved",
        "sync answered",
        "online check verified",
        "online check refused: wrong code",
        "writer_batch",
        "verify{verifier=",
    ] {
        assert!(
            log.contains(expected),
            "no `{expected}` record in the log:\n{log}"
        );
    }
    // Who checked whom is the verification log's, in the database, where the driver reads
    // it: an online check's records name the verifier, never the driver or the e-licence
    // checked (fourth hostile review, I3; D149).
    for line in log.lines().filter(|l| l.contains("online check")) {
        assert!(
            !line.contains("driver=") && !line.contains("elicence="),
            "a check's record names whom it checked: {line}"
        );
    }
}
