//! Which verifier may fetch which photo (D92): a successful online check lets that
//! verifier read that e-licence's photo for [`GRANT_SECS`], and no one else. Kept in memory
//! like the spent codes (`guard.rs`): a grant outlives no check by more than minutes.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long after a check its verifier may fetch the photo: enough for a slow network or
/// a page that loads the photo after the verdict, short enough that an API key does not
/// become a way to browse photos.
pub const GRANT_SECS: u64 = 5 * 60;
/// Grants kept at most; past this, expired ones are swept on the next grant (5,000 checks
/// a second for five minutes is 1.5 million, about 100 MB: the cap keeps a flood smaller).
const MAX_GRANTS: usize = 200_000;

struct Grant {
    photo_id: u64,
    until: u64,
}

/// The grants in force.
#[derive(Default)]
pub struct PhotoGrants {
    inner: Mutex<Grants>,
}

#[derive(Default)]
struct Grants {
    map: HashMap<(u64, [u8; 32]), Grant>,
    /// When expired grants were last swept.
    swept_at: u64,
}

impl PhotoGrants {
    /// `verifier` checked the e-licence whose photo is `photo_id` with `digest`, at `now`.
    pub fn grant(&self, verifier: u64, digest: [u8; 32], photo_id: u64, now: u64) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Sweep about once a grant's life, not on every check (a check must stay O(1)),
        // and at once when the map is full.
        if now >= g.swept_at + GRANT_SECS || g.map.len() >= MAX_GRANTS {
            g.map.retain(|_, grant| grant.until > now);
            g.swept_at = now;
            if g.map.len() >= MAX_GRANTS {
                // Only live grants and still full: the oldest checks lose theirs first
                // would need an order; dropping all is the bounded choice (a verifier
                // that lost one checks again).
                g.map.clear();
            }
        }
        g.map.insert(
            (verifier, digest),
            Grant {
                photo_id,
                until: now + GRANT_SECS,
            },
        );
    }

    /// The photo id `verifier` may read as `digest` at `now`, if any.
    pub fn photo_for(&self, verifier: u64, digest: &[u8; 32], now: u64) -> Option<u64> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.map
            .get(&(verifier, *digest))
            .filter(|grant| now < grant.until)
            .map(|grant| grant.photo_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_for_one_verifier_one_photo_and_a_few_minutes() {
        let grants = PhotoGrants::default();
        grants.grant(7, [1; 32], 42, 1000);
        assert_eq!(grants.photo_for(7, &[1; 32], 1000), Some(42));
        assert_eq!(
            grants.photo_for(7, &[1; 32], 1000 + GRANT_SECS - 1),
            Some(42)
        );
        assert_eq!(grants.photo_for(7, &[1; 32], 1000 + GRANT_SECS), None);
        assert_eq!(
            grants.photo_for(8, &[1; 32], 1000),
            None,
            "another verifier"
        );
        assert_eq!(grants.photo_for(7, &[2; 32], 1000), None, "another photo");
    }

    #[test]
    fn expired_grants_are_swept() {
        let grants = PhotoGrants::default();
        grants.grant(1, [1; 32], 1, 0);
        grants.grant(2, [2; 32], 2, GRANT_SECS + 1);
        assert_eq!(grants.inner.lock().unwrap().map.len(), 1);
    }
}
