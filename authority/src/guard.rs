//! Online codes are single-use (issue 13, finding 3; D68).
//!
//! A code that verified once is spent. The verifier that spent it may repeat its scan for
//! [`REPEAT_SECS`] (a double tap, a retry after a lost answer): the check runs again, so it
//! sees the licence as it is now, but writes no second entry in the driver's log. Anyone
//! else gets `already_used`. Kept in memory: a code lives one window (plus the accepted
//! skew), far less than [`KEEP_SECS`].

use std::collections::HashMap;
use std::sync::Mutex;

/// How long the spending verifier may repeat its scan.
pub const REPEAT_SECS: u64 = 10;
/// How long a spent code is remembered: longer than any code is accepted.
const KEEP_SECS: u64 = 10 * 60;

/// One code: the e-licence, its window's start, the audience and the form (QR, barcode
/// and manual codes of one window are different codes).
pub type CodeKey = (u64, u64, u8, u8);

struct Spent {
    verifier: u64,
    at: u64,
}

/// The codes spent recently.
#[derive(Default)]
pub struct SpentCodes {
    inner: Mutex<HashMap<CodeKey, Spent>>,
}

impl SpentCodes {
    /// Claims `code` for `verifier` at `now`, atomically (of two concurrent claims by
    /// different verifiers, one wins): `Ok(false)` for the first use, `Ok(true)` for the
    /// spending verifier's repeat, `Err(AlreadyUsed)` for anyone else or a late repeat.
    pub fn spend(&self, code: CodeKey, verifier: u64, now: u64) -> Result<bool, crate::Error> {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| s.at + KEEP_SECS > now);
        match map.get(&code) {
            None => {
                map.insert(code, Spent { verifier, at: now });
                Ok(false)
            }
            Some(s) if s.verifier == verifier && now <= s.at + REPEAT_SECS => Ok(true),
            Some(_) => Err(crate::Error::AlreadyUsed),
        }
    }
}
