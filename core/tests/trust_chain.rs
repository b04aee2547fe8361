//! The root-signed trust list: pinning, forgery, expiry, rollback and root rotation.

use edl_core::credential::{
    Issuer, TrustAnchor, TrustList, TrustListContents, TrustListRejection, open_trust_list,
};
use edl_core::crypto::{KeyId, SecretKey};
use edl_core::sample;

const NOW: u64 = 1_795_572_000;
const DAY: u32 = 24 * 3600;
const SKEW: u32 = 5;

fn root() -> SecretKey {
    SecretKey::from_seed([0xA0; 32])
}

fn contents(sequence: u32) -> TrustListContents {
    let issuer = Issuer::new(KeyId(1), SecretKey::from_seed(sample::ISSUER_SEED));
    TrustListContents {
        sequence,
        issued_at: NOW as u32 - 60,
        expires_at: NOW as u32 + 7 * DAY,
        next_root: None,
        keys: TrustList::new(vec![issuer.trusted_key(0)]).unwrap(),
    }
}

#[test]
fn a_list_signed_by_the_pinned_root_is_accepted() {
    let bytes = contents(1).sign(&root());
    let mut anchor = TrustAnchor::pinned(root().public());
    let keys = anchor.accept(&bytes, NOW, SKEW).unwrap();
    assert_eq!(keys, &contents(1).keys);
    assert_eq!(anchor.sequence(), Some(1));
    assert_eq!(
        open_trust_list(&root().public(), &bytes, NOW, SKEW).unwrap(),
        contents(1)
    );
}

#[test]
fn a_list_signed_by_another_key_is_refused() {
    // Signed by the issuing key itself (as before the root existed), or by another root.
    for forger in [
        SecretKey::from_seed(sample::ISSUER_SEED),
        SecretKey::from_seed([0xA1; 32]),
    ] {
        let bytes = contents(1).sign(&forger);
        let mut anchor = TrustAnchor::pinned(root().public());
        assert_eq!(
            anchor.accept(&bytes, NOW, SKEW),
            Err(TrustListRejection::BadRootSignature)
        );
        assert_eq!(anchor.trust_list(NOW), Err(TrustListRejection::NoList));
    }
}

#[test]
fn an_unsigned_list_is_refused_as_unsigned() {
    let bare = contents(1).keys.encode();
    assert_eq!(
        TrustAnchor::pinned(root().public()).accept(&bare, NOW, SKEW),
        Err(TrustListRejection::Unsigned)
    );
    // The signed layout with its signature cut off.
    let signed = contents(1).sign(&root());
    assert!(
        TrustAnchor::pinned(root().public())
            .accept(&signed[..signed.len() - 64], NOW, SKEW)
            .is_err()
    );
}

#[test]
fn an_expired_list_is_refused_and_a_held_one_expires() {
    let bytes = contents(1).sign(&root());
    let expiry = u64::from(contents(1).expires_at);
    let mut anchor = TrustAnchor::pinned(root().public());
    assert_eq!(
        anchor.accept(&bytes, expiry, SKEW),
        Err(TrustListRejection::Expired)
    );
    anchor.accept(&bytes, expiry - 1, SKEW).unwrap();
    assert!(anchor.trust_list(expiry - 1).is_ok());
    assert_eq!(anchor.trust_list(expiry), Err(TrustListRejection::Expired));
    // A list from the future is not accepted either.
    let early = u64::from(contents(1).issued_at) - u64::from(SKEW) - 1;
    assert_eq!(
        TrustAnchor::pinned(root().public()).accept(&bytes, early, SKEW),
        Err(TrustListRejection::NotYetValid)
    );
}

#[test]
fn an_older_list_is_refused_as_a_rollback() {
    let mut anchor = TrustAnchor::pinned(root().public());
    anchor
        .accept(&contents(5).sign(&root()), NOW, SKEW)
        .unwrap();
    assert_eq!(
        anchor.accept(&contents(4).sign(&root()), NOW, SKEW),
        Err(TrustListRejection::RolledBack {
            held: 5,
            offered: 4
        })
    );
    // Another list under the same number is refused too; the same list is a refresh.
    let mut other = contents(5);
    other.expires_at += 1;
    assert_eq!(
        anchor.accept(&other.sign(&root()), NOW, SKEW),
        Err(TrustListRejection::RolledBack {
            held: 5,
            offered: 5
        })
    );
    anchor
        .accept(&contents(5).sign(&root()), NOW, SKEW)
        .unwrap();
    anchor
        .accept(&contents(6).sign(&root()), NOW, SKEW)
        .unwrap();
    assert_eq!(anchor.sequence(), Some(6));
}

#[test]
fn the_root_rotates_through_a_list_that_names_the_next_root() {
    let next = SecretKey::from_seed([0xB0; 32]);
    let mut announcing = contents(1);
    announcing.next_root = Some(next.public());
    let by_next = contents(2).sign(&next);

    // A verifier that never saw the announcement does not trust the new root.
    let mut unaware = TrustAnchor::pinned(root().public());
    assert_eq!(
        unaware.accept(&by_next, NOW, SKEW),
        Err(TrustListRejection::BadRootSignature)
    );

    let mut anchor = TrustAnchor::pinned(root().public());
    anchor.accept(&announcing.sign(&root()), NOW, SKEW).unwrap();
    anchor.accept(&by_next, NOW, SKEW).unwrap();
    assert_eq!(anchor.root(), next.public());
    // Once rotated, the old root's lists are no longer accepted.
    assert_eq!(
        anchor.accept(&contents(3).sign(&root()), NOW, SKEW),
        Err(TrustListRejection::BadRootSignature)
    );
}

/// An announcement is followed only while the list that made it holds: once it has
/// expired the verifier holds no trust list (as PROTOCOL.md says), and a list signed by the
/// root it named is refused like any other root's. Otherwise an announcement withdrawn
/// (the next root's key leaked, the rotation abandoned) could never be taken back from a
/// scanner idle since, and whoever held that key was trusted with no time limit
/// (thirtieth review, AK-F5: a list by the named root was taken 30 days after).
#[test]
fn the_next_root_of_an_expired_list_is_not_followed() {
    let next = SecretKey::from_seed([0xB0; 32]);
    let mut announcing = contents(1);
    announcing.next_root = Some(next.public());
    let expires = u64::from(announcing.expires_at);
    let mut anchor = TrustAnchor::pinned(root().public());
    anchor.accept(&announcing.sign(&root()), NOW, SKEW).unwrap();
    let later = expires + 30 * u64::from(DAY);
    assert_eq!(
        anchor.accept(&by_next_at(&next, later), later, SKEW),
        Err(TrustListRejection::BadRootSignature)
    );
    assert_eq!(anchor.root(), root().public(), "the pinned root is kept");
    // One second before the announcing list expires, the next root is still followed.
    let mut anchor = TrustAnchor::pinned(root().public());
    anchor.accept(&announcing.sign(&root()), NOW, SKEW).unwrap();
    anchor
        .accept(&by_next_at(&next, expires - 1), expires - 1, SKEW)
        .unwrap();
    assert_eq!(anchor.root(), next.public());
}

/// A list signed by `next`, issued a minute before `at`.
fn by_next_at(next: &SecretKey, at: u64) -> Vec<u8> {
    TrustListContents {
        issued_at: at as u32 - 60,
        expires_at: at as u32 + 7 * DAY,
        ..contents(2)
    }
    .sign(next)
}

#[test]
fn flipping_any_single_bit_of_a_signed_list_is_refused() {
    let mut with_next = contents(7);
    with_next.next_root = Some(SecretKey::from_seed([0xB0; 32]).public());
    let bytes = with_next.sign(&root());
    for i in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        assert!(
            TrustAnchor::pinned(root().public())
                .accept(&flipped, NOW, SKEW)
                .is_err(),
            "flipping bit {i} of {} went unnoticed",
            bytes.len() * 8
        );
    }
}
