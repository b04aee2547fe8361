//! A rendered QR read back by an independent decoder (rqrr) verifies.
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
