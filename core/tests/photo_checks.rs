//! The licence-photo checks and normalisation on real photographs: the astronaut portrait
//! and its variants in `tests/photos/` (made by `tests/photos/make_fixtures.py`).
#![cfg(feature = "photo")]

use std::io::Cursor;

use edl_core::photo::spec::{OUTPUT_HEIGHT, OUTPUT_MAX_BYTES, OUTPUT_WIDTH};
use edl_core::photo::{
    Edge, PhotoError, PhotoProblem, ReviewerRule, Side, check_photo, normalise_photo, prepare_photo,
};
use image::{ImageFormat, RgbImage};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/photos/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn problems(name: &str) -> Vec<PhotoProblem> {
    check_photo(&fixture(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .problems
}

fn pixels(jpeg_or_png: &[u8]) -> RgbImage {
    image::load_from_memory(jpeg_or_png).unwrap().into_rgb8()
}

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// JPEG segments before the image data: (marker, payload).
fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut segments = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        segments.push((marker, jpeg[i + 4..i + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        i += 2 + len;
    }
    segments
}

#[test]
fn clean_photo_passes_every_check() {
    let report = check_photo(&fixture("clean.jpg")).unwrap();
    assert_eq!(report.problems, []);
    assert!(report.passes());
    assert_eq!((report.width, report.height), (560, 813));
    let face = report.face.expect("one face");
    // The face sits in the middle third, in the upper half.
    assert!(face.x > 100 && face.x + face.width < 460, "{face:?}");
    assert!(face.y > 100 && face.y + face.height < 500, "{face:?}");
    assert_eq!(report.left_to_reviewer, ReviewerRule::ALL);
}

#[test]
fn the_mirrored_clean_photo_passes_too_and_normalises_to_other_bytes() {
    // The photo-change tests submit it after clean.jpg: it must be a second, distinct photo.
    let report = check_photo(&fixture("clean_mirrored.jpg")).unwrap();
    assert_eq!(report.problems, []);
    assert_ne!(
        normalise_photo(&fixture("clean_mirrored.jpg")).unwrap(),
        normalise_photo(&fixture("clean.jpg")).unwrap()
    );
}

#[test]
fn background_variants_are_reported() {
    assert_eq!(
        problems("grey_background.jpg"),
        [PhotoProblem::BackgroundNotWhite { luma: 172 }]
    );
    assert_eq!(
        problems("blue_background.jpg"),
        [PhotoProblem::BackgroundTinted]
    );
    assert_eq!(
        problems("shadowed_background.jpg"),
        [PhotoProblem::BackgroundUneven {
            darker: Some(Side::Left)
        }]
    );
}

#[test]
fn lighting_variants_are_reported() {
    assert_eq!(
        problems("side_lit_face.jpg"),
        [PhotoProblem::FaceLightingUneven {
            darker: Side::Right
        }]
    );
    // A dark exposure darkens the white background too: both are true and both are said.
    assert_eq!(
        problems("too_dark.jpg"),
        [
            PhotoProblem::BackgroundNotWhite { luma: 56 },
            PhotoProblem::Underexposed
        ]
    );
    assert_eq!(problems("blown_out.jpg"), [PhotoProblem::Overexposed]);
}

#[test]
fn blurred_photo_is_reported() {
    assert_eq!(problems("blurred.jpg"), [PhotoProblem::Blurred]);
}

#[test]
fn framing_variants_are_reported() {
    assert_eq!(
        problems("off_centre.jpg"),
        [PhotoProblem::FaceOffCentre { edge: Edge::Left }]
    );
    assert_eq!(
        problems("low_resolution.jpg"),
        [PhotoProblem::ResolutionTooLow {
            width: 240,
            height: 348
        }]
    );
}

#[test]
fn face_count_variants_are_reported() {
    let two = check_photo(&fixture("two_faces.jpg")).unwrap();
    assert_eq!(two.problems, [PhotoProblem::MoreThanOneFace { count: 2 }]);
    assert_eq!(two.face, None);
    let none = check_photo(&fixture("no_face.jpg")).unwrap();
    assert_eq!(none.problems, [PhotoProblem::NoFace]);
    assert_eq!(none.face, None);
}

#[test]
fn a_dark_photo_without_a_face_is_also_said_to_be_too_dark() {
    let mut dark = pixels(&fixture("no_face.jpg"));
    for p in dark.pixels_mut() {
        p.0 = p.0.map(|c| c / 6);
    }
    assert_eq!(
        check_photo(&encode(&dark, ImageFormat::Jpeg))
            .unwrap()
            .problems,
        [PhotoProblem::NoFace, PhotoProblem::Underexposed]
    );
}

#[test]
fn a_face_cut_by_the_top_edge_has_too_little_room_above() {
    // The clean photo with its top 60 rows cut away: the hair touches the top edge.
    let clean = pixels(&fixture("clean.jpg"));
    let cut = image::imageops::crop_imm(&clean, 0, 60, 560, 753).to_image();
    let report = check_photo(&encode(&cut, ImageFormat::Jpeg)).unwrap();
    assert_eq!(report.problems, [PhotoProblem::TooLittleRoomAboveHead]);
}

#[test]
fn a_small_face_in_a_large_photo_is_too_small_and_a_close_up_too_large() {
    let clean = pixels(&fixture("clean.jpg"));
    // Far away: the whole clean photo shrunk to a quarter, on a white camera frame.
    let small = image::imageops::resize(&clean, 140, 203, image::imageops::FilterType::Triangle);
    let mut far = RgbImage::from_pixel(1000, 1400, image::Rgb([255, 255, 255]));
    image::imageops::overlay(&mut far, &small, 430, 300);
    assert_eq!(
        check_photo(&encode(&far, ImageFormat::Jpeg))
            .unwrap()
            .problems,
        [PhotoProblem::FaceTooSmall]
    );
    // Too close: the middle of the face enlarged to fill the frame.
    let close = image::imageops::crop_imm(&clean, 130, 150, 300, 436).to_image();
    let close = image::imageops::resize(&close, 560, 813, image::imageops::FilterType::Triangle);
    let report = check_photo(&encode(&close, ImageFormat::Jpeg)).unwrap();
    assert!(
        report.problems.contains(&PhotoProblem::FaceTooLarge),
        "{:?}",
        report.problems
    );
}

#[test]
fn exif_orientation_is_applied() {
    let bytes = fixture("exif_rotated.jpg");
    // Stored sideways...
    let stored = image::ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .unwrap()
        .into_dimensions()
        .unwrap();
    assert_eq!(stored, (813, 560));
    // ...checked upright, and it passes like the clean photo it is.
    let report = check_photo(&bytes).unwrap();
    assert_eq!((report.width, report.height), (560, 813));
    assert_eq!(report.problems, []);
    let normalised = normalise_photo(&bytes).unwrap();
    assert_eq!(check_photo(&normalised.jpeg).unwrap().problems, []);
}

#[test]
fn png_photos_are_checked_too_and_transparency_is_white() {
    let clean = pixels(&fixture("clean.jpg"));
    assert_eq!(
        check_photo(&encode(&clean, ImageFormat::Png))
            .unwrap()
            .problems,
        []
    );
    // A cut-out portrait: the white background made transparent (and black underneath).
    let mut rgba = image::DynamicImage::ImageRgb8(clean).into_rgba8();
    for p in rgba.pixels_mut() {
        if p.0[..3] == [255, 255, 255] {
            *p = image::Rgba([0, 0, 0, 0]);
        }
    }
    let mut png = Cursor::new(Vec::new());
    rgba.write_to(&mut png, ImageFormat::Png).unwrap();
    assert_eq!(check_photo(png.get_ref()).unwrap().problems, []);
}

#[test]
fn normalised_photo_is_a_small_licence_jpeg_that_passes() {
    let photo = normalise_photo(&fixture("clean.jpg")).unwrap();
    assert_eq!((photo.width, photo.height), (OUTPUT_WIDTH, OUTPUT_HEIGHT));
    assert_eq!((photo.width, photo.height), (520, 756));
    assert!(
        photo.jpeg.len() <= OUTPUT_MAX_BYTES,
        "{} bytes",
        photo.jpeg.len()
    );
    assert_eq!(image::guess_format(&photo.jpeg).unwrap(), ImageFormat::Jpeg);
    assert_eq!(pixels(&photo.jpeg).dimensions(), (520, 756));
    assert_eq!(photo.sha256, <[u8; 32]>::from(Sha256::digest(&photo.jpeg)));
    let report = check_photo(&photo.jpeg).unwrap();
    assert_eq!(report.problems, []);
    // Deterministic: the same photo gives the same bytes, so a retried upload is the same.
    assert_eq!(normalise_photo(&fixture("clean.jpg")).unwrap(), photo);
}

#[test]
fn normalisation_strips_exif_and_gps() {
    let input = fixture("exif_gps.jpg");
    // The fixture really carries them: an APP1 "Exif" segment with make, model and GPS.
    let app1 = jpeg_segments(&input)
        .into_iter()
        .find(|(m, p)| *m == 0xE1 && p.starts_with(b"Exif\0\0"))
        .expect("fixture has EXIF");
    assert!(contains(&app1.1, b"EDLTestPhone"));
    assert!(contains(&app1.1, b"Model GPS-1"));
    // GPS IFD pointer tag 0x8825, in either byte order.
    assert!(contains(&app1.1, &[0x88, 0x25]) || contains(&app1.1, &[0x25, 0x88]));

    let output = normalise_photo(&input).unwrap().jpeg;
    let segments = jpeg_segments(&output);
    // Only JFIF, tables, frame and scan headers: no APP1 (EXIF/XMP), APP2 (ICC), APP13
    // (IPTC) or comment.
    for (marker, _) in &segments {
        assert!(
            matches!(marker, 0xE0 | 0xDB | 0xC0 | 0xC4 | 0xDA | 0xDD),
            "unexpected segment FF{marker:02X}"
        );
    }
    assert!(!contains(&output, b"Exif"));
    assert!(!contains(&output, b"EDLTestPhone"));
    assert!(!contains(&output, b"GPS"));
}

#[test]
fn a_camera_sized_photo_is_cropped_around_the_face() {
    // The clean portrait as part of a larger landscape frame, off to one side.
    let clean = pixels(&fixture("clean.jpg"));
    let mut frame = RgbImage::from_pixel(1600, 1100, image::Rgb([255, 255, 255]));
    image::imageops::overlay(&mut frame, &clean, 900, 150);
    let bytes = encode(&frame, ImageFormat::Jpeg);
    assert_eq!(check_photo(&bytes).unwrap().problems, []);
    let photo = normalise_photo(&bytes).unwrap();
    let report = check_photo(&photo.jpeg).unwrap();
    assert_eq!(report.problems, []);
    // Head centred in the output.
    let face = report.face.unwrap();
    let centre = face.x + face.width / 2;
    assert!((240..=280).contains(&centre), "{face:?}");
}

#[test]
fn normalisation_refuses_photos_it_cannot_frame() {
    assert_eq!(
        normalise_photo(&fixture("no_face.jpg")),
        Err(PhotoError::CannotFrame(vec![PhotoProblem::NoFace]))
    );
    assert_eq!(
        normalise_photo(&fixture("two_faces.jpg")),
        Err(PhotoError::CannotFrame(vec![
            PhotoProblem::MoreThanOneFace { count: 2 }
        ]))
    );
    assert_eq!(
        normalise_photo(&fixture("off_centre.jpg")),
        Err(PhotoError::CannotFrame(vec![PhotoProblem::FaceOffCentre {
            edge: Edge::Left
        }]))
    );
    // Light problems are the check's business, not a reason it cannot be cropped.
    assert!(normalise_photo(&fixture("grey_background.jpg")).is_ok());
}

#[test]
fn prepare_decodes_once_and_normalises_only_a_passing_photo() {
    let clean = prepare_photo(&fixture("clean.jpg")).unwrap();
    assert!(clean.report.passes());
    assert_eq!(
        clean.normalised,
        Some(normalise_photo(&fixture("clean.jpg")).unwrap())
    );
    let grey = prepare_photo(&fixture("grey_background.jpg")).unwrap();
    assert!(!grey.report.passes());
    assert_eq!(grey.normalised, None);
}

#[test]
fn every_problem_and_rule_has_hints_in_both_languages() {
    let all = [
        PhotoProblem::ResolutionTooLow {
            width: 1,
            height: 1,
        },
        PhotoProblem::NoFace,
        PhotoProblem::MoreThanOneFace { count: 2 },
        PhotoProblem::FaceTooSmall,
        PhotoProblem::FaceTooLarge,
        PhotoProblem::FaceOffCentre { edge: Edge::Left },
        PhotoProblem::FaceOffCentre { edge: Edge::Right },
        PhotoProblem::FaceOffCentre { edge: Edge::Bottom },
        PhotoProblem::TooLittleRoomAboveHead,
        PhotoProblem::BackgroundNotWhite { luma: 150 },
        PhotoProblem::BackgroundTinted,
        PhotoProblem::BackgroundUneven {
            darker: Some(Side::Left),
        },
        PhotoProblem::BackgroundUneven { darker: None },
        PhotoProblem::FaceLightingUneven { darker: Side::Left },
        PhotoProblem::Underexposed,
        PhotoProblem::Overexposed,
        PhotoProblem::Blurred,
    ];
    let zh: std::collections::HashSet<_> = all.iter().map(|p| p.hint_zh()).collect();
    let en: std::collections::HashSet<_> = all.iter().map(|p| p.hint_en()).collect();
    // Every case listed says something of its own (left and right of one kind share a hint).
    assert_eq!(zh.len(), all.len());
    assert_eq!(en.len(), all.len());
    for rule in ReviewerRule::ALL {
        assert!(!rule.description_zh().is_empty() && !rule.description_en().is_empty());
    }
}

#[test]
fn checks_from_several_threads_agree() {
    let bytes = fixture("clean.jpg");
    let expected = check_photo(&bytes).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(|| check_photo(&bytes))).collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), expected);
        }
    });
}

// ----- untrusted input -----

#[test]
fn garbage_empty_and_oversized_files_are_typed_errors() {
    assert_eq!(check_photo(b""), Err(PhotoError::Empty));
    assert_eq!(
        check_photo(b"GIF89a not really"),
        Err(PhotoError::UnsupportedFormat)
    );
    assert_eq!(
        check_photo(b"hello, this is not an image"),
        Err(PhotoError::UnsupportedFormat)
    );
    let huge = vec![0u8; 16 * 1024 * 1024];
    assert!(matches!(
        check_photo(&huge),
        Err(PhotoError::FileTooLarge { .. })
    ));
    assert!(matches!(
        normalise_photo(&huge),
        Err(PhotoError::FileTooLarge { .. })
    ));
}

#[test]
fn truncated_photos_are_typed_errors() {
    let jpeg = fixture("clean.jpg");
    // Two bytes are not yet recognisably a JPEG.
    assert_eq!(check_photo(&jpeg[..2]), Err(PhotoError::UnsupportedFormat));
    for len in [3, 20, 100, 400] {
        assert_eq!(check_photo(&jpeg[..len]), Err(PhotoError::Corrupt), "{len}");
    }
    let png = encode(&pixels(&jpeg), ImageFormat::Png);
    for len in [8, 20, 40, 100, png.len() / 2] {
        assert_eq!(check_photo(&png[..len]), Err(PhotoError::Corrupt), "{len}");
    }
    // A JPEG cut in its image data is either refused or checked as the grey it decodes to;
    // never a panic.
    let _ = check_photo(&jpeg[..jpeg.len() / 2]);
}

/// A PNG that declares `width` × `height` and carries one tiny IDAT.
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc_input);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

/// `jpeg` with its frame header rewritten to declare `width` × `height`.
fn jpeg_declaring(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    let sof = out
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame header");
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    out
}

#[test]
fn decompression_bombs_are_refused_before_allocation() {
    assert_eq!(
        check_photo(&png_declaring(100_000, 100_000)),
        Err(PhotoError::ImageTooLarge {
            width: 100_000,
            height: 100_000
        })
    );
    // Under the side limit but over 50 megapixels.
    assert_eq!(
        check_photo(&png_declaring(8000, 8000)),
        Err(PhotoError::ImageTooLarge {
            width: 8000,
            height: 8000
        })
    );
    let jpeg = fixture("clean.jpg");
    assert_eq!(
        check_photo(&jpeg_declaring(&jpeg, 60_000, 60_000)),
        Err(PhotoError::ImageTooLarge {
            width: 60_000,
            height: 60_000
        })
    );
    assert_eq!(
        normalise_photo(&jpeg_declaring(&jpeg, 65_000, 100)),
        Err(PhotoError::ImageTooLarge {
            width: 65_000,
            height: 100
        })
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(
        magic in prop::sample::select(vec![
            Vec::new(),
            vec![0xFF, 0xD8, 0xFF],
            b"\x89PNG\r\n\x1a\n".to_vec(),
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = magic;
        bytes.extend(tail);
        let _ = check_photo(&bytes);
        let _ = normalise_photo(&bytes);
    }
}

proptest! {
    // Each case decodes and runs the detector on a real photo: few cases, real coverage.
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn damaged_photos_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        keep in 0.05f64..=1.0,
    ) {
        let mut bytes = fixture("low_resolution.jpg");
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        bytes.truncate(((bytes.len() as f64) * keep) as usize);
        let _ = check_photo(&bytes);
    }
}
