//! Device-signed requests: the wallet's calls, each signed with the device key over
//! method, path, body, time and a fresh nonce, so a captured request cannot be replayed.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::SecretKey;
use crate::wire::sign_request;

use super::NetError;
use super::client::{Client, send};

/// A device identity for signed requests: the account and the device key.
pub(crate) struct DeviceAuth {
    pub account: u64,
    pub key: SecretKey,
    /// The authority's clock now (unix seconds), from the wallet's offset.
    pub now: u64,
}

impl Client {
    /// A device-signed request: `method path_and_query` with an optional JSON body.
    #[cfg(feature = "wallet")]
    pub async fn signed<B: Serialize, R: DeserializeOwned>(
        &self,
        device: &DeviceAuth,
        method: Method,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<R, NetError> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|_| NetError::Internal)?,
            None => Vec::new(),
        };
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|_| NetError::Internal)?;
        let auth = sign_request(
            &device.key,
            method.as_str(),
            path_and_query,
            &bytes,
            device.now,
            nonce,
        );
        let mut request = self.http.request(method, self.url(path_and_query));
        for (name, value) in auth.headers(device.account) {
            request = request.header(name, value);
        }
        if body.is_some() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        send(request).await
    }
}
