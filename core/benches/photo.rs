//! `check_photo` on a 12-megapixel camera JPEG, and the normalisation of it.
//!
//! The photo is made here rather than committed: the clean astronaut fixture enlarged to
//! 3000 px high on a 4000 × 3000 white frame, with deterministic grain so the JPEG's
//! entropy-coded data (and so its decode time, most of the check) is like a real sensor's,
//! encoded at quality 90. Light grain gives a 1.6 MB file, heavy grain 4.5 MB: phones write
//! 12-megapixel JPEGs of about 2–5 MB. A third case is a 3000 × 4000 portrait stored sideways
//! with EXIF orientation 6, as most phones save portrait shots.
//!
//! `cargo bench -p edl-core --bench photo`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use edl_core::photo::{check_photo, normalise_photo, prepare_photo};
use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

/// The clean portrait enlarged to 3000 px high, centred on a white `width` × `height` frame,
/// with ±`grain` levels of sensor grain from a fixed-seed LCG (every run makes the same
/// pixels).
fn camera_frame(width: u32, height: u32, grain: i16) -> RgbImage {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/photos/clean.jpg");
    let clean = image::open(path).expect("clean fixture").into_rgb8();
    let person = imageops::resize(&clean, 2066, 3000, FilterType::CatmullRom);
    let mut frame = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    imageops::overlay(&mut frame, &person, i64::from((width - 2066) / 2), 0);
    let mut seed: u32 = 0x1234_5678;
    let span = 2 * grain.unsigned_abs() as u32 + 1;
    for p in frame.pixels_mut() {
        for c in p.0.iter_mut() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((seed >> 24) % span) as i16 - grain;
            *c = (i16::from(*c) + noise).clamp(0, 255) as u8;
        }
    }
    frame
}

/// A big-endian TIFF block with one entry, Orientation = 6 ("turn 90° clockwise to view"),
/// as a phone writes for a portrait photo stored sideways.
fn exif_orientation_6() -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 1]); // one entry
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // SHORT 6
    tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    tiff
}

fn jpeg(frame: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).expect("exif");
    }
    encoder.encode_image(frame).expect("encode");
    out
}

fn bench(c: &mut Criterion) {
    let landscape_light = jpeg(&camera_frame(4000, 3000, 6), None);
    let landscape_heavy = jpeg(&camera_frame(4000, 3000, 16), None);
    let portrait = camera_frame(3000, 4000, 6);
    let sideways = jpeg(&imageops::rotate270(&portrait), Some(exif_orientation_6()));
    let cases = [
        ("12MP JPEG light grain", &landscape_light),
        ("12MP JPEG heavy grain", &landscape_heavy),
        ("12MP JPEG portrait stored sideways", &sideways),
    ];

    let mut group = c.benchmark_group("photo");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (name, bytes) in cases {
        let report = check_photo(bytes).expect("check");
        assert!(report.passes(), "{name} must pass: {:?}", report.problems);
        eprintln!(
            "{name}: {}x{} as shown, {} bytes",
            report.width,
            report.height,
            bytes.len()
        );
        group.bench_function(format!("check_photo {name}"), |b| {
            b.iter(|| check_photo(black_box(bytes)).expect("check"))
        });
    }
    group.bench_function("normalise_photo 12MP JPEG light grain", |b| {
        b.iter(|| normalise_photo(black_box(&landscape_light)).expect("normalise"))
    });
    group.bench_function("prepare_photo 12MP JPEG light grain", |b| {
        b.iter(|| prepare_photo(black_box(&landscape_light)).expect("prepare"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
