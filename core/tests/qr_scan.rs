//! A rendered QR read back by an independent decoder (quircs, D127) verifies.
#![cfg(feature = "scan")]

use edl_core::credential::Audience;
use edl_core::present::Form;
use edl_core::present::render::scan_png;
use edl_core::sample;
use edl_core::verify::{OnlineCheck, Policy, verify_offline};

const NOW: u64 = 1_795_575_605;

#[test]
fn offline_qr_png_scans_back_to_the_payload_and_verifies() {
    let s = sample::issued(NOW as u32 - 600);
    for audience in Audience::ALL {
        let p = s.holder.present(Form::Offline, audience, NOW, 30).unwrap();
        let png = p.qr.to_png(4);
        let scanned = scan_png(&png).unwrap();
        assert_eq!(scanned, vec![p.payload.clone()], "{audience}");
        verify_offline(&scanned[0], &s.trust, NOW, &Policy::new(audience)).unwrap();
    }
}

#[test]
fn online_qr_png_scans_back_to_a_check() {
    let s = sample::issued(NOW as u32 - 600);
    let p = s
        .holder
        .present(Form::Online, Audience::Business, NOW, 30)
        .unwrap();
    let scanned = scan_png(&p.qr.to_png(6)).unwrap();
    assert_eq!(scanned, vec![p.payload.clone()]);
    assert!(OnlineCheck::from_qr(&scanned[0]).is_ok());
}

/// The business QR's version by name length (docs/BENCHMARKS.md): up to three Chinese
/// characters fit version 10, four take version 11 since the view carries its status
/// index, and the longest name allowed (64 bytes) version 12. Each scans back from a
/// PNG of 3 pixels per module, the smallest the wallet draws.
#[test]
fn business_qr_versions_by_name_length_and_each_scans() {
    use edl_core::licence::fixtures::sample_with_name;

    let issued_at = NOW as u32 - 600;
    let s = sample::issued(issued_at);
    for (name, version) in [
        ("张伟", 10),
        ("欧阳娜", 10),
        ("欧阳建国", 11),
        (&*"张".repeat(21), 12),
    ] {
        let licence = sample_with_name(edl_core::verify::china_date(NOW), name);
        let holder = s.holder_of(&licence, issued_at, 72);
        let p = holder
            .present(Form::Offline, Audience::Business, NOW, 30)
            .unwrap();
        assert_eq!(p.qr.version(), version, "{name}: {} bytes", p.payload.len());
        assert_eq!(scan_png(&p.qr.to_png(3)).unwrap(), vec![p.payload.clone()]);
    }
}
