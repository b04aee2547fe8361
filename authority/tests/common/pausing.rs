//! The real store (SQLite, or PostgreSQL with `EDL_TEST_PG`) wrapped so that one chosen
//! call waits until the test lets it go: a race made certain, not hoped for. Used by
//! `upload_race.rs` (an upload's update held until a stop commits) and
//! `spent_after_restart.rs` (a check's durable claim held while the same code is sent
//! again), `status_list_load.rs` (a status list's read held while more are asked for) and
//! `issuer_key_across_processes.rs` (a rotation held while another process rotates).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use edl_authority::error::Error;
use edl_authority::store::*;
use edl_authority::testing::*;
use edl_core::wire::{VerificationLogEntry, VerifierClass};
use tokio::sync::Notify;

/// The real store, except that the next driver update after [`Pausing::hold_next_update`],
/// or the next verification log entry after [`Pausing::hold_next_claim`], waits for
/// [`Pausing::release`].
pub struct Pausing {
    inner: Arc<dyn RegistryStore>,
    hold_update: AtomicBool,
    hold_claim: AtomicBool,
    hold_elicence: AtomicBool,
    hold_status: AtomicBool,
    hold_rotation: AtomicBool,
    hold_verifier: AtomicBool,
    hold_revoke: AtomicBool,
    hang_audits: AtomicBool,
    fail_key_reads: AtomicBool,
    key_reads: AtomicUsize,
    status_reads: AtomicUsize,
    paused: Notify,
    release: Notify,
}

impl Pausing {
    /// The next `update_driver` waits for [`Pausing::release`].
    pub fn hold_next_update(&self) {
        self.hold_update.store(true, Ordering::SeqCst);
    }

    /// The next `log_verification` (a check's entry and its claim on the code, D106) waits
    /// for [`Pausing::release`].
    pub fn hold_next_claim(&self) {
        self.hold_claim.store(true, Ordering::SeqCst);
    }

    /// The next `elicence` read (a QR's or barcode's check reading the e-licence and its
    /// seed, before its code is checked) waits for [`Pausing::release`] (eighteenth review).
    pub fn hold_next_elicence_read(&self) {
        self.hold_elicence.store(true, Ordering::SeqCst);
    }

    /// The next `status_entries` (the status list's read of every e-licence) waits for
    /// [`Pausing::release`].
    pub fn hold_next_status_read(&self) {
        self.hold_status.store(true, Ordering::SeqCst);
    }

    /// The next `rotate_issuer_key` (a rotation's write, after it chose its key id) waits
    /// for [`Pausing::release`].
    pub fn hold_next_rotation(&self) {
        self.hold_rotation.store(true, Ordering::SeqCst);
    }

    /// The next `verifier_by_key_hash` waits for [`Pausing::release`] once it has read the
    /// row, before the process remembers it (twenty-third review, AD-F1).
    pub fn hold_next_verifier_read(&self) {
        self.hold_verifier.store(true, Ordering::SeqCst);
    }

    /// The next `revoke_verifier` waits for [`Pausing::release`] once its write is made,
    /// before the process is told (twenty-third review, AD-F7).
    pub fn hold_next_revoke(&self) {
        self.hold_revoke.store(true, Ordering::SeqCst);
    }

    /// From now on (`true`) every audit row's write waits for ever, outside any writer's
    /// batch: a write never answered that no held batch shows (twenty-fourth review,
    /// AE-F1).
    pub fn hang_audits(&self, hang: bool) {
        self.hang_audits.store(hang, Ordering::SeqCst);
    }

    /// From now on (`true`) every read of the issuer keys fails as if the database were
    /// down, and is counted.
    pub fn fail_key_reads(&self, fail: bool) {
        self.fail_key_reads.store(fail, Ordering::SeqCst);
    }

    /// How many times the issuer keys have been read.
    pub fn key_reads(&self) -> usize {
        self.key_reads.load(Ordering::SeqCst)
    }

    /// How many times the status list's read has been made.
    pub fn status_reads(&self) -> usize {
        self.status_reads.load(Ordering::SeqCst)
    }

    /// Returns once the held call has arrived and is waiting.
    pub async fn paused(&self) {
        tokio::time::timeout(Duration::from_secs(10), self.paused.notified())
            .await
            .expect("the held call arrived");
    }

    /// Lets the held call go on.
    pub fn release(&self) {
        self.release.notify_one();
    }

    async fn wait_if_held(&self, hold: &AtomicBool) {
        if hold.swap(false, Ordering::SeqCst) {
            self.paused.notify_one();
            self.release.notified().await;
        }
    }
}

#[async_trait]
impl RegistryStore for Pausing {
    async fn issuer_keys(&self) -> Result<Vec<IssuerKeyRow>, StoreError> {
        self.key_reads.fetch_add(1, Ordering::SeqCst);
        if self.fail_key_reads.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable);
        }
        self.inner.issuer_keys().await
    }
    async fn rotate_issuer_key(&self, key: IssuerKeyRow) -> Result<(), StoreError> {
        self.wait_if_held(&self.hold_rotation).await;
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
        self.wait_if_held(&self.hold_update).await;
        self.inner.update_driver(id, change).await
    }
    async fn elicence(&self, id: u64) -> Result<Option<ElicenceRef>, StoreError> {
        self.wait_if_held(&self.hold_elicence).await;
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
        let read = self.inner.verifier_by_key_hash(h).await;
        self.wait_if_held(&self.hold_verifier).await;
        read
    }
    async fn revoke_verifier(
        &self,
        id: u64,
        now: u64,
    ) -> Result<Option<VerifierAccountRow>, StoreError> {
        let revoked = self.inner.revoke_verifier(id, now).await;
        self.wait_if_held(&self.hold_revoke).await;
        revoked
    }
    async fn verifiers(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VerifierAccountRow>, StoreError> {
        self.inner.verifiers(after, limit).await
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
        budget: Option<edl_authority::store::Budget>,
    ) -> Result<edl_authority::guard::Claim, StoreError> {
        self.wait_if_held(&self.hold_claim).await;
        self.inner
            .log_verification(driver, verifier_id, entry, spends, budget)
            .await
    }
    async fn record_check_failure(
        &self,
        failure: CheckFailure,
        log: Option<(DriverId, VerificationLogEntry)>,
        limits: edl_authority::store::GuessLimits,
    ) -> Result<(), StoreError> {
        self.inner.record_check_failure(failure, log, limits).await
    }
    async fn check_failures_since(&self, since: u64) -> Result<Vec<CheckFailure>, StoreError> {
        self.inner.check_failures_since(since).await
    }
    async fn code_spender(
        &self,
        code: edl_authority::guard::CodeKey,
    ) -> Result<Option<(Option<u64>, u64)>, StoreError> {
        self.inner.code_spender(code).await
    }
    async fn recent_check_failures(
        &self,
        verifier_id: u64,
        target: &str,
        since: u64,
    ) -> Result<RecentFailures, StoreError> {
        self.inner
            .recent_check_failures(verifier_id, target, since)
            .await
    }
    async fn allocate_status_index(&self) -> Result<u32, StoreError> {
        self.inner.allocate_status_index().await
    }
    async fn status_entries(&self) -> Result<StatusEntries, StoreError> {
        self.status_reads.fetch_add(1, Ordering::SeqCst);
        self.wait_if_held(&self.hold_status).await;
        self.inner.status_entries().await
    }
    async fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        if self.hang_audits.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.append_audit(entry).await
    }
    async fn enrol_backoff(
        &self,
        keys: &[BackoffKey],
    ) -> Result<Vec<Option<BackoffEntry>>, StoreError> {
        self.inner.enrol_backoff(keys).await
    }
    async fn update_enrol_backoff(
        &self,
        keys: &[BackoffKey],
        change: BackoffChange,
    ) -> Result<(), Error> {
        self.inner.update_enrol_backoff(keys, change).await
    }
    async fn audit_log(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit_log(after, limit).await
    }
    async fn busy(&self) -> Result<Option<u32>, StoreError> {
        self.inner.busy().await
    }
    async fn set_busy(&self, retry_after: Option<u32>) -> Result<(), StoreError> {
        self.inner.set_busy(retry_after).await
    }
}

/// A test server over a [`Pausing`] store, and that store.
pub async fn start() -> (TestServer, Arc<Pausing>) {
    start_with(|_| {}).await
}

/// [`start`] with its configuration tuned.
pub async fn start_with(
    tune: impl FnOnce(&mut edl_authority::Config),
) -> (TestServer, Arc<Pausing>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = edl_authority::ManualClock::new(START);
    let pg = match std::env::var(PG_ENV).ok().filter(|url| !url.is_empty()) {
        Some(url) => Some(pg_database(&url).await),
        None => None,
    };
    let mut c = config(dir.path().join("authority.db"), &clock);
    c.postgres_url = pg.clone();
    tune(&mut c);
    let mut pausing = None;
    let server = edl_authority::serve_wrapped(c, |inner| {
        let store = Arc::new(Pausing {
            inner,
            hold_update: AtomicBool::new(false),
            hold_claim: AtomicBool::new(false),
            hold_elicence: AtomicBool::new(false),
            hold_status: AtomicBool::new(false),
            hold_rotation: AtomicBool::new(false),
            hold_verifier: AtomicBool::new(false),
            hold_revoke: AtomicBool::new(false),
            hang_audits: AtomicBool::new(false),
            fail_key_reads: AtomicBool::new(false),
            key_reads: AtomicUsize::new(0),
            status_reads: AtomicUsize::new(0),
            paused: Notify::new(),
            release: Notify::new(),
        });
        pausing = Some(store.clone());
        store
    })
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
    (t, pausing.expect("the store was wrapped"))
}
