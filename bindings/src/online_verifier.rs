//! `OnlineVerifier`: the verifier's online check at the authority, over
//! `edl_core::net::OnlineVerifier`.

use edl_core::net::OnlineVerifier as CoreOnlineVerifier;

use crate::error::{EdlError, InputKind};
use crate::types::OnlineVerification;

/// A verifier's client of the authority. The core's client is immutable and clones a
/// connection pool, so this is `Send + Sync` without a lock and checks may overlap.
#[derive(Debug)]
pub struct OnlineVerifier {
    inner: CoreOnlineVerifier,
}

impl OnlineVerifier {
    /// A client of the authority at `authority_url` with the verifier's `api_key`.
    pub fn new(authority_url: String, api_key: String) -> Result<Self, EdlError> {
        let api_key = zeroize::Zeroizing::new(api_key);
        Ok(OnlineVerifier {
            inner: CoreOnlineVerifier::new(&authority_url, &api_key)
                .map_err(EdlError::online_setup)?,
        })
    }

    /// Checks the bytes of an online QR.
    pub async fn verify_qr(&self, payload: Vec<u8>) -> Result<OnlineVerification, EdlError> {
        let answer = self.inner.verify_qr(&payload).await;
        answer
            .map(Into::into)
            .map_err(|e| EdlError::online(e, InputKind::Payload))
    }

    /// Checks the digits read off the barcode.
    pub async fn verify_barcode(&self, text: String) -> Result<OnlineVerification, EdlError> {
        let answer = self.inner.verify_barcode(&text).await;
        answer
            .map(Into::into)
            .map_err(|e| EdlError::online(e, InputKind::TypedCode))
    }

    /// Checks a licence number and a manual code.
    pub async fn verify_manual(
        &self,
        licence_number: String,
        code: String,
    ) -> Result<OnlineVerification, EdlError> {
        let answer = self.inner.verify_manual(&licence_number, &code).await;
        answer
            .map(Into::into)
            .map_err(|e| EdlError::online(e, InputKind::TypedCode))
    }

    /// The authority's root-signed trust list, unchecked: `Verifier.load_trust_list` checks.
    pub async fn fetch_signed_trust_list(&self) -> Result<Vec<u8>, EdlError> {
        let bytes = self.inner.signed_trust_list().await;
        bytes.map_err(EdlError::list_fetch)
    }

    /// The authority's signed status list, unchecked: `Verifier.load_status_list` checks.
    pub async fn fetch_status_list(&self) -> Result<Vec<u8>, EdlError> {
        let bytes = self.inner.status_list().await;
        bytes.map_err(EdlError::list_fetch)
    }

    /// The authority's current trust list, encoded as `Verifier` takes it.
    pub async fn fetch_trust_list(&self) -> Result<Vec<u8>, EdlError> {
        let trust = self.inner.trust_list().await;
        Ok(trust
            .map_err(|e| EdlError::online(e.into(), InputKind::ServerResponse))?
            .encode())
    }
}
