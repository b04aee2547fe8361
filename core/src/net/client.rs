//! The HTTP client of the authority's API: plain and API-key JSON requests (device-signed
//! ones are in `signed.rs`), and the mapping of answers to [`NetError`]s.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wire::{ErrorBody, ErrorCode, HEADER_API_KEY, HEADER_PHOTO_GRANT};

use super::body::{self, BodyReadError};
use super::{NetError, tls};
use rustls::ClientConfig;

/// How long one request may take before the client counts the authority as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The authority's base URL and a connection pool.
#[derive(Clone)]
pub(crate) struct Client {
    base: String,
    pub(super) http: reqwest::Client,
}

impl Client {
    /// A client for the authority at `base`: `https://`, or `http://` to this machine (or
    /// anywhere after [`super::allow_plain_http`]).
    pub fn new(base: &str) -> Result<Self, NetError> {
        let base = base.trim().trim_end_matches('/');
        tls::check_authority_url(base)?;
        let mut builder = reqwest::Client::builder();
        if tls::must_bypass_proxies(base) {
            builder = builder.no_proxy();
        }
        let http = builder
            .tls_backend_preconfigured(ClientConfig::clone(&*tls::config()?))
            // A redirect would carry the API key and the device-signed headers to an
            // origin the app never chose (and https → http); the authority never redirects.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|_| NetError::Internal)?;
        Ok(Client {
            base: base.to_owned(),
            http,
        })
    }

    /// An unsigned GET.
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, NetError> {
        send(self.http.get(self.url(path))).await
    }

    /// An unsigned POST of a JSON body, with when it was sent and its answer's head arrived.
    #[cfg(feature = "wallet")]
    pub async fn post_timed<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Timed<R>, NetError> {
        send_timed(self.http.post(self.url(path)).json(body)).await
    }

    /// A POST of a JSON body with a verifier's API key.
    pub async fn post_with_api_key<B: Serialize, R: DeserializeOwned>(
        &self,
        api_key: &str,
        path: &str,
        body: &B,
    ) -> Result<R, NetError> {
        let request = self
            .http
            .post(self.url(path))
            .header(HEADER_API_KEY, api_key_header(api_key)?);
        send(request.json(body)).await
    }

    /// A GET of a photo with a verifier's API key and the photo grant of its check (D155;
    /// none when the answer carried none); an answer over `max` bytes is refused before it
    /// is all read.
    pub async fn get_photo_with_api_key(
        &self,
        api_key: &str,
        grant: &str,
        path: &str,
        max: usize,
    ) -> Result<Vec<u8>, NetError> {
        let mut request = self
            .http
            .get(self.url(path))
            .header(HEADER_API_KEY, api_key_header(api_key)?);
        if !grant.is_empty() {
            // The grant is the answer's text: one that cannot be a header is the answer's
            // fault, not the key's.
            let mut value = HeaderValue::from_str(grant)
                .map_err(|_| NetError::Protocol("the photo grant cannot be sent"))?;
            value.set_sensitive(true);
            request = request.header(HEADER_PHOTO_GRANT, value);
        }
        read_bytes(request, max).await
    }

    /// An unsigned GET of a public binary resource (the signed trust list, the status
    /// list); an answer over `max` bytes is refused before it is all read.
    pub async fn get_bytes(&self, path: &str, max: usize) -> Result<Vec<u8>, NetError> {
        read_bytes(self.http.get(self.url(path)), max).await
    }

    /// The full URL of `path_and_query`.
    pub(super) fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }
}

/// Sends `request` and reads a binary answer of at most `max` bytes.
async fn read_bytes(request: RequestBuilder, max: usize) -> Result<Vec<u8>, NetError> {
    let mut response = request.send().await.map_err(transport)?;
    if !response.status().is_success() {
        // Every answer that is not a success is an error: the JSON body says which.
        return answer::<serde::de::IgnoredAny>(response)
            .await
            .and(Err(NetError::Protocol("unexpected answer body")));
    }
    read_capped(&mut response, max).await
}

/// The most a JSON answer may hold. The largest the authority sends is a sync page: a
/// 2 MiB photo in base64, the licence, a credential and 200 feed entries, under 4 MiB. A
/// larger answer is refused before it is all read, so a broken or hostile authority
/// cannot fill the phone's memory (the second hostile review's R13).
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The body of `response`, at most `max` bytes.
async fn read_capped(response: &mut Response, max: usize) -> Result<Vec<u8>, NetError> {
    body::read_capped(response, max).await.map_err(|e| match e {
        BodyReadError::TooLarge => NetError::Protocol("an answer larger than expected"),
        BodyReadError::Transport(e) => transport(e),
    })
}

/// The API key as a header value. A key that cannot even be a header value cannot be the
/// right one. Marked sensitive so the HTTP stack never prints it.
fn api_key_header(api_key: &str) -> Result<HeaderValue, NetError> {
    let mut key = HeaderValue::from_str(api_key)
        .map_err(|_| NetError::Unauthorised(ErrorCode::Unauthorized))?;
    key.set_sensitive(true);
    Ok(key)
}

/// Sends `request` and reads its answer.
pub(super) async fn send<R: DeserializeOwned>(request: RequestBuilder) -> Result<R, NetError> {
    answer(request.send().await.map_err(transport)?).await
}

/// An answer, and when the request that got it was sent and its status line and headers
/// arrived (the phone's clock): the one exchange a reading of the authority's clock is
/// taken from.
pub(crate) struct Timed<R> {
    pub answer: R,
    /// When this request was sent: not an earlier attempt's, so a request signed again
    /// after a stale refusal is read from its own exchange, not from the refused one and
    /// the trust list fetched between them (twenty-ninth review, AJ-F3). On the same wall
    /// clock as `head_at`: `head_at` less the exchange's duration by the boot clock
    /// (`elapsed.rs`).
    pub sent_at: SystemTime,
    /// When its answer's head had arrived. The authority stamps its time as it starts
    /// answering, and a body that downloads slowly (a sync page with a new photo, over a
    /// slow link) would otherwise move the reading by half its download (twenty-eighth
    /// review, AI-F1).
    pub head_at: SystemTime,
}

/// [`send`], with when the request was sent and its answer's head arrived.
pub(super) async fn send_timed<R: DeserializeOwned>(
    request: RequestBuilder,
) -> Result<Timed<R>, NetError> {
    let watch = super::elapsed::Stopwatch::start();
    let response = request.send().await.map_err(transport)?;
    let took = watch.elapsed();
    let head_at = SystemTime::now();
    // Both ends on the wall clock as it stood when the head came (AO-SY3): a step during
    // the exchange moves neither, and the boot clock counts a sleep in it (Q-3, T-3).
    let sent_at = head_at.checked_sub(took).unwrap_or(head_at);
    Ok(Timed {
        answer: answer(response).await?,
        sent_at,
        head_at,
    })
}

/// A transport failure: the authority was not reached, or the answer did not arrive.
fn transport(e: reqwest::Error) -> NetError {
    // reqwest's text can hold the URL (and its query): only the kind is logged.
    if e.is_decode() {
        tracing::warn!("the authority's answer could not be read");
        NetError::Protocol("unreadable answer")
    } else if tls::is_untrusted(&e) {
        tracing::warn!("the authority's TLS certificate is not trusted");
        NetError::Untrusted
    } else {
        tracing::info!(
            timeout = e.is_timeout(),
            connect = e.is_connect(),
            "the authority was not reached"
        );
        NetError::Offline
    }
}

/// Reads a success body, or turns the JSON error body into a [`NetError`].
async fn answer<R: DeserializeOwned>(mut response: Response) -> Result<R, NetError> {
    let status = response.status();
    let retry_header = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Wiped once parsed: a sync answer carries the TOTP seed (R14).
    let bytes = zeroize::Zeroizing::new(read_capped(&mut response, MAX_ANSWER_BYTES).await?);
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|_| NetError::Protocol("unexpected answer body"));
    }
    let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
    // The code, never the body's message: it is the server's text.
    match body.as_ref().map(|b| b.error) {
        Some(code) if status.is_server_error() => {
            tracing::warn!(status = status.as_u16(), %code, "the authority failed the request")
        }
        Some(code) => tracing::info!(status = status.as_u16(), %code, "the authority refused"),
        None => tracing::warn!(
            status = status.as_u16(),
            "an error answer without a JSON body"
        ),
    }
    Err(error_from(status, body, retry_header))
}

fn error_from(status: StatusCode, body: Option<ErrorBody>, retry_header: Option<u64>) -> NetError {
    if status.is_redirection() {
        return NetError::Protocol("a redirect, which is not followed");
    }
    let Some(body) = body else {
        return if status.is_server_error() {
            NetError::Offline
        } else {
            NetError::Protocol("an error without a JSON body")
        };
    };
    let retry_after_secs = body.retry_after.or(retry_header).unwrap_or(60);
    use ErrorCode::*;
    match body.error {
        Busy => NetError::Busy { retry_after_secs },
        LockedOut => NetError::LockedOut { retry_after_secs },
        NotEligible => match body.reason {
            Some(reason) => NetError::NotEligible(reason),
            None => NetError::Rejected { code: NotEligible },
        },
        Unauthorized | Forbidden | BadSignature | StaleRequest | ReplayedRequest
        | BadActivationCode => NetError::Unauthorised(body.error),
        // The server is down or restarting, or the request was too slow to reach it: to
        // the driver that is the same as offline (and retried as such).
        Internal | Unavailable | RequestTimeout => NetError::Offline,
        code => NetError::Rejected { code },
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
            NetError::Busy {
                retry_after_secs: 17
            }
        );
        assert_eq!(
            error_from(
                StatusCode::TOO_MANY_REQUESTS,
                body(ErrorCode::Busy),
                Some(3)
            ),
            NetError::Busy {
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
            NetError::Unauthorised(ErrorCode::ReplayedRequest)
        );
        assert_eq!(
            error_from(
                StatusCode::SERVICE_UNAVAILABLE,
                body(ErrorCode::Unavailable),
                None
            ),
            NetError::Offline
        );
        // Too slow to arrive: nothing was decided, so sent again like any lost request,
        // not a final refusal (T-F2).
        assert_eq!(
            error_from(
                StatusCode::REQUEST_TIMEOUT,
                body(ErrorCode::RequestTimeout),
                None
            ),
            NetError::Offline
        );
        assert_eq!(
            error_from(StatusCode::BAD_GATEWAY, None, None),
            NetError::Offline
        );
        assert_eq!(
            error_from(StatusCode::CONFLICT, body(ErrorCode::InvalidState), None),
            NetError::Rejected {
                code: ErrorCode::InvalidState
            }
        );
        let mut b = ErrorBody::new(ErrorCode::NotEligible, "no");
        b.reason = Some(crate::licence::NotEligible::Suspended);
        assert_eq!(
            error_from(StatusCode::FORBIDDEN, Some(b), None),
            NetError::NotEligible(crate::licence::NotEligible::Suspended)
        );
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(Client::new("ftp://x").is_err());
        assert!(Client::new("http://127.0.0.1:1/").is_ok());
        // The TLS configuration (ring, platform verifier) builds here too.
        assert!(Client::new("https://authority.example").is_ok());
    }
}
