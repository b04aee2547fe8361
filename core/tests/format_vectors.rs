//! The committed format vectors still decode and verify. If this fails, the change breaks
//! every wallet and verifier already in the field: bump the format version instead.

use edl_core::credential::{Audience, Credential, DisclosedView, TrustList};
use edl_core::crypto::TotpSeed;
use edl_core::sample;
use edl_core::verify::{OnlineCheck, Policy, check_code, verify_offline};

const COMMITTED: &str = include_str!("vectors/v1.txt");

fn committed(name: &str) -> String {
    COMMITTED
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .find(|(k, _)| *k == name)
        .unwrap_or_else(|| panic!("vector {name} missing"))
        .1
        .to_owned()
}

fn bytes(name: &str) -> Vec<u8> {
    hex::decode(committed(name)).expect("hex")
}

#[test]
fn committed_vectors_decode_and_verify() {
    let now: u64 = committed("now").parse().unwrap();
    let trust = TrustList::decode(&bytes("trust_list")).unwrap();
    let credential = Credential::decode(&bytes("credential")).unwrap();
    let (enforcement, business) = credential.verify(&trust).unwrap();
    assert_eq!(enforcement.licence.main.name, "张伟");
    assert_eq!(business.masked_number, "1101**********1234");

    for (name, audience) in [
        ("offline_business", Audience::Business),
        ("offline_enforcement", Audience::Enforcement),
    ] {
        let v = verify_offline(&bytes(name), &trust, now, &Policy::new(audience)).unwrap();
        assert_eq!(v.view.audience(), audience);
        if let DisclosedView::Enforcement(e) = v.view {
            assert_eq!(e.licence, enforcement.licence);
        }
    }

    let seed = TotpSeed::from_slice(&bytes("totp_seed")).unwrap();
    for name in ["online_business", "online_enforcement"] {
        let check = OnlineCheck::from_qr(&bytes(name)).unwrap();
        check_code(&seed, &check, now).unwrap();
    }
    check_code(
        &seed,
        &OnlineCheck::from_barcode(&committed("barcode_business")).unwrap(),
        now,
    )
    .unwrap();
    let manual =
        OnlineCheck::from_manual("110101199003071234", &committed("manual_enforcement")).unwrap();
    check_code(&seed, &manual, now).unwrap();
}

#[test]
fn encoder_still_produces_the_committed_bytes() {
    for (name, value) in sample::vectors() {
        assert_eq!(
            committed(name),
            value,
            "vector {name} changed: the encoding is not stable"
        );
    }
}
