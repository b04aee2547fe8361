//! Extractors that turn every kind of bad input into the JSON error body: bodies,
//! path ids, queries, and the three kinds of caller authentication.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{
    FromRequest, FromRequestParts, MatchedPath, Path, Query, RawPathParams, Request,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use edl_core::crypto::PublicKey;
use edl_core::wire::{AuthError, BAD_BASE64, HEADER_API_KEY, HEADER_AUTHORIZATION, RequestAuth};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::forwarded;
use crate::roles::{self, Needs};
use crate::service::App;
use crate::store::{AuditEntry, DriverId, VerifierRow};

/// Shared state of every handler.
pub type AppState = Arc<App>;

/// Parses a JSON body. Messages say where and what kind of problem, never the text
/// (request bodies carry personal data and secrets).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    // Every request body is an object; serde would also take a struct as an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::BadRequest("the body must be a JSON object".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        if e.to_string().contains(BAD_BASE64) {
            return Error::BadBase64;
        }
        let what = match e.classify() {
            serde_json::error::Category::Eof => "the JSON body ends early",
            serde_json::error::Category::Syntax => "the body is not valid JSON",
            // A misspelt optional field would otherwise have been read as its default
            // (twenty-seventh review, AH-F4); the name is not quoted, like any input.
            serde_json::error::Category::Data if e.to_string().starts_with("unknown field") => {
                "the JSON has a field this endpoint does not take"
            }
            serde_json::error::Category::Data => {
                "the JSON does not have the expected fields and types"
            }
            serde_json::error::Category::Io => "the body could not be read",
        };
        Error::BadRequest(format!("{what} (line {}, column {})", e.line(), e.column()))
    })
}

async fn read_body(req: Request, state: &AppState) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge
        } else {
            Error::BadRequest("the body could not be read".into())
        }
    })
}

/// A JSON body of type `T`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(Body)
    }
}

/// A JSON body of type `T`, or `T::default()` when the body is empty.
pub struct OptionalBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(T::default()));
        }
        parse_json(&bytes).map(OptionalBody)
    }
}

/// No body (an empty one, or `{}`): endpoints that take none still refuse a body rather
/// than ignore it, so a client bug does not go unnoticed.
pub struct NoBody;

fn is_empty_body(bytes: &[u8]) -> bool {
    let trimmed: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    trimmed.is_empty() || trimmed == b"{}"
}

impl FromRequest<AppState> for NoBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let bytes = read_body(req, state).await?;
        if !is_empty_body(&bytes) {
            return Err(Error::BadRequest("this endpoint takes no body".into()));
        }
        Ok(NoBody)
    }
}

/// A decimal id in the path.
pub struct Id(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        Path::<u64>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Id(id))
            .map_err(|_| Error::BadRequest("the path id must be a decimal number".into()))
    }
}

/// Query parameters of type `T`.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|_| Error::BadRequest("the query parameters are malformed".into()))
    }
}

/// The address a connection came from, put on each request by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// The client's address, when known (a router served without the accept loop, as in
/// some tests, has none), as the per-source limits count it (D75): the peer of the TCP
/// connection, or, when that peer is one of `Config::trusted_proxies`, the client its
/// `X-Forwarded-For` names ([`forwarded::client_address`]; AH-F3, D199). Without a
/// trusted proxy listed, a balancer in front is one source for every client behind it.
pub struct Source(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for Source {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Error> {
        // Without a peer nobody vouches for the header: it is not read.
        let Some(peer) = parts.extensions.get::<PeerAddr>().map(|p| p.0.ip()) else {
            return Ok(Source(None));
        };
        let lines: Vec<&[u8]> = parts
            .headers
            .get_all(forwarded::X_FORWARDED_FOR)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect();
        Ok(Source(Some(forwarded::client_address(
            peer,
            &app.config.trusted_proxies,
            lines,
        ))))
    }
}

/// An admin whose token has the role `R` needs (`roles.rs`, D78). Every call by a known
/// token is written to the audit log before the handler runs, refused ones too; if the
/// log cannot be written the call is not made.
pub struct Admin<R>(PhantomData<R>);

impl<R: Needs> FromRequestParts<AppState> for Admin<R> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Error> {
        let given = parts
            .headers
            .get(HEADER_AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(Error::Unauthorized)?;
        let token = roles::find(&app.admins, given).ok_or(Error::Unauthorized)?;
        let allowed = token.roles.contains(&R::ROLE);
        // The route the router matched, its parameter as `{id}`, and the id (a driver or
        // photo id) apart, read as the handler reads it: percent-decoded, so `%31` is
        // audited as the driver 1 it acts on (D121). Never anything
        // from the body or the query.
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or("", |m| m.as_str())
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "{id}"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let target = RawPathParams::from_request_parts(parts, app)
            .await
            .ok()
            .and_then(|params| params.iter().next().and_then(|(_, id)| id.parse().ok()));
        app.store
            .append_audit(AuditEntry {
                at: app.now(),
                actor: token.name.clone(),
                role: R::ROLE.as_str().to_owned(),
                action: format!("{} {route}", parts.method),
                target,
                allowed,
            })
            .await?;
        if !allowed {
            tracing::warn!(role = R::ROLE.as_str(), "admin call refused: role");
            return Err(Error::Forbidden);
        }
        Ok(Admin(PhantomData))
    }
}

/// A verifier, by its API key.
pub struct Verifier(pub VerifierRow);

impl FromRequestParts<AppState> for Verifier {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Error> {
        let key = parts
            .headers
            .get(HEADER_API_KEY)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::Unauthorized)?;
        app.verifier(key).await.map(Verifier)
    }
}

/// A place among the photo uploads read at once (`Config::max_photo_uploads`), held until
/// the handler ends; taken before the body is read, so half-sent uploads cannot hold more
/// than that many bodies (D135). None free: 429 `busy` with Retry-After.
pub struct UploadSlot(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

/// How long an upload refused for want of a slot is told to wait.
const UPLOAD_RETRY_AFTER: u64 = 5;

impl FromRequestParts<AppState> for UploadSlot {
    type Rejection = Error;

    async fn from_request_parts(_: &mut Parts, app: &AppState) -> Result<Self, Error> {
        app.photo_uploads
            .clone()
            .try_acquire_owned()
            .map(UploadSlot)
            .map_err(|_| {
                tracing::warn!("photo upload refused: every upload slot is taken");
                Error::Busy {
                    retry_after: UPLOAD_RETRY_AFTER,
                }
            })
    }
}

/// A wallet request signed by the account's device key: the signature, timestamp and
/// nonce are checked (the nonce recorded, durably) before the handler runs.
pub struct Signed {
    /// The account (driver) that signed.
    pub account: DriverId,
    /// The raw body (what was signed).
    pub body: Bytes,
    /// Signed by the device that passed the real-person check (it may see personal data).
    pub checked: bool,
    /// Signed by the device enrolled last. A previous, checked device whose e-licence is
    /// still in force keeps syncing until the new one passes its check (D76).
    pub current: bool,
}

impl Signed {
    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(&self.body)
    }

    /// Refuses a request from a previous device on an endpoint for the current one.
    pub fn current(&self) -> Result<(), Error> {
        if self.current {
            Ok(())
        } else {
            Err(Error::UnknownAccount)
        }
    }

    /// Refuses a device that has not passed the real-person check (D76): it may ask for
    /// a challenge, apply and sync (without personal data), nothing that reads or changes
    /// the driver's photo (D121): an intercepted activation code opens nothing else.
    pub fn identity_checked(&self) -> Result<(), Error> {
        if self.checked {
            Ok(())
        } else {
            Err(Error::IdentityCheckRequired)
        }
    }

    /// Refuses a body on an endpoint that takes none (see [`NoBody`]).
    pub fn no_body(&self) -> Result<(), Error> {
        if is_empty_body(&self.body) {
            Ok(())
        } else {
            Err(Error::BadRequest("this endpoint takes no body".into()))
        }
    }
}

/// A stand-in key to check a request for an account with no device against, so that it
/// costs what a check against a device's key costs. Its seed is no secret: the check's
/// outcome is ignored, and such a request is refused whatever it says.
/// It is kept as the bytes a device's key is stored as, and decoded per request as one is
/// (twenty-eighth review, AI-F3).
fn nobody_s_key() -> crate::store::Bytes32 {
    static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    crate::store::Bytes32(*KEY.get_or_init(|| {
        edl_core::crypto::SecretKey::from_seed([0x4e; 32])
            .public()
            .to_bytes()
    }))
}

impl FromRequest<AppState> for Signed {
    type Rejection = Error;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Error> {
        let (account, auth) = RequestAuth::from_headers(|name| {
            req.headers().get(name).and_then(|v| v.to_str().ok())
        })?;
        let method = req.method().as_str().to_owned();
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| req.uri().path().to_owned());
        // What needs no body is checked before the body is read (up to 3 MiB for a
        // photo): a stale request holds nothing (D135).
        if auth.timestamp.abs_diff(app.now()) > app.config.max_request_skew {
            return Err(AuthError::Stale.into());
        }
        // The body is read before the account is looked up, and for an id with no device a
        // signature is checked all the same, against a stand-in key: ids are
        // sequential, and an answer, or its time, or whether the body was waited for
        // (`100 Continue`), that differed counted the enrolled wallets (third hostile
        // review, C-F9; twenty-seventh, AH-F1).
        let body = read_body(req, app).await?;
        let verify = |k: Option<crate::store::Bytes32>| {
            let key = k
                .and_then(|k| PublicKey::from_bytes(&k.0).ok())
                .ok_or(Error::UnknownAccount)?;
            auth.verify(
                &key,
                &method,
                &path,
                &body,
                app.now(),
                app.config.max_request_skew,
            )
            .map_err(Error::from)
        };
        let Some(driver) = app
            .store
            .driver(account)
            .await?
            .filter(|d| d.device_key.is_some())
        else {
            let _ = verify(Some(nobody_s_key()));
            return Err(Error::Auth(AuthError::BadSignature));
        };
        let current = verify(driver.device_key);
        let signer = match current {
            Ok(()) => driver.device_key,
            // The checked device, replaced by one not yet checked: it may still sync.
            Err(e) if driver.identity_key != driver.device_key => {
                verify(driver.identity_key).map_err(|_| e)?;
                driver.identity_key
            }
            Err(e) => return Err(e),
        };
        let checked = signer.is_some() && signer == driver.identity_key;
        let is_current = signer == driver.device_key;
        // Recorded only after the signature holds, so forged requests cannot fill the
        // table; a nonce recorded twice is a replay.
        if !app
            .store
            .record_nonce(account, auth.nonce, auth.timestamp)
            .await?
        {
            return Err(Error::Replayed);
        }
        Ok(Signed {
            account,
            body,
            checked,
            current: is_current,
        })
    }
}
