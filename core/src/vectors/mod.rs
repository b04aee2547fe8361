//! The committed protocol test cases, each with its expected outcome (D98).
//!
//! `core/tests/vectors/v1.txt` pins the encodings of one good credential; the cases here
//! settle what a verifier must answer: signed trust lists (accepted, unsigned, forged,
//! expired, rolled back, a root rotation), status lists, offline presentations refused
//! for each reason and accepted at the edges of every time check, the TOTP keys, codes and
//! text form, and signatures a plain Ed25519 library accepts but the protocol refuses.
//! `cargo run -p edl-core --example gen_vectors` writes them to
//! `core/tests/vectors/v1-cases.txt`; `core/tests/vector_cases.rs` checks the committed
//! copy both ways (same bytes from the encoder, same outcome from the verifier).
//!
//! Compiled only with `test-support`: the keys are fixed seeds, never real.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::codec::Writer;
use crate::credential::{
    Audience, BusinessView, EnforcementView, SignedView, TrustList, TrustListContents, TrustedKey,
    ViewHeader,
};
use crate::crypto::{self, CodeKind, KeyId, Purpose, SecretKey, Signature, TotpSeed};
use crate::licence::{Licence, LicenceStatus, fixtures::sample_licence};
use crate::present::{OfflinePayload, Window, payload_to_text, presentation_message};
use crate::sample::{self, VECTOR_TIME as NOW};
use crate::verify::china_date;

/// Seed of the root the cases pin.
pub const ROOT_SEED: [u8; 32] = [0xA0; 32];
/// Seed of the root announced as the next one (the rotation case).
pub const NEXT_ROOT_SEED: [u8; 32] = [0xA1; 32];
/// Seed of another authority's root and issuing key: its lists must be refused.
pub const OTHER_SEED: [u8; 32] = [0xAF; 32];
/// Key 1 (the sample issuer seed) was retired at this time: 2026-11-15 Beijing.
pub const RETIRED: u32 = 1_794_700_000;
/// Key 3 is published ahead: its period starts a day after [`NOW`].
pub const NEXT_KEY_FROM: u32 = NOW as u32 + 86_400;
/// The presentation period of every case.
const PERIOD: u32 = 30;
/// The status-list time-to-live of the cases.
const STATUS_TTL: u32 = 3600;
const HOUR: u32 = 3600;

/// One case: a name and its fields in order, `kind` first and `expect` last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Unique, e.g. `offline/reject/window_expired`.
    pub name: String,
    /// `(field, value)`: bytes in lower-case hex, numbers in decimal.
    pub fields: Vec<(&'static str, String)>,
}

impl Case {
    fn new(name: impl Into<String>, kind: &str) -> Self {
        Case {
            name: name.into(),
            fields: vec![("kind", kind.to_owned())],
        }
    }

    fn with(mut self, field: &'static str, value: impl ToString) -> Self {
        self.fields.push((field, value.to_string()));
        self
    }

    fn hex(self, field: &'static str, bytes: &[u8]) -> Self {
        self.with(field, hex::encode(bytes))
    }
}

/// The case file as committed: a header, then `[name]` and `field = value` lines per case.
pub fn render(cases: &[Case]) -> String {
    let mut out = String::from(
        "# EDL protocol version 1 test cases with expected outcomes (docs/PROTOCOL.md, \
         \"Test vectors\").\n# Made by `cargo run -p edl-core --example gen_vectors`; \
         keys are fixed test seeds, never real.\n",
    );
    for case in cases {
        out.push_str(&format!("\n[{}]\n", case.name));
        for (field, value) in &case.fields {
            out.push_str(&format!("{field} = {value}\n"));
        }
    }
    out
}

fn key(seed: [u8; 32]) -> SecretKey {
    SecretKey::from_seed(seed)
}

/// Key 1 retired, key 2 current, key 3 not yet started.
fn issuing_keys() -> TrustList {
    let entry = |kid, seed, not_before, not_after| TrustedKey {
        kid: KeyId(kid),
        key: key(seed).public(),
        not_before,
        not_after,
    };
    TrustList::new(vec![
        entry(1, sample::ISSUER_SEED, 1_700_000_000, RETIRED),
        entry(2, [0x12; 32], RETIRED + 1, u32::MAX),
        entry(3, [0x13; 32], NEXT_KEY_FROM, u32::MAX),
    ])
    .expect("three distinct keys")
}

fn contents(sequence: u32, next_root: Option<[u8; 32]>) -> TrustListContents {
    TrustListContents {
        sequence,
        issued_at: NOW as u32 - HOUR,
        expires_at: NOW as u32 + 7 * 24 * HOUR,
        next_root: next_root.map(|s| key(s).public()),
        keys: issuing_keys(),
    }
}

/// The signed trust list every offline and status case is verified under.
fn trust_list() -> Vec<u8> {
    contents(7, None).sign(&key(ROOT_SEED))
}

fn licence() -> Licence {
    sample_licence(china_date(NOW))
}

/// What a view is made of; the defaults are a good business view from key 2.
#[derive(Clone)]
struct Mint {
    audience: Audience,
    kid: u16,
    seed: [u8; 32],
    device: [u8; 32],
    issued_at: u32,
    ttl_hours: u16,
    licence: Licence,
}

impl Mint {
    fn good() -> Self {
        Mint {
            audience: Audience::Business,
            kid: 2,
            seed: [0x12; 32],
            device: sample::DEVICE_SEED,
            issued_at: NOW as u32 - HOUR,
            ttl_hours: 72,
            licence: licence(),
        }
    }

    /// Signs the view as an issuer (or an attacker holding the seed) would, with no
    /// issuer-side checks, so that refused values can be minted too.
    fn view_with_device(&self, device_key: crate::crypto::PublicKey) -> SignedView {
        let header = ViewHeader {
            kid: KeyId(self.kid),
            device_key,
            issued_at: self.issued_at,
            ttl_hours: self.ttl_hours,
            status_index: sample::STATUS_INDEX,
        };
        let (purpose, body) = match self.audience {
            Audience::Business => (
                Purpose::BusinessView,
                BusinessView::from_licence(header, &self.licence)
                    .and_then(|v| v.encode())
                    .expect("the sample encodes"),
            ),
            Audience::Enforcement => (
                Purpose::EnforcementView,
                EnforcementView {
                    header,
                    id: sample::ELICENCE_ID,
                    licence: self.licence.clone(),
                }
                .encode()
                .expect("the sample encodes"),
            ),
        };
        let sig = crypto::sign(&key(self.seed), purpose, &body);
        let mut bytes = body;
        bytes.extend_from_slice(&sig.0);
        SignedView::from_bytes(self.audience, bytes).expect("a whole view")
    }

    /// The offline payload the holder shows at `at`.
    fn payload_at(&self, at: u64) -> Vec<u8> {
        let view = self.view_with_device(key(self.device).public());
        let window = Window::at(at, PERIOD);
        let message = presentation_message(self.audience, window, &view);
        OfflinePayload {
            device_sig: crypto::sign(&key(self.device), Purpose::Presentation, &message),
            view,
            period: PERIOD,
            window_low: window.index as u8,
        }
        .encode()
    }

    fn payload(&self) -> Vec<u8> {
        self.payload_at(NOW)
    }
}

/// An offline case verified at `now` by a verifier of `audience`.
fn offline(name: &str, payload: &[u8], audience: Audience, now: u64, expect: &str) -> Case {
    offline_with(name, payload, audience, now, None, expect)
}

/// [`offline`] with a status list and what the verifier's policy does with an unknown
/// status (`accept` or `refuse`).
fn offline_with(
    name: &str,
    payload: &[u8],
    audience: Audience,
    now: u64,
    status: Option<(&[u8], &str)>,
    expect: &str,
) -> Case {
    let mut case = Case::new(format!("offline/{name}"), "offline")
        .hex("root", &key(ROOT_SEED).public().to_bytes())
        .hex("trust_list", &trust_list())
        .with("now", now)
        .with("audience", audience)
        .hex("payload", payload);
    if let Some((list, stale)) = status {
        case = case.hex("status_list", list).with("stale_status", stale);
    }
    case.with("expect", expect)
}

fn offline_cases() -> Vec<Case> {
    let b = Audience::Business;
    let good = Mint::good();
    let mut cases = vec![
        offline("accept/business", &good.payload(), b, NOW, "accept"),
        offline(
            "accept/enforcement",
            &Mint {
                audience: Audience::Enforcement,
                ..good.clone()
            }
            .payload(),
            Audience::Enforcement,
            NOW,
            "accept",
        ),
        offline(
            "reject/wrong_audience",
            &good.payload(),
            Audience::Enforcement,
            NOW,
            "reject wrong_audience",
        ),
    ];
    // Header byte 0x25: version 2 of the offline business form, which no verifier knows.
    let mut version2 = good.payload();
    version2[0] = 0x25;
    cases.push(offline(
        "reject/unknown_version",
        &version2,
        b,
        NOW,
        "reject malformed",
    ));
    // Bit 0 of the issuer signature's last byte (64 bytes before the device signature).
    let mut bad_issuer = good.payload();
    let at = bad_issuer.len() - 65;
    bad_issuer[at] ^= 1;
    cases.push(offline(
        "reject/bad_issuer_signature",
        &bad_issuer,
        b,
        NOW,
        "reject bad_issuer_signature",
    ));
    let mut bad_device = good.payload();
    *bad_device.last_mut().expect("not empty") ^= 1;
    cases.push(offline(
        "reject/bad_device_signature",
        &bad_device,
        b,
        NOW,
        "reject bad_device_signature",
    ));
    // Window edges: window W runs [start, end); accepted from start - 5 s (inclusive)
    // to end + 5 s (exclusive), with the default skew of 5 s.
    let w = Window::at(NOW, PERIOD);
    let (start, end) = (w.starts_at(), w.ends_at());
    for (name, at, expect) in [
        ("accept/window_end_plus_skew_minus_1", end + 4, "accept"),
        (
            "reject/window_end_plus_skew",
            end + 5,
            "reject window_expired",
        ),
        ("accept/window_start_minus_skew", start - 5, "accept"),
        (
            "reject/window_start_minus_skew_minus_1",
            start - 6,
            "reject window_not_yet_valid",
        ),
        (
            "reject/window_two_back",
            NOW + 2 * u64::from(PERIOD),
            "reject window_expired",
        ),
    ] {
        cases.push(offline(name, &good.payload(), b, at, expect));
    }
    // The low byte 128 windows ahead of the verifier's: the tie resolves forward.
    cases.push(offline(
        "reject/window_low_byte_tie_resolves_forward",
        &good.payload_at(NOW + 128 * u64::from(PERIOD)),
        b,
        NOW,
        "reject window_not_yet_valid",
    ));
    let mint = |f: &dyn Fn(&mut Mint)| {
        let mut m = Mint::good();
        f(&mut m);
        m.payload()
    };
    let retired = |m: &mut Mint| {
        m.kid = 1;
        m.seed = sample::ISSUER_SEED;
    };
    let day = time::Duration::days(1);
    let today = china_date(NOW);
    for (name, payload, expect) in [
        (
            "reject/unknown_issuer_key",
            mint(&|m| {
                m.kid = 9;
                m.seed = [0x19; 32];
            }),
            "reject unknown_issuer_key",
        ),
        (
            "reject/signed_by_other_key_under_known_kid",
            mint(&|m| m.seed = OTHER_SEED),
            "reject bad_issuer_signature",
        ),
        (
            "reject/retired_key_after_its_period",
            mint(&|m| retired(m)),
            "reject issued_outside_key_period",
        ),
        (
            "reject/retired_key_backdated_long_lived",
            mint(&|m| {
                retired(m);
                m.issued_at = RETIRED;
                m.ttl_hours = u16::MAX;
            }),
            "reject lifetime_too_long",
        ),
        (
            "reject/retired_key_backdated_within_cap",
            mint(&|m| {
                retired(m);
                m.issued_at = RETIRED;
            }),
            "reject credential_expired",
        ),
        (
            "reject/key_before_its_period",
            mint(&|m| {
                m.kid = 3;
                m.seed = [0x13; 32];
            }),
            "reject issued_outside_key_period",
        ),
        (
            "reject/lifetime_over_cap",
            mint(&|m| m.ttl_hours = 73),
            "reject lifetime_too_long",
        ),
        (
            "reject/credential_expired_at_issued_at_plus_ttl",
            mint(&|m| m.issued_at = NOW as u32 - 72 * HOUR),
            "reject credential_expired",
        ),
        (
            "accept/credential_one_second_before_expiry",
            mint(&|m| m.issued_at = NOW as u32 - 72 * HOUR + 1),
            "accept",
        ),
        (
            "reject/credential_not_yet_valid",
            mint(&|m| m.issued_at = NOW as u32 + 6),
            "reject credential_not_yet_valid",
        ),
        (
            "accept/credential_issued_within_skew",
            mint(&|m| m.issued_at = NOW as u32 + 5),
            "accept",
        ),
        (
            "reject/licence_valid_from_tomorrow",
            mint(&|m| m.licence.main.valid_from = today + day),
            "reject licence_not_yet_valid",
        ),
        (
            "accept/licence_valid_from_today",
            mint(&|m| m.licence.main.valid_from = today),
            "accept",
        ),
        (
            "accept/licence_valid_until_today",
            mint(&|m| m.licence.main.valid_until = today),
            "accept",
        ),
        (
            "reject/licence_valid_until_yesterday",
            mint(&|m| m.licence.main.valid_until = today - day),
            "reject licence_not_in_force",
        ),
    ] {
        cases.push(offline(name, &payload, b, NOW, expect));
    }
    // Dates are Beijing dates: 16:00:00 UTC is the next day's midnight there.
    let midnight = 1_795_622_400; // 2026-11-26 00:00:00 Beijing, 2026-11-25 16:00 UTC
    let mut until_today = Mint {
        issued_at: midnight - HOUR,
        ..Mint::good()
    };
    until_today.licence.main.valid_until = today;
    cases.push(offline(
        "accept/valid_until_last_second_beijing",
        &until_today.payload_at(u64::from(midnight) - 1),
        b,
        u64::from(midnight) - 1,
        "accept",
    ));
    cases.push(offline(
        "reject/valid_until_passed_at_beijing_midnight",
        &until_today.payload_at(u64::from(midnight)),
        b,
        u64::from(midnight),
        "reject licence_not_in_force",
    ));
    // Every status letter: only A, H and I leave the licence in force offline.
    for code in crate::licence::StatusCode::ALL {
        let letter = code.letter();
        let status = LicenceStatus::from_letters(&letter.to_string()).expect("one letter");
        let expect = if matches!(letter, 'A' | 'H' | 'I') {
            "accept"
        } else {
            "reject licence_not_in_force"
        };
        let payload = mint(&|m| m.licence.main.status = status);
        cases.push(offline(
            &format!("status_letter/{letter}"),
            &payload,
            b,
            NOW,
            expect,
        ));
    }
    cases.push(weak_device_key_case());
    cases
}

/// A view (really signed by key 2) binding the identity point as the device key, and a
/// "device signature" R = identity, S = 0. A cofactorless verifier without the strict
/// checks (OpenSSL, Python's `cryptography`) accepts it for any message; the protocol
/// refuses small-order keys and points.
fn weak_device_key_case() -> Case {
    let identity = identity_point();
    let view =
        Mint::good().view_with_device(crypto::PublicKey::from_bytes(&identity).expect("decodes"));
    let payload = OfflinePayload {
        view,
        period: PERIOD,
        window_low: Window::at(NOW, PERIOD).index as u8,
        device_sig: weak_signature(),
    }
    .encode();
    offline(
        "reject/small_order_device_key",
        &payload,
        Audience::Business,
        NOW,
        "reject bad_device_signature",
    )
}

fn identity_point() -> [u8; 32] {
    let mut p = [0; 32];
    p[0] = 1;
    p
}

fn weak_signature() -> Signature {
    let mut s = [0; 64];
    s[0] = 1;
    Signature(s)
}

/// `1 | kid u16 | issued_at u32 | ttl_secs u32 | count u32 | zlib(packed) | sig`, written
/// out here from the layout (not with `StatusList::sign`) so entry value 3 can be made.
mod codes;
mod lists;

/// Every case, in the committed order.
pub fn cases() -> Vec<Case> {
    let mut all = lists::trust_cases();
    all.extend(lists::status_cases());
    all.extend(offline_cases());
    all.extend(codes::window_cases());
    all.extend(codes::code_cases());
    all.extend(codes::signature_cases());
    all
}
