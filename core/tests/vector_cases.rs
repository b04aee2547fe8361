//! The committed test cases (`vectors/v1-cases.txt`): the encoder still makes the same
//! bytes, and every case, read back from the file alone, gets the outcome it states.
//! Regenerate with `cargo run -p edl-core --example gen_vectors` only on a format change.

use std::collections::{BTreeMap, BTreeSet};

use edl_core::credential::{
    Audience, ElicenceStatus, StatusAnswer, StatusList, StatusListError, TrustAnchor, TrustList,
    TrustListRejection,
};
use edl_core::crypto::{self, PublicKey, Purpose, Signature, TotpHash, TotpSeed, rfc6238_code};
use edl_core::present::{Window, payload_from_text};
use edl_core::verify::{
    DEFAULT_SKEW, OnlineCheck, Policy, Rejection, StaleStatus, StatusCheck, check_code,
    verify_offline_with_status,
};

const COMMITTED: &str = include_str!("vectors/v1-cases.txt");

type Fields = BTreeMap<String, String>;

/// `[name]` then `field = value` lines; `#` lines and blank lines are skipped.
fn parse(text: &str) -> Vec<(String, Fields)> {
    let mut cases: Vec<(String, Fields)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            cases.push((name.to_owned(), Fields::new()));
            continue;
        }
        let (k, v) = line.split_once(" = ").expect("field = value");
        let case = cases.last_mut().expect("a field after a [name]");
        assert!(
            case.1.insert(k.to_owned(), v.to_owned()).is_none(),
            "{k} twice"
        );
    }
    cases
}

fn get<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name)
        .unwrap_or_else(|| panic!("field {name} missing"))
}

fn bytes(f: &Fields, name: &str) -> Vec<u8> {
    hex::decode(get(f, name)).expect("hex")
}

fn num(f: &Fields, name: &str) -> u64 {
    get(f, name).parse().expect("a number")
}

fn key(f: &Fields, name: &str) -> [u8; 32] {
    bytes(f, name).try_into().expect("32 bytes")
}

fn audience(text: &str) -> Audience {
    match text {
        "enforcement" => Audience::Enforcement,
        "business" => Audience::Business,
        other => panic!("audience {other}"),
    }
}

fn trust_code(r: TrustListRejection) -> &'static str {
    match r {
        TrustListRejection::Unsigned => "unsigned",
        TrustListRejection::BadRootSignature => "bad_root_signature",
        TrustListRejection::Malformed(_) => "malformed",
        TrustListRejection::Expired => "expired",
        TrustListRejection::NotYetValid => "not_yet_valid",
        TrustListRejection::RolledBack { .. } => "rolled_back",
        TrustListRejection::NoList => "no_list",
    }
}

fn status_code(e: StatusListError) -> &'static str {
    match e {
        StatusListError::Malformed(_) => "malformed",
        StatusListError::UnknownKey => "unknown_key",
        StatusListError::BadSignature => "bad_signature",
        StatusListError::IndexOutOfRange => "index_out_of_range",
    }
}

fn rejection_code(r: &Rejection) -> &'static str {
    match r {
        Rejection::Malformed(_) => "malformed",
        Rejection::UnknownIssuerKey => "unknown_issuer_key",
        Rejection::IssuedOutsideKeyPeriod => "issued_outside_key_period",
        Rejection::LifetimeTooLong { .. } => "lifetime_too_long",
        Rejection::BadIssuerSignature => "bad_issuer_signature",
        Rejection::BadDeviceSignature => "bad_device_signature",
        Rejection::WindowExpired => "window_expired",
        Rejection::WindowNotYetValid => "window_not_yet_valid",
        Rejection::WrongAudience { .. } => "wrong_audience",
        Rejection::CredentialExpired => "credential_expired",
        Rejection::CredentialNotYetValid => "credential_not_yet_valid",
        Rejection::LicenceNotYetValid => "licence_not_yet_valid",
        Rejection::LicenceNotInForce(_) => "licence_not_in_force",
        Rejection::ElicenceSuspended => "elicence_suspended",
        Rejection::ElicenceSuperseded => "elicence_superseded",
        Rejection::StatusUnknown => "status_unknown",
    }
}

/// The signed trust list of the case, as a verifier pinned to its root holds it.
fn anchored(f: &Fields) -> TrustList {
    let mut anchor = TrustAnchor::pinned(PublicKey::from_bytes(&key(f, "root")).unwrap());
    anchor
        .accept(&bytes(f, "trust_list"), num(f, "now"), DEFAULT_SKEW)
        .expect("the case's trust list holds")
        .clone()
}

fn trust_list_outcome(f: &Fields) -> String {
    let now = num(f, "now");
    // The held lists were accepted at `held_at` if the case says when, else at `now`.
    let held_at = f.get("held_at").map_or(now, |_| num(f, "held_at"));
    let mut anchor = TrustAnchor::pinned(PublicKey::from_bytes(&key(f, "root")).unwrap());
    for held in f.get("held").map(|h| h.split(',')).into_iter().flatten() {
        anchor
            .accept(&hex::decode(held).unwrap(), held_at, DEFAULT_SKEW)
            .expect("held lists were accepted");
    }
    match anchor.accept(&bytes(f, "list"), now, DEFAULT_SKEW) {
        Ok(_) => format!("accept sequence={}", anchor.sequence().unwrap()),
        Err(e) => format!("reject {}", trust_code(e)),
    }
}

fn status_list_outcome(f: &Fields) -> String {
    let list = match StatusList::verify(&bytes(f, "list"), &anchored(f)) {
        Ok(list) => list,
        Err(e) => return format!("reject {}", status_code(e)),
    };
    let index = num(f, "index") as u32;
    match list.status_at(index, num(f, "now")) {
        Ok(StatusAnswer::Known(ElicenceStatus::InForce)) => "in_force",
        Ok(StatusAnswer::Known(ElicenceStatus::Suspended)) => "suspended",
        Ok(StatusAnswer::Known(ElicenceStatus::Superseded)) => "superseded",
        Ok(StatusAnswer::Unknown) | Err(StatusListError::IndexOutOfRange) => "unknown",
        Err(e) => panic!("{e}"),
    }
    .to_owned()
}

fn offline_outcome(f: &Fields) -> String {
    let trust = anchored(f);
    let status = f
        .get("status_list")
        .map(|l| StatusList::verify(&hex::decode(l).unwrap(), &trust).expect("list holds"));
    let stale = match f.get("stale_status").map(String::as_str) {
        None | Some("accept") => StaleStatus::Accept,
        Some("refuse") => StaleStatus::Refuse,
        Some(other) => panic!("stale_status {other}"),
    };
    let policy = Policy::new(audience(get(f, "audience"))).with_stale_status(stale);
    let payload = bytes(f, "payload");
    match verify_offline_with_status(&payload, &trust, status.as_ref(), num(f, "now"), &policy) {
        Ok(v) => match v.status {
            StatusCheck::NotChecked => "accept".to_owned(),
            StatusCheck::InForce => "accept status=in_force".to_owned(),
            StatusCheck::Unknown => "accept status=unknown".to_owned(),
        },
        Err(r) => format!("reject {}", rejection_code(&r)),
    }
}

fn code_outcome(f: &Fields, check: Result<OnlineCheck, impl std::fmt::Debug>) -> String {
    let Ok(check) = check else {
        return "reject malformed".to_owned();
    };
    let seed = TotpSeed::from_slice(&bytes(f, "seed")).unwrap();
    match check_code(&seed, &check, num(f, "now")) {
        Err(_) => "reject wrong_code".to_owned(),
        Ok(window) => match &check {
            OnlineCheck::Code { audience, id, .. } => {
                format!(
                    "accept audience={audience} id={} window={}",
                    id.0, window.index
                )
            }
            OnlineCheck::Manual { audience, .. } => {
                format!("accept audience={audience} window={}", window.index)
            }
        },
    }
}

fn outcome(f: &Fields) -> String {
    match get(f, "kind") {
        "trust_list" => trust_list_outcome(f),
        "status_list" => status_list_outcome(f),
        "offline" => offline_outcome(f),
        "online_qr" => code_outcome(f, OnlineCheck::from_qr(&bytes(f, "payload"))),
        "barcode" => code_outcome(f, OnlineCheck::from_barcode(get(f, "text"))),
        "manual" => code_outcome(
            f,
            OnlineCheck::from_manual(get(f, "licence_number"), get(f, "code")),
        ),
        "window" => {
            let low = bytes(f, "low_byte")[0];
            let w = Window::nearest_with_low_byte(num(f, "now"), num(f, "period") as u32, low);
            format!("index={}", w.index)
        }
        "text" => match payload_from_text(get(f, "text")) {
            Ok(payload) => {
                assert_eq!(payload, bytes(f, "payload"));
                "accept".to_owned()
            }
            Err(_) => "reject malformed".to_owned(),
        },
        "signature" => {
            let sig = Signature(bytes(f, "signature").try_into().unwrap());
            let message = bytes(f, "message");
            let ok = PublicKey::from_bytes(&key(f, "public_key"))
                .is_ok_and(|k| crypto::verify(&k, Purpose::Presentation, &message, &sig).is_ok());
            if ok { "accept" } else { "reject" }.to_owned()
        }
        other => panic!("kind {other}"),
    }
}

#[test]
fn every_committed_case_gets_its_stated_outcome() {
    let mut wrong = Vec::new();
    for (name, f) in parse(COMMITTED) {
        if get(&f, "kind") == "totp_key" {
            continue;
        }
        let got = outcome(&f);
        if got != get(&f, "expect") {
            wrong.push(format!("{name}: expected {}, got {got}", get(&f, "expect")));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_totp_keys_are_hmac_of_the_seed_with_the_raw_audience_byte() {
    let mut seen = 0;
    for (name, f) in parse(COMMITTED) {
        if get(&f, "kind") != "totp_key" {
            continue;
        }
        seen += 1;
        let digits = match get(&f, "code_kind") {
            "qr" => 8,
            "manual" => 6,
            other => panic!("{other}"),
        };
        let period = num(&f, "period") as u32;
        let code = rfc6238_code(
            TotpHash::Sha256,
            &key(&f, "key"),
            digits,
            period,
            num(&f, "now"),
        );
        assert_eq!(code, get(&f, "code"), "{name}");
    }
    assert_eq!(seen, 4, "qr and manual, for both audiences");
}

#[test]
fn every_refusal_a_verifier_can_give_has_a_case() {
    let cases = parse(COMMITTED);
    let expects: BTreeSet<(&str, &str)> = cases
        .iter()
        .filter_map(|(_, f)| {
            let reason = f.get("expect")?.strip_prefix("reject ")?;
            Some((get(f, "kind"), reason))
        })
        .collect();
    for reason in [
        "malformed",
        "unknown_issuer_key",
        "issued_outside_key_period",
        "lifetime_too_long",
        "bad_issuer_signature",
        "bad_device_signature",
        "window_expired",
        "window_not_yet_valid",
        "wrong_audience",
        "credential_expired",
        "credential_not_yet_valid",
        "licence_not_yet_valid",
        "licence_not_in_force",
        "elicence_suspended",
        "elicence_superseded",
        "status_unknown",
    ] {
        assert!(expects.contains(&("offline", reason)), "offline {reason}");
    }
    for reason in [
        "unsigned",
        "bad_root_signature",
        "malformed",
        "expired",
        "not_yet_valid",
        "rolled_back",
    ] {
        assert!(
            expects.contains(&("trust_list", reason)),
            "trust list {reason}"
        );
    }
    for reason in ["bad_signature", "unknown_key"] {
        assert!(
            expects.contains(&("status_list", reason)),
            "status list {reason}"
        );
    }
}

#[test]
fn the_encoder_still_produces_the_committed_cases() {
    let committed = parse(COMMITTED);
    let made = parse(&edl_core::vectors::render(&edl_core::vectors::cases()));
    assert_eq!(committed.len(), made.len(), "number of cases");
    for ((name, fields), (made_name, made_fields)) in committed.iter().zip(&made) {
        assert_eq!(name, made_name);
        assert_eq!(
            fields, made_fields,
            "case {name} changed: the encoding is not stable"
        );
    }
}

#[test]
fn non_canonical_key_encodings_are_refused() {
    // y = p + k for the 19 values of k that fit in 255 bits, with either sign bit: the
    // only non-canonical encodings. Each names a point that has a canonical encoding.
    let mut decoded = Vec::new();
    for k in 0u8..19 {
        for sign in [0u8, 0x80] {
            let mut y = [0xff; 32];
            y[0] = 0xed + k;
            y[31] = 0x7f | sign;
            if PublicKey::from_bytes(&y).is_ok() {
                decoded.push(hex::encode(y));
            }
        }
    }
    assert!(
        decoded.is_empty(),
        "non-canonical keys decoded: {decoded:?}"
    );
    // The canonical identity still decodes, as a key under which nothing verifies.
    let mut identity = [0; 32];
    identity[0] = 1;
    let identity = PublicKey::from_bytes(&identity).expect("canonical");
    let mut weak = [0; 64];
    weak[0] = 1;
    assert!(crypto::verify(&identity, Purpose::Presentation, b"any", &Signature(weak)).is_err());
}
