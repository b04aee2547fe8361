//! The figures the photo checks adopt, in one place. `docs/PHOTO.md` gives the source of
//! each and why; a figure changed here must be changed there.

/// Input files larger than this are refused before decoding (15 MB). A 50-megapixel phone
/// JPEG is 10–15 MB; anything larger is not a photo a phone took.
pub const MAX_FILE_BYTES: usize = 15 * 1024 * 1024;

/// Longest side accepted, in pixels: a 50 MP phone sensor is 8160 × 6120.
pub const MAX_SIDE: u32 = 8192;

/// Most pixels accepted (50 megapixels): caps the memory a declared size can make us take.
pub const MAX_PIXELS: u64 = 50_000_000;

/// Ceiling on what the decoders may allocate, a backstop behind the checks above.
pub(crate) const MAX_DECODER_ALLOC: u64 = 256 * 1024 * 1024;

/// Width of the submitted photo in pixels: twice the 260 px of the licence archive photo,
/// and the 520 px minimum width the 12123 upload asks for.
pub const OUTPUT_WIDTH: u32 = 520;

/// Height of the submitted photo in pixels: twice the 378 px of the archive photo.
pub const OUTPUT_HEIGHT: u32 = 756;

/// A crop down to this width (95 % of [`OUTPUT_WIDTH`]) is accepted and scaled up by at most
/// 5 %, which adds no visible softness and keeps a re-check of our own output stable against
/// the face detector's jitter of a few pixels.
pub const MIN_CROP_WIDTH: u32 = OUTPUT_WIDTH * 95 / 100;

/// The crop height matching [`MIN_CROP_WIDTH`].
pub const MIN_CROP_HEIGHT: u32 = OUTPUT_HEIGHT * 95 / 100;

/// Archive photo size (width, height) the spec's head figures are given in.
pub(crate) const ARCHIVE: (f32, f32) = (260.0, 378.0);

/// Head length (crown to chin) as a fraction of the photo height: the spec's 224–260 px of
/// 378, aiming at the middle, 242 px.
pub(crate) const HEAD_FRACTION: (f32, f32) = (224.0 / 378.0, 260.0 / 378.0);
pub(crate) const HEAD_FRACTION_IDEAL: f32 = 242.0 / 378.0;

/// Room between the crown and the top edge as a fraction of the height. The spec says
/// 10–20 px of 378; the crown is estimated from the face box, not measured on the hair, so
/// 5–30 px is accepted and the normaliser aims at 15 px.
pub(crate) const CROWN_MARGIN: (f32, f32) = (5.0 / 378.0, 30.0 / 378.0);
pub(crate) const CROWN_MARGIN_IDEAL: f32 = 15.0 / 378.0;

/// How far off the vertical centre line the head may sit, as a fraction of the width: the
/// spec says "horizontally centred" with no figure; 5 % is 13 px on the archive photo.
pub(crate) const CENTRE_TOLERANCE: f32 = 0.05;

/// Where the head is, in units of the detector's square face box (side `b`, top `y`):
/// the crown at `y - 0.52 b`, the chin at `y + 1.18 b`, so the head is 1.7 b long. The
/// SeetaFace box runs from the eyebrows to below the mouth; these two figures were measured
/// on the astronaut fixture and agree with adult head proportions (crown to chin about 23 cm
/// against a brow-to-mouth box about 13.5 cm wide).
pub(crate) const CROWN_ABOVE_BOX: f32 = 0.52;
pub(crate) const CHIN_BELOW_BOX_TOP: f32 = 1.18;

/// A second detection counts as another face only when its box is at least half the size of
/// the largest: smaller ones are the detector's false positives in hair or clothes far more
/// often than a second person close enough to be in a licence photo.
pub(crate) const SECOND_FACE_MIN_RATIO: f32 = 0.5;

/// Detection runs on a grey copy whose longest side is at most this many pixels. The
/// detector finds faces from 40 px up, so a face under about 7 % of the photo's longest
/// side is not found; such a face is far below the size the crop needs anyway.
pub(crate) const DETECT_MAX_SIDE: u32 = 600;

/// The SeetaFace score a detection needs (its authors' examples use 2.0).
pub(crate) const DETECT_SCORE: f64 = 2.0;

/// Without a face, a photo whose mean luma is under this is reported too dark as well (the
/// darkness is the likely reason no face was found).
pub(crate) const IMAGE_MIN_MEAN_LUMA: f32 = 40.0;

/// Background: mean luma (0–255) of the background below this is "not white".
pub(crate) const BACKGROUND_MIN_LUMA: f32 = 200.0;
/// Background: mean chroma (max − min channel) above this is a colour cast.
pub(crate) const BACKGROUND_MAX_CHROMA: f32 = 24.0;
/// Background: left and right means differing by more than this is a shadow.
pub(crate) const BACKGROUND_MAX_SIDE_DIFF: f32 = 30.0;
/// Background: a luma standard deviation above this is a patchy or cluttered background.
pub(crate) const BACKGROUND_MAX_SPREAD: f32 = 28.0;

/// Face lighting: the darker half of the face below this fraction of the brighter half is
/// uneven light (a "yin-yang face", 阴阳脸).
pub(crate) const FACE_MIN_SIDE_RATIO: f32 = 0.75;

/// Exposure: more than this fraction of face pixels with a channel at 250 or more is blown
/// out (detail lost to white).
pub(crate) const FACE_MAX_CLIPPED_HIGH: f32 = 0.10;
/// Exposure: a mean face luma under this is too dark.
pub(crate) const FACE_MIN_MEAN_LUMA: f32 = 55.0;
/// Exposure: more than this fraction of face pixels with all channels at 20 or less is
/// crushed black.
pub(crate) const FACE_MAX_CLIPPED_LOW: f32 = 0.15;

/// Sharpness: variance of the Laplacian over the variance of the grey face, measured at
/// archive scale. The ratio does not change when the whole photo is brighter or darker, so a
/// dark photo is not taken for a blurred one.
pub(crate) const MIN_SHARPNESS: f32 = 0.03;

/// The submitted JPEG is at most this large (100 KB).
pub const OUTPUT_MAX_BYTES: usize = 100 * 1024;

/// JPEG quality the normaliser starts at, stepping down by 5 while the file is too large.
pub(crate) const OUTPUT_QUALITY: u8 = 90;

/// Lowest JPEG quality used: the archive photo spec asks for a quality factor of 70 or more.
pub(crate) const OUTPUT_MIN_QUALITY: u8 = 70;
