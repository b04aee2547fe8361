//! Rotation and offline verification against the bare cost of their parts.
//!
//! `cargo bench -p edl-core --bench present`. The `floor/*` entries are the parts alone
//! (one Ed25519 sign or strict verify, one RFC 6238 code, the `qrcode` crate encoding the
//! same bytes); `docs/BENCHMARKS.md` compares each `rotate/*` and `verify_offline/*`
//! figure with its floor.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use edl_core::credential::Audience;
use edl_core::present::{Form, Window};
use edl_core::sample;
use edl_core::verify::{Policy, verify_offline};
use qrcode::{EcLevel, QrCode};

const NOW: u64 = 1_795_575_605;

/// Distinct payloads each QR floor cycles through: far more than a branch predictor keeps.
const FLOOR_PAYLOADS: u64 = 1000;

fn benches(c: &mut Criterion) {
    let s = sample::issued(NOW as u32 - 600);
    let online = s
        .holder
        .present(Form::Online, Audience::Business, NOW, 30)
        .unwrap()
        .payload;
    let business = s
        .holder
        .present(Form::Offline, Audience::Business, NOW, 30)
        .unwrap()
        .payload;
    let enforcement = s
        .holder
        .present(Form::Offline, Audience::Enforcement, NOW, 30)
        .unwrap()
        .payload;

    // The floor: each part on its own.
    let key = SigningKey::from_bytes(&[7; 32]);
    let message = [0x5a; 60];
    let sig = key.sign(&message);
    let public = key.verifying_key();
    c.bench_function("floor/ed25519_sign", |b| {
        b.iter(|| key.sign(black_box(&message)))
    });
    c.bench_function("floor/ed25519_verify_strict", |b| {
        b.iter(|| public.verify_strict(black_box(&message), &sig).unwrap())
    });
    c.bench_function("floor/totp_sha256_8_digits", |b| {
        b.iter(|| {
            edl_core::crypto::rfc6238_code(
                edl_core::crypto::TotpHash::Sha256,
                black_box(&[1; 32]),
                8,
                30,
                NOW,
            )
        })
    });
    // The crate encodes the payloads of successive windows, as a rotation does. One payload
    // encoded over and over is not a fair floor: the CPU's branch predictor learns its mask
    // evaluation, which made a version-1 symbol look about a quarter cheaper than it is in use
    // (see `floor/qrcode_online_one_payload_repeated` and docs/BENCHMARKS.md).
    for (name, form, audience) in [
        ("online", Form::Online, Audience::Business),
        ("offline_business", Form::Offline, Audience::Business),
        ("offline_enforcement", Form::Offline, Audience::Enforcement),
    ] {
        let payloads: Vec<Vec<u8>> = (1..=FLOOR_PAYLOADS)
            .map(|i| {
                s.holder
                    .present(form, audience, NOW + 30 * i, 30)
                    .unwrap()
                    .payload
            })
            .collect();
        let mut each = payloads.iter().cycle();
        c.bench_function(
            &format!("floor/qrcode_{name}_{}B", payloads[0].len()),
            |b| {
                b.iter(|| {
                    let bytes = each.next().unwrap();
                    QrCode::with_error_correction_level(black_box(bytes.as_slice()), EcLevel::M)
                        .unwrap()
                })
            },
        );
    }
    c.bench_function("floor/qrcode_online_one_payload_repeated", |b| {
        b.iter(|| {
            QrCode::with_error_correction_level(black_box(online.as_slice()), EcLevel::M).unwrap()
        })
    });

    // Whole rotations: build the payload, sign or compute the code, encode the QR matrix.
    let mut t = NOW;
    let mut next = || {
        t += 30; // a fresh window each time, so nothing is cached
        t
    };
    c.bench_function("rotate/online", |b| {
        b.iter(|| {
            s.holder
                .present(Form::Online, Audience::Business, next(), 30)
                .unwrap()
        })
    });
    c.bench_function("rotate/offline_business", |b| {
        b.iter(|| {
            s.holder
                .present(Form::Offline, Audience::Business, next(), 30)
                .unwrap()
        })
    });
    c.bench_function("rotate/offline_enforcement", |b| {
        b.iter(|| {
            s.holder
                .present(Form::Offline, Audience::Enforcement, next(), 30)
                .unwrap()
        })
    });
    c.bench_function("rotate/barcode_and_manual_code", |b| {
        b.iter(|| {
            s.holder
                .dynamic_code(Audience::Business, next(), 30)
                .unwrap()
        })
    });

    let w = Window::at(NOW, 30);
    for (name, audience, bytes) in [
        ("business", Audience::Business, &business),
        ("enforcement", Audience::Enforcement, &enforcement),
    ] {
        let policy = Policy::new(audience);
        c.bench_function(&format!("verify_offline/{name}"), |b| {
            b.iter(|| {
                verify_offline(black_box(bytes), &s.trust, w.starts_at() + 1, &policy).unwrap()
            })
        });
    }
}

criterion_group! {
    name = present;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(present);
