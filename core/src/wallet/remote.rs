//! What the wallet asks the authority: enrolment, the application, sync and photo uploads.
//!
//! Each public method runs whole on the core's runtime (`net::runtime`), whoever polls it:
//! a Kotlin coroutine on the main dispatcher or a Swift task on the main actor only waits.
//! The CPU-heavy steps (photo decoding and normalisation, the app's identity check, the
//! store transaction of a large sync) go to the runtime's blocking pool, so the two I/O
//! workers are never held by them.

use std::future::Future;
use std::sync::Arc;

use reqwest::Method;

use crate::credential::TrustList;
use crate::crypto::SecretKey;
use crate::photo::prepare_photo;
use crate::wire::{
    ApplicationPhase, ApplicationView, ApplyRequest, EnrolRequest, EnrolResponse,
    IdentityChallenge, IdentityProof, PhotoAccepted, PhotoUpload, ReviewResult, SyncResponse,
    TrustListResponse, paths,
};

use super::WalletError;
use super::clock::ClockReading;
use super::events::WalletEvent;
use super::handle::{Wallet, unix_millis};
use super::identity::IdentityAttester;
use super::photo_upload::{PhotoSource, PhotoSubmission, UploadProgress, UploadStage, client_key};
use super::state::{self, Enrolment, PendingEnrolment, SyncState};
use super::store::StoreRead;
use super::sync::{self, Basis, SyncReport};
use crate::net::{NetError, retry, runtime};
use tracing::{Instrument, Span};

/// At most this many pages in one sync (a page holds one batch of changes).
const MAX_PAGES: usize = 64;

/// What one sync wrote: the report, and the review results it stored (for the observer).
struct Applied {
    report: SyncReport,
    reviews: Vec<ReviewResult>,
}

impl Wallet {
    /// Runs `task` with a handle of this wallet on the core's runtime, inside `span`, and
    /// logs its failure there (the one place a wallet call's error is logged). Returns once
    /// the callbacks it queued have run (`Wallet::with_callbacks`); they run on the
    /// wallet's delivery thread, never on the runtime (D132).
    pub(super) async fn on_runtime<T, Fut>(
        &self,
        span: Span,
        task: impl FnOnce(Wallet) -> Fut,
    ) -> Result<T, WalletError>
    where
        Fut: Future<Output = Result<T, WalletError>> + Send + 'static,
        T: Send + 'static,
    {
        let in_span = span.clone();
        let result = self
            .with_callbacks(|w| async move {
                runtime::run(task(w).instrument(in_span))
                    .await
                    .unwrap_or(Err(WalletError::Internal))
            })
            .await;
        if let Err(e) = &result {
            span.in_scope(|| log_failure(e));
        }
        result
    }

    /// Makes a new device key and binds it to the driver's account with the one-time
    /// activation code. Replaces any earlier enrolment of this wallet.
    pub async fn enrol(
        &self,
        authority_url: &str,
        licence_number: &str,
        activation_code: &str,
    ) -> Result<(), WalletError> {
        let (url, number, code) = (
            authority_url.to_owned(),
            licence_number.trim().to_owned(),
            activation_code.trim().to_owned(),
        );
        self.on_runtime(tracing::info_span!("enrol"), move |w| async move {
            w.enrol_here(url, number, code).await
        })
        .await
    }

    async fn enrol_here(
        &self,
        authority_url: String,
        licence_number: String,
        activation_code: String,
    ) -> Result<(), WalletError> {
        let client = self.client(&authority_url)?;
        let authority_url = authority_url.trim_end_matches('/').to_owned();
        let pending = PendingEnrolment {
            authority_url: authority_url.clone(),
            licence_number: licence_number.clone(),
        };
        let seed = self.pending_device_seed(&pending)?;
        let key = SecretKey::from_seed(*seed);
        let request = EnrolRequest {
            licence_number: licence_number.clone(),
            activation_code,
            device_public_key: crate::wire::Base64(key.public().to_bytes().to_vec()),
        };
        // Asked again when offline or busy, like an application (D151): the authority answers
        // the same key with the same code as enrolled, so a lost answer costs nothing.
        let enrolled =
            retry::with_backoff(|| client.post_timed::<_, EnrolResponse>(paths::ENROL, &request))
                .await?;
        // Read from the enrolment's exchange alone, not the trust list's after it (AG-F1),
        // and timed to its answer's head (AI-F1).
        let clock = ClockReading::of(
            enrolled.answer.server_time,
            unix_millis(enrolled.sent_at),
            unix_millis(enrolled.head_at),
        );
        let enrolled = enrolled.answer;
        let trust: TrustListResponse = client.get(paths::TRUST_LIST).await?;
        TrustList::decode(trust.trust_list.as_bytes())?;
        let enrolment = Enrolment {
            authority_url,
            account_id: enrolled.account_id,
            licence_number,
        };
        let state = SyncState {
            clock_offset: clock.offset,
            ..SyncState::default()
        };
        self.store().write(|tx| {
            tx.put_secret(state::DEVICE_KEY, seed.as_ref())?;
            // Only this enrolment's: another one under way (another licence) keeps its key.
            if held_pending(tx).as_ref() == Some(&pending) {
                tx.delete_secret(state::PENDING_DEVICE_KEY)?;
                tx.delete_doc(state::PENDING_ENROLMENT)?;
            }
            tx.put_doc(state::ENROLMENT, &enrolment)?;
            tx.put_doc(state::TRUST_LIST, &trust.trust_list)?;
            tx.put_doc(state::SYNC_STATE, &state)?;
            // A new device key invalidates whatever e-licence an earlier enrolment held.
            tx.delete_doc(state::ELICENCE)?;
            tx.delete_secret(state::TOTP_SEED)?;
            // And the cursor starts at 0 again, so the next sync brings everything the
            // authority gives back anew, keyed afresh: an earlier enrolment's copy (perhaps
            // another licence's) would stay beside it, each message and check twice (SY-1).
            for doc in [
                state::LICENCE,
                state::PHOTO,
                state::APPLICATION,
                state::PHOTO_SUBMISSION,
            ] {
                tx.delete_doc(doc)?;
            }
            for list in [
                state::MESSAGES,
                state::VERIFICATION_LOG,
                state::PHOTO_REVIEWS,
            ] {
                tx.clear_list(list)?;
            }
            Ok::<_, WalletError>(())
        })?;
        tracing::info!("enrolled: a new device key is bound to the account");
        Ok(())
    }

    /// The device key seed to enrol `pending` with, stored before anything is sent (AN-F2):
    /// the one an earlier attempt for the same licence at the same authority left, or a new
    /// one. Sent and then lost (the answer, the trust list's fetch, the store's write, the
    /// app killed), the key the authority bound is still the wallet's, and enrolling again
    /// with the same code finishes; a key made anew each time was refused with the used
    /// code, and the driver needed a new one.
    fn pending_device_seed(
        &self,
        pending: &PendingEnrolment,
    ) -> Result<zeroize::Zeroizing<[u8; 32]>, WalletError> {
        self.store().write(|tx| {
            // A pending record that cannot be read (damaged, or rows mixed from another
            // copy) is none: a new key replaces it, as enrolling did before D212, rather than
            // every later enrolment failing on it (the review of D212).
            if held_pending(tx).as_ref() == Some(pending)
                && let Some(seed) = tx
                    .get_secret(state::PENDING_DEVICE_KEY)
                    .ok()
                    .flatten()
                    .and_then(|s| s.to_array::<32>())
            {
                return Ok(seed);
            }
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut()).map_err(|_| WalletError::Internal)?;
            tx.put_secret(state::PENDING_DEVICE_KEY, seed.as_ref())?;
            tx.put_doc(state::PENDING_ENROLMENT, pending)?;
            Ok::<_, WalletError>(seed)
        })
    }

    /// Applies for the e-licence: runs the real-person check with `provider` (on a
    /// blocking thread: it may wait for the driver), then asks the authority. Issued at
    /// once when a stored photo still meets the rules (then the e-licence arrives with the
    /// sync this runs); otherwise the answer says it waits for a photo or for review, with
    /// the deadline.
    pub async fn apply(
        &self,
        provider: Arc<dyn IdentityAttester>,
    ) -> Result<ApplicationView, WalletError> {
        self.on_runtime(tracing::info_span!("apply"), move |w| async move {
            w.apply_here(provider).await
        })
        .await
    }

    async fn apply_here(
        &self,
        provider: Arc<dyn IdentityAttester>,
    ) -> Result<ApplicationView, WalletError> {
        let start = Basis::read(self.store())?;
        let enrolment = start.enrolment.clone();
        let client = self.client(&enrolment.authority_url)?;
        let device = self.device(&enrolment)?;
        let challenge: IdentityChallenge = client
            .signed(
                &device,
                Method::POST,
                paths::IDENTITY_CHALLENGE,
                Some(&serde_json::json!({})),
            )
            .await?;
        let number = enrolment.licence_number.clone();
        let attestation =
            runtime::blocking(move || provider.attest(challenge.challenge.as_bytes(), &number))
                .await
                .flatten()
                .ok_or(WalletError::IdentityCheck)?;
        let request = ApplyRequest {
            identity: Some(IdentityProof {
                challenge_id: challenge.challenge_id,
                attestation: crate::wire::Base64(attestation),
            }),
            reuse_stored_photo: true,
        };
        // Asked again when offline or busy, like a sync page, so a dropped answer does not
        // cost the driver a second face check (D151): from the device that passed the
        // check, an application the authority already took changes nothing, and a busy
        // refusal (D142) kept nothing, the challenge included.
        let view: ApplicationView = retry::with_backoff(|| {
            client.signed(&device, Method::POST, paths::APPLY, Some(&request))
        })
        .await?;
        tracing::info!(phase = ?view.phase, "the authority answered the application");
        if !self.store_application(&start, &view, None)? {
            self.sync_after_application().await?;
            return Ok(view);
        }
        self.emit(WalletEvent::ApplicationChanged(view));
        if view.phase == ApplicationPhase::Issued {
            self.sync_after_application().await?;
        }
        Ok(view)
    }

    /// The sync that brings in what an application changed (an issued e-licence). The
    /// authority has the application, so a sync that could not reach it (offline, or busy
    /// past the retries) is not `apply`'s failure (D157): the app would ask again, and the
    /// driver pass the face check a second time, for an e-licence already issued. It is
    /// logged, and the next sync brings the e-licence (the app sees the phase `Issued`
    /// without one until then). Any other failure (the device refused, an answer the
    /// wallet cannot use, its own store) is `apply`'s, as the app must hear it.
    async fn sync_after_application(&self) -> Result<(), WalletError> {
        match self.sync_here().await {
            Err(WalletError::Net(NetError::Offline | NetError::Busy { .. })) => {
                tracing::info!("the application was taken; the sync after it waits for the next");
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Stores the application an answer of the authority carried (and the photo
    /// submission it made), if the store is still as it was when the request left
    /// ([`Basis`], D133); `false` when it is not. A sync stored meanwhile may be newer or
    /// older than this answer and a new enrolment makes it another device's, so the caller
    /// syncs instead: the authority's feed carries every change of the application. The
    /// submission is kept unless the enrolment changed.
    fn store_application(
        &self,
        start: &Basis,
        view: &ApplicationView,
        submission: Option<&PhotoSubmission>,
    ) -> Result<bool, WalletError> {
        let stored = self.store().write(|tx| {
            let now = Basis::read(tx)?;
            if !start.same_enrolment(&now) {
                return Ok::<_, WalletError>(false);
            }
            if let Some(s) = submission {
                tx.put_doc(state::PHOTO_SUBMISSION, s)?;
            }
            if now != *start {
                return Ok(false);
            }
            tx.put_doc(state::APPLICATION, view)?;
            Ok(true)
        })?;
        if !stored {
            tracing::info!("the store changed while the authority answered; syncing instead");
        }
        Ok(stored)
    }

    /// Fetches everything that changed since the last sync and applies it in one
    /// transaction. Retries with back-off on transient failures (honouring Retry-After);
    /// on failure nothing in the store changes. The observer hears of each kind of change
    /// once it is stored.
    pub async fn sync(&self) -> Result<SyncReport, WalletError> {
        self.on_runtime(tracing::info_span!("sync"), |w| async move {
            w.sync_here().await
        })
        .await
    }

    async fn sync_here(&self) -> Result<SyncReport, WalletError> {
        // Two syncs may overlap (the app's threads, the FFI): both fetch from the same
        // cursor, and the later write would take the store back to an older page and
        // store its feed entries a second time under other ids. An upload or application
        // may store a newer application meanwhile, and a new enrolment another device key
        // (D133). So a sync writes only if the store still holds the cursor, application,
        // enrolment and device key it started from (`Basis`); otherwise it drops what it
        // fetched and starts again from what the store holds now.
        loop {
            if let Some(applied) = self.sync_once().await? {
                let r = &applied.report;
                tracing::info!(
                    licence_changed = r.licence_changed,
                    elicence_changed = r.elicence_changed,
                    application_changed = r.application_changed,
                    reviews = r.reviews,
                    messages = r.messages,
                    verifications = r.verifications,
                    "sync stored"
                );
                self.emit_sync(&applied);
                return Ok(applied.report);
            }
            tracing::debug!("the store changed while syncing; syncing again from it");
        }
    }

    /// One sync from the stored cursor; `None` when the store changed before it could
    /// write (another sync, an upload, a new enrolment: nothing written).
    async fn sync_once(&self) -> Result<Option<Applied>, WalletError> {
        let start = Basis::read(self.store())?;
        let enrolment = start.enrolment.clone();
        let client = self.client(&enrolment.authority_url)?;
        let mut device = self.device(&enrolment)?;
        if device.key.public() != start.device_key {
            return Ok(None);
        }
        let trust: crate::wire::Base64 = self
            .store()
            .get_doc(state::TRUST_LIST)?
            .ok_or(WalletError::NotEnrolled)?;
        let mut trust = TrustList::decode(trust.as_bytes())?;
        let mut pages: Vec<SyncResponse> = Vec::new();
        let mut cursor = start.cursor;
        let mut from_start = false;
        // The authority's clock from the page answered quickest: each attempt is read on
        // its own, so a slow attempt or many pages do not move the wallet's clock (AG-F1).
        let mut clock: Option<ClockReading> = None;
        loop {
            let path = format!("{}?cursor={cursor}", paths::SYNC);
            let (page, read) = retry::with_backoff(|| {
                let request =
                    client.signed_timed::<(), SyncResponse>(&device, Method::GET, &path, None);
                async move {
                    let page = request.await?;
                    // From the answered attempt's send (not a stale-refused one's, AJ-F3)
                    // to its answer's head: a page carrying a new photo may take long to
                    // download after the authority stamped its time (AI-F1).
                    let read = ClockReading::of(
                        page.answer.server_time,
                        unix_millis(page.sent_at),
                        unix_millis(page.head_at),
                    );
                    Ok((page.answer, read))
                }
            })
            .await?;
            clock = Some(read.or_better(clock));
            device.now = page.server_time;
            let asked = sync::PageRequest {
                licence_number: &enrolment.licence_number,
            };
            if let Err(WalletError::Protocol(_)) =
                sync::check_page(&page, &asked, &trust, &device.key.public())
            {
                // Maybe the issuer key rotated: fetch the trust list once and check again.
                tracing::info!("a page does not verify with the held trust list; fetching it");
                let fresh: TrustListResponse = client.get(paths::TRUST_LIST).await?;
                trust = TrustList::decode(fresh.trust_list.as_bytes())?;
                sync::check_page(&page, &asked, &trust, &device.key.public())?;
            }
            if sync::starts_over(cursor, &page) {
                // The authority started the feed over: what came before is replaced.
                tracing::warn!("the authority started the feed over");
                pages.clear();
                from_start = true;
            }
            cursor = page.cursor;
            let more = page.more;
            pages.push(page);
            if !more || pages.len() >= MAX_PAGES {
                break;
            }
        }
        tracing::debug!(pages = pages.len(), "fetched; applying");
        let last = pages.last().expect("at least one page");
        let new_state = SyncState {
            cursor: last.cursor,
            clock_offset: clock.expect("a reading with each page").offset,
            last_synced: Some(last.server_time),
        };
        // A delta of a thousand entries is tens of milliseconds of sealing and writing.
        let this = self.clone();
        runtime::blocking(move || {
            this.store().write(|tx| {
                if Basis::read(tx)? != start {
                    return Ok(None);
                }
                tx.put_doc(state::TRUST_LIST, &crate::wire::Base64(trust.encode()))?;
                let report = sync::apply(tx, &pages, new_state, from_start)?;
                let reviews = pages
                    .iter()
                    .flat_map(|p| p.reviews.iter().cloned())
                    .collect();
                Ok(Some(Applied { report, reviews }))
            })
        })
        .await
        .ok_or(WalletError::Internal)?
    }

    /// After a stored sync: one event per kind of change it brought.
    fn emit_sync(&self, applied: &Applied) {
        let r = &applied.report;
        if r.elicence_changed {
            self.emit(WalletEvent::ElicenceChanged);
        }
        if r.licence_changed {
            // The sync is stored: an unreadable colour only leaves it out of the event.
            let colour = self.status_colour().ok().flatten();
            self.emit(WalletEvent::LicenceChanged { colour });
        }
        if r.application_changed
            && let Ok(Some(application)) = self.application()
        {
            self.emit(WalletEvent::ApplicationChanged(application));
        }
        for review in &applied.reviews {
            self.emit(WalletEvent::ReviewResult(review.clone()));
        }
        if r.messages > 0 {
            self.emit(WalletEvent::NewMessages(r.messages));
        }
        if r.verifications > 0 {
            self.emit(WalletEvent::NewVerifications(r.verifications));
        }
    }

    /// Checks, normalises (crop to the licence proportions, resize, re-encode, strip all
    /// metadata) and uploads a photo for the application. A photo with problems is refused
    /// before anything is sent. A retried upload of the same photo never makes a second
    /// submission.
    pub async fn submit_photo(
        &self,
        bytes: Vec<u8>,
        source: PhotoSource,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<PhotoAccepted, WalletError> {
        let span = tracing::info_span!("photo_upload", ?source, change = false);
        self.on_runtime(span, move |w| async move {
            w.upload_photo(bytes, source, progress).await
        })
        .await
    }

    /// Changes the photo of the issued e-licence: the same checks and upload as
    /// [`Wallet::submit_photo`]; the authority reviews it within one working day, and on
    /// approval the re-signed e-licence arrives by sync. Until then the current e-licence
    /// keeps working. At peak hours the authority may answer busy, with when to retry.
    pub async fn change_photo(
        &self,
        bytes: Vec<u8>,
        source: PhotoSource,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<PhotoAccepted, WalletError> {
        let span = tracing::info_span!("photo_upload", ?source, change = true);
        self.on_runtime(span, move |w| async move {
            let issued = w
                .application()?
                .is_some_and(|a| a.phase == ApplicationPhase::Issued);
            if !issued {
                return Err(WalletError::NoElicence);
            }
            w.upload_photo(bytes, source, progress).await
        })
        .await
    }

    async fn upload_photo(
        &self,
        bytes: Vec<u8>,
        source: PhotoSource,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<PhotoAccepted, WalletError> {
        let start = Basis::read(self.store())?;
        let enrolment = start.enrolment.clone();
        let client = self.client(&enrolment.authority_url)?;
        let report = |stage| {
            tracing::debug!(?stage, "upload stage");
            if let Some(p) = &progress {
                self.progress(p, stage);
            }
        };
        // Decoding a 12-megapixel photo and the face detector take a few hundred ms.
        let prepared = runtime::blocking(move || prepare_photo(&bytes))
            .await
            .ok_or(WalletError::Internal)??;
        if !prepared.report.passes() {
            return Err(WalletError::PhotoProblems(prepared.report.problems));
        }
        report(UploadStage::Checked);
        let normalised = prepared.normalised.ok_or(WalletError::Internal)?;
        report(UploadStage::Normalised);
        let device = self.device(&enrolment)?;
        let upload = PhotoUpload {
            client_key: client_key(&device.key.public().to_bytes(), &normalised.sha256),
            photo: crate::wire::Base64(normalised.jpeg),
        };
        let submitted_at = device.now;
        report(UploadStage::Uploading);
        let accepted: PhotoAccepted = retry::with_backoff(|| {
            client.signed::<_, PhotoAccepted>(&device, Method::POST, paths::PHOTO, Some(&upload))
        })
        .await?;
        let submission = PhotoSubmission {
            photo_id: accepted.photo_id,
            source,
            submitted_at,
            deadline: accepted.deadline,
        };
        let stored = self.store_application(&start, &accepted.application, Some(&submission))?;
        tracing::info!("the photo was accepted for review");
        report(UploadStage::Uploaded);
        if stored {
            self.emit(WalletEvent::ApplicationChanged(accepted.application));
        } else if self.sync_here().await.is_err() {
            // The upload stands; the next sync brings the application.
            tracing::info!("no sync after the upload; the next one brings the application");
        }
        Ok(accepted)
    }
}

/// Logs a wallet call's failure at the level it deserves: the driver's network or input is
/// routine (info), an answer this client cannot use is a warning, a fault of the store or
/// the library an error. Only the error's kind and code go in: texts that could quote the
/// server (`Protocol`) are replaced by a fixed one.
fn log_failure(e: &WalletError) {
    match e {
        WalletError::Net(
            NetError::Offline | NetError::Busy { .. } | NetError::LockedOut { .. },
        ) => {
            tracing::info!("failed: {e}")
        }
        WalletError::Net(NetError::Internal) => tracing::error!("failed: {e}"),
        WalletError::Net(NetError::Untrusted | NetError::Protocol(_)) => {
            tracing::warn!("failed: {e}")
        }
        WalletError::Net(
            NetError::Unauthorised(_)
            | NetError::NotEligible(_)
            | NetError::Rejected { .. }
            | NetError::BadUrl
            | NetError::InsecureUrl
            | NetError::BadRoots,
        )
        | WalletError::NotEnrolled
        | WalletError::NoElicence
        | WalletError::IdentityCheck
        | WalletError::PhotoProblems(_)
        | WalletError::Photo(_) => tracing::info!("failed: {e}"),
        WalletError::NoRootPinned => tracing::info!("failed: {e}"),
        // A refused list is what a hostile network or a misconfigured pin looks like.
        WalletError::TrustList(_) | WalletError::StatusList(_) => tracing::warn!("failed: {e}"),
        WalletError::Protocol(_) => tracing::warn!("failed: unusable answer from the authority"),
        WalletError::Store(_) | WalletError::Present(_) | WalletError::Internal => {
            tracing::error!("failed: {e}")
        }
    }
}

/// The enrolment under way, if one is stored and readable.
fn held_pending(tx: &super::store::WriteTx<'_>) -> Option<PendingEnrolment> {
    tx.get_doc::<PendingEnrolment>(state::PENDING_ENROLMENT)
        .ok()
        .flatten()
}
