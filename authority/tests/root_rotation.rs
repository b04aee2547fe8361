//! Root rotation from the server (D107): an authority configured with the next root
//! announces it in the list it serves, so an offline verifier that only ever refreshes
//! from the server follows the authority onto the new root and then refuses the old one.

use crate::common;

use common::*;
use edl_authority::error::Error;
use edl_authority::root::RootKey;
use edl_authority::server::{ServeError, serve};
use edl_core::credential::{TrustAnchor, TrustListRejection};
use edl_core::verify::OfflineTrust;
use edl_core::wire::paths;
use std::sync::Arc;

/// The root the authority moves to.
fn new_root() -> RootKey {
    RootKey::from_seed([0xB0; 32])
}

async fn signed_list(t: &TestServer) -> Vec<u8> {
    let resp = t
        .http
        .get(format!("{}{}", t.url, paths::SIGNED_TRUST_LIST))
        .send()
        .await
        .expect("answered");
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_verifier_follows_the_announced_root_and_then_refuses_the_old_one() {
    let old = edl_authority_root();
    let next = new_root().public();

    // A verifier that refreshed before the announcement: it cannot follow.
    let mut t = TestServer::start().await;
    let mut missed = OfflineTrust::pinned(old.public());
    missed
        .load_trust_list(&signed_list(&t).await, t.now(), 5)
        .unwrap();

    // The operator announces the next root: the served list carries it.
    t.clock.advance(3600);
    t.restart_with(|c| c.next_root = Some(next)).await;
    let announcing = signed_list(&t).await;
    let mut anchor = TrustAnchor::pinned(old.public());
    anchor.accept(&announcing, t.now(), 5).unwrap();
    assert_eq!(anchor.held().unwrap().next_root, Some(next));
    let mut verifier = OfflineTrust::pinned(old.public());
    verifier.load_trust_list(&announcing, t.now(), 5).unwrap();
    assert_eq!(verifier.root(), old.public(), "still the old root");

    // A day later the authority switches to the new root, announcing none; a verifier
    // refreshed in that hour just before the switch.
    t.clock.advance(24 * 3600);
    let mut same_hour = OfflineTrust::pinned(old.public());
    same_hour
        .load_trust_list(&signed_list(&t).await, t.now(), 5)
        .unwrap();
    t.restart_with(|c| {
        c.root = Some(Arc::new(new_root()));
        c.next_root = None;
    })
    .await;
    let rotated = signed_list(&t).await;
    let summary = verifier.load_trust_list(&rotated, t.now(), 5).unwrap();
    assert_eq!(verifier.root(), next, "the verifier now pins the new root");
    assert_eq!(summary.keys as usize, t.trust().await.keys().len());
    assert_eq!(
        missed.load_trust_list(&rotated, t.now(), 5),
        Err(TrustListRejection::BadRootSignature),
        "a verifier that never held an announcing list must be re-pinned"
    );

    // The same hour's list under another root is a tie: kept out until the next hour.
    assert!(matches!(
        same_hour.load_trust_list(&rotated, t.now(), 5),
        Err(TrustListRejection::RolledBack { .. })
    ));

    // The old root's lists are refused from now on, however new.
    t.clock.advance(3600);
    same_hour
        .load_trust_list(&signed_list(&t).await, t.now(), 5)
        .unwrap();
    assert_eq!(same_hour.root(), next);
    let by_old = old.sign(&t.trust().await, t.now(), None);
    assert_eq!(
        verifier.load_trust_list(&by_old, t.now(), 5),
        Err(TrustListRejection::BadRootSignature)
    );
    assert_eq!(
        verifier.load_trust_list(&announcing, t.now(), 5),
        Err(TrustListRejection::BadRootSignature)
    );
    // The server's next list is still taken.
    verifier
        .load_trust_list(&signed_list(&t).await, t.now(), 5)
        .unwrap();
}

#[tokio::test]
async fn the_server_refuses_to_announce_its_own_root_or_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let clock = edl_authority::clock::ManualClock::new(START);

    let mut same = config(dir.path().join("a.db"), &clock);
    same.next_root = Some(edl_authority_root().public());
    assert!(matches!(
        serve(same).await.err(),
        Some(ServeError::Database(Error::InvalidState(_)))
    ));

    let mut rootless = config(dir.path().join("b.db"), &clock);
    rootless.root = None;
    rootless.next_root = Some(new_root().public());
    assert!(matches!(
        serve(rootless).await.err(),
        Some(ServeError::Database(Error::InvalidState(_)))
    ));
}
