//! A ready-made issuer, trust list and holder for tests, benchmarks and the demo.
//!
//! Keys come from fixed seeds so that outputs are reproducible (the pinned format
//! vectors rely on it). Never use these keys for anything real: they are compiled only with
//! the `test-support` feature, which the phone library leaves off.

use crate::credential::{ElicenceId, Issuance, Issuer, TrustList};
use crate::crypto::{KeyId, SecretKey, TotpSeed};
use crate::licence::{Licence, fixtures::sample_licence};
use crate::present::Holder;
use crate::verify::china_date;

/// Fixed issuer key seed of the sample authority.
pub const ISSUER_SEED: [u8; 32] = [0x11; 32];
/// Fixed device key seed of the sample wallet.
pub const DEVICE_SEED: [u8; 32] = [0x22; 32];
/// Fixed TOTP seed of the sample e-licence.
pub const TOTP_SEED: [u8; 32] = [0x33; 32];
/// The sample e-licence id.
pub const ELICENCE_ID: ElicenceId = ElicenceId(1_234_567_890_123);
/// Lifetime of the sample credential.
pub const TTL_HOURS: u16 = 72;
/// The sample e-licence's index in the status list.
pub const STATUS_INDEX: u32 = 42;

/// An issued sample e-licence with everything needed to present and verify it.
#[derive(Debug)]
pub struct Sample {
    /// The sample issuer (key id 1).
    pub issuer: Issuer,
    /// A trust list holding the issuer key.
    pub trust: TrustList,
    /// The licence that was issued.
    pub licence: Licence,
    /// The holder's side.
    pub holder: Holder,
}

/// Issues the sample licence at unix time `issued_at`.
pub fn issued(issued_at: u32) -> Sample {
    let issuer = Issuer::new(KeyId(1), SecretKey::from_seed(ISSUER_SEED));
    let trust = TrustList::new(vec![issuer.trusted_key(0)]).expect("one key");
    let mut licence = sample_licence(china_date(u64::from(issued_at)));
    licence.main.generated_at =
        time::OffsetDateTime::from_unix_timestamp(i64::from(issued_at)).expect("u32 time");
    let holder = holder(&issuer, &licence, issued_at, TTL_HOURS);
    Sample {
        issuer,
        trust,
        licence,
        holder,
    }
}

impl Sample {
    /// The sample device's holder of `licence` as the sample issuer issues it at
    /// `issued_at` for `ttl_hours` (the sample e-licence id, status index and TOTP seed): a
    /// licence changed for a test, presented and verified like the sample's own.
    pub fn holder_of(&self, licence: &Licence, issued_at: u32, ttl_hours: u16) -> Holder {
        holder(&self.issuer, licence, issued_at, ttl_hours)
    }
}

fn holder(issuer: &Issuer, licence: &Licence, issued_at: u32, ttl_hours: u16) -> Holder {
    let device = SecretKey::from_seed(DEVICE_SEED);
    let credential = issuer
        .issue(
            licence,
            Issuance {
                id: ELICENCE_ID,
                device_key: device.public(),
                issued_at,
                ttl_hours,
                status_index: STATUS_INDEX,
            },
        )
        .expect("a valid licence");
    Holder::new(credential, device, TotpSeed::from_bytes(TOTP_SEED)).expect("matching key")
}

/// The time the pinned format vectors are made at: 2026-11-25 11:00:05 Beijing time.
pub const VECTOR_TIME: u64 = 1_795_575_605;

/// The pinned format vectors as `(name, value)` pairs: bytes in lower-case hex, codes as
/// digits. `cargo run -p edl-core --example gen_vectors` prints them;
/// `core/tests/format_vectors.rs` decodes the committed copy.
pub fn vectors() -> Vec<(&'static str, String)> {
    use crate::credential::Audience;
    use crate::present::Form;

    let now = VECTOR_TIME;
    let s = issued((now - 3600) as u32);
    let present = |form, audience| {
        hex::encode(
            s.holder
                .present(form, audience, now, crate::present::DEFAULT_PERIOD)
                .expect("sample presents")
                .payload,
        )
    };
    let codes = |audience| {
        s.holder
            .dynamic_code(audience, now, crate::present::DEFAULT_PERIOD)
            .expect("sample codes")
    };
    vec![
        ("now", now.to_string()),
        ("totp_seed", hex::encode(TOTP_SEED)),
        ("trust_list", hex::encode(s.trust.encode())),
        (
            "credential",
            hex::encode(s.holder.credential().encode().expect("encodes")),
        ),
        ("online_business", present(Form::Online, Audience::Business)),
        (
            "online_enforcement",
            present(Form::Online, Audience::Enforcement),
        ),
        (
            "offline_business",
            present(Form::Offline, Audience::Business),
        ),
        (
            "offline_enforcement",
            present(Form::Offline, Audience::Enforcement),
        ),
        (
            "barcode_business",
            codes(Audience::Business).barcode.text().to_owned(),
        ),
        (
            "manual_enforcement",
            codes(Audience::Enforcement).manual_code,
        ),
    ]
}
