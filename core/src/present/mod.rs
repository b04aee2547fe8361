//! Rotating presentations: from one stored e-licence, for a chosen audience, the online
//! QR, the offline QR, the barcode and the manual code of the current time window.

mod dynamic;
mod holder;
mod payload;
pub mod render;
mod text;
mod window;

pub use dynamic::{
    BARCODE_DIGITS, MANUAL_CODE_DIGITS, audience_from_digit, barcode_text, manual_code,
};
pub use holder::{DynamicCode, Holder, PresentError, Presentation};
pub use payload::{
    Form, Header, OfflinePayload, OnlinePayload, PayloadError, VERSION, presentation_message,
};
pub use text::{payload_from_text, payload_to_text};
pub use window::{DEFAULT_PERIOD, MANUAL_PERIOD, MAX_PERIOD, MIN_PERIOD, Window};
