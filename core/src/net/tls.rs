//! TLS for the authority's API: rustls on *ring* (D30), checking the authority's certificate
//! with the platform's verifier, or, once the app has pinned them, against the authority's
//! own root certificates only.
//!
//! A platform without any root certificate (a Linux system without `ca-certificates`, a
//! container) gets a client that trusts no CA rather than no client (D47): `http://` and
//! pinned roots work as anywhere else, and an `https://` authority is
//! [`NetError::Untrusted`] at the handshake, not an internal error before it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;

use super::NetError;

/// The configuration every new client takes; `None` until first use or a change of roots.
static CONFIG: RwLock<Option<Arc<ClientConfig>>> = RwLock::new(None);
/// The pinned roots (DER), if the app set any.
static ROOTS: RwLock<Option<Vec<Vec<u8>>>> = RwLock::new(None);

/// Counts changes of the roots, so a client kept between calls knows it is stale.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Whether clients may talk plain HTTP to an authority that is not on this machine.
static PLAIN_HTTP: AtomicBool = AtomicBool::new(false);

/// Lets clients made from now on use a plain `http://` authority URL on another machine
/// (a test network without TLS); `false`, the default, refuses them with
/// [`NetError::InsecureUrl`]. Loopback addresses are always allowed: nothing crosses a
/// network there.
pub fn allow_plain_http(allow: bool) {
    PLAIN_HTTP.store(allow, Ordering::SeqCst);
}

/// Whether `url` may be used as an authority's: `https://` always, `http://` to loopback
/// or after the opt-in ([`allow_plain_http`]). The one rule of every client of the
/// authority: the core's, and the CLI's own for admin calls and lists (D172).
pub fn check_authority_url(url: &str) -> Result<(), NetError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| NetError::BadUrl)?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if PLAIN_HTTP.load(Ordering::SeqCst) => Ok(()),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(NetError::InsecureUrl)
            }
        }
        _ => Err(NetError::BadUrl),
    }
}

/// Whether requests to `url` must go straight to it, never through a proxy named by the
/// environment (`http_proxy`, `ALL_PROXY`): plain HTTP, which [`check_authority_url`]
/// allows to this machine only, would otherwise reach the proxy's machine in clear, secrets
/// and all (ninth review, P-F1). An `https://` authority may be reached through one: the
/// proxy only tunnels its TLS.
pub fn must_bypass_proxies(url: &str) -> bool {
    reqwest::Url::parse(url).map_or(true, |u| u.scheme() != "https")
}

/// Most roots an app may pin: an authority has a handful, and the list is kept in memory.
const MAX_ROOTS: usize = 16;

/// Trusts only `roots` (DER-encoded X.509 certificates) for the authority's TLS
/// certificate from now on, instead of the platform's verifier; `None` goes back to the
/// platform's. An `OnlineVerifier` made before the call keeps the trust it was made with;
/// a wallet's next call to the authority uses the new trust (D43).
///
/// Pinning the authority's roots means a certificate from any other CA, even one the phone
/// trusts (an intercepting proxy, a rogue CA), is refused. It is also how an Android app
/// reaches an HTTPS authority without the platform verifier's JNI set-up.
pub fn set_authority_roots(roots: Option<Vec<Vec<u8>>>) -> Result<(), NetError> {
    if let Some(roots) = &roots {
        // Checked now, so a bad certificate is the caller's error, not a later failure.
        build(Some(roots))?;
    }
    *ROOTS.write().unwrap_or_else(PoisonError::into_inner) = roots;
    *CONFIG.write().unwrap_or_else(PoisonError::into_inner) = None;
    GENERATION.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// How many times the roots were set: a wallet's kept client is rebuilt when it changes.
#[cfg_attr(not(feature = "wallet"), allow(dead_code))]
pub(super) fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// The configuration for a new client.
pub(super) fn config() -> Result<Arc<ClientConfig>, NetError> {
    if let Some(config) = CONFIG
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        return Ok(Arc::clone(config));
    }
    let roots = ROOTS.read().unwrap_or_else(PoisonError::into_inner).clone();
    let config = Arc::new(build(roots.as_deref())?);
    *CONFIG.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&config));
    Ok(config)
}

fn build(roots: Option<&[Vec<u8>]>) -> Result<ClientConfig, NetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| NetError::Internal)?;
    let builder = match roots {
        None => {
            use rustls_platform_verifier::BuilderVerifierExt;
            // On Linux the platform verifier fails to build when the system has no root
            // certificate (rustls-native-certs found none, or SSL_CERT_FILE/SSL_CERT_DIR name
            // empty places). That is no reason to refuse plain HTTP or pinned roots: an empty
            // root store refuses every certificate, which the handshake reports as untrusted.
            match builder.clone().with_platform_verifier() {
                Ok(builder) => builder,
                Err(_) => builder.with_root_certificates(rustls::RootCertStore::empty()),
            }
        }
        Some(roots) => {
            if roots.is_empty() || roots.len() > MAX_ROOTS {
                return Err(NetError::BadRoots);
            }
            let mut store = rustls::RootCertStore::empty();
            for der in roots {
                store
                    .add(CertificateDer::from(der.as_slice()))
                    .map_err(|_| NetError::BadRoots)?;
            }
            builder.with_root_certificates(store)
        }
    };
    Ok(builder.with_no_client_auth())
}

/// Whether a failed request failed on the authority's certificate (as opposed to no
/// network): rustls' certificate error sits inside I/O errors of the connection, which
/// `source()` skips over, so each I/O error is opened with `get_ref`.
pub(super) fn is_untrusted(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        let mut inner = err;
        while let Some(next) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            inner = next;
        }
        if let Some(rustls::Error::InvalidCertificate(_)) = inner.downcast_ref() {
            return true;
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_that_are_not_certificates_are_refused_and_change_nothing() {
        assert_eq!(
            set_authority_roots(Some(vec![b"not a certificate".to_vec()])),
            Err(NetError::BadRoots)
        );
        assert_eq!(set_authority_roots(Some(vec![])), Err(NetError::BadRoots));
        assert!(ROOTS.read().unwrap().is_none());
        assert!(config().is_ok());
    }
}
