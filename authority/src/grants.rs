//! Which verifier may fetch which photo (D92): a successful online check lets that
//! verifier read that e-licence's photo for [`GRANT_SECS`], and no one else.
//!
//! The grant is a token the verify answer carries (D155), not an entry in one process's
//! memory: every authority process on the database holds the KEK, so any of them checks a
//! grant another made, before or after a restart. The token is
//! `version || until || photo row || tag`, where the tag is the first 24 bytes of the KEK's
//! keyed digest ([`KeyedDigest`]) of the verifier, the photo's digest, `until` and the row:
//! it binds the grant to that verifier, that photo row and those minutes, so an altered
//! token is refused before the store is asked for anything. The row is a random id
//! (`random::id`), which tells a verifier nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::seal::KeyedDigest;

/// How long after a check its verifier may fetch the photo: enough for a slow network or
/// a page that loads the photo after the verdict, short enough that an API key does not
/// become a way to browse photos.
pub const GRANT_SECS: u64 = 5 * 60;

/// The token's format.
const VERSION: u8 = 1;
/// Bytes of the tag: 192 bits of the keyed digest's 256.
const TAG: usize = 24;
/// Bytes of a token: version, `until`, the row, the tag.
const TOKEN: usize = 1 + 8 + 8 + TAG;
/// Characters of a token in URL-safe base64 without padding.
const TOKEN_CHARS: usize = (TOKEN * 4).div_ceil(3);
/// The keyed digest's label: a grant's digests are no other purpose's.
const LABEL: &[u8] = b"photo grant";
/// How far ahead of this process's clock another process's may be when it grants.
const CLOCK_SLACK: u64 = 60;

/// The tag of a grant's terms.
fn tag(
    kek: &dyn KeyedDigest,
    verifier: u64,
    digest: &[u8; 32],
    until: u64,
    photo_id: u64,
) -> [u8; TAG] {
    let mut data = [0u8; 56];
    data[..8].copy_from_slice(&verifier.to_be_bytes());
    data[8..40].copy_from_slice(digest);
    data[40..48].copy_from_slice(&until.to_be_bytes());
    data[48..].copy_from_slice(&photo_id.to_be_bytes());
    let keyed = kek.keyed_digest(LABEL, &data);
    keyed[..TAG].try_into().expect("TAG bytes")
}

/// The grant of the photo `digest` (row `photo_id`) to `verifier`, for a check at `now`:
/// the verify answer's `photo_grant`.
pub fn grant(
    kek: &dyn KeyedDigest,
    verifier: u64,
    digest: &[u8; 32],
    photo_id: u64,
    now: u64,
) -> String {
    let until = now.saturating_add(GRANT_SECS);
    let mut token = [0u8; TOKEN];
    token[0] = VERSION;
    token[1..9].copy_from_slice(&until.to_be_bytes());
    token[9..17].copy_from_slice(&photo_id.to_be_bytes());
    token[17..].copy_from_slice(&tag(kek, verifier, digest, until, photo_id));
    URL_SAFE_NO_PAD.encode(token)
}

/// The photo row `token` lets `verifier` read as `digest` at `now`: `None` for a token
/// that is malformed, another verifier's or another photo's, altered, or past its minutes.
pub fn photo_for(
    kek: &dyn KeyedDigest,
    token: &str,
    verifier: u64,
    digest: &[u8; 32],
    now: u64,
) -> Option<u64> {
    if token.len() != TOKEN_CHARS {
        return None;
    }
    let mut bytes = [0u8; TOKEN];
    let n = URL_SAFE_NO_PAD
        .decode_slice(token.as_bytes(), &mut bytes)
        .ok()?;
    if n != TOKEN || bytes[0] != VERSION {
        return None;
    }
    let until = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
    // One past its end is over. One that ends later than a check at `now` could make it
    // end (give or take another process's clock) comes from a clock far ahead: refused
    // too, so a wrong clock cannot lengthen a grant. Either way the tag is not worth a
    // digest.
    if now >= until || until > now.saturating_add(GRANT_SECS + CLOCK_SLACK) {
        return None;
    }
    let photo_id = u64::from_be_bytes(bytes[9..17].try_into().ok()?);
    let expected = tag(kek, verifier, digest, until, photo_id);
    bool::from(expected.ct_eq(&bytes[17..])).then_some(photo_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::FileKek;

    fn kek() -> FileKek {
        FileKek::new(&[7; 32])
    }

    #[test]
    fn a_grant_is_for_one_verifier_one_photo_and_a_few_minutes() {
        let kek = kek();
        let token = grant(&kek, 7, &[1; 32], 42, 1000);
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(photo_for(&kek, &token, 7, &[1; 32], 1000), Some(42));
        assert_eq!(
            photo_for(&kek, &token, 7, &[1; 32], 1000 + GRANT_SECS - 1),
            Some(42)
        );
        assert_eq!(
            photo_for(&kek, &token, 7, &[1; 32], 1000 + GRANT_SECS),
            None
        );
        assert_eq!(
            photo_for(&kek, &token, 8, &[1; 32], 1000),
            None,
            "another verifier"
        );
        assert_eq!(
            photo_for(&kek, &token, 7, &[2; 32], 1000),
            None,
            "another photo"
        );
        assert_eq!(
            photo_for(&FileKek::new(&[8; 32]), &token, 7, &[1; 32], 1000),
            None,
            "another KEK"
        );
    }

    #[test]
    fn an_altered_grant_opens_nothing() {
        let kek = kek();
        let token = grant(&kek, 7, &[1; 32], 42, 1000);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        // Every bit is checked: the version, the end, the row and the tag.
        for byte in 0..TOKEN {
            for bit in 0..8 {
                bytes[byte] ^= 1 << bit;
                let altered = URL_SAFE_NO_PAD.encode(&bytes);
                assert_eq!(
                    photo_for(&kek, &altered, 7, &[1; 32], 1000),
                    None,
                    "byte {byte} bit {bit}"
                );
                bytes[byte] ^= 1 << bit;
            }
        }
        assert_eq!(photo_for(&kek, "", 7, &[1; 32], 1000), None);
        assert_eq!(photo_for(&kek, &token[1..], 7, &[1; 32], 1000), None);
        assert_eq!(
            photo_for(&kek, &format!("{token}A"), 7, &[1; 32], 1000),
            None
        );
        let not_base64 = format!("!{}", &token[1..]);
        assert_eq!(photo_for(&kek, &not_base64, 7, &[1; 32], 1000), None);
    }

    #[test]
    fn a_grant_dated_past_a_check_s_reach_is_refused_before_its_tag() {
        let kek = kek();
        // Made by a clock two minutes ahead: further off than the slack allows.
        let token = grant(&kek, 7, &[1; 32], 42, 1120);
        assert_eq!(photo_for(&kek, &token, 7, &[1; 32], 1000), None);
        assert_eq!(photo_for(&kek, &token, 7, &[1; 32], 1120), Some(42));
    }
}
