//! The HTTP client of the authority's API: plain and device-signed JSON requests, and the
//! mapping of answers to [`WalletError`]s.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::SecretKey;
use crate::wire::{ErrorBody, ErrorCode, sign_request};

use super::WalletError;

/// How long one request may take before the wallet counts the authority as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A device identity for signed requests: the account and the device key.
pub(crate) struct DeviceAuth {
    pub account: u64,
    pub key: SecretKey,
    /// The authority's clock now (unix seconds), from the wallet's offset.
    pub now: u64,
}

/// The authority's base URL and a connection pool.
#[derive(Clone)]
pub(crate) struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for the authority at `base` (`http://` or `https://`).
    pub fn new(base: &str) -> Result<Self, WalletError> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(WalletError::Protocol(
                "the authority URL must start with http:// or https://".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|_| WalletError::Internal)?;
        Ok(Client {
            base: base.to_owned(),
            http,
        })
    }

    /// An unsigned GET.
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, WalletError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(transport)?;
        answer(response).await
    }

    /// An unsigned POST of a JSON body.
    pub async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, WalletError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        answer(response).await
    }

    /// A device-signed request: `method path_and_query` with an optional JSON body.
    pub async fn signed<B: Serialize, R: DeserializeOwned>(
        &self,
        device: &DeviceAuth,
        method: Method,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<R, WalletError> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|_| WalletError::Internal)?,
            None => Vec::new(),
        };
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|_| WalletError::Internal)?;
        let auth = sign_request(
            &device.key,
            method.as_str(),
            path_and_query,
            &bytes,
            device.now,
            nonce,
        );
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.base));
        for (name, value) in auth.headers(device.account) {
            request = request.header(name, value);
        }
        if body.is_some() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        answer(request.send().await.map_err(transport)?).await
    }
}

/// A transport failure: the authority was not reached, or the answer did not arrive.
fn transport(e: reqwest::Error) -> WalletError {
    if e.is_decode() {
        WalletError::Protocol("unreadable answer".into())
    } else {
        WalletError::Offline
    }
}

/// Reads a success body, or turns the JSON error body into a [`WalletError`].
async fn answer<R: DeserializeOwned>(response: Response) -> Result<R, WalletError> {
    let status = response.status();
    let retry_header = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let bytes = response.bytes().await.map_err(transport)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|_| WalletError::Protocol("unexpected answer body".into()));
    }
    let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
    Err(error_from(status, body, retry_header))
}

fn error_from(
    status: StatusCode,
    body: Option<ErrorBody>,
    retry_header: Option<u64>,
) -> WalletError {
    let Some(body) = body else {
        return if status.is_server_error() {
            WalletError::Offline
        } else {
            WalletError::Protocol(format!("HTTP {status}"))
        };
    };
    let retry_after_secs = body.retry_after.or(retry_header).unwrap_or(60);
    use ErrorCode::*;
    match body.error {
        Busy => WalletError::Busy { retry_after_secs },
        LockedOut => WalletError::LockedOut { retry_after_secs },
        NotEligible => match body.reason {
            Some(reason) => WalletError::NotEligible(reason),
            None => WalletError::Rejected { code: NotEligible },
        },
        Unauthorized | BadSignature | StaleRequest | ReplayedRequest | BadActivationCode => {
            WalletError::Unauthorised(body.error)
        }
        // The server is down or restarting: to the driver that is the same as offline.
        Internal | Unavailable => WalletError::Offline,
        code => WalletError::Rejected { code },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: ErrorCode) -> Option<ErrorBody> {
        Some(ErrorBody::new(code, "x"))
    }

    #[test]
    fn busy_honours_the_retry_after_of_the_body_then_the_header() {
        let mut b = ErrorBody::new(ErrorCode::Busy, "busy");
        b.retry_after = Some(17);
        assert_eq!(
            error_from(StatusCode::TOO_MANY_REQUESTS, Some(b), Some(3)),
            WalletError::Busy {
                retry_after_secs: 17
            }
        );
        assert_eq!(
            error_from(
                StatusCode::TOO_MANY_REQUESTS,
                body(ErrorCode::Busy),
                Some(3)
            ),
            WalletError::Busy {
                retry_after_secs: 3
            }
        );
    }

    #[test]
    fn codes_map_to_what_an_app_can_act_on() {
        assert_eq!(
            error_from(
                StatusCode::UNAUTHORIZED,
                body(ErrorCode::ReplayedRequest),
                None
            ),
            WalletError::Unauthorised(ErrorCode::ReplayedRequest)
        );
        assert_eq!(
            error_from(
                StatusCode::SERVICE_UNAVAILABLE,
                body(ErrorCode::Unavailable),
                None
            ),
            WalletError::Offline
        );
        assert_eq!(
            error_from(StatusCode::BAD_GATEWAY, None, None),
            WalletError::Offline
        );
        assert_eq!(
            error_from(StatusCode::CONFLICT, body(ErrorCode::InvalidState), None),
            WalletError::Rejected {
                code: ErrorCode::InvalidState
            }
        );
        let mut b = ErrorBody::new(ErrorCode::NotEligible, "no");
        b.reason = Some(crate::licence::NotEligible::Suspended);
        assert_eq!(
            error_from(StatusCode::FORBIDDEN, Some(b), None),
            WalletError::NotEligible(crate::licence::NotEligible::Suspended)
        );
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(Client::new("ftp://x").is_err());
        assert!(Client::new("http://127.0.0.1:1/").is_ok());
    }
}
