//! Pure rules of the registry. No I/O; time comes in as unix seconds.
//!
//! - here: photo limits, review deadlines, the live licence, what can be signed, the busy
//!   switch's bounds;
//! - [`rules`]: every change to a driver, as a function of the aggregate;
//! - [`messages`]: the texts pushed to the driver's feed.

pub mod messages;
pub mod rules;

use edl_core::licence::beijing::BEIJING;
use edl_core::licence::{Licence, PointsCycle};
use edl_core::verify::china_date;
use time::{Duration, OffsetDateTime, Weekday};

use crate::error::Error;

pub use edl_core::wire::photo::{MAX_PHOTO_BYTES, MIN_PHOTO_BYTES};

/// The most pixels a side a kept photo may declare: every verifier that checks the driver
/// decodes it. A licence photo is 520 × 756 from the phone (PHOTO.md); a counter's camera
/// photo, cropped, well under this.
pub const MAX_PHOTO_SIDE: u32 = 4096;

/// Checks what the server can check without decoding the pixels: size and format (the
/// wire's rule, `edl_core::wire::photo`), then the image's header, whose declared size must
/// be at most [`MAX_PHOTO_SIDE`] a side (AO-PH5: a 1.2 MB PNG declaring 20,000 × 20,000
/// pixels, 1.2 GB decoded, passed, and every verifier app checking that driver would run
/// out of memory decoding it). The phone checks background, light and framing before
/// upload; reviewers check the rest by eye.
pub fn check_photo(bytes: &[u8]) -> Result<(), Error> {
    edl_core::wire::photo::check_photo_form(bytes).map_err(|e| Error::InvalidPhoto(e.reason()))?;
    let unreadable = || Error::InvalidPhoto("the image's header cannot be read");
    let too_large = || Error::InvalidPhoto("the image declares more than 4096 pixels a side");
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| unreadable())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PHOTO_SIDE);
    limits.max_image_height = Some(MAX_PHOTO_SIDE);
    // Reading a PNG's header inflates its compressed metadata (an ICC profile) before the
    // first pixel: 512 MiB by default, on the request's thread (the review of D222, U-1).
    limits.max_alloc = Some(HEADER_ALLOC_BYTES);
    reader.limits(limits);
    // The decoders refuse a side over the bound as a limit; a counter clerk told "cannot
    // be read" for a camera's full-size photo would not know to crop it (AQ-7).
    let decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => too_large(),
        _ => unreadable(),
    })?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    if width == 0 || height == 0 {
        return Err(unreadable());
    }
    if width > MAX_PHOTO_SIDE || height > MAX_PHOTO_SIDE {
        return Err(too_large());
    }
    // Its size decoded too, which the pixel depth sets (the review of D222, U-5): a 16-bit
    // RGBA PNG of 4,096 pixels a side decodes to 128 MiB on every verifier that shows it.
    if image::ImageDecoder::total_bytes(&decoder) > MAX_DECODED_BYTES {
        return Err(Error::InvalidPhoto(
            "the image decodes to more than 64 MiB (too many pixels or too deep)",
        ));
    }
    Ok(())
}

/// The most a kept photo may decode to: 4,096 × 4,096 pixels of 8-bit RGB (48 MiB) fits;
/// the phone's 520 × 756 is 1.2 MB.
const MAX_DECODED_BYTES: u64 = 64 << 20;

/// What reading a photo's header may allocate.
const HEADER_ALLOC_BYTES: u64 = 8 << 20;

/// A photo a wallet sends: [`check_photo`], and a JPEG, as the phone's normaliser always
/// sends. A PNG can carry compressed metadata (an ICC profile of hundreds of MiB, inflated)
/// that every verifier's decoder would inflate again, and nothing a wallet sends needs one
/// (the review of D222, U-1); photos from the registry and a counter may still be PNG.
pub fn check_wallet_photo(bytes: &[u8]) -> Result<(), Error> {
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(Error::InvalidPhoto("a wallet sends its photo as a JPEG"));
    }
    check_photo(bytes)
}

/// The longest Retry-After the busy switch may set (D177): a day. The switch is for peak
/// hours; a longer pause of photo changes is a decision to announce, not a switch left on.
pub const MAX_BUSY_RETRY_AFTER: u32 = 24 * 3600;

/// Checks a busy setting (D177): cleared (`None`), or a wait of 1 s to
/// [`MAX_BUSY_RETRY_AFTER`]. A Retry-After of 0 would send every refused client back at
/// once, into the same peak.
pub fn check_busy_setting(retry_after: Option<u32>) -> Result<(), Error> {
    match retry_after {
        Some(0) => Err(Error::BadRequest(
            "retry_after must be at least 1 second (null clears the switch)".into(),
        )),
        Some(secs) if secs > MAX_BUSY_RETRY_AFTER => Err(Error::BadRequest(format!(
            "retry_after must be at most {MAX_BUSY_RETRY_AFTER} seconds"
        ))),
        _ => Ok(()),
    }
}

/// The busy switch as stored, held to the bounds [`check_busy_setting`] puts on a new
/// setting (D177): a row written before them (D174 took 0 and any `u32`) keeps the switch
/// on, with a Retry-After of 1 s to a day, never "at once" nor years away.
pub fn busy_in_effect(stored: Option<u32>) -> Option<u32> {
    stored.map(|secs| secs.clamp(1, MAX_BUSY_RETRY_AFTER))
}

fn is_weekend(day: Weekday) -> bool {
    matches!(day, Weekday::Saturday | Weekday::Sunday)
}

/// When a photo submitted at `submitted` must be reviewed by: one working day later,
/// Beijing time, weekends skipped. A photo sent on a working day is due at the same time
/// on the next working day (Friday 10:00 → Monday 10:00); one sent at the weekend is due
/// at the end of Monday. Public holidays and their swapped working weekends (调休) are
/// not modelled (see `docs/DECISIONS.md`).
pub fn review_deadline(submitted: u64) -> u64 {
    deadline_of(submitted).unwrap_or(submitted)
}

fn deadline_of(submitted: u64) -> Option<u64> {
    let day = Duration::days(1);
    let t = OffsetDateTime::from_unix_timestamp(i64::try_from(submitted).ok()?).ok()?;
    let mut start = t.checked_to_offset(BEIJING)?;
    if is_weekend(start.weekday()) {
        while is_weekend(start.weekday()) {
            start = start.checked_add(day)?;
        }
        start = start.replace_time(time::Time::MIDNIGHT);
    }
    let mut due = start.checked_add(day)?;
    while is_weekend(due.weekday()) {
        due = due.checked_add(day)?;
    }
    u64::try_from(due.unix_timestamp()).ok()
}

/// The licence as of `now`: the scoring cycle is the one containing today (Beijing
/// date), with its points summed from the record. Nothing else changes.
pub fn live_licence(licence: &Licence, now: u64) -> Licence {
    let mut live = licence.clone();
    let today = china_date(now);
    if let Ok(cycle) =
        PointsCycle::containing(live.main.first_issue, today, &live.supplementary.record)
    {
        live.supplementary.cycle = cycle;
    }
    live
}

/// Checks that `licence` can be signed into a credential: beyond [`Licence::validate`],
/// the compact encoding has its own limits (dates up to 2079, texts up to 255 bytes).
/// Registry changes are refused up front rather than failing at issuance later.
pub fn check_issuable(licence: &Licence, now: u64) -> Result<(), Error> {
    use edl_core::credential::{ElicenceId, Issuance, Issuer};
    use edl_core::crypto::{KeyId, SecretKey};
    licence.validate()?;
    let key = SecretKey::from_seed([1; 32]);
    let device_key = key.public();
    Issuer::new(KeyId(0), key)
        .issue(
            licence,
            Issuance {
                id: ElicenceId(1),
                device_key,
                issued_at: u32::try_from(now).unwrap_or(u32::MAX),
                ttl_hours: 1,
                status_index: 0,
            },
        )
        .map(|_| ())
        .map_err(|_| Error::Unencodable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_busy_setting_stored_out_of_bounds_is_held_to_them() {
        assert_eq!(busy_in_effect(None), None);
        assert_eq!(busy_in_effect(Some(0)), Some(1));
        assert_eq!(busy_in_effect(Some(300)), Some(300));
        assert_eq!(busy_in_effect(Some(u32::MAX)), Some(MAX_BUSY_RETRY_AFTER));
    }

    #[test]
    fn a_busy_setting_waits_one_second_to_a_day_or_is_cleared() {
        for ok in [None, Some(1), Some(300), Some(MAX_BUSY_RETRY_AFTER)] {
            assert!(check_busy_setting(ok).is_ok(), "{ok:?}");
        }
        for bad in [Some(0), Some(MAX_BUSY_RETRY_AFTER + 1), Some(u32::MAX)] {
            assert!(
                matches!(check_busy_setting(bad), Err(Error::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    fn at(t: OffsetDateTime) -> u64 {
        t.unix_timestamp() as u64
    }

    #[test]
    fn working_day_deadline_skips_weekends_in_beijing_time() {
        // Monday 10:00 → Tuesday 10:00.
        let mon = at(datetime!(2026-11-23 10:00 +8));
        assert_eq!(review_deadline(mon), at(datetime!(2026-11-24 10:00 +8)));
        // Friday 10:00 → Monday 10:00.
        let fri = at(datetime!(2026-11-27 10:00 +8));
        assert_eq!(review_deadline(fri), at(datetime!(2026-11-30 10:00 +8)));
        // Saturday 15:00 → end of Monday (Tuesday 00:00).
        let sat = at(datetime!(2026-11-28 15:00 +8));
        assert_eq!(review_deadline(sat), at(datetime!(2026-12-01 00:00 +8)));
        // Friday 23:30 Beijing is still Friday 15:30 UTC: Beijing time decides.
        let fri_late = at(datetime!(2026-11-27 23:30 +8));
        assert_eq!(
            review_deadline(fri_late),
            at(datetime!(2026-11-30 23:30 +8))
        );
        // Sunday 01:00 Beijing is Saturday in UTC: still the weekend rule.
        let sun = at(datetime!(2026-11-29 01:00 +8));
        assert_eq!(review_deadline(sun), at(datetime!(2026-12-01 00:00 +8)));
        assert_eq!(review_deadline(u64::MAX), u64::MAX);
    }

    /// A JPEG of `width` × `height` pixels.
    fn jpeg_of(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 200, 200]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut out)
            .encode_image(&img)
            .unwrap();
        out
    }

    /// What [`check_photo`] says of refusing `bytes` as a photo, if it does.
    fn refusal(bytes: &[u8]) -> Option<&'static str> {
        match check_photo(bytes) {
            Err(Error::InvalidPhoto(why)) => Some(why),
            _ => None,
        }
    }

    /// A PNG declaring `width` × `height` (its signature, header, an empty data chunk and
    /// its end), padded: what a decoder reads before it allocates the pixels.
    fn png_declaring(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(png::ColorType::Rgb);
            let mut writer = encoder.write_header().unwrap();
            writer.write_chunk(png::chunk::IDAT, &[]).unwrap();
        }
        out.resize(out.len().max(1000), 0);
        out
    }

    #[test]
    fn photos_must_be_jpeg_or_png_within_limits() {
        let jpeg = jpeg_of(520, 756);
        assert!(check_photo(&jpeg).is_ok());
        assert!(check_photo(&png_declaring(520, 756)).is_ok());
        assert!(check_photo(b"GIF89a").is_err());
        assert!(check_photo(&jpeg[..10]).is_err());
        let mut huge = jpeg.clone();
        huge.resize(MAX_PHOTO_BYTES + 1, 0);
        assert!(check_photo(&huge).is_err());
        let mut gif = b"GIF89a".to_vec();
        gif.resize(1000, 0);
        assert!(check_photo(&gif).is_err());
    }

    /// A wallet sends a JPEG (the review of D222, U-1): a PNG, which may carry an ICC
    /// profile that inflates to hundreds of MiB in every decoder, is refused from a
    /// wallet; the registry's and a counter's photos may still be PNG.
    #[test]
    fn a_wallet_photo_is_a_jpeg() {
        assert!(check_wallet_photo(&jpeg_of(520, 756)).is_ok());
        let png = png_declaring(520, 756);
        assert!(check_photo(&png).is_ok());
        assert!(matches!(
            check_wallet_photo(&png),
            Err(Error::InvalidPhoto(_))
        ));
    }

    /// A photo's declared size is read before it is kept (AO-PH5): the reviewer's PNG of
    /// 20,000 × 20,000 pixels, and magic bytes followed by nothing an image decoder reads,
    /// are refused.
    #[test]
    fn a_photo_declaring_more_than_its_bound_or_no_header_is_refused() {
        let too_large = Some("the image declares more than 4096 pixels a side");
        assert_eq!(refusal(&png_declaring(20_000, 20_000)), too_large);
        assert!(check_photo(&png_declaring(MAX_PHOTO_SIDE, MAX_PHOTO_SIDE)).is_ok());
        assert_eq!(refusal(&png_declaring(MAX_PHOTO_SIDE + 1, 16)), too_large);
        assert_eq!(refusal(&jpeg_of(MAX_PHOTO_SIDE + 8, 16)), too_large);
        // Within the sides, but 16-bit RGBA: 128 MiB decoded (U-5).
        let mut deep = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut deep, MAX_PHOTO_SIDE, MAX_PHOTO_SIDE);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Sixteen);
            let mut writer = encoder.write_header().unwrap();
            writer.write_chunk(png::chunk::IDAT, &[]).unwrap();
        }
        deep.resize(1000, 0);
        assert_eq!(
            refusal(&deep),
            Some("the image decodes to more than 64 MiB (too many pixels or too deep)")
        );
        let mut magic_only = vec![0xFF, 0xD8, 0xFF, 0xE0];
        magic_only.resize(1000, 0);
        assert_eq!(
            refusal(&magic_only),
            Some("the image's header cannot be read")
        );
    }
}
