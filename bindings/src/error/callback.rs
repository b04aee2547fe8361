//! What the app's callbacks throw, as the core's errors, and the key store's reasons both
//! ways (the core's `KeyWrapError`, the app's `KeyStoreFailure`).

use edl_core::wallet::store::KeyWrapError;

use super::{EdlError, KeyStoreFailure};

impl From<KeyWrapError> for KeyStoreFailure {
    fn from(e: KeyWrapError) -> Self {
        match e {
            KeyWrapError::WrongKey => KeyStoreFailure::WrongKey,
            KeyWrapError::Unavailable => KeyStoreFailure::Unavailable,
            KeyWrapError::KeyInvalidated => KeyStoreFailure::Invalidated,
            KeyWrapError::Malformed
            | KeyWrapError::Io(_)
            | KeyWrapError::BadKeyFile
            | KeyWrapError::BadParameters
            | KeyWrapError::Random
            | KeyWrapError::Platform(_)
            | KeyWrapError::NoRoundTrip
            | KeyWrapError::BadKeyLength => KeyStoreFailure::Failed,
        }
    }
}

impl From<KeyWrapError> for EdlError {
    fn from(e: KeyWrapError) -> Self {
        EdlError::KeyStore { reason: e.into() }
    }
}

impl EdlError {
    /// What the app's `KeyStore` threw, as the core's key-store error: a `KeyStore` variant
    /// keeps its reason; anything else is a platform failure (its text is not passed on).
    pub(crate) fn into_key_wrap_error(self) -> KeyWrapError {
        match self {
            EdlError::KeyStore { reason } => match reason {
                KeyStoreFailure::WrongKey => KeyWrapError::WrongKey,
                KeyStoreFailure::Unavailable => KeyWrapError::Unavailable,
                KeyStoreFailure::Invalidated => KeyWrapError::KeyInvalidated,
                KeyStoreFailure::Failed => KeyWrapError::Platform("key store failed".into()),
            },
            _ => KeyWrapError::Platform("key store failed".into()),
        }
    }
}

/// A callback (`KeyStore`, `IdentityProvider`, `UploadProgress`) threw something that is not
/// an `EdlError`, or the foreign side failed. Its text comes from foreign code and is not
/// passed on.
impl From<uniffi::UnexpectedUniFFICallbackError> for EdlError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        EdlError::Internal {
            detail: "a callback implemented by the app failed".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_foreign_key_store_throws_keeps_its_reason() {
        for reason in [
            KeyStoreFailure::WrongKey,
            KeyStoreFailure::Unavailable,
            KeyStoreFailure::Invalidated,
            KeyStoreFailure::Failed,
        ] {
            let back: KeyStoreFailure = EdlError::KeyStore { reason }.into_key_wrap_error().into();
            assert_eq!(back, reason);
        }
        let other: KeyStoreFailure = EdlError::Offline.into_key_wrap_error().into();
        assert_eq!(other, KeyStoreFailure::Failed);
    }
}
