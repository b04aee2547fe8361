//! A photo upload racing a stop or a renewal (issue 13, finding 11): the upload's phase
//! check is part of the same update as the upload, so a stopped or renewed driver never
//! ends up with a photo under review that no rule would have accepted.
//!
//! The race is made certain, not hoped for: the real store (SQLite, or PostgreSQL with
//! `EDL_TEST_PG`) is wrapped so the upload's update waits until the stop (or renewal) has
//! committed, then goes ahead.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use edl_authority::error::Error;
use edl_authority::store::postgres::PgStore;
use edl_authority::store::sqlite::SqliteStore;
use edl_authority::store::*;
use edl_core::wire::{VerificationLogEntry, VerifierClass, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The real store, except that the next driver update after [`Pausing::arm`] waits
/// for [`Pausing::release`].
struct Pausing {
    inner: Box<dyn RegistryStore>,
    armed: AtomicBool,
    paused: Notify,
    release: Notify,
}

#[async_trait]
impl RegistryStore for Pausing {
    async fn issuer_keys(&self) -> Result<Vec<IssuerKeyRow>, StoreError> {
        self.inner.issuer_keys().await
    }
    async fn rotate_issuer_key(&self, key: IssuerKeyRow) -> Result<(), StoreError> {
        self.inner.rotate_issuer_key(key).await
    }
    async fn create_driver(
        &self,
        state: DriverState,
        photo: Option<PhotoRow>,
    ) -> Result<DriverId, StoreError> {
        self.inner.create_driver(state, photo).await
    }
    async fn driver(&self, id: DriverId) -> Result<Option<DriverState>, StoreError> {
        self.inner.driver(id).await
    }
    async fn driver_by_licence_number(&self, n: &str) -> Result<Option<DriverState>, StoreError> {
        self.inner.driver_by_licence_number(n).await
    }
    async fn update_driver(
        &self,
        id: DriverId,
        change: DriverChange,
    ) -> Result<DriverState, Error> {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.paused.notify_one();
            self.release.notified().await;
        }
        self.inner.update_driver(id, change).await
    }
    async fn elicence(&self, id: u64) -> Result<Option<ElicenceRef>, StoreError> {
        self.inner.elicence(id).await
    }
    async fn photo(&self, id: u64) -> Result<Option<PhotoRow>, StoreError> {
        self.inner.photo(id).await
    }
    async fn photo_by_client_key(
        &self,
        driver: DriverId,
        key: &str,
    ) -> Result<Option<PhotoRow>, StoreError> {
        self.inner.photo_by_client_key(driver, key).await
    }
    async fn pending_photos(&self, limit: u32) -> Result<Vec<PhotoRow>, StoreError> {
        self.inner.pending_photos(limit).await
    }
    async fn sync(
        &self,
        driver: DriverId,
        cursor: u64,
        limit: u32,
    ) -> Result<Option<SyncSnapshot>, StoreError> {
        self.inner.sync(driver, cursor, limit).await
    }
    async fn create_verifier(
        &self,
        name: &str,
        class: VerifierClass,
        key_hash: [u8; 32],
        now: u64,
    ) -> Result<u64, StoreError> {
        self.inner.create_verifier(name, class, key_hash, now).await
    }
    async fn verifier_by_key_hash(&self, h: [u8; 32]) -> Result<Option<VerifierRow>, StoreError> {
        self.inner.verifier_by_key_hash(h).await
    }
    async fn record_nonce(&self, a: DriverId, n: [u8; 16], ts: u64) -> Result<bool, StoreError> {
        self.inner.record_nonce(a, n, ts).await
    }
    async fn log_verification(
        &self,
        driver: DriverId,
        verifier_id: u64,
        entry: VerificationLogEntry,
        spends: Option<edl_authority::guard::CodeKey>,
    ) -> Result<edl_authority::guard::Claim, StoreError> {
        self.inner
            .log_verification(driver, verifier_id, entry, spends)
            .await
    }
    async fn record_check_failure(
        &self,
        failure: CheckFailure,
        log: Option<(DriverId, VerificationLogEntry)>,
    ) -> Result<(), StoreError> {
        self.inner.record_check_failure(failure, log).await
    }
    async fn check_failures_since(&self, since: u64) -> Result<Vec<CheckFailure>, StoreError> {
        self.inner.check_failures_since(since).await
    }
    async fn allocate_status_index(&self) -> Result<u32, StoreError> {
        self.inner.allocate_status_index().await
    }
    async fn status_entries(&self) -> Result<StatusEntries, StoreError> {
        self.inner.status_entries().await
    }
    async fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        self.inner.append_audit(entry).await
    }
    async fn audit_log(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit_log(after, limit).await
    }
}

async fn start() -> (TestServer, Arc<Pausing>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = edl_authority::ManualClock::new(START);
    let db = dir.path().join("authority.db");
    let pg = match std::env::var(PG_ENV).ok().filter(|url| !url.is_empty()) {
        Some(url) => Some(pg_database(&url).await),
        None => None,
    };
    let inner: Box<dyn RegistryStore> = match &pg {
        Some(url) => Box::new(
            PgStore::connect(url, 4, Arc::new(clock.clone()), 600)
                .await
                .unwrap(),
        ),
        None => Box::new(SqliteStore::open(&db, 4, Arc::new(clock.clone()), 600).unwrap()),
    };
    let store = Arc::new(Pausing {
        inner,
        armed: AtomicBool::new(false),
        paused: Notify::new(),
        release: Notify::new(),
    });
    let server = edl_authority::serve_with_store(config(db, &clock), store.clone())
        .await
        .unwrap();
    let t = TestServer {
        url: server.url(),
        server: Some(server),
        dir,
        pg,
        clock,
        http: reqwest::Client::new(),
    };
    (t, store)
}

/// Starts an upload, holds its update until `interleave` has run, then lets it finish;
/// returns the upload's answer.
async fn upload_around<F: std::future::Future<Output = ()>>(
    t: &Arc<TestServer>,
    store: &Pausing,
    wallet: Arc<Wallet>,
    interleave: F,
) -> (StatusCode, Value) {
    store.armed.store(true, Ordering::SeqCst);
    let upload = {
        let t = t.clone();
        tokio::spawn(async move {
            let (s, v, _) = t.upload(&wallet, "racing", &jpeg(20)).await;
            (s, v)
        })
    };
    tokio::time::timeout(Duration::from_secs(10), store.paused.notified())
        .await
        .expect("the upload reached its update");
    interleave.await;
    store.release.notify_one();
    upload.await.unwrap()
}

async fn no_photo_under_review(t: &TestServer, driver: u64) {
    let d = t
        .admin_ok(
            Method::GET,
            &paths::with_id(paths::DRIVER, driver),
            Value::Null,
        )
        .await;
    assert!(
        d["application"]["pending_review"].is_null(),
        "a photo went under review after the change: {d}"
    );
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(
        queue["reviews"].as_array().map(Vec::len),
        Some(0),
        "{queue}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_racing_a_malicious_photo_stop_is_refused() {
    let (t, store) = start().await;
    let t = Arc::new(t);
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    let (s, v, _) = t.upload(&wallet, "first", &jpeg(9)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = v["photo_id"].as_u64().unwrap();

    let (s, v) = upload_around(&t, &store, Arc::new(wallet), async {
        let d = t
            .admin_ok(
                Method::POST,
                &paths::with_id(paths::REJECT, first),
                json!({"reason": "恶意上传", "malicious": true}),
            )
            .await;
        assert_eq!(d["application"]["phase"], "stopped");
    })
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("elicence_stopped")),
        "{v}"
    );
    no_photo_under_review(&t, driver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_racing_a_renewal_is_refused() {
    let (t, store) = start().await;
    let t = Arc::new(t);
    let (driver, wallet) = t.issued_wallet(&number(2)).await;

    let (s, v) = upload_around(&t, &store, Arc::new(wallet), async {
        let d = t
            .admin_ok(
                Method::POST,
                &paths::with_id(paths::RENEW, driver),
                json!({"valid_until": "2034-03-07"}),
            )
            .await;
        assert_eq!(d["application"]["phase"], "reapply_needed");
    })
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state")),
        "{v}"
    );
    no_photo_under_review(&t, driver).await;
}
