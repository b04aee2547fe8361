//! What a check finds: typed problems with what to fix, and the rules left to the reviewer.

/// The result of [`check_photo`](super::check_photo): every problem found, the rules only a
/// person can judge, and where the face is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoReport {
    /// Every problem found, in a stable order (framing, then light, then sharpness). Empty
    /// when the photo passes every check that can run on the phone.
    pub problems: Vec<PhotoProblem>,
    /// The rules the authority's reviewer judges and this check does not claim to.
    pub left_to_reviewer: Vec<ReviewerRule>,
    /// The face found, when exactly one was.
    pub face: Option<FaceBox>,
    /// Width of the photo as shown (after its EXIF orientation), in pixels.
    pub width: u32,
    /// Height of the photo as shown (after its EXIF orientation), in pixels.
    pub height: u32,
}

impl PhotoReport {
    /// True when no problem was found: the photo can be normalised and submitted (the
    /// reviewer still judges [`left_to_reviewer`](Self::left_to_reviewer)).
    pub fn passes(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A face found by the detector, in pixels of the photo as shown. The box is square and runs
/// roughly from the eyebrows to below the mouth, cheek to cheek.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaceBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Left or right, as the photo is seen (not the driver's own left).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The left of the picture.
    Left,
    /// The right of the picture.
    Right,
}

/// An edge of the picture the face is too close to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edge {
    /// The left edge of the picture.
    Left,
    /// The right edge of the picture.
    Right,
    /// The bottom edge: the face is too low, the shoulders are cut off.
    Bottom,
}

/// One thing wrong with a photo, with what the driver should do about it.
/// Deliberately not `#[non_exhaustive]`: the bindings map every variant, so a new rule fails
/// to compile there until the foreign API has it (D42).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotoProblem {
    /// The photo is smaller than the licence photo needs (see `docs/PHOTO.md`).
    ResolutionTooLow {
        /// Width of the photo as shown.
        width: u32,
        /// Height of the photo as shown.
        height: u32,
    },
    /// No face was found.
    NoFace,
    /// More than one face was found.
    MoreThanOneFace {
        /// How many faces were counted.
        count: u32,
    },
    /// The face is too small: cropped to the licence proportions it has too few pixels.
    FaceTooSmall,
    /// The face is too large: head and shoulders do not fit in the frame.
    FaceTooLarge,
    /// The face is too close to an edge for a centred licence crop.
    FaceOffCentre {
        /// The edge it is too close to.
        edge: Edge,
    },
    /// The top of the head is at (or beyond) the top edge.
    TooLittleRoomAboveHead,
    /// The background is grey or dark, not white.
    BackgroundNotWhite {
        /// Mean brightness of the background, 0–255.
        luma: u8,
    },
    /// The background has a colour (blue, red, yellowish light, …), not white.
    BackgroundTinted,
    /// The background is not even: a shadow on one side, or patches and objects.
    BackgroundUneven {
        /// The darker side when the cause is a shadow; `None` for patches or clutter.
        darker: Option<Side>,
    },
    /// One side of the face is much darker than the other.
    FaceLightingUneven {
        /// The darker side of the face as seen in the picture.
        darker: Side,
    },
    /// The face is too dark.
    Underexposed,
    /// The face is blown out: large parts are pure white.
    Overexposed,
    /// The face is not sharp (out of focus or moved).
    Blurred,
}

impl PhotoProblem {
    /// What to fix, in Chinese, for the driver.
    pub fn hint_zh(&self) -> &'static str {
        match self {
            PhotoProblem::ResolutionTooLow { .. } => {
                "照片分辨率太低：请用手机相机重新拍摄，不要使用截图或压缩过的图片。"
            }
            PhotoProblem::NoFace => "未检测到人脸：请正对镜头，露出完整面部。",
            PhotoProblem::MoreThanOneFace { .. } => "照片中有多个人脸：请单人拍摄。",
            PhotoProblem::FaceTooSmall => "人脸太小：请靠近镜头，让头部和肩膀充满取景框。",
            PhotoProblem::FaceTooLarge => "人脸太大：请离镜头远一些，露出头顶和双肩。",
            PhotoProblem::FaceOffCentre { edge: Edge::Left } => {
                "人脸太靠左：请把头部移到画面正中。"
            }
            PhotoProblem::FaceOffCentre { edge: Edge::Right } => {
                "人脸太靠右：请把头部移到画面正中。"
            }
            PhotoProblem::FaceOffCentre { edge: Edge::Bottom } => {
                "人脸太靠下：请把镜头放低或抬高取景，露出双肩。"
            }
            PhotoProblem::TooLittleRoomAboveHead => "头顶离上边缘太近：请在头顶上方留出空白。",
            PhotoProblem::BackgroundNotWhite { .. } => {
                "背景不是白色：请站在白墙或白色背景布前，光线充足。"
            }
            PhotoProblem::BackgroundTinted => {
                "背景带有颜色：请使用纯白背景（不要蓝底、红底），避免彩色灯光。"
            }
            PhotoProblem::BackgroundUneven { darker: Some(_) } => {
                "背景一侧有阴影：请离墙远一些，让光线从正面均匀照射。"
            }
            PhotoProblem::BackgroundUneven { darker: None } => {
                "背景不均匀：请使用干净、无图案、无杂物的白色背景。"
            }
            PhotoProblem::FaceLightingUneven { .. } => {
                "面部光线不均匀（阴阳脸）：请面向光源，避免侧光。"
            }
            PhotoProblem::Underexposed => "照片太暗：请到光线充足的地方拍摄。",
            PhotoProblem::Overexposed => "照片过曝：面部发白，请避开强光或关闭闪光灯。",
            PhotoProblem::Blurred => "照片模糊：请拿稳手机，对焦后再拍。",
        }
    }

    /// What to fix, in English, for the driver.
    pub fn hint_en(&self) -> &'static str {
        match self {
            PhotoProblem::ResolutionTooLow { .. } => {
                "The photo's resolution is too low: take it again with the phone camera, not a screenshot or a compressed copy."
            }
            PhotoProblem::NoFace => "No face found: face the camera with your whole face visible.",
            PhotoProblem::MoreThanOneFace { .. } => {
                "More than one face: only you may be in the photo."
            }
            PhotoProblem::FaceTooSmall => {
                "Your face is too small: come closer so head and shoulders fill the frame."
            }
            PhotoProblem::FaceTooLarge => {
                "Your face is too large: move back so the top of your head and both shoulders show."
            }
            PhotoProblem::FaceOffCentre { edge: Edge::Left } => {
                "Your face is too far left: move your head to the middle of the picture."
            }
            PhotoProblem::FaceOffCentre { edge: Edge::Right } => {
                "Your face is too far right: move your head to the middle of the picture."
            }
            PhotoProblem::FaceOffCentre { edge: Edge::Bottom } => {
                "Your face is too low: frame the photo so both shoulders show."
            }
            PhotoProblem::TooLittleRoomAboveHead => {
                "The top of your head is too close to the top edge: leave some space above it."
            }
            PhotoProblem::BackgroundNotWhite { .. } => {
                "The background is not white: stand in front of a white wall in good light."
            }
            PhotoProblem::BackgroundTinted => {
                "The background has a colour: use a plain white one (not blue or red) and no coloured light."
            }
            PhotoProblem::BackgroundUneven { darker: Some(_) } => {
                "There is a shadow on the background: step away from the wall and light it evenly from the front."
            }
            PhotoProblem::BackgroundUneven { darker: None } => {
                "The background is uneven: use a clean, plain white background with nothing on it."
            }
            PhotoProblem::FaceLightingUneven { .. } => {
                "Your face is lit unevenly: face the light and avoid light from one side."
            }
            PhotoProblem::Underexposed => "The photo is too dark: take it somewhere brighter.",
            PhotoProblem::Overexposed => {
                "The photo is blown out: avoid strong light on your face and turn the flash off."
            }
            PhotoProblem::Blurred => {
                "The photo is blurred: hold the phone still and let it focus before taking it."
            }
        }
    }
}

/// A photo rule that only a person can judge. The check never claims these; it lists them so
/// the app can remind the driver and the reviewer knows what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReviewerRule {
    /// No hat or other head covering.
    NoHat,
    /// Hair does not cover the eyebrows, eyes or ears.
    FaceAndEarsUncovered,
    /// No mask.
    NoMask,
    /// No sunglasses (ordinary glasses for corrected sight are worn).
    NoSunglasses,
    /// No scarf.
    NoScarf,
    /// No jewellery such as earrings or necklaces.
    NoJewellery,
    /// Dark clothes.
    DarkClothes,
    /// No uniform.
    NoUniform,
    /// No heavy make-up.
    NoHeavyMakeUp,
    /// No retouching, beautifying filter or composite.
    NoRetouching,
    /// A natural expression, looking straight into the camera, eyes open.
    NaturalExpression,
}

impl ReviewerRule {
    /// Every rule left to the reviewer, in the order an app should list them.
    pub const ALL: [ReviewerRule; 11] = [
        ReviewerRule::NoHat,
        ReviewerRule::FaceAndEarsUncovered,
        ReviewerRule::NoMask,
        ReviewerRule::NoSunglasses,
        ReviewerRule::NoScarf,
        ReviewerRule::NoJewellery,
        ReviewerRule::DarkClothes,
        ReviewerRule::NoUniform,
        ReviewerRule::NoHeavyMakeUp,
        ReviewerRule::NoRetouching,
        ReviewerRule::NaturalExpression,
    ];

    /// The rule, in Chinese, as a reminder for the driver.
    pub fn description_zh(&self) -> &'static str {
        match self {
            ReviewerRule::NoHat => "不戴帽子或头饰。",
            ReviewerRule::FaceAndEarsUncovered => "头发不遮挡眉毛、眼睛和耳朵。",
            ReviewerRule::NoMask => "不戴口罩。",
            ReviewerRule::NoSunglasses => "不戴墨镜（矫正视力者佩戴普通眼镜）。",
            ReviewerRule::NoScarf => "不戴围巾。",
            ReviewerRule::NoJewellery => "不佩戴耳环、项链等饰品。",
            ReviewerRule::DarkClothes => "穿深色衣服。",
            ReviewerRule::NoUniform => "不穿制式服装。",
            ReviewerRule::NoHeavyMakeUp => "不化浓妆。",
            ReviewerRule::NoRetouching => "不美颜、不修图、不合成。",
            ReviewerRule::NaturalExpression => "神态自然，正视镜头，不眨眼。",
        }
    }

    /// The rule, in English, as a reminder for the driver.
    pub fn description_en(&self) -> &'static str {
        match self {
            ReviewerRule::NoHat => "No hat or head covering.",
            ReviewerRule::FaceAndEarsUncovered => "Hair does not cover the eyebrows, eyes or ears.",
            ReviewerRule::NoMask => "No mask.",
            ReviewerRule::NoSunglasses => {
                "No sunglasses (wear your ordinary glasses if you need them)."
            }
            ReviewerRule::NoScarf => "No scarf.",
            ReviewerRule::NoJewellery => "No earrings, necklaces or other jewellery.",
            ReviewerRule::DarkClothes => "Wear dark clothes.",
            ReviewerRule::NoUniform => "No uniform.",
            ReviewerRule::NoHeavyMakeUp => "No heavy make-up.",
            ReviewerRule::NoRetouching => "No retouching, beauty filter or composite.",
            ReviewerRule::NaturalExpression => {
                "A natural expression, looking straight at the camera, eyes open."
            }
        }
    }
}
