//! The holder's side: turns a stored e-licence into the current presentation.

use crate::credential::{Audience, Credential, CredentialError, ElicenceId, ViewHeader};
use crate::crypto::{self, CodeKind, Purpose, SecretKey, TotpSeed};

use super::dynamic::{barcode_text, manual_code};
use super::payload::{Form, OfflinePayload, OnlinePayload, presentation_message};
use super::render::{Barcode, QrMatrix, RenderError};
use super::window::{MANUAL_PERIOD, MAX_PERIOD, MIN_PERIOD, Window};

/// Why a presentation could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresentError {
    /// The credential could not be read.
    #[error("credential: {0}")]
    Credential(#[from] CredentialError),
    /// The device key is not the one the credential is bound to.
    #[error("the device key does not match the e-licence")]
    KeyMismatch,
    /// A rotation period outside 10–120 s.
    #[error("rotation period must be between {MIN_PERIOD} and {MAX_PERIOD} seconds")]
    BadPeriod,
    /// The symbol could not be drawn.
    #[error("render: {0}")]
    Render(#[from] RenderError),
}

/// One QR presentation, valid for one window.
#[derive(Debug, Clone)]
pub struct Presentation {
    /// Online or offline.
    pub form: Form,
    /// Whom it is shown to.
    pub audience: Audience,
    /// The window it is valid in.
    pub window: Window,
    /// The bytes in the symbol.
    pub payload: Vec<u8>,
    /// The symbol, ready to draw.
    pub qr: QrMatrix,
    /// Seconds until the next rotation (for the countdown).
    pub seconds_left: u32,
}

/// The barcode and manual code of one window.
#[derive(Debug, Clone)]
pub struct DynamicCode {
    /// Whom they are shown to.
    pub audience: Audience,
    /// The barcode's window.
    pub window: Window,
    /// The barcode (its text is [`Barcode::text`]).
    pub barcode: Barcode,
    /// The manual code (7 digits).
    pub manual_code: String,
    /// Seconds until the manual code changes (its period is always 30 s).
    pub manual_seconds_left: u32,
    /// Seconds until the barcode changes.
    pub seconds_left: u32,
}

/// An e-licence as its holder keeps it: the credential, the device key it is bound to
/// and the TOTP seed. Secrets stay inside; only payloads come out.
#[derive(Debug)]
pub struct Holder {
    credential: Credential,
    id: ElicenceId,
    device_key: SecretKey,
    seed: TotpSeed,
}

impl Holder {
    /// Checks that `device_key` is the key the credential is bound to.
    pub fn new(
        credential: Credential,
        device_key: SecretKey,
        seed: TotpSeed,
    ) -> Result<Self, PresentError> {
        let mut r = crate::codec::Reader::new(credential.enforcement.body());
        let header = ViewHeader::decode(&mut r)?;
        if header.device_key != device_key.public() {
            return Err(PresentError::KeyMismatch);
        }
        let id = credential.id()?;
        Ok(Holder {
            credential,
            id,
            device_key,
            seed,
        })
    }

    /// The e-licence id.
    pub fn id(&self) -> ElicenceId {
        self.id
    }

    /// The credential.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The online payload for `window`.
    pub fn online_payload(&self, audience: Audience, window: Window) -> OnlinePayload {
        let code = self
            .seed
            .code(CodeKind::Qr, audience.code(), window.period, window.index);
        OnlinePayload {
            audience,
            period: window.period,
            id: self.id,
            code: code.parse().expect("TOTP codes are digits"),
        }
    }

    /// The offline payload for `window`: the stored view plus a fresh device signature.
    pub fn offline_payload(&self, audience: Audience, window: Window) -> OfflinePayload {
        let view = self.credential.view(audience).clone();
        let message = presentation_message(audience, window, &view);
        let device_sig = crypto::sign(&self.device_key, Purpose::Presentation, &message);
        OfflinePayload {
            view,
            period: window.period,
            window_low: window.index as u8,
            device_sig,
        }
    }

    /// The QR presentation of `form` for `audience` at unix time `now`.
    pub fn present(
        &self,
        form: Form,
        audience: Audience,
        now: u64,
        period: u32,
    ) -> Result<Presentation, PresentError> {
        let window = checked_window(now, period)?;
        let payload = match form {
            Form::Online => self.online_payload(audience, window).encode(),
            Form::Offline => self.offline_payload(audience, window).encode(),
        };
        let qr = QrMatrix::encode(&payload)?;
        Ok(Presentation {
            form,
            audience,
            window,
            payload,
            qr,
            seconds_left: window.seconds_left(now),
        })
    }

    /// The barcode and manual code for `audience` at `now`.
    pub fn dynamic_code(
        &self,
        audience: Audience,
        now: u64,
        period: u32,
    ) -> Result<DynamicCode, PresentError> {
        let window = checked_window(now, period)?;
        let qr_code = self
            .seed
            .code(CodeKind::Qr, audience.code(), window.period, window.index);
        let barcode = Barcode::code128(&barcode_text(audience, period, self.id, &qr_code))?;
        let manual_window = Window::at(now, MANUAL_PERIOD);
        let manual = self.seed.code(
            CodeKind::Manual,
            audience.code(),
            MANUAL_PERIOD,
            manual_window.index,
        );
        Ok(DynamicCode {
            audience,
            window,
            barcode,
            manual_code: manual_code(audience, &manual),
            manual_seconds_left: manual_window.seconds_left(now),
            seconds_left: window.seconds_left(now),
        })
    }
}

fn checked_window(now: u64, period: u32) -> Result<Window, PresentError> {
    if !(MIN_PERIOD..=MAX_PERIOD).contains(&period) {
        return Err(PresentError::BadPeriod);
    }
    Ok(Window::at(now, period))
}
