//! Device-signed requests: the wallet's calls, each signed with the device key over
//! method, path, body, time and a fresh nonce, so a captured request cannot be replayed.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::SecretKey;
use crate::wire::sign_request;
#[cfg(feature = "wallet")]
use crate::wire::{ErrorCode, TrustListResponse, paths};

use super::NetError;
use super::client::{Client, Timed, send_timed};

/// A device identity for signed requests: the account and the device key.
pub(crate) struct DeviceAuth {
    pub account: u64,
    pub key: SecretKey,
    /// The authority's clock now (unix seconds), from the wallet's offset.
    pub now: u64,
}

impl Client {
    /// A device-signed request: `method path_and_query` with an optional JSON body.
    ///
    /// Signed at `device.now`, the authority's time as the wallet's clock offset tells
    /// it. If the authority refuses that time as stale, the offset is wrong: the phone's
    /// clock moved since the last exchange, or an answer set it badly. Then the
    /// authority's time is read from an unsigned answer (the trust list carries it) and
    /// the request is signed again once, with a new nonce; a sync then stores the new
    /// offset. Before, every signed request of that wallet was refused for good (the
    /// second hostile review's R9).
    #[cfg(feature = "wallet")]
    pub async fn signed<B: Serialize, R: DeserializeOwned>(
        &self,
        device: &DeviceAuth,
        method: Method,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<R, NetError> {
        let timed = self
            .signed_timed(device, method, path_and_query, body)
            .await?;
        Ok(timed.answer)
    }

    /// [`Client::signed`], with when the answered attempt was sent and its answer's head
    /// arrived (for a clock reading).
    #[cfg(feature = "wallet")]
    pub async fn signed_timed<B: Serialize, R: DeserializeOwned>(
        &self,
        device: &DeviceAuth,
        method: Method,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<Timed<R>, NetError> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|_| NetError::Internal)?,
            None => Vec::new(),
        };
        let first = self
            .signed_at(device, device.now, method.clone(), path_and_query, &bytes)
            .await;
        match first {
            Err(NetError::Unauthorised(ErrorCode::StaleRequest)) => {
                let time: TrustListResponse = self.get(paths::TRUST_LIST).await?;
                tracing::info!(
                    "the authority refused this device's clock; signing again at its time"
                );
                self.signed_at(device, time.server_time, method, path_and_query, &bytes)
                    .await
            }
            other => other,
        }
    }

    #[cfg(feature = "wallet")]
    async fn signed_at<R: DeserializeOwned>(
        &self,
        device: &DeviceAuth,
        now: u64,
        method: Method,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<Timed<R>, NetError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|_| NetError::Internal)?;
        let auth = sign_request(
            &device.key,
            method.as_str(),
            path_and_query,
            body,
            now,
            nonce,
        );
        let mut request = self.http.request(method, self.url(path_and_query));
        for (name, value) in auth.headers(device.account) {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        send_timed(request).await
    }
}
