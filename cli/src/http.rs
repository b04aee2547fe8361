//! The authority's HTTP API as the CLI uses it: the admin calls (bearer token) and the
//! public trust and status lists. Every refusal becomes a one-line reason. (The online check goes
//! through the core's `net::OnlineVerifier`, as the bindings' does.)

use edl_core::licence::printable;
use edl_core::net::{BodyReadError, MAX_ANSWER_BYTES};
use edl_core::wire::{self, ErrorBody, bearer, paths};
use reqwest::Method;
use serde_json::Value;

/// The admin API of one authority.
pub struct Admin {
    http: reqwest::Client,
    url: String,
    token: String,
}

/// The CLI's HTTP client: it follows no redirect (a 3xx is a refusal: the data would go to
/// wherever it points, and its empty answer would read as done) and gives up on an
/// authority that does not answer (the CLI review, 2026-12-05), as the core's client does. For
/// the authority at `url` (checked already), straight to it when plain HTTP.
fn client(url: &str) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    // Plain HTTP goes straight to this machine, never through a proxy from the
    // environment, which could be another machine (ninth review, P-F1).
    if edl_core::net::must_bypass_proxies(url) {
        builder = builder.no_proxy();
    }
    builder
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        // No read waits longer than 30 s; a whole answer (a 4 MiB status list on a slow
        // link) may take up to 2 minutes.
        .read_timeout(std::time::Duration::from_secs(30))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|_| "cannot set up the HTTP client".to_owned())
}

/// `url` as an authority's, without its trailing slash: `https://`, or `http://` to this
/// machine only, the rule of the phone library and of `edl verify --authority` (D63,
/// D172). Checked before anything is sent: over plain HTTP to another host the admin token
/// would cross the network in clear, and a list fetched unchecked could be swapped.
fn authority_url(url: &str) -> Result<String, String> {
    edl_core::net::check_authority_url(url).map_err(|e| e.to_string())?;
    Ok(url.trim_end_matches('/').to_owned())
}

impl Admin {
    /// An admin client for the authority at `url` (no trailing slash needed).
    pub fn new(url: &str, token: &str) -> Result<Admin, String> {
        let url = authority_url(url)?;
        Ok(Admin {
            http: client(&url)?,
            url,
            token: token.to_owned(),
        })
    }

    /// Sends one admin request (`body` `Null`: none) and returns the JSON answer. A `busy`
    /// answer whose Retry-After is short is waited out and the request sent again, at most
    /// [`BUSY_TRIES`] times in all (D161): the authority kept nothing of it (D142).
    pub async fn call(&self, method: Method, path: &str, body: Value) -> Result<Value, String> {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.url))
                .header(wire::HEADER_AUTHORIZATION, bearer(&self.token));
            if !body.is_null() {
                req = req.json(&body);
            }
            let mut resp = req.send().await.map_err(unreachable)?;
            if resp.status() != reqwest::StatusCode::TOO_MANY_REQUESTS || tries == BUSY_TRIES {
                return answer(resp).await;
            }
            let wait = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let bytes = read_capped(&mut resp, MAX_ANSWER_BYTES).await?;
            let busy = serde_json::from_slice::<ErrorBody>(&bytes)
                .is_ok_and(|e| e.error == wire::ErrorCode::Busy);
            match wait {
                Some(secs) if busy && secs <= MAX_BUSY_WAIT_SECS => {
                    tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                }
                // A longer wait, or another refusal (a lock-out): the clerk's to decide.
                _ => return Err(refused(reqwest::StatusCode::TOO_MANY_REQUESTS, &bytes)),
            }
        }
    }
}

impl Admin {
    /// `GET path` of a binary admin answer (a photo), read up to `max` bytes: `None` when
    /// the authority says there is nothing there now (404 `unknown_id`, or 409
    /// `invalid_state` for a review decided since: the review of D223, U-2), the refusal
    /// for any other error. A 404 without the authority's word (an authority without the
    /// route, a proxy, a wrong prefix) is an error, not "none": a reviewer told nothing of
    /// a photo on file would take a change for a first application (the review of D224,
    /// AQ-5).
    pub async fn get_bytes(&self, path: &str, max: usize) -> Result<Option<Vec<u8>>, String> {
        let request = self
            .http
            .get(format!("{}{path}", self.url))
            .header(wire::HEADER_AUTHORIZATION, bearer(&self.token));
        let (status, bytes) = fetch_capped(request, max).await?;
        if status.is_success() {
            return Ok(Some(bytes));
        }
        let said = serde_json::from_slice::<ErrorBody>(&bytes).map(|e| e.error);
        match (status, said) {
            (reqwest::StatusCode::NOT_FOUND, Ok(wire::ErrorCode::UnknownId))
            | (reqwest::StatusCode::CONFLICT, Ok(wire::ErrorCode::InvalidState)) => Ok(None),
            _ => Err(refused(status, &bytes)),
        }
    }
}

/// `GET /v1/trust-list`: the issuer keys, as the encoded trust list.
pub async fn trust_list(url: &str) -> Result<Vec<u8>, String> {
    let url = authority_url(url)?;
    let resp = client(&url)?
        .get(format!("{url}{}", paths::TRUST_LIST))
        .send()
        .await
        .map_err(unreachable)?;
    let value = answer(resp).await?;
    let t: wire::TrustListResponse = serde_json::from_value(value)
        .map_err(|e| format!("unusable answer from the authority: {e}"))?;
    Ok(t.trust_list.into_bytes())
}

/// `GET path` of a binary answer (the signed trust list, the status list): the bytes
/// exactly as the authority served them, signature included. The list's bound (the core's
/// `MAX_TRUST_LIST_BYTES`, `MAX_STATUS_LIST_BYTES`, as the phone library reads them, D93)
/// caps what is read: a longer answer is refused before it fills memory (R16).
pub async fn bytes(url: &str, path: &str) -> Result<Vec<u8>, String> {
    let max = if path == paths::STATUS_LIST {
        edl_core::net::MAX_STATUS_LIST_BYTES
    } else {
        edl_core::net::MAX_TRUST_LIST_BYTES
    };
    let url = authority_url(url)?;
    let (status, bytes) = fetch_capped(client(&url)?.get(format!("{url}{path}")), max).await?;
    if status.is_success() {
        return Ok(bytes);
    }
    if status == reqwest::StatusCode::NOT_FOUND && path == paths::SIGNED_TRUST_LIST {
        return Err(
            "the authority serves no signed trust list: it was started without a \
                    root key (EDL_AUTHORITY_ROOT_KEY_FILE)"
                .into(),
        );
    }
    Err(refused(status, &bytes))
}

/// Sends `request` and reads its answer whole, up to `max` bytes: its status and body.
async fn fetch_capped(
    request: reqwest::RequestBuilder,
    max: usize,
) -> Result<(reqwest::StatusCode, Vec<u8>), String> {
    let mut resp = request.send().await.map_err(unreachable)?;
    let status = resp.status();
    Ok((status, read_capped(&mut resp, max).await?))
}

fn unreachable(e: reqwest::Error) -> String {
    if e.is_builder() {
        "invalid authority URL".to_owned()
    } else if e.is_timeout() {
        "the authority did not answer in time".to_owned()
    } else {
        "the authority cannot be reached".to_owned()
    }
}

/// The body of `resp`, refused once it passes `max` bytes, as the phone library reads it
/// (`edl_core::net::read_capped`): an answer without end does not fill memory (R16).
async fn read_capped(resp: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    edl_core::net::read_capped(resp, max)
        .await
        .map_err(|e| match e {
            BodyReadError::TooLarge => {
                format!("the authority's answer is larger than expected ({max} bytes)")
            }
            BodyReadError::Transport(_) => "the authority's answer was cut off".to_owned(),
        })
}

/// The JSON body of a 2xx answer, or the refusal as one line.
async fn answer(mut resp: reqwest::Response) -> Result<Value, String> {
    let status = resp.status();
    let bytes = read_capped(&mut resp, MAX_ANSWER_BYTES).await?;
    if status.is_success() {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(&bytes)
            .map_err(|_| "the authority's answer is not JSON".to_owned());
    }
    Err(refused(status, &bytes))
}

/// A non-2xx answer as one line.
fn refused(status: reqwest::StatusCode, body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => refusal(&e),
        Err(_) => format!("the authority answered HTTP {status}"),
    }
}

/// `refused (code_rejected): the code is wrong or expired`. The message is the authority's
/// text, printed only as it shows ([`printable`]), its runs of spaces made one and cut at
/// [`MAX_MESSAGE_CHARS`]: it can neither move the cursor, break the line, nor wrap onto
/// the next lines of a terminal to forge them (the CLI review).
pub fn refusal(e: &ErrorBody) -> String {
    let code = serde_json::to_value(e.error)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", e.error));
    let shown = printable(e.message.trim_end_matches('.'));
    let mut message: String = shown
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_MESSAGE_CHARS + 1)
        .collect();
    if message.chars().count() > MAX_MESSAGE_CHARS {
        message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
    }
    format!("refused ({code}): {message}")
}

/// The most of an authority's message a refusal line shows.
const MAX_MESSAGE_CHARS: usize = 120;

/// Tries of an admin call answered `busy` (D161), as the wallet's back-off (D151).
const BUSY_TRIES: u32 = 3;
/// The longest Retry-After of a `busy` answer that an admin call waits out by itself.
const MAX_BUSY_WAIT_SECS: u64 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_stable_code_in_one_line() {
        let e: ErrorBody = serde_json::from_value(serde_json::json!({
            "error": "code_rejected", "message": "the code is wrong or expired."
        }))
        .unwrap();
        assert_eq!(
            refusal(&e),
            "refused (code_rejected): the code is wrong or expired"
        );
        let e: ErrorBody = serde_json::from_value(serde_json::json!({
            "error": "bad_request", "message": "bad\r\u{1b}[1A✓ in force\n"
        }))
        .unwrap();
        assert_eq!(
            refusal(&e),
            "refused (bad_request): bad\u{FFFD}\u{FFFD}[1A✓ in force\u{FFFD}"
        );
        // Spaces that would wrap onto the next lines of a terminal, and a message without
        // end: one line, cut.
        let wrapped = format!("bad{}✓ in force", " ".repeat(200));
        let e: ErrorBody = serde_json::from_value(serde_json::json!({
            "error": "bad_request", "message": wrapped
        }))
        .unwrap();
        assert_eq!(refusal(&e), "refused (bad_request): bad ✓ in force");
        let e: ErrorBody = serde_json::from_value(serde_json::json!({
            "error": "bad_request", "message": "x".repeat(500)
        }))
        .unwrap();
        assert_eq!(
            refusal(&e).chars().count(),
            "refused (bad_request): ".len() + MAX_MESSAGE_CHARS + 1
        );
    }
}
