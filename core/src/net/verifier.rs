//! The verifier's online check: what was read off the driver's screen goes to the
//! authority with the verifier's API key, and the live answer comes back; the photo it
//! names is then fetched by its digest and checked (D92).

use std::fmt;
use std::time::Duration;

use tracing::Instrument;
use zeroize::Zeroizing;

use crate::credential::{ElicenceId, TrustList};
use crate::crypto::sha256;
use crate::licence::has_hidden_character;
use crate::present::PayloadError;
use crate::verify::OnlineCheck;
use crate::wire::{
    Base64, LiveView, TrustListResponse, VerifyRequest, VerifyResponse, paths, photo,
};

use super::{Client, NetError, runtime};

/// Why an online check gave no answer about the licence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnlineVerifyError {
    /// What was scanned or typed is not an online QR, a barcode or a manual code. Found on
    /// the phone, so nothing was sent and no failed attempt was counted against the
    /// verifier.
    #[error("malformed: {0}")]
    Malformed(#[from] PayloadError),
    /// The authority refused the check (a wrong or expired code is
    /// `Rejected { code: CodeRejected }`) or could not be asked.
    #[error(transparent)]
    Net(#[from] NetError),
}

/// A signed trust list larger than this is not one (a key takes 42 bytes; 64 KiB is over a
/// thousand keys).
pub const MAX_TRUST_LIST_BYTES: usize = 64 * 1024;

/// A signed status list larger than this is not one: 2^24 entries pack into 4 MiB before
/// compression, and deflate adds at most a few bytes per 16 KiB block.
pub const MAX_STATUS_LIST_BYTES: usize = 4 * 1024 * 1024 + 64 * 1024;

/// The longest a check's photo fetch takes, its retries included (D159).
pub const PHOTO_FETCH_SECS: u64 = 8;

/// An online check's answer with the photo it names, fetched from the authority by its
/// digest and checked against it (D92).
#[derive(Clone, PartialEq, Eq)]
pub struct OnlineAnswer {
    /// The authority's answer (its `photo_digest` is the SHA-256 of `photo`).
    pub answer: VerifyResponse,
    /// The approved photo, to compare with the driver's face.
    pub photo: Vec<u8>,
}

impl fmt::Debug for OnlineAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The photo is personal data: its size only.
        f.debug_struct("OnlineAnswer")
            .field("answer", &self.answer)
            .field("photo_len", &self.photo.len())
            .finish()
    }
}

/// A verifier's client of the authority's online check, holding its API key.
///
/// Cheap to clone and safe to share: every check runs on the core's runtime, so any
/// executor (a Kotlin coroutine, a Swift task) may await it.
#[derive(Clone)]
pub struct OnlineVerifier {
    client: Client,
    api_key: Zeroizing<String>,
}

impl fmt::Debug for OnlineVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The API key is a credential: never in a log line.
        f.debug_struct("OnlineVerifier").finish_non_exhaustive()
    }
}

impl OnlineVerifier {
    /// A client of the authority at `authority_url` (`http://` or `https://`) with the
    /// verifier's `api_key`. Nothing is sent until the first check.
    pub fn new(authority_url: &str, api_key: &str) -> Result<Self, NetError> {
        Ok(OnlineVerifier {
            client: Client::new(authority_url)?,
            api_key: Zeroizing::new(api_key.trim().to_owned()),
        })
    }

    /// Checks the bytes of an online QR.
    pub async fn verify_qr(&self, payload: &[u8]) -> Result<OnlineAnswer, OnlineVerifyError> {
        let shown = shown(&OnlineCheck::from_qr(payload)?);
        let request = VerifyRequest::Qr {
            payload: Base64(payload.to_vec()),
        };
        self.send(request, shown).await
    }

    /// Checks the 32 digits read off the barcode.
    pub async fn verify_barcode(&self, text: &str) -> Result<OnlineAnswer, OnlineVerifyError> {
        let shown = shown(&OnlineCheck::from_barcode(text)?);
        let request = VerifyRequest::Barcode {
            text: text.trim().to_owned(),
        };
        self.send(request, shown).await
    }

    /// Checks a licence number and the 7-digit manual code a person typed (spaces allowed).
    pub async fn verify_manual(
        &self,
        licence_number: &str,
        code: &str,
    ) -> Result<OnlineAnswer, OnlineVerifyError> {
        let check = OnlineCheck::from_manual(licence_number, code)?;
        let shown = shown(&check);
        // The number as read (a lower-case x as the registry's X), whatever the authority
        // does with it (AL-F6: one older than the check took "…x" literally and counted it).
        let OnlineCheck::Manual { licence_number, .. } = check else {
            return Err(OnlineVerifyError::Net(NetError::Internal));
        };
        let request = VerifyRequest::Manual {
            licence_number,
            code: code.to_owned(),
        };
        self.send(request, shown).await
    }

    /// The authority's current trust list, for verifying offline QRs without a network.
    /// It is fetched over the connection the app chose (HTTPS in production); the list's
    /// own signature only helps a verifier that pinned an earlier list.
    pub async fn trust_list(&self) -> Result<TrustList, NetError> {
        let client = self.client.clone();
        let answer: TrustListResponse =
            runtime::run(async move { client.get(paths::TRUST_LIST).await })
                .await
                .ok_or(NetError::Internal)??;
        TrustList::decode(answer.trust_list.as_bytes())
            .map_err(|_| NetError::Protocol("the trust list does not decode"))
    }

    /// The authority's root-signed trust list (`GET /v1/trust-list/signed`), as bytes for
    /// [`crate::verify::OfflineTrust::load_trust_list`], which checks it: nothing here is
    /// trusted. The public list needs no API key; none is sent.
    pub async fn signed_trust_list(&self) -> Result<Vec<u8>, NetError> {
        self.public_bytes(paths::SIGNED_TRUST_LIST, MAX_TRUST_LIST_BYTES)
            .await
    }

    /// The authority's signed status list (`GET /v1/status-list`), as bytes for
    /// [`crate::verify::OfflineTrust::load_status_list`], which checks it.
    pub async fn status_list(&self) -> Result<Vec<u8>, NetError> {
        self.public_bytes(paths::STATUS_LIST, MAX_STATUS_LIST_BYTES)
            .await
    }

    async fn public_bytes(&self, path: &'static str, max: usize) -> Result<Vec<u8>, NetError> {
        let client = self.client.clone();
        runtime::run(async move { client.get_bytes(path, max).await })
            .await
            .ok_or(NetError::Internal)?
    }

    async fn send(
        &self,
        request: VerifyRequest,
        shown: Shown,
    ) -> Result<OnlineAnswer, OnlineVerifyError> {
        let client = self.client.clone();
        let api_key = self.api_key.clone();
        let span = tracing::info_span!("verify", mode = "online");
        let (answer, photo) = runtime::run(
            async move {
                let answer: VerifyResponse = client
                    .post_with_api_key(&api_key, paths::VERIFY, &request)
                    .await?;
                // An answer about another e-licence than the one shown would put the wrong
                // person's photo next to the driver.
                if !is_about(&answer, &shown) {
                    tracing::warn!("the answer is about another e-licence");
                    return Err(NetError::Protocol("an answer about another e-licence"));
                }
                check_view_text(&answer)?;
                let photo = fetch_photo(&client, &api_key, &answer).await?;
                Ok((answer, photo))
            }
            .instrument(span.clone()),
        )
        .await
        .ok_or(NetError::Internal)??;
        span.in_scope(|| tracing::info!("verified by the authority"));
        Ok(OnlineAnswer { answer, photo })
    }
}

/// Refuses an answer whose text would not show as itself on a verifier's screen: the
/// licence's rules (D122), which the wallet also applies to a synced licence, and the same
/// for the business view's name and the status label. A hostile authority or proxy could
/// otherwise write over the screen with terminal escapes, or break a line to forge one.
fn check_view_text(answer: &VerifyResponse) -> Result<(), NetError> {
    let shows = match &answer.view {
        LiveView::Enforcement { licence } => licence.validate().is_ok(),
        LiveView::Business { qualification: q } => {
            !has_hidden_character(&q.name) && !has_hidden_character(&q.masked_number)
        }
    } && !has_hidden_character(&answer.status_label.zh)
        && !has_hidden_character(&answer.status_label.en);
    if shows {
        Ok(())
    } else {
        tracing::warn!("the answer's text would not show as itself");
        Err(NetError::Protocol("the answer's text fails validation"))
    }
}

/// The photo `answer` names, fetched by its digest with the verifier's key (D92) and the
/// answer's grant (D155), and checked: its bytes hash to the digest, and the digest is the
/// one in the view.
async fn fetch_photo(
    client: &Client,
    api_key: &str,
    answer: &VerifyResponse,
) -> Result<Vec<u8>, NetError> {
    let digest = answer.photo_digest;
    let in_view = match &answer.view {
        LiveView::Enforcement { licence } => licence.main.photo_digest,
        LiveView::Business { qualification } => qualification.photo_digest,
    };
    if in_view != digest {
        return Err(NetError::Protocol(
            "the photo digest differs from the view's",
        ));
    }
    // The path is made from the digest, not taken from the answer's `photo_url`: the key
    // goes to this authority's origin only, whatever the answer says. Asked again when the
    // network drops or the authority is busy (the grant lasts minutes, D155): the check
    // is spent and logged already, and only this verifier could repeat it (D159). Within
    // [`PHOTO_FETCH_SECS`] in all, so its failure comes back while that repeat (60 s from
    // the spend, D108, D183) can still fetch it.
    let path = paths::photo(&digest);
    let photo = tokio::time::timeout(
        Duration::from_secs(PHOTO_FETCH_SECS),
        super::retry::with_backoff(|| {
            client.get_photo_with_api_key(
                api_key,
                &answer.photo_grant,
                &path,
                photo::MAX_PHOTO_BYTES,
            )
        }),
    )
    .await
    .map_err(|_| NetError::Offline)??;
    if sha256(&photo) != digest {
        tracing::warn!("the photo does not match its digest");
        return Err(NetError::Protocol("the photo does not match its digest"));
    }
    Ok(photo)
}

/// What the driver showed, which the answer must be about.
enum Shown {
    /// A QR or a barcode: the e-licence id it carries.
    Elicence(ElicenceId),
    /// A manual code: the licence number typed beside it.
    Number(String),
}

/// The e-licence a QR or barcode names; a manual code names a licence number instead.
fn shown(check: &OnlineCheck) -> Shown {
    match check {
        OnlineCheck::Code { id, .. } => Shown::Elicence(*id),
        OnlineCheck::Manual { licence_number, .. } => Shown::Number(licence_number.clone()),
    }
}

/// Whether `answer` is about what was shown: the e-licence a code carries; for a manual
/// code, the licence number typed, whole in the enforcement view and masked in the
/// business view (which is all a business verifier is given). An answer about another
/// licence than the one typed would put another person's pages and photo beside the
/// driver (twenty-sixth review, AG-F3).
fn is_about(answer: &VerifyResponse, shown: &Shown) -> bool {
    match (shown, &answer.view) {
        (Shown::Elicence(id), _) => *id == answer.elicence_id,
        (Shown::Number(typed), LiveView::Enforcement { licence }) => {
            licence.main.licence_number == *typed
        }
        (Shown::Number(typed), LiveView::Business { qualification }) => {
            qualification.masked_number == crate::licence::page::mask_number(typed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::DecodeError;

    /// A port nothing listens on: any request that were sent would fail as `Offline`.
    const NOWHERE: &str = "http://127.0.0.1:1";

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn malformed_input_is_refused_before_anything_is_sent() {
        let v = OnlineVerifier::new(NOWHERE, "key").unwrap();
        assert!(matches!(
            block_on(v.verify_qr(b"not a payload")),
            Err(OnlineVerifyError::Malformed(_))
        ));
        assert_eq!(
            block_on(v.verify_barcode("123")),
            Err(OnlineVerifyError::Malformed(PayloadError::Malformed(
                DecodeError::BadValue("barcode")
            )))
        );
        assert!(matches!(
            block_on(v.verify_manual("110101199003071234", "12")),
            Err(OnlineVerifyError::Malformed(_))
        ));
    }

    #[test]
    fn a_well_formed_check_to_an_unreachable_authority_is_offline() {
        let v = OnlineVerifier::new(NOWHERE, "key").unwrap();
        assert_eq!(
            block_on(v.verify_manual("110101199003071234", "1 234 567")),
            Err(OnlineVerifyError::Net(NetError::Offline))
        );
        assert_eq!(block_on(v.trust_list()), Err(NetError::Offline));
    }

    #[test]
    fn an_api_key_that_cannot_be_a_header_is_unauthorised_not_offline() {
        let v = OnlineVerifier::new(NOWHERE, "key\nwith a line break").unwrap();
        assert_eq!(
            block_on(v.verify_manual("110101199003071234", "1234567")),
            Err(OnlineVerifyError::Net(NetError::Unauthorised(
                crate::wire::ErrorCode::Unauthorized
            )))
        );
    }

    #[test]
    fn the_api_key_stays_out_of_debug_output_and_urls_are_checked() {
        let v = OnlineVerifier::new(NOWHERE, "secret-api-key").unwrap();
        assert!(!format!("{v:?}").contains("secret"));
        assert_eq!(
            OnlineVerifier::new("ftp://x", "k").unwrap_err(),
            NetError::BadUrl
        );
    }
}
