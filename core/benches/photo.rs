//! `check_photo` on a 12-megapixel camera JPEG, and the normalisation of it.
//!
//! The photo is made here rather than committed: the clean astronaut fixture enlarged to
//! 3000 px high on a 4000 × 3000 white frame, with deterministic grain so the JPEG's
//! entropy-coded data (and so its decode time, most of the check) is like a real sensor's,
//! encoded at quality 90. Light grain gives a 1.6 MB file, heavy grain 4.5 MB: phones write
//! 12-megapixel JPEGs of about 2–5 MB.
//!
//! `cargo bench -p edl-core --bench photo`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use edl_core::photo::{check_photo, normalise_photo, prepare_photo};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

fn camera_jpeg(grain: i16) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/photos/clean.jpg");
    let clean = image::open(path).expect("clean fixture").into_rgb8();
    let person = imageops::resize(&clean, 2066, 3000, FilterType::CatmullRom);
    let mut frame = RgbImage::from_pixel(4000, 3000, Rgb([255, 255, 255]));
    imageops::overlay(&mut frame, &person, 967, 0);
    // Sensor grain: ±`grain` levels from a fixed-seed LCG, so every run encodes the same file.
    let mut seed: u32 = 0x1234_5678;
    let span = 2 * grain.unsigned_abs() as u32 + 1;
    for p in frame.pixels_mut() {
        for c in p.0.iter_mut() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((seed >> 24) % span) as i16 - grain;
            *c = (i16::from(*c) + noise).clamp(0, 255) as u8;
        }
    }
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&frame)
        .expect("encode");
    jpeg
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("photo");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (name, grain) in [("light grain", 6), ("heavy grain", 16)] {
        let jpeg = camera_jpeg(grain);
        let report = check_photo(&jpeg).expect("check");
        assert!(
            report.passes(),
            "the bench photo must pass: {:?}",
            report.problems
        );
        eprintln!(
            "12MP camera JPEG, {name}: {}x{}, {} bytes",
            report.width,
            report.height,
            jpeg.len()
        );
        group.bench_function(format!("check_photo 12MP JPEG {name}"), |b| {
            b.iter(|| check_photo(black_box(&jpeg)).expect("check"))
        });
        if grain == 6 {
            group.bench_function(format!("normalise_photo 12MP JPEG {name}"), |b| {
                b.iter(|| normalise_photo(black_box(&jpeg)).expect("normalise"))
            });
            group.bench_function(format!("prepare_photo 12MP JPEG {name}"), |b| {
                b.iter(|| prepare_photo(black_box(&jpeg)).expect("prepare"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
