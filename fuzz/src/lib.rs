//! The bodies of the fuzz targets (`scripts/fuzz` builds and runs them), as plain functions
//! so that a crash the fuzzer finds can be replayed as a regression test in the crate whose
//! parser it broke.

use edl_core::credential::{Audience, Credential, SignedView, TrustList};
use edl_core::present::{OfflinePayload, OnlinePayload, payload_from_text};
use edl_core::sample;
use edl_core::verify::{OnlineCheck, Policy, verify_offline};
use std::sync::OnceLock;

fn sample_trust() -> &'static TrustList {
    static TRUST: OnceLock<TrustList> = OnceLock::new();
    TRUST.get_or_init(|| sample::issued((sample::VECTOR_TIME - 3600) as u32).trust)
}

/// Offline payload: decode, then the whole offline verification for both audiences.
pub fn offline_payload(data: &[u8]) {
    let _ = OfflinePayload::decode(data);
    for audience in [Audience::Business, Audience::Enforcement] {
        let _ = verify_offline(
            data,
            sample_trust(),
            sample::VECTOR_TIME,
            &Policy::new(audience),
        );
    }
}

/// Online payload: decode and the check built from it.
pub fn online_payload(data: &[u8]) {
    if let Ok(p) = OnlinePayload::decode(data) {
        let _ = p.code_digits();
        let _ = p.encode();
    }
    let _ = OnlineCheck::from_qr(data);
}

/// Barcode text, manual code (licence number and code split at the first NUL) and the
/// text form of a payload.
pub fn codes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = OnlineCheck::from_barcode(text);
    let (number, code) = text.split_once('\0').unwrap_or((text, text));
    let _ = OnlineCheck::from_manual(number, code);
    let _ = payload_from_text(text);
}

/// Trust list bytes.
pub fn trust_list(data: &[u8]) {
    if let Ok(t) = TrustList::decode(data) {
        let _ = t.encode();
    }
}

/// Credential bytes, and a signed view of either audience checked against the sample trust.
pub fn credential(data: &[u8]) {
    if let Ok(c) = Credential::decode(data) {
        let _ = c.id();
        let _ = c.encode();
        let _ = c.verify(sample_trust());
    }
    for audience in [Audience::Business, Audience::Enforcement] {
        if let Ok(v) = SignedView::from_bytes(audience, data.to_vec()) {
            let _ = v.verify(sample_trust());
        }
    }
}

/// The wallet's sync response as the authority's JSON, and the credential it carries.
pub fn sync_response(data: &[u8]) {
    let Ok(r) = serde_json::from_slice::<edl_core::wire::SyncResponse>(data) else {
        return;
    };
    let _ = serde_json::to_vec(&r);
    // What the wallet's check_page does with a page before storing it.
    if let Some(licence) = &r.licence {
        let _ = licence.validate();
    }
    if let Some(e) = &r.elicence {
        if let Some(bytes) = &e.credential
            && let Ok(c) = Credential::decode(bytes.as_bytes())
        {
            let _ = c.verify(sample_trust());
        }
        let _ = e.totp_seed.as_ref().and_then(|s| s.to_array::<32>());
    }
}

/// The PNG scanner (QR symbols from an image).
pub fn png_scan(data: &[u8]) {
    let _ = edl_core::present::render::scan_png(data);
}

/// The on-phone photo checker.
pub fn photo_check(data: &[u8]) {
    let _ = edl_core::photo::check_photo(data);
}

/// The authority's JSON request bodies: the first byte picks the type.
pub fn authority_json(data: &[u8]) {
    use edl_core::wire::{admin, verifier, wallet};
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    macro_rules! try_type {
        ($($t:ty),* $(,)?) => {{
            let all: &[fn(&[u8])] = &[$(|b| { let _ = serde_json::from_slice::<$t>(b); }),*];
            all[usize::from(which) % all.len()](body);
        }};
    }
    try_type!(
        wallet::EnrolRequest,
        wallet::IdentityProof,
        wallet::ApplyRequest,
        wallet::PhotoUpload,
        verifier::VerifyRequest,
        admin::NewDriver,
        admin::NewViolation,
        admin::SetStatus,
        admin::Renewal,
        admin::CounterIssue,
        admin::RejectPhoto,
        admin::NewVerifier,
        admin::BusySetting,
    );
}
