//! The callbacks the app implements (`KeyStore`, `IdentityProvider`, `UploadProgress`,
//! `WalletObserver`) and their adapters to the core's traits (`KeyStore` → `KeyWrapper`,
//! `IdentityProvider` → `IdentityAttester`, ...), plus the software key stores the library
//! offers for desktops and tests. The app-facing names are the public API; the core's names
//! say its side.
//!
//! What an app's callback throws never fails the core's work it reports on: it becomes the
//! core's own outcome (a key-store error, a failed check) or a warning in the log.

use std::path::Path;
use std::sync::Arc;

use edl_core::wallet::store::{KeyWrapError, SoftwareKeyStore};
use zeroize::Zeroizing;

use crate::error::EdlError;
use crate::records::{UploadStage, WalletEvent};

/// See `KeyStore` in `udl/edl.udl`.
pub trait KeyStore: Send + Sync {
    /// Encrypts the data key under the platform key.
    fn wrap_key(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, EdlError>;
    /// Decrypts a blob made by `wrap_key`.
    fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, EdlError>;

    /// For UniFFI's trait-interface scaffolding (`[Trait, WithForeign]` in the UDL): the
    /// handle of a foreign implementation; `None` for Rust ones.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// See `IdentityProvider` in `udl/edl.udl`.
pub trait IdentityProvider: Send + Sync {
    /// The provider's attestation, or `None` when the check failed or was cancelled.
    fn attest(
        &self,
        challenge: Vec<u8>,
        licence_number: String,
    ) -> Result<Option<Vec<u8>>, EdlError>;

    /// For UniFFI's trait-interface scaffolding (`[Trait, WithForeign]` in the UDL): the
    /// handle of a foreign implementation; `None` for Rust ones.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// See `UploadProgress` in `udl/edl.udl`.
pub trait UploadProgress: Send + Sync {
    /// Called at each stage, in order.
    fn on_stage(&self, stage: UploadStage, fraction: f32) -> Result<(), EdlError>;

    /// For UniFFI's trait-interface scaffolding (`[Trait, WithForeign]` in the UDL): the
    /// handle of a foreign implementation; `None` for Rust ones.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// The app's key store as the core sees it: a [`KeyWrapper`](edl_core::wallet::store::KeyWrapper).
pub(crate) struct ForeignKeys(pub(crate) Arc<dyn KeyStore>);

impl edl_core::wallet::store::KeyWrapper for ForeignKeys {
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
        self.0
            .wrap_key(plaintext.to_vec())
            .map_err(EdlError::into_key_wrap_error)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
        self.0
            .unwrap_key(wrapped.to_vec())
            .map(Zeroizing::new)
            .map_err(EdlError::into_key_wrap_error)
    }
}

/// A key store kept in software (passphrase or key file), for desktop and tests.
struct SoftwareKeys(SoftwareKeyStore);

impl KeyStore for SoftwareKeys {
    fn wrap_key(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, EdlError> {
        let plaintext = Zeroizing::new(plaintext);
        edl_core::wallet::store::KeyWrapper::wrap_key(&self.0, &plaintext).map_err(EdlError::from)
    }

    fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, EdlError> {
        edl_core::wallet::store::KeyWrapper::unwrap_key(&self.0, &wrapped)
            .map(|k| k.to_vec())
            .map_err(EdlError::from)
    }
}

/// A software key store over a passphrase (Argon2id).
pub fn software_key_store(passphrase: String) -> Arc<dyn KeyStore> {
    let passphrase = Zeroizing::new(passphrase);
    Arc::new(SoftwareKeys(SoftwareKeyStore::from_passphrase(&passphrase)))
}

/// A software key store over a 32-byte key file, made when it does not exist.
pub fn key_file_key_store(path: String) -> Result<Arc<dyn KeyStore>, EdlError> {
    let keys = SoftwareKeyStore::open_or_create_key_file(Path::new(&path))?;
    Ok(Arc::new(SoftwareKeys(keys)))
}

/// The app's real-person check as the core sees it: an
/// [`IdentityAttester`](edl_core::wallet::IdentityAttester).
pub(crate) struct ForeignIdentity(pub(crate) Arc<dyn IdentityProvider>);

impl edl_core::wallet::IdentityAttester for ForeignIdentity {
    fn attest(&self, challenge: &[u8], licence_number: &str) -> Option<Vec<u8>> {
        // A provider that throws has not attested: the core refuses as a failed check.
        self.0
            .attest(challenge.to_vec(), licence_number.to_owned())
            .unwrap_or_else(|e| {
                tracing::warn!("the app's IdentityProvider threw {}", e.kind());
                None
            })
    }
}

/// The app's progress bar as the core sees it.
struct ForeignProgress(Arc<dyn UploadProgress>);

impl edl_core::wallet::UploadProgress for ForeignProgress {
    fn on_stage(&self, stage: edl_core::wallet::UploadStage) {
        // A progress bar that fails must not fail the upload it reports.
        if let Err(e) = self.0.on_stage(stage.into(), stage.fraction()) {
            tracing::warn!("the app's UploadProgress threw {}", e.kind());
        }
    }
}

/// The app's progress bar, if any, as the core sees it.
pub(crate) fn foreign_progress(
    progress: Option<Arc<dyn UploadProgress>>,
) -> Option<Arc<dyn edl_core::wallet::UploadProgress>> {
    progress.map(|p| Arc::new(ForeignProgress(p)) as Arc<dyn edl_core::wallet::UploadProgress>)
}

/// See `WalletObserver` in `udl/edl.udl`.
pub trait WalletObserver: Send + Sync {
    /// Called after each change.
    fn on_event(&self, event: WalletEvent) -> Result<(), EdlError>;

    /// For UniFFI's trait-interface scaffolding.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// The app's observer as the core sees it.
pub(crate) struct ForeignObserver(pub(crate) Arc<dyn WalletObserver>);

impl edl_core::wallet::WalletObserver for ForeignObserver {
    fn on_event(&self, event: edl_core::wallet::WalletEvent) {
        // The change is stored already; the app's failure is only worth a line in its log.
        if let Err(e) = self.0.on_event(event.into()) {
            tracing::warn!("the app's WalletObserver threw {}", e.kind());
        }
    }
}
