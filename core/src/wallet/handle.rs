//! [`Wallet`]: what an app opens once and asks for everything it shows. The calls to the
//! authority are in `remote.rs`.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::credential::{Audience, Credential};
use crate::crypto::{SecretKey, TotpSeed};
use crate::licence::{Licence, StatusColour};
use crate::photo::{PhotoReport, check_photo};
use crate::present::{DEFAULT_PERIOD, DynamicCode, Form, Holder, Presentation};
use crate::wire::{ApplicationView, FeedMessage, ReviewResult, VerificationLogEntry};

use super::WalletError;
use super::events::{ObserverSlot, Receipts, WalletEvent, WalletObserver};
use super::photo_upload::PhotoSubmission;
use super::photo_upload::{UploadProgress, UploadStage};
use super::rotation::RotationTicker;
use super::state::{self, Enrolment, StoredElicence, SyncState};
use super::store::{KeyWrapper, StoreRead, WalletStore};
use crate::net::{Client, ClientSlot, DeviceAuth, NetError, runtime};

/// File name of the store inside the wallet's directory.
const STORE_FILE: &str = "wallet.db";

/// The driver's wallet. Cheap to clone (an `Arc` inside); every method may be called from
/// any thread. Reads never touch the network; `enrol`, `apply`, `sync` and photo uploads
/// do, on the core's own runtime.
#[derive(Clone)]
pub struct Wallet {
    inner: Arc<Inner>,
    /// Inside one call of the wallet: the callbacks it queued, which the call waits for
    /// before it returns (`events`, D132).
    receipts: Option<Arc<Receipts>>,
}

struct Inner {
    store: WalletStore,
    observer: ObserverSlot,
    /// The one HTTP client of this wallet, reused by every call to the authority.
    client: ClientSlot,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wallet")
    }
}

/// The phone's clock in unix milliseconds.
pub(super) fn local_millis() -> u64 {
    unix_millis(SystemTime::now())
}

/// `time` in unix milliseconds (0 before 1970).
pub(super) fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Makes the wallet's directory `dir` (and any parent missing) for this account alone where
/// the platform has modes (0700): the store's files are 0600 (R8), but a directory others
/// may list shows when a wallet is used, by its journal coming and going. A directory that
/// exists is left as its owner made it.
pub fn make_wallet_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

impl Wallet {
    /// Opens (or creates, [`make_wallet_dir`]) the wallet in `dir`, unlocking its store with `keys`.
    pub fn open(dir: &Path, keys: &dyn KeyWrapper) -> Result<Wallet, WalletError> {
        make_wallet_dir(dir).map_err(|e| {
            WalletError::Store(super::store::StoreError::Directory(
                e.raw_os_error().unwrap_or(0),
            ))
        })?;
        let store = WalletStore::open(dir.join(STORE_FILE), keys)?;
        Ok(Wallet {
            inner: Arc::new(Inner {
                store,
                observer: ObserverSlot::default(),
                client: ClientSlot::default(),
            }),
            receipts: None,
        })
    }

    pub(super) fn store(&self) -> &WalletStore {
        &self.inner.store
    }

    /// Sets (or, with `None`, clears) the observer that hears of every change: syncs,
    /// applications, uploads and the ticks of [`Wallet::start_rotation`].
    pub fn set_observer(&self, observer: Option<Arc<dyn WalletObserver>>) {
        self.inner.observer.set(observer);
    }

    /// The wallet's client of the authority at `base` (built once, then reused).
    pub(super) fn client(&self, base: &str) -> Result<Client, NetError> {
        self.inner.client.get(base)
    }

    /// Queues `event` for the observer, on the wallet's delivery thread (D132).
    pub(super) fn emit(&self, event: WalletEvent) {
        let n = self.inner.observer.emit(event);
        if let Some(r) = &self.receipts {
            r.add(n);
        }
    }

    /// Queues `stage` for an upload's progress callback, as [`Wallet::emit`] does events.
    pub(super) fn progress(&self, to: &Arc<dyn UploadProgress>, stage: UploadStage) {
        let n = self.inner.observer.progress(to, stage);
        if let Some(r) = &self.receipts {
            r.add(n);
        }
    }

    /// The wallet behind `inner`, if the app still holds it.
    fn upgrade(inner: &std::sync::Weak<Inner>) -> Option<Wallet> {
        inner.upgrade().map(|inner| Wallet {
            inner,
            receipts: None,
        })
    }

    /// Runs `call` with a handle of this wallet that notes the callbacks it queues, then
    /// waits (without holding a thread) until they have run, or until the delivery thread
    /// is busy with another's callback: a call's events and progress arrive before it
    /// returns, unless a callback before them is still running.
    pub(super) async fn with_callbacks<T, Fut>(&self, call: impl FnOnce(Wallet) -> Fut) -> T
    where
        Fut: std::future::Future<Output = T>,
    {
        let receipts = Arc::new(Receipts::default());
        let handle = Wallet {
            inner: self.inner.clone(),
            receipts: Some(receipts.clone()),
        };
        let out = call(handle).await;
        self.inner.observer.delivered(&receipts).await;
        out
    }

    /// The authority's clock now, as the wallet best knows it (phone clock + offset
    /// learned at the last exchange).
    pub fn now(&self) -> Result<u64, WalletError> {
        Ok(self.now_millis()? / 1000)
    }

    /// [`Wallet::now`] in milliseconds, for timing rotations to the window boundary.
    fn now_millis(&self) -> Result<u64, WalletError> {
        let offset = self.sync_state()?.clock_offset;
        Ok(local_millis().saturating_add_signed(offset.saturating_mul(1000)))
    }

    pub(super) fn sync_state(&self) -> Result<SyncState, WalletError> {
        Ok(self
            .inner
            .store
            .get_doc(state::SYNC_STATE)?
            .unwrap_or_default())
    }

    pub(super) fn enrolment(&self) -> Result<Enrolment, WalletError> {
        self.inner
            .store
            .get_doc(state::ENROLMENT)?
            .ok_or(WalletError::NotEnrolled)
    }

    /// The enrolment, if any.
    pub fn enrolled(&self) -> Result<Option<Enrolment>, WalletError> {
        Ok(self.inner.store.get_doc(state::ENROLMENT)?)
    }

    pub(super) fn device(&self, enrolment: &Enrolment) -> Result<DeviceAuth, WalletError> {
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

    /// The checks the phone can run on a photo, so the driver learns at once what to fix
    /// instead of a working day later. Never touches the network.
    pub fn check_photo(&self, bytes: &[u8]) -> Result<PhotoReport, WalletError> {
        Ok(check_photo(bytes)?)
    }

    /// [`Wallet::check_photo`] on the core's blocking pool: decoding a 12-megapixel photo
    /// and the face detector take a few hundred milliseconds, which a phone's main thread
    /// must not spend. Any executor may poll it.
    pub async fn check_photo_off_thread(&self, bytes: Vec<u8>) -> Result<PhotoReport, WalletError> {
        Ok(runtime::blocking(move || check_photo(&bytes))
            .await
            .ok_or(WalletError::Internal)??)
    }

    /// The last photo submitted from this wallet, with its review deadline.
    pub fn photo_submission(&self) -> Result<Option<PhotoSubmission>, WalletError> {
        Ok(self.inner.store.get_doc(state::PHOTO_SUBMISSION)?)
    }

    /// Both pages as of the last sync.
    ///
    /// Its scoring cycle is the one containing today (Beijing, by the wallet's clock): a
    /// cycle turns at its anniversary, when the authority's own view turns it, whether or
    /// not the licence came again since. It turned only with the next licence sent (a
    /// re-signing, up to half a credential's lifetime later), showing the old year's
    /// points meanwhile (the sync review, AO-SY4). Only forward: a phone clock behind
    /// keeps the cycle the authority sent.
    pub fn licence(&self) -> Result<Option<Licence>, WalletError> {
        let Some(mut licence) = self.inner.store.get_doc::<Licence>(state::LICENCE)? else {
            return Ok(None);
        };
        let today = crate::verify::china_date(self.now()?);
        let page = &mut licence.supplementary;
        page.cycle = page
            .cycle
            .clone()
            .as_of(licence.main.first_issue, today, &page.record);
        Ok(Some(licence))
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
            .map(crate::wire::Base64::into_bytes))
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

    /// Hands the observer a [`WalletEvent::Rotation`] with the presentation of `form` for
    /// `audience` now and again as each window begins (within a few milliseconds of the
    /// boundary, by the authority's clock), from a thread of its own, until the ticker is
    /// stopped or dropped, or the wallet is (the ticker does not keep it open). Fails at
    /// once when there is nothing to present.
    pub fn start_rotation(
        &self,
        form: Form,
        audience: Audience,
        period: Option<u32>,
    ) -> Result<RotationTicker, WalletError> {
        // Made here, so a wallet with nothing to present fails now, not in the thread.
        let first = self.present(form, audience, period)?;
        // The thread holds the wallet weakly: once the app has let it go, the next window
        // finds none and the ticks end, rather than keeping its store and data key open
        // and presenting a closed wallet's codes (thirtieth review, AK-F56).
        let present = {
            let w = Arc::downgrade(&self.inner);
            move || Wallet::upgrade(&w)?.present(form, audience, period).ok()
        };
        let millis_left = {
            let w = Arc::downgrade(&self.inner);
            move |p: &Presentation| {
                let end = p.window.ends_at().saturating_mul(1000);
                let now = Wallet::upgrade(&w)
                    .and_then(|w| w.now_millis().ok())
                    .unwrap_or(end);
                end.saturating_sub(now)
            }
        };
        RotationTicker::start(first, present, millis_left, self.inner.observer.clone())
    }
}
