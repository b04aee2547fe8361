//! [`Wallet`]: what an app opens once and asks for everything it shows.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;

use crate::credential::{Audience, Credential, TrustList};
use crate::crypto::{SecretKey, TotpSeed};
use crate::licence::{Licence, StatusColour};
use crate::photo::{PhotoReport, check_photo, prepare_photo};
use crate::present::{DEFAULT_PERIOD, DynamicCode, Form, Holder, Presentation};
use crate::wire::{
    ApplicationView, ApplyRequest, EnrolRequest, EnrolResponse, FeedMessage, IdentityChallenge,
    IdentityProof, PhotoAccepted, PhotoUpload, ReviewResult, SyncResponse, TrustListResponse,
    VerificationLogEntry, paths,
};

use super::WalletError;
use super::identity::IdentityProvider;
use super::photo_upload::{PhotoSource, PhotoSubmission, UploadProgress, UploadStage, client_key};
use super::state::{self, Enrolment, StoredElicence, SyncState};
use super::store::{KeyStore, Store};
use super::sync::{self, SyncReport};
use crate::net::{Client, DeviceAuth, retry, runtime};

/// File name of the store inside the wallet's directory.
const STORE_FILE: &str = "wallet.db";
/// At most this many pages in one sync (a page holds one batch of changes).
const MAX_PAGES: usize = 64;

/// The driver's wallet. Cheap to clone (an `Arc` inside); every method may be called from
/// any thread. Reads never touch the network; `enrol`, `apply`, `sync` and photo uploads
/// do, on the core's own runtime.
#[derive(Clone)]
pub struct Wallet {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wallet")
    }
}

/// The phone's clock in unix seconds.
fn local_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Wallet {
    /// Opens (or creates) the wallet in `dir`, unlocking its store with `keys`.
    pub fn open(dir: &Path, keys: &dyn KeyStore) -> Result<Wallet, WalletError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            WalletError::Store(super::store::StoreError::Io(e.raw_os_error().unwrap_or(0)))
        })?;
        let store = Store::open(dir.join(STORE_FILE), keys)?;
        Ok(Wallet {
            inner: Arc::new(Inner { store }),
        })
    }

    /// The authority's clock now, as the wallet best knows it (phone clock + offset
    /// learned at the last exchange).
    pub fn now(&self) -> Result<u64, WalletError> {
        let offset = self.sync_state()?.clock_offset;
        Ok(local_now().saturating_add_signed(offset))
    }

    fn sync_state(&self) -> Result<SyncState, WalletError> {
        Ok(self
            .inner
            .store
            .get_doc(state::SYNC_STATE)?
            .unwrap_or_default())
    }

    fn enrolment(&self) -> Result<Enrolment, WalletError> {
        self.inner
            .store
            .get_doc(state::ENROLMENT)?
            .ok_or(WalletError::NotEnrolled)
    }

    /// The enrolment, if any.
    pub fn enrolled(&self) -> Result<Option<Enrolment>, WalletError> {
        Ok(self.inner.store.get_doc(state::ENROLMENT)?)
    }

    fn device(&self, enrolment: &Enrolment) -> Result<DeviceAuth, WalletError> {
        let seed = self
            .inner
            .store
            .get_secret(state::DEVICE_KEY)?
            .ok_or(WalletError::NotEnrolled)?;
        let seed = seed.to_array::<32>().ok_or(WalletError::NotEnrolled)?;
        Ok(DeviceAuth {
            account: enrolment.account_id,
            key: SecretKey::from_seed(*seed),
            now: self.now()?,
        })
    }

    /// Makes a new device key and binds it to the driver's account with the one-time
    /// activation code. Replaces any earlier enrolment of this wallet.
    pub async fn enrol(
        &self,
        authority_url: &str,
        licence_number: &str,
        activation_code: &str,
    ) -> Result<(), WalletError> {
        let client = Client::new(authority_url)?;
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| WalletError::Internal)?;
        let key = SecretKey::from_seed(*seed);
        let request = EnrolRequest {
            licence_number: licence_number.trim().to_owned(),
            activation_code: activation_code.trim().to_owned(),
            device_public_key: crate::wire::Base64(key.public().to_bytes().to_vec()),
        };
        let (enrolled, trust, sent_at) = runtime::run(async move {
            let sent_at = local_now();
            let enrolled: EnrolResponse = client.post(paths::ENROL, &request).await?;
            let trust: TrustListResponse = client.get(paths::TRUST_LIST).await?;
            Ok::<_, WalletError>((enrolled, trust, sent_at))
        })
        .await
        .ok_or(WalletError::Internal)??;
        TrustList::decode(trust.trust_list.as_bytes())?;
        let enrolment = Enrolment {
            authority_url: authority_url.trim_end_matches('/').to_owned(),
            account_id: enrolled.account_id,
            licence_number: licence_number.trim().to_owned(),
        };
        let state = SyncState {
            clock_offset: offset(enrolled.server_time, sent_at),
            ..SyncState::default()
        };
        self.inner.store.write(|tx| {
            tx.put_secret(state::DEVICE_KEY, seed.as_ref())?;
            tx.put_doc(state::ENROLMENT, &enrolment)?;
            tx.put_doc(state::TRUST_LIST, &trust.trust_list)?;
            tx.put_doc(state::SYNC_STATE, &state)?;
            // A new device key invalidates whatever e-licence an earlier enrolment held.
            tx.delete_doc(state::ELICENCE)?;
            tx.delete_secret(state::TOTP_SEED)?;
            Ok::<_, WalletError>(())
        })
    }

    /// Applies for the e-licence: runs the real-person check with `provider`, then asks
    /// the authority. Issued at once when a stored photo still meets the rules (then the
    /// e-licence arrives with the sync this runs); otherwise the answer says it waits
    /// for a photo or for review, with the deadline.
    pub async fn apply(
        &self,
        provider: Arc<dyn IdentityProvider>,
    ) -> Result<ApplicationView, WalletError> {
        let enrolment = self.enrolment()?;
        let client = Client::new(&enrolment.authority_url)?;
        let device = self.device(&enrolment)?;
        let licence_number = enrolment.licence_number.clone();
        let view = runtime::run(async move {
            let challenge: IdentityChallenge = client
                .signed(
                    &device,
                    Method::POST,
                    paths::IDENTITY_CHALLENGE,
                    Some(&serde_json::json!({})),
                )
                .await?;
            let attestation = provider
                .attest(challenge.challenge.as_bytes(), &licence_number)
                .ok_or(WalletError::IdentityCheck)?;
            let request = ApplyRequest {
                identity: Some(IdentityProof {
                    challenge_id: challenge.challenge_id,
                    attestation: crate::wire::Base64(attestation),
                }),
                reuse_stored_photo: true,
            };
            let view = client
                .signed::<_, ApplicationView>(&device, Method::POST, paths::APPLY, Some(&request))
                .await?;
            Ok::<_, WalletError>(view)
        })
        .await
        .ok_or(WalletError::Internal)??;
        self.inner
            .store
            .write(|tx| tx.put_doc(state::APPLICATION, &view))?;
        if view.phase == crate::wire::ApplicationPhase::Issued {
            self.sync().await?;
        }
        Ok(view)
    }

    /// Fetches everything that changed since the last sync and applies it in one
    /// transaction. Retries with back-off on transient failures (honouring Retry-After);
    /// on failure nothing in the store changes.
    pub async fn sync(&self) -> Result<SyncReport, WalletError> {
        // Two syncs may overlap (the app's threads, the FFI): both fetch from the same
        // cursor, and the later write would take the store back to an older page and
        // store its feed entries a second time under other ids. So a sync writes only if
        // the cursor is still the one it started from; otherwise another sync got there
        // first and this one starts again from the new cursor.
        loop {
            if let Some(report) = self.sync_once().await? {
                return Ok(report);
            }
        }
    }

    /// One sync from the stored cursor; `None` when another sync moved the cursor first
    /// (nothing written).
    async fn sync_once(&self) -> Result<Option<SyncReport>, WalletError> {
        let enrolment = self.enrolment()?;
        let client = Client::new(&enrolment.authority_url)?;
        let mut device = self.device(&enrolment)?;
        let start = self.sync_state()?;
        let trust: crate::wire::Base64 = self
            .inner
            .store
            .get_doc(state::TRUST_LIST)?
            .ok_or(WalletError::NotEnrolled)?;
        let (pages, sent_at, trust) = runtime::run(async move {
            let mut trust = TrustList::decode(trust.as_bytes())?;
            let sent_at = local_now();
            let mut pages: Vec<SyncResponse> = Vec::new();
            let mut cursor = start.cursor;
            loop {
                let path = format!("{}?cursor={cursor}", paths::SYNC);
                let page: SyncResponse = retry::with_backoff(|| {
                    client.signed::<(), _>(&device, Method::GET, &path, None)
                })
                .await?;
                device.now = page.server_time;
                if let Err(WalletError::Protocol(_)) =
                    sync::check_page(&page, &trust, &device.key.public())
                {
                    // Maybe the issuer key rotated: fetch the trust list once and check again.
                    let fresh: TrustListResponse = client.get(paths::TRUST_LIST).await?;
                    trust = TrustList::decode(fresh.trust_list.as_bytes())?;
                    sync::check_page(&page, &trust, &device.key.public())?;
                }
                cursor = page.cursor;
                let more = page.more;
                pages.push(page);
                if !more || pages.len() >= MAX_PAGES {
                    break;
                }
            }
            Ok::<_, WalletError>((pages, sent_at, trust))
        })
        .await
        .ok_or(WalletError::Internal)??;
        let last = pages.last().expect("at least one page");
        let new_state = SyncState {
            cursor: last.cursor,
            clock_offset: offset(last.server_time, sent_at),
            last_synced: Some(last.server_time),
        };
        self.inner.store.write(|tx| {
            let current: SyncState = tx.get_doc(state::SYNC_STATE)?.unwrap_or_default();
            if current.cursor != start.cursor {
                return Ok(None);
            }
            tx.put_doc(state::TRUST_LIST, &crate::wire::Base64(trust.encode()))?;
            sync::apply(tx, &pages, new_state).map(Some)
        })
    }

    /// The checks the phone can run on a photo, so the driver learns at once what to fix
    /// instead of a working day later. Never touches the network.
    pub fn check_photo(&self, bytes: &[u8]) -> Result<PhotoReport, WalletError> {
        Ok(check_photo(bytes)?)
    }

    /// Checks, normalises (crop to the licence proportions, resize, re-encode, strip all
    /// metadata) and uploads a photo for the application, or to change the photo of an
    /// issued e-licence. A photo with problems is refused before anything is sent. A
    /// retried upload of the same photo never makes a second submission.
    pub async fn submit_photo(
        &self,
        bytes: Vec<u8>,
        source: PhotoSource,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<PhotoAccepted, WalletError> {
        let enrolment = self.enrolment()?;
        let client = Client::new(&enrolment.authority_url)?;
        let report = |stage| {
            if let Some(p) = &progress {
                p.on_stage(stage);
            }
        };
        let prepared = prepare_photo(&bytes)?;
        if !prepared.report.passes() {
            return Err(WalletError::PhotoProblems(prepared.report.problems));
        }
        report(UploadStage::Checked);
        let normalised = prepared.normalised.ok_or(WalletError::Internal)?;
        report(UploadStage::Normalised);
        let upload = PhotoUpload {
            client_key: client_key(&normalised.sha256),
            photo: crate::wire::Base64(normalised.jpeg),
        };
        let device = self.device(&enrolment)?;
        let submitted_at = device.now;
        report(UploadStage::Uploading);
        let accepted = runtime::run(async move {
            retry::with_backoff(|| {
                client.signed::<_, PhotoAccepted>(
                    &device,
                    Method::POST,
                    paths::PHOTO,
                    Some(&upload),
                )
            })
            .await
        })
        .await
        .ok_or(WalletError::Internal)??;
        let submission = PhotoSubmission {
            photo_id: accepted.photo_id,
            source,
            submitted_at,
            deadline: accepted.deadline,
        };
        self.inner.store.write(|tx| {
            tx.put_doc(state::APPLICATION, &accepted.application)?;
            tx.put_doc(state::PHOTO_SUBMISSION, &submission)
        })?;
        report(UploadStage::Uploaded);
        Ok(accepted)
    }

    /// The last photo submitted from this wallet, with its review deadline.
    pub fn photo_submission(&self) -> Result<Option<PhotoSubmission>, WalletError> {
        Ok(self.inner.store.get_doc(state::PHOTO_SUBMISSION)?)
    }

    /// Both pages as of the last sync.
    pub fn licence(&self) -> Result<Option<Licence>, WalletError> {
        Ok(self.inner.store.get_doc(state::LICENCE)?)
    }

    /// How the status is shown (black, red, hidden); `None` before the first sync.
    pub fn status_colour(&self) -> Result<Option<StatusColour>, WalletError> {
        Ok(self.licence()?.map(|l| l.main.status.colour()))
    }

    /// When the last sync completed (authority clock, unix seconds).
    pub fn last_synced(&self) -> Result<Option<u64>, WalletError> {
        Ok(self.sync_state()?.last_synced)
    }

    /// The application as last seen.
    pub fn application(&self) -> Result<Option<ApplicationView>, WalletError> {
        Ok(self.inner.store.get_doc(state::APPLICATION)?)
    }

    /// The e-licence as stored, if any.
    pub fn elicence(&self) -> Result<Option<StoredElicence>, WalletError> {
        Ok(self.inner.store.get_doc(state::ELICENCE)?)
    }

    /// The approved photo, if synced.
    pub fn photo(&self) -> Result<Option<Vec<u8>>, WalletError> {
        Ok(self
            .inner
            .store
            .get_doc::<crate::wire::Base64>(state::PHOTO)?
            .map(|b| b.0))
    }

    /// Messages, oldest first.
    pub fn messages(&self) -> Result<Vec<FeedMessage>, WalletError> {
        Ok(self
            .inner
            .store
            .list_items(state::MESSAGES)?
            .into_iter()
            .map(|i| i.value)
            .collect())
    }

    /// Who checked the e-licence, oldest first.
    pub fn verification_log(&self) -> Result<Vec<VerificationLogEntry>, WalletError> {
        Ok(self
            .inner
            .store
            .list_items(state::VERIFICATION_LOG)?
            .into_iter()
            .map(|i| i.value)
            .collect())
    }

    /// Photo review results.
    pub fn photo_reviews(&self) -> Result<Vec<ReviewResult>, WalletError> {
        Ok(self
            .inner
            .store
            .list_items(state::PHOTO_REVIEWS)?
            .into_iter()
            .map(|i| i.value)
            .collect())
    }

    /// The e-licence ready to present: credential, device key and TOTP seed, loaded for
    /// this call only (the secrets are zeroized when it is dropped).
    fn holder(&self) -> Result<Holder, WalletError> {
        let stored = self.elicence()?.ok_or(WalletError::NoElicence)?;
        let bytes = stored
            .credential
            .filter(|_| stored.state == crate::wire::ElicenceState::Active)
            .ok_or(WalletError::NoElicence)?;
        let credential = Credential::decode(bytes.as_bytes())?;
        let store = &self.inner.store;
        let device = store
            .get_secret(state::DEVICE_KEY)?
            .and_then(|s| s.to_array::<32>())
            .ok_or(WalletError::NotEnrolled)?;
        let seed = store
            .get_secret(state::TOTP_SEED)?
            .and_then(|s| s.to_array::<32>())
            .ok_or(WalletError::NoElicence)?;
        Ok(Holder::new(
            credential,
            SecretKey::from_seed(*device),
            TotpSeed::from_bytes(*seed),
        )?)
    }

    /// The QR presentation of `form` for `audience` now, rotating every `period` seconds
    /// (`None`: the default 30 s).
    pub fn present(
        &self,
        form: Form,
        audience: Audience,
        period: Option<u32>,
    ) -> Result<Presentation, WalletError> {
        self.present_at(
            form,
            audience,
            self.now()?,
            period.unwrap_or(DEFAULT_PERIOD),
        )
    }

    /// [`Wallet::present`] at a given authority-clock time (tests, replays of a demo).
    pub fn present_at(
        &self,
        form: Form,
        audience: Audience,
        now: u64,
        period: u32,
    ) -> Result<Presentation, WalletError> {
        Ok(self.holder()?.present(form, audience, now, period)?)
    }

    /// The barcode and manual code for `audience` now.
    pub fn dynamic_code(
        &self,
        audience: Audience,
        period: Option<u32>,
    ) -> Result<DynamicCode, WalletError> {
        Ok(self
            .holder()?
            .dynamic_code(audience, self.now()?, period.unwrap_or(DEFAULT_PERIOD))?)
    }
}

/// Authority clock minus phone clock, from a server time and when the request left.
fn offset(server_time: u64, sent_at: u64) -> i64 {
    let local = local_now().midpoint(sent_at);
    i64::try_from(server_time)
        .unwrap_or(i64::MAX)
        .saturating_sub(i64::try_from(local).unwrap_or(i64::MAX))
}
