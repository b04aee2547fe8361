//! The core's HTTPS client against the authority behind a TLS terminator on loopback, with
//! certificates made for the test: the platform's verifier refuses an unknown CA, pinned
//! roots let exactly their own certificates through, and the refusal is `Untrusted`, not
//! `Offline`. One test function, since the pinned roots are process-wide: while it runs,
//! they are pinned for every test of this binary too, which all reach the authority over
//! plain HTTP on loopback, where roots play no part (D200).

use crate::common;

use std::sync::Arc;

use common::*;
use edl_core::net::{NetError, OnlineVerifier, set_authority_roots};
use edl_core::wallet::Wallet;
use edl_core::wallet::store::SoftwareKeyStore;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};

/// A CA and a certificate it issued for 127.0.0.1, with the certificate's key.
struct Pki {
    ca_der: Vec<u8>,
    leaf: CertificateDer<'static>,
    leaf_key: PrivateKeyDer<'static>,
}

fn pki(name: &str) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    Pki {
        ca_der: ca.der().to_vec(),
        leaf: leaf.der().clone(),
        leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    }
}

/// Terminates TLS on a loopback port with `pki`'s certificate and passes the bytes on to
/// the authority at `upstream` (`127.0.0.1:port`). Returns the HTTPS base URL.
async fn tls_front(pki: &Pki, upstream: String) -> String {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![pki.leaf.clone()], pki.leaf_key.clone_key())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to pass on.
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut plain = TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_roots_admit_the_authoritys_certificate_and_refuse_every_other() {
    let t = TestServer::start().await;
    let upstream = t.url.trim_start_matches("http://").to_owned();
    let ours = pki("authority");
    let theirs = pki("intercepting proxy");
    let https = tls_front(&ours, upstream).await;
    let key = t.verifier("insurer", "insurer").await.api_key;
    let trust_list = |roots: Option<Vec<Vec<u8>>>| {
        let (https, key) = (https.clone(), key.clone());
        async move {
            set_authority_roots(roots).unwrap();
            OnlineVerifier::new(&https, &key)
                .unwrap()
                .trust_list()
                .await
        }
    };

    // The platform's roots do not hold a CA made a moment ago: refused, and not "offline".
    assert_eq!(trust_list(None).await, Err(NetError::Untrusted));
    // Pinned to another CA: the authority's own certificate is refused too.
    assert_eq!(
        trust_list(Some(vec![theirs.ca_der.clone()])).await,
        Err(NetError::Untrusted)
    );
    // Pinned to the authority's CA: the same list as over plain HTTP on loopback.
    let over_tls = trust_list(Some(vec![ours.ca_der.clone()])).await.unwrap();
    let plain = OnlineVerifier::new(&t.url, &key)
        .unwrap()
        .trust_list()
        .await
        .unwrap();
    assert_eq!(over_tls, plain);

    // The wallet's calls take the same roots: it enrols over HTTPS.
    let n = number(1);
    let code = t.activation_code(t.create_driver(&n, false).await).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new([3; 32]));
    let wallet = Wallet::open(dir.path(), &keys).unwrap();
    wallet.enrol(&https, &n, &code).await.unwrap();
    assert_eq!(wallet.enrolled().unwrap().unwrap().authority_url, https);

    // Bad roots are refused at once and leave the pinned ones in place.
    assert_eq!(
        set_authority_roots(Some(vec![b"not a certificate".to_vec()])),
        Err(NetError::BadRoots)
    );
    assert!(
        OnlineVerifier::new(&https, &key)
            .unwrap()
            .trust_list()
            .await
            .is_ok()
    );
    set_authority_roots(None).unwrap();
}

/// Set in the child process of the test below, which runs with no system root certificate.
const NO_ROOTS_CHILD: &str = "EDL_TEST_NO_SYSTEM_ROOTS";

/// On a system with no CA certificates at all (a Linux container without `ca-certificates`)
/// the platform's verifier cannot be built. Plain HTTP on loopback and pinned roots must
/// still work, and an unpinned HTTPS authority is `Untrusted` (D47): before, every call
/// failed with `Internal`. The empty root store is made for a child process of this test
/// binary (SSL_CERT_FILE and SSL_CERT_DIR point at nothing), which runs only this test; the
/// server and the TLS terminator stay in this process, whose HTTP client needs roots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_system_roots_plain_http_and_pinned_roots_work_and_https_is_untrusted() {
    if std::env::var_os(NO_ROOTS_CHILD).is_some() {
        return without_system_roots_child().await;
    }
    let t = TestServer::start().await;
    let ours = pki("authority");
    let https = tls_front(&ours, t.url.trim_start_matches("http://").to_owned()).await;
    let key = t.verifier("insurer", "insurer").await.api_key;
    let no_roots = tempfile::tempdir().unwrap();
    let test = "without_system_roots_plain_http_and_pinned_roots_work_and_https_is_untrusted";
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            &common::harness_name(module_path!(), test),
            "--nocapture",
        ])
        .env(NO_ROOTS_CHILD, "1")
        .env("SSL_CERT_FILE", no_roots.path().join("none.pem"))
        .env("SSL_CERT_DIR", no_roots.path())
        .env("EDL_TEST_HTTP", &t.url)
        .env("EDL_TEST_HTTPS", &https)
        .env("EDL_TEST_KEY", &key)
        .env("EDL_TEST_CA", hex::encode(&ours.ca_der));
    let out = tokio::task::spawn_blocking(move || child.output().unwrap())
        .await
        .unwrap();
    common::assert_child_passed(&out);
}

async fn without_system_roots_child() {
    let var = |name: &str| std::env::var(name).unwrap();
    let (http, https, key) = (
        var("EDL_TEST_HTTP"),
        var("EDL_TEST_HTTPS"),
        var("EDL_TEST_KEY"),
    );
    let trust_list = |url: String| {
        let key = key.clone();
        async move { OnlineVerifier::new(&url, &key)?.trust_list().await }
    };
    // Plain HTTP on loopback needs no certificate at all.
    trust_list(http).await.unwrap();
    // Nothing listening: the authority is unreachable, as on any other system.
    assert_eq!(
        trust_list("http://127.0.0.1:1".to_owned()).await,
        Err(NetError::Offline)
    );
    // An HTTPS authority with no root to check it against is not trusted.
    assert_eq!(trust_list(https.clone()).await, Err(NetError::Untrusted));
    // Pinned roots do not need the system's.
    set_authority_roots(Some(vec![hex::decode(var("EDL_TEST_CA")).unwrap()])).unwrap();
    trust_list(https).await.unwrap();
    set_authority_roots(None).unwrap();
}
