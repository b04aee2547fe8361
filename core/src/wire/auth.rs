//! How each party proves who it is to the authority.
//!
//! - **Wallet**: every request after enrolment is signed by the device key bound to the
//!   account. The signed message is
//!   `METHOD \n path-and-query \n timestamp \n nonce-hex \n hex(SHA-256(body))`
//!   under [`Purpose::Request`], so it can never pass as a presentation or a credential
//!   signature. The server also refuses a timestamp far from its clock and a nonce it has
//!   seen, so a captured request cannot be replayed. No password is stored anywhere.
//! - **Verifier**: an API key in [`HEADER_API_KEY`].
//! - **Admin and reviewers**: a bearer token in `Authorization`.

use crate::crypto::{self, PublicKey, Purpose, SecretKey, Signature, sha256};

/// The wallet's account id (decimal).
pub const HEADER_ACCOUNT: &str = "x-edl-account";
/// Unix seconds at which the wallet signed the request (decimal).
pub const HEADER_TIMESTAMP: &str = "x-edl-timestamp";
/// 16 random bytes, lower-case hex (32 characters), never reused by a device.
pub const HEADER_NONCE: &str = "x-edl-nonce";
/// The device's Ed25519 signature, standard base64 (88 characters).
pub const HEADER_SIGNATURE: &str = "x-edl-signature";
/// A verifier's API key.
pub const HEADER_API_KEY: &str = "x-edl-api-key";
/// The photo grant of a verify answer ([`super::VerifyResponse::photo_grant`]), sent with
/// the API key to fetch the photo it names (D155).
pub const HEADER_PHOTO_GRANT: &str = "x-edl-photo-grant";
/// The admin token goes in the standard header as `Bearer <token>`.
pub const HEADER_AUTHORIZATION: &str = "authorization";

/// How far (seconds) a request's timestamp may be from the server's clock, either way.
/// The server remembers nonces for at least twice this long.
pub const DEFAULT_MAX_SKEW: u64 = 300;

/// Why a signed request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A signature header is missing or not in its format.
    #[error("missing or malformed header `{0}`")]
    BadHeader(&'static str),
    /// The timestamp is more than the allowed skew from the server's clock.
    #[error("request timestamp outside the accepted window")]
    Stale,
    /// The signature does not verify with the account's device key.
    #[error("request signature does not verify")]
    BadSignature,
}

/// The signature headers of one wallet request (all but the account id, which names the
/// key to check them with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestAuth {
    /// Unix seconds at signing.
    pub timestamp: u64,
    /// Fresh random bytes.
    pub nonce: [u8; 16],
    /// The device signature over [`request_message`].
    pub signature: Signature,
}

/// The bytes a device signs for a request (before the domain tag):
/// `METHOD \n path-and-query \n timestamp \n nonce-hex \n hex(SHA-256(body))`.
///
/// The method is upper-cased; the path is exactly as sent, with its query string.
pub fn request_message(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    timestamp: u64,
    nonce: &[u8; 16],
) -> Vec<u8> {
    format!(
        "{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path_and_query,
        timestamp,
        hex::encode(nonce),
        hex::encode(sha256(body))
    )
    .into_bytes()
}

/// Signs a request with the device key. Time and the nonce come from the caller (this
/// module does no I/O); the nonce must be fresh random bytes.
pub fn sign_request(
    key: &SecretKey,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    timestamp: u64,
    nonce: [u8; 16],
) -> RequestAuth {
    let message = request_message(method, path_and_query, body, timestamp, &nonce);
    RequestAuth {
        timestamp,
        nonce,
        signature: crypto::sign(key, Purpose::Request, &message),
    }
}

impl RequestAuth {
    /// The four headers to send, with `account` as the account id.
    pub fn headers(&self, account: u64) -> [(&'static str, String); 4] {
        [
            (HEADER_ACCOUNT, account.to_string()),
            (HEADER_TIMESTAMP, self.timestamp.to_string()),
            (HEADER_NONCE, hex::encode(self.nonce)),
            (HEADER_SIGNATURE, super::Base64::encode(&self.signature.0)),
        ]
    }

    /// Reads the account id and the signature headers through `header` (a lookup by
    /// lower-case name). Checks formats only; [`RequestAuth::verify`] checks the rest.
    pub fn from_headers<'a>(
        header: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<(u64, RequestAuth), AuthError> {
        let get = |name: &'static str| header(name).ok_or(AuthError::BadHeader(name));
        let decimal = |name: &'static str| -> Result<u64, AuthError> {
            let text = get(name)?;
            // `u64::from_str` accepts a leading '+'; a canonical decimal does not have one.
            if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AuthError::BadHeader(name));
            }
            text.parse().map_err(|_| AuthError::BadHeader(name))
        };
        let account = decimal(HEADER_ACCOUNT)?;
        let timestamp = decimal(HEADER_TIMESTAMP)?;
        let nonce_text = get(HEADER_NONCE)?;
        let mut nonce = [0u8; 16];
        if nonce_text.len() != 32 || nonce_text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(AuthError::BadHeader(HEADER_NONCE));
        }
        hex::decode_to_slice(nonce_text, &mut nonce)
            .map_err(|_| AuthError::BadHeader(HEADER_NONCE))?;
        let signature = super::Base64::decode(get(HEADER_SIGNATURE)?)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(Signature)
            .ok_or(AuthError::BadHeader(HEADER_SIGNATURE))?;
        Ok((
            account,
            RequestAuth {
                timestamp,
                nonce,
                signature,
            },
        ))
    }

    /// Checks the timestamp against `now` (± `max_skew` seconds) and the signature
    /// against the device key. Whether the nonce was seen before is the server's check:
    /// it needs state.
    pub fn verify(
        &self,
        key: &PublicKey,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        now: u64,
        max_skew: u64,
    ) -> Result<(), AuthError> {
        if self.timestamp.abs_diff(now) > max_skew {
            return Err(AuthError::Stale);
        }
        let message = request_message(method, path_and_query, body, self.timestamp, &self.nonce);
        crypto::verify(key, Purpose::Request, &message, &self.signature)
            .map_err(|_| AuthError::BadSignature)
    }
}

/// The value of `Authorization` for a bearer `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_039_605;

    fn key() -> SecretKey {
        SecretKey::from_seed([0x42; 32])
    }

    fn signed() -> RequestAuth {
        sign_request(&key(), "post", "/v1/wallet/apply", b"{}", NOW, [7; 16])
    }

    fn lookup<'a>(headers: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    #[test]
    fn message_layout_is_the_documented_one() {
        let m = request_message("get", "/v1/wallet/sync?cursor=3", b"", 12, &[0xab; 16]);
        assert_eq!(
            String::from_utf8(m).unwrap(),
            "GET\n/v1/wallet/sync?cursor=3\n12\nabababababababababababababababab\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn signed_request_verifies_through_its_headers() {
        let auth = signed();
        let headers = auth.headers(17);
        let (account, parsed) = RequestAuth::from_headers(lookup(&headers)).unwrap();
        assert_eq!((account, parsed), (17, auth));
        let public = key().public();
        assert_eq!(
            parsed.verify(&public, "POST", "/v1/wallet/apply", b"{}", NOW + 299, 300),
            Ok(())
        );
    }

    #[test]
    fn any_change_to_the_request_breaks_the_signature() {
        let auth = signed();
        let public = key().public();
        let check = |m: &str, p: &str, b: &[u8]| auth.verify(&public, m, p, b, NOW, 300);
        assert_eq!(
            check("PUT", "/v1/wallet/apply", b"{}"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            check("POST", "/v1/wallet/photo", b"{}"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            check("POST", "/v1/wallet/apply", b"{ }"),
            Err(AuthError::BadSignature)
        );
        let other = SecretKey::from_seed([1; 32]).public();
        assert_eq!(
            auth.verify(&other, "POST", "/v1/wallet/apply", b"{}", NOW, 300),
            Err(AuthError::BadSignature)
        );
        let mut moved = auth;
        moved.timestamp += 1;
        assert_eq!(
            moved.verify(&public, "POST", "/v1/wallet/apply", b"{}", NOW, 300),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn stale_timestamps_are_refused_both_ways() {
        let auth = signed();
        let public = key().public();
        for now in [NOW + 301, NOW - 301] {
            assert_eq!(
                auth.verify(&public, "POST", "/v1/wallet/apply", b"{}", now, 300),
                Err(AuthError::Stale)
            );
        }
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        let good = signed().headers(5);
        let with = |name: &str, value: &str| {
            let mut h = good.clone();
            h.iter_mut().find(|(n, _)| *n == name).unwrap().1 = value.into();
            h
        };
        let cases = [
            (with(HEADER_ACCOUNT, "+5"), HEADER_ACCOUNT),
            (with(HEADER_ACCOUNT, "99999999999999999999"), HEADER_ACCOUNT),
            (with(HEADER_TIMESTAMP, "-1"), HEADER_TIMESTAMP),
            (with(HEADER_NONCE, "abc"), HEADER_NONCE),
            (with(HEADER_NONCE, &"AB".repeat(16)), HEADER_NONCE),
            (with(HEADER_NONCE, &"zz".repeat(16)), HEADER_NONCE),
            (with(HEADER_SIGNATURE, "AQ=="), HEADER_SIGNATURE),
            (with(HEADER_SIGNATURE, "not base64"), HEADER_SIGNATURE),
        ];
        for (headers, name) in cases {
            assert_eq!(
                RequestAuth::from_headers(lookup(&headers)),
                Err(AuthError::BadHeader(name))
            );
        }
        let missing: Vec<_> = good[1..].to_vec();
        assert_eq!(
            RequestAuth::from_headers(lookup(&missing)),
            Err(AuthError::BadHeader(HEADER_ACCOUNT))
        );
    }
}
