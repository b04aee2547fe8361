//! A store that times its writes for `/metrics` and `/readyz` (D90), around any
//! [`RegistryStore`] (SQLite or PostgreSQL), so neither backend carries metrics code.
//!
//! Writes are timed from call to durable answer: with group commit that is the queue,
//! the batch and the commit together, which is what a request waits for. Reads are
//! passed through untimed (the request histogram covers them). Every write passes here,
//! so this is also where writes are refused while the database holds a commit (D179).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use edl_core::wire::{VerificationLogEntry, VerifierClass};

use crate::error::Error;
use crate::metrics::{Metrics, WriteTimer};
use crate::store::{
    AuditEntry, AuditRecord, BackoffChange, BackoffEntry, BackoffKey, CheckFailure, DriverChange,
    DriverId, DriverState, ElicenceRef, IssuerKeyRow, PhotoRow, RecentFailures, RegistryStore,
    StatusEntries, StoreError, SyncSnapshot, VerifierAccountRow, VerifierRow,
};

/// [`RegistryStore`] over another, recording each write in [`Metrics`], and refusing
/// writes while the database holds a commit (D179).
pub struct MeteredStore {
    inner: Arc<dyn RegistryStore>,
    metrics: Arc<Metrics>,
    stall: Duration,
}

impl MeteredStore {
    /// Wraps `inner`; writes are refused while its writer has held one batch longer than
    /// `stall` (`Config::writer_stall`).
    pub fn new(inner: Arc<dyn RegistryStore>, metrics: Arc<Metrics>, stall: Duration) -> Self {
        MeteredStore {
            inner,
            metrics,
            stall,
        }
    }

    /// Starts timing the write `op`, or refuses it (`Held`: 503 with Retry-After)
    /// while the writer has held its batch longer than the stall bound: a database holding
    /// a commit (a synchronous standby away, a stopped disk) would otherwise hold every
    /// write queued behind it until the request's deadline (503, D181), the queue growing for as
    /// long as it lasts (D179). Refused, a write is not made: it may be sent again.
    fn begin(&self, op: &'static str) -> Result<WriteTimer<'_>, StoreError> {
        if self
            .inner
            .writer_held_for()
            .is_some_and(|held| held > self.stall)
        {
            // Counted with every 503 (`edl_shed_total{reason="unavailable"}`); the held
            // batch is `edl_writer_batch_held_seconds`.
            tracing::debug!(op, "store write refused: the database holds a commit");
            return Err(StoreError::Held);
        }
        Ok(self.metrics.write(op))
    }

    /// Makes the write `op`, unless [`MeteredStore::begin`] refuses it, timing it as
    /// answered only once its answer came: a write dropped before (its request's deadline,
    /// its client gone, a panic) is neither timed nor taken for progress (twenty-fourth
    /// review, AE-F1).
    async fn timed<T, E: From<StoreError>>(
        &self,
        op: &'static str,
        write: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let timer = self.begin(op)?;
        let answer = write.await;
        timer.answered();
        answer
    }

    /// Waits for `claim`, a check's claim on its code, until the writer has held one
    /// batch longer than the stall bound; then gives it up, `Held` (D193). Both writers
    /// make a claim only while its check waits for it (D183), so one still queued is then
    /// left out, and the check is told to come back now rather than at the request's
    /// deadline. One already in the held batch may yet commit: its verifier's resend is
    /// then answered as its repeat (D108), as after a deadline (D183). Other writes wait
    /// on, since they are made whatever becomes of their request.
    ///
    /// A claim given up is counted (`edl_claims_given_up_total`), and its `timer` is not
    /// marked answered (twenty-second review, AC-F9).
    async fn unless_held<T>(
        &self,
        timer: WriteTimer<'_>,
        claim: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::pin!(claim);
        let mut look = next_look(self.stall, self.inner.writer_held_for());
        while let Some(wait) = look {
            tokio::select! {
                // An answer that came with the timer is taken, not given up (AC-F7).
                biased;
                answered = &mut claim => {
                    timer.answered();
                    return answered;
                }
                () = tokio::time::sleep(wait) => {}
            }
            look = next_look(self.stall, self.inner.writer_held_for());
        }
        tracing::debug!("a claim given up: the database holds a commit");
        drop(timer);
        self.metrics.claim_given_up();
        Err(StoreError::Held)
    }
}

/// When a claim waiting for its batch is looked at next, given how long the writer has
/// held the batch in hand (`None` between batches), or `None` to give it up now: that
/// batch is held past `stall` (D193). Just past the bound of the batch in hand, however
/// long it was held before the claim came (twenty-second review, AC-F2), or a whole bound
/// later between batches; never sooner than a millisecond, so a bound of 0 does not spin.
fn next_look(stall: Duration, held: Option<Duration>) -> Option<Duration> {
    const AT_LEAST: Duration = Duration::from_millis(1);
    match held {
        Some(held) if held > stall => None,
        Some(held) => Some((stall - held).saturating_add(AT_LEAST)),
        None => Some(stall.max(AT_LEAST)),
    }
}

#[async_trait]
impl RegistryStore for MeteredStore {
    async fn issuer_keys(&self) -> Result<Vec<IssuerKeyRow>, StoreError> {
        self.inner.issuer_keys().await
    }

    async fn rotate_issuer_key(&self, key: IssuerKeyRow) -> Result<(), StoreError> {
        self.timed("rotate_issuer_key", self.inner.rotate_issuer_key(key))
            .await
    }

    async fn create_driver(
        &self,
        state: DriverState,
        photo: Option<PhotoRow>,
    ) -> Result<DriverId, StoreError> {
        self.timed("create_driver", self.inner.create_driver(state, photo))
            .await
    }

    async fn driver(&self, id: DriverId) -> Result<Option<DriverState>, StoreError> {
        self.inner.driver(id).await
    }

    async fn driver_by_licence_number(
        &self,
        licence_number: &str,
    ) -> Result<Option<DriverState>, StoreError> {
        self.inner.driver_by_licence_number(licence_number).await
    }

    async fn update_driver(
        &self,
        id: DriverId,
        change: DriverChange,
    ) -> Result<DriverState, Error> {
        self.timed("update_driver", self.inner.update_driver(id, change))
            .await
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
        client_key: &str,
    ) -> Result<Option<PhotoRow>, StoreError> {
        self.inner.photo_by_client_key(driver, client_key).await
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
        self.timed(
            "create_verifier",
            self.inner.create_verifier(name, class, key_hash, now),
        )
        .await
    }

    async fn verifier_by_key_hash(
        &self,
        key_hash: [u8; 32],
    ) -> Result<Option<VerifierRow>, StoreError> {
        self.inner.verifier_by_key_hash(key_hash).await
    }

    async fn revoke_verifier(
        &self,
        id: u64,
        now: u64,
    ) -> Result<Option<VerifierAccountRow>, StoreError> {
        self.timed("revoke_verifier", self.inner.revoke_verifier(id, now))
            .await
    }

    async fn verifiers(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VerifierAccountRow>, StoreError> {
        self.inner.verifiers(after, limit).await
    }

    async fn record_nonce(
        &self,
        account: DriverId,
        nonce: [u8; 16],
        timestamp: u64,
    ) -> Result<bool, StoreError> {
        self.timed(
            "record_nonce",
            self.inner.record_nonce(account, nonce, timestamp),
        )
        .await
    }

    async fn log_verification(
        &self,
        driver: DriverId,
        verifier_id: u64,
        entry: VerificationLogEntry,
        spends: Option<crate::guard::CodeKey>,
        budget: Option<crate::store::Budget>,
    ) -> Result<crate::guard::Claim, StoreError> {
        let claims = spends.is_some();
        let write = self
            .inner
            .log_verification(driver, verifier_id, entry, spends, budget);
        if claims {
            let timer = self.begin("log_verification")?;
            self.unless_held(timer, write).await
        } else {
            self.timed("log_verification", write).await
        }
    }

    async fn check_failures_since(&self, since: u64) -> Result<Vec<CheckFailure>, StoreError> {
        self.inner.check_failures_since(since).await
    }

    async fn code_spender(
        &self,
        code: crate::guard::CodeKey,
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

    async fn record_check_failure(
        &self,
        failure: CheckFailure,
        log: Option<(DriverId, VerificationLogEntry)>,
        limits: crate::store::GuessLimits,
    ) -> Result<(), StoreError> {
        self.timed(
            "record_check_failure",
            self.inner.record_check_failure(failure, log, limits),
        )
        .await
    }

    async fn allocate_status_index(&self) -> Result<u32, StoreError> {
        self.timed("allocate_status_index", self.inner.allocate_status_index())
            .await
    }

    async fn status_entries(&self) -> Result<StatusEntries, StoreError> {
        self.inner.status_entries().await
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
        self.timed(
            "enrol_backoff",
            self.inner.update_enrol_backoff(keys, change),
        )
        .await
    }

    async fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        self.timed("append_audit", self.inner.append_audit(entry))
            .await
    }

    async fn audit_log(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit_log(after, limit).await
    }

    async fn busy(&self) -> Result<Option<u32>, StoreError> {
        self.inner.busy().await
    }

    async fn set_busy(&self, retry_after: Option<u32>) -> Result<(), StoreError> {
        self.timed("set_busy", self.inner.set_busy(retry_after))
            .await
    }

    fn writer_counts(&self) -> Option<(u64, u64)> {
        self.inner.writer_counts()
    }

    fn writer_held_for(&self) -> Option<Duration> {
        self.inner.writer_held_for()
    }

    fn writer_busy_for(&self) -> Option<Duration> {
        self.inner.writer_busy_for()
    }

    fn pool_use(&self) -> Vec<crate::store::PoolUse> {
        self.inner.pool_use()
    }

    fn writer_collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        self.inner.writer_collectors()
    }

    async fn takes_writes(&self) -> Result<bool, StoreError> {
        self.inner.takes_writes().await
    }

    async fn database_time(&self) -> Result<Option<u64>, StoreError> {
        self.inner.database_time().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_looked_at_again_just_past_the_bound_of_the_batch_in_hand() {
        let stall = Duration::from_secs(5);
        let ms = Duration::from_millis;
        // Between batches: a whole bound later.
        assert_eq!(next_look(stall, None), Some(stall));
        // A batch held 4.9 s when the claim came: looked at 0.1 s later, not 5 s.
        assert_eq!(next_look(stall, Some(ms(4_900))), Some(ms(101)));
        assert_eq!(next_look(stall, Some(stall)), Some(ms(1)));
        // Held past the bound: given up.
        assert_eq!(next_look(stall, Some(stall + ms(1))), None);
        // A bound of 0 never spins, and a bound near the largest never overflows.
        assert_eq!(next_look(Duration::ZERO, None), Some(ms(1)));
        assert_eq!(next_look(Duration::ZERO, Some(ms(1))), None);
        assert_eq!(
            next_look(Duration::MAX, Some(Duration::ZERO)),
            Some(Duration::MAX)
        );
    }
}
