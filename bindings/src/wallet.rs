//! The driver's `Wallet` object and its `RotationTicker`: each method translates its
//! arguments, calls `edl_core::wallet::Wallet` and converts the answer (records in
//! `records.rs`, callbacks in `callbacks.rs`).

use std::path::Path;
use std::sync::Arc;

use crate::callbacks::{
    ForeignIdentity, ForeignKeys, ForeignObserver, IdentityProvider, KeyStore, UploadProgress,
    WalletObserver, foreign_progress,
};
use crate::error::EdlError;
use crate::records::{
    Application, DynamicCode, Message, PhotoAccepted, PhotoReport, PhotoReview, PhotoSource,
    Presentation, PresentationForm, SyncReport, VerificationLogEntry,
};
use crate::trust::{ListsInfo, OwnStatus};
use crate::types::{Audience, MainPage, StatusColour, SupplementaryPage};

/// See `RotationTicker` in `udl/edl.udl`.
pub struct RotationTicker(edl_core::wallet::RotationTicker);

impl RotationTicker {
    /// Stops the ticks. Idempotent.
    pub fn stop(&self) {
        self.0.stop();
    }
}

/// See `Wallet` in `udl/edl.udl`.
pub struct Wallet {
    inner: edl_core::wallet::Wallet,
}

impl Wallet {
    /// Opens (or creates) the wallet in `dir`.
    pub fn new(dir: String, keys: Arc<dyn KeyStore>) -> Result<Self, EdlError> {
        // An empty path is the process's working directory to the file system: a wallet
        // made there by a slip is one the app never finds again (thirtieth review).
        if dir.trim().is_empty() {
            return Err(EdlError::InvalidArgument {
                detail: "the wallet's directory is empty".into(),
            });
        }
        let inner = edl_core::wallet::Wallet::open(Path::new(&dir), &ForeignKeys(keys))?;
        tracing::info!("wallet opened");
        Ok(Wallet { inner })
    }

    /// Sets (or clears) the observer of changes.
    pub fn set_observer(&self, observer: Option<Arc<dyn WalletObserver>>) {
        self.inner
            .set_observer(observer.map(|o| {
                Arc::new(ForeignObserver(o)) as Arc<dyn edl_core::wallet::WalletObserver>
            }));
    }

    /// Hands the observer a fresh presentation at once and at each new window.
    pub fn start_rotation(
        &self,
        form: PresentationForm,
        audience: Audience,
    ) -> Result<Arc<RotationTicker>, EdlError> {
        let ticker = self
            .inner
            .start_rotation(form.into(), audience.into(), None)?;
        Ok(Arc::new(RotationTicker(ticker)))
    }

    /// The authority's clock as the wallet knows it.
    pub fn now_unix(&self) -> Result<u64, EdlError> {
        Ok(self.inner.now()?)
    }

    /// Pins the authority's root key (32 bytes) for the lists the wallet takes.
    pub fn pin_root(&self, root_public_key: Vec<u8>) -> Result<(), EdlError> {
        Ok(self
            .inner
            .pin_root(crate::trust::root_from_bytes(&root_public_key)?)?)
    }

    /// [`Wallet::pin_root`] with the key's text form (64 hex digits).
    pub fn pin_root_text(&self, root_public_key: String) -> Result<(), EdlError> {
        Ok(self
            .inner
            .pin_root(crate::trust::root_from_text(&root_public_key)?)?)
    }

    /// Fetches, checks and keeps the signed trust and status lists.
    pub async fn refresh_lists(&self) -> Result<ListsInfo, EdlError> {
        Ok(self.inner.refresh_lists().await?.into())
    }

    /// Checks and keeps lists the app obtained itself.
    pub fn load_lists(
        &self,
        trust_list: Vec<u8>,
        status_list: Vec<u8>,
    ) -> Result<ListsInfo, EdlError> {
        Ok(self.inner.load_lists(&trust_list, &status_list)?.into())
    }

    /// What the lists held say about the wallet's own e-licence now.
    pub fn own_status(&self) -> Result<OwnStatus, EdlError> {
        Ok(self.inner.own_status()?.into())
    }

    /// Whether the wallet is enrolled.
    pub fn is_enrolled(&self) -> Result<bool, EdlError> {
        Ok(self.inner.enrolled()?.is_some())
    }

    /// Enrols with a one-time activation code.
    pub async fn enrol(
        &self,
        authority_url: String,
        licence_number: String,
        activation_code: String,
    ) -> Result<(), EdlError> {
        Ok(self
            .inner
            .enrol(&authority_url, &licence_number, &activation_code)
            .await?)
    }

    /// Applies for the e-licence.
    pub async fn apply(
        &self,
        provider: Arc<dyn IdentityProvider>,
    ) -> Result<Application, EdlError> {
        Ok(self
            .inner
            .apply(Arc::new(ForeignIdentity(provider)))
            .await?
            .into())
    }

    /// Syncs with the authority.
    pub async fn sync(&self) -> Result<SyncReport, EdlError> {
        Ok(self.inner.sync().await?.into())
    }

    /// The on-phone photo checks, on the core's blocking pool (a few hundred ms of decoding
    /// and face detection that the app's main thread must not spend). Async only (D44).
    pub async fn check_photo(&self, photo: Vec<u8>) -> Result<PhotoReport, EdlError> {
        Ok(self.inner.check_photo_off_thread(photo).await?.into())
    }

    /// Checks, normalises and uploads a photo for the application.
    pub async fn submit_photo(
        &self,
        photo: Vec<u8>,
        source: PhotoSource,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<PhotoAccepted, EdlError> {
        let a = self
            .inner
            .submit_photo(photo, source.into(), foreign_progress(progress))
            .await?;
        Ok(a.into())
    }

    /// Checks, normalises and uploads a new photo for the issued e-licence.
    pub async fn change_photo(
        &self,
        photo: Vec<u8>,
        source: PhotoSource,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<PhotoAccepted, EdlError> {
        let a = self
            .inner
            .change_photo(photo, source.into(), foreign_progress(progress))
            .await?;
        Ok(a.into())
    }

    /// The main page as of the last sync.
    pub fn main_page(&self) -> Result<Option<MainPage>, EdlError> {
        Ok(self.inner.licence()?.map(|l| l.main.into()))
    }

    /// The supplementary page as of the last sync.
    pub fn supplementary_page(&self) -> Result<Option<SupplementaryPage>, EdlError> {
        Ok(self
            .inner
            .licence()?
            .map(|l| SupplementaryPage::new(l.supplementary, l.main.classes)))
    }

    /// How the status is shown.
    pub fn status_colour(&self) -> Result<Option<StatusColour>, EdlError> {
        Ok(self.inner.status_colour()?.map(Into::into))
    }

    /// When the last sync completed.
    pub fn last_synced_unix(&self) -> Result<Option<u64>, EdlError> {
        Ok(self.inner.last_synced()?)
    }

    /// The application as last seen.
    pub fn application(&self) -> Result<Option<Application>, EdlError> {
        Ok(self.inner.application()?.map(Into::into))
    }

    /// The approved photo.
    pub fn photo(&self) -> Result<Option<Vec<u8>>, EdlError> {
        Ok(self.inner.photo()?)
    }

    /// Messages, oldest first.
    pub fn messages(&self) -> Result<Vec<Message>, EdlError> {
        Ok(self.inner.messages()?.into_iter().map(Into::into).collect())
    }

    /// Who checked the e-licence, oldest first.
    pub fn verification_log(&self) -> Result<Vec<VerificationLogEntry>, EdlError> {
        Ok(self
            .inner
            .verification_log()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Photo review results.
    pub fn photo_reviews(&self) -> Result<Vec<PhotoReview>, EdlError> {
        Ok(self
            .inner
            .photo_reviews()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The QR presentation now.
    pub fn present(
        &self,
        form: PresentationForm,
        audience: Audience,
    ) -> Result<Presentation, EdlError> {
        Ok(self
            .inner
            .present(form.into(), audience.into(), None)?
            .into())
    }

    /// The barcode and manual code now.
    pub fn dynamic_code(&self, audience: Audience) -> Result<DynamicCode, EdlError> {
        Ok(self.inner.dynamic_code(audience.into(), None)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key store the check must not reach.
    struct Untouched;

    impl KeyStore for Untouched {
        fn wrap_key(&self, _: Vec<u8>) -> Result<Vec<u8>, EdlError> {
            panic!("no key is wrapped for an empty directory")
        }
        fn unwrap_key(&self, _: Vec<u8>) -> Result<Vec<u8>, EdlError> {
            panic!("no key is unwrapped for an empty directory")
        }
    }

    #[test]
    fn an_empty_directory_is_an_invalid_argument_and_makes_no_wallet() {
        let cwd = std::env::current_dir().unwrap();
        for dir in ["", "  "] {
            assert!(matches!(
                Wallet::new(dir.into(), Arc::new(Untouched)),
                Err(EdlError::InvalidArgument { .. })
            ));
        }
        assert!(!cwd.join("wallet.db").exists());
    }
}
