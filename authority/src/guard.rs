//! Online codes are single-use (issue 13, finding 3; D68).
//!
//! A code that verified once is spent. The verifier that spent it may repeat its scan for
//! [`REPEAT_SECS`] (a double tap, a retry after a lost answer): the check runs again, so it
//! sees the licence as it is now, but writes no second entry in the driver's log. Anyone
//! else gets `already_used`. Kept in memory as the fast path: a code lives one window
//! (plus the accepted skew), far less than [`KEEP_SECS`]; of two verifiers claiming one
//! code here at once, one wins here. The database is the backstop (D106) and has the last
//! word on every claim memory does not refuse, the spender's repeats included (D120): the
//! log entry of a verified code records the code under a unique key, so a code spent
//! before a restart, or by another authority process, is refused too; it records the
//! spender, so the spender's repeat is answered there as well (D108).

use std::collections::HashMap;
use std::sync::Mutex;

use edl_core::present::DEFAULT_PERIOD;
use edl_core::verify::OnlineCheck;
use edl_core::wire::CheckMethod;

/// How long the spending verifier may repeat its scan: long enough for a check answered
/// 503 at the request deadline (its claim perhaps committed after) to be sent again after
/// its Retry-After and answered (fourteenth review, U-F1; D183; it was 10 s, far less than
/// the 30 s deadline). A code is accepted at most two windows anyway (60 s at the default
/// period), so this adds little: the same verifier seeing the licence again, unlogged.
pub const REPEAT_SECS: u64 = 60;
/// How long a spent code is remembered (here and in the database): longer than any code
/// is accepted.
pub const KEEP_SECS: u64 = 10 * 60;
/// How often the forgotten codes are swept out: a sweep walks the whole map, so it runs
/// at most this often rather than on every check (under load the map holds every code
/// of the last ten minutes).
const SWEEP_SECS: u64 = 10;

/// One code: the e-licence, its window's start, the audience and the form ([`form`]: the
/// online QR and the barcode carry the same code; the manual code of a window is another;
/// QR codes of two periods are two codes).
pub type CodeKey = (u64, u64, u8, u8);

/// The form a code is spent under, in its [`CodeKey`]: which of the codes whose windows
/// start at one second it is.
/// - The barcode is the online QR's own code (the same e-licence, window and digits,
///   `OnlineCheck::Code` for both), so the two are one form; before D120 they were two,
///   and a spent QR could be used once more as its barcode.
/// - QR codes of different periods are different codes, even when their windows start
///   together (a 30 s and a 60 s window every minute): the form of a QR at a period other
///   than the default is that period (10 to 120, never 0 or 2). Before D187 they shared
///   one form, and the second was refused to another verifier, or taken as the first
///   one's repeat and not logged.
/// - The QR at the default period and the manual code keep the check methods' numbers
///   that keyed the rows before (QR 0, manual 2), so a row already in `spent_codes` keeps
///   its meaning across the upgrade, with no migration: the table holds ten minutes.
pub fn form(check: &OnlineCheck) -> u8 {
    match check {
        OnlineCheck::Code { period, .. } if *period == DEFAULT_PERIOD => CheckMethod::Qr as u8,
        // 10 to 120 by `OnlineCheck`'s parsing; the default is taken above.
        OnlineCheck::Code { period, .. } => u8::try_from(*period).unwrap_or(u8::MAX),
        OnlineCheck::Manual { .. } => CheckMethod::Manual as u8,
    }
}

/// What the database said of a claim on a code (D106, D108).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The code was not spent: it is now, by this entry, which was written.
    Fresh,
    /// The same verifier spent it at `spent_at`, at most [`REPEAT_SECS`] before: its
    /// repeat (a retry after a lost answer, maybe across a restart). Nothing was written.
    Repeat {
        /// When the code was spent.
        spent_at: u64,
    },
    /// Spent by someone else, by nobody known (a row older than D108), or too long ago
    /// for a repeat. Nothing was written. `by` and `at` name the spender and the spend
    /// when the database knows them, so the process that was refused can still answer
    /// the spender's repeats (third hostile review, A-F2).
    Spent {
        /// Who spent it, if known.
        by: Option<u64>,
        /// When it was spent (0 if not known).
        at: u64,
    },
}

impl Claim {
    /// The claim of `verifier` at `now` on a code already spent by `spender` (`None`:
    /// not known) at `spent_at`: the same rule as the in-memory repeat.
    pub fn on_spent(spender: Option<u64>, spent_at: u64, verifier: u64, now: u64) -> Claim {
        if spender == Some(verifier) && now <= spent_at.saturating_add(REPEAT_SECS) {
            Claim::Repeat { spent_at }
        } else {
            Claim::Spent {
                by: spender,
                at: spent_at,
            }
        }
    }

    /// Spent, by whom and when not known (a row pruned since, or a nonce seen before).
    pub const SPENT_UNKNOWN: Claim = Claim::Spent { by: None, at: 0 };
}

struct Spent {
    /// Who spent it; `None` when another process (or this one before a restart) did.
    verifier: Option<u64>,
    at: u64,
}

/// The codes spent recently.
#[derive(Default)]
pub struct SpentCodes {
    inner: Mutex<Codes>,
    /// The checks running here, by verifier and what they sent, with when the first of
    /// them began and how many there are: a resend that comes while its check is still
    /// reading the e-licence is that check (D189). A lock of its own: every check takes it
    /// twice, and must not wait for a sweep of the spent codes (a review's note, Z-F2).
    in_flight: Mutex<HashMap<(u64, OnlineCheck), (u64, usize)>>,
}

#[derive(Default)]
struct Codes {
    spent: HashMap<CodeKey, Spent>,
    /// Codes shown to a verifier here in time that are not (or no longer) its claim in
    /// `spent`, with when they were shown: its claim released unanswered (its check
    /// dropped at its deadline, refused or failed; D188), or refused as another's spend
    /// (D189). The verifier's resend is that check, even once the code's windows have
    /// ended.
    shown: HashMap<(CodeKey, u64), u64>,
    /// When the last sweep ran.
    swept_at: u64,
}

/// A check running here ([`SpentCodes::begin_check`]); dropped, it is not any more.
pub struct CheckInFlight<'a> {
    codes: &'a SpentCodes,
    key: (u64, OnlineCheck),
}

impl Drop for CheckInFlight<'_> {
    fn drop(&mut self) {
        let mut running = self
            .codes
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = running.get_mut(&self.key) {
            entry.1 -= 1;
            if entry.1 == 0 {
                running.remove(&self.key);
            }
        }
    }
}

/// A claim made in memory whose database claim has not answered yet. Dropped unconfirmed
/// (the database refused the claim, failed, or never answered because the request was
/// dropped at its deadline), it releases the code: the database, not this process's memory,
/// then answers the next check of it (D180, D181; thirteenth review, T-F1, T-F3).
pub struct PendingClaim<'a> {
    codes: &'a SpentCodes,
    code: CodeKey,
    verifier: u64,
    confirmed: bool,
}

impl PendingClaim<'_> {
    /// The database answered the claim: the code stays as it now records it.
    pub fn confirm(mut self) {
        self.confirmed = true;
    }
}

impl Drop for PendingClaim<'_> {
    fn drop(&mut self) {
        if !self.confirmed {
            self.codes.release(self.code, self.verifier);
        }
    }
}

impl SpentCodes {
    /// Claims `code` for `verifier` at `now`, atomically (of two concurrent claims by
    /// different verifiers, one wins): `Ok(())` for the first use and for the spending
    /// verifier's repeat, `Err(AlreadyUsed)` for anyone else or a late repeat. `Ok` is not
    /// the last word: the caller claims the code in the database too, and a repeat does
    /// as well, since the first claim may still be on its way there and may yet be refused
    /// (spent through another process, D120); the database answers a repeat without a
    /// second entry (D108).
    ///
    /// `Ok(true)` when this call made the claim here, `Ok(false)` for a repeat.
    pub fn spend(&self, code: CodeKey, verifier: u64, now: u64) -> Result<bool, crate::Error> {
        let mut codes = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if now >= codes.swept_at.saturating_add(SWEEP_SECS) {
            codes
                .spent
                .retain(|_, s| s.at.saturating_add(KEEP_SECS) > now);
            codes
                .shown
                .retain(|_, at| at.saturating_add(REPEAT_SECS) >= now);
            codes.swept_at = now;
        }
        let map = &mut codes.spent;
        match map.get(&code) {
            // Forgotten (not yet swept out) is the same as never spent.
            Some(s) if s.at.saturating_add(KEEP_SECS) > now => {
                if s.verifier == Some(verifier) && now <= s.at.saturating_add(REPEAT_SECS) {
                    Ok(false)
                } else {
                    Err(crate::Error::AlreadyUsed)
                }
            }
            _ => {
                map.insert(
                    code,
                    Spent {
                        verifier: Some(verifier),
                        at: now,
                    },
                );
                Ok(true)
            }
        }
    }

    /// Records that `code` is `verifier`'s since `spent_at`: the database said this
    /// verifier spent it (before a restart, or through another process), so its next
    /// repeats are answered here and end [`REPEAT_SECS`] after `spent_at` (D108).
    pub fn adopt(&self, code: CodeKey, verifier: u64, spent_at: u64) {
        let mut codes = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        codes.spent.insert(
            code,
            Spent {
                verifier: Some(verifier),
                at: spent_at,
            },
        );
    }

    /// `verifier`'s claim of `code` made here by a [`SpentCodes::spend`] that answered
    /// `Ok(true)`, on its way to the database: released unless [`PendingClaim::confirm`]ed.
    /// A repeat's caller (D108) must not take one: the claim it repeats may be in the store
    /// (third review, J-F7; fourth, K-F5).
    pub fn pending(&self, code: CodeKey, verifier: u64) -> PendingClaim<'_> {
        PendingClaim {
            codes: self,
            code,
            verifier,
            confirmed: false,
        }
    }

    /// Forgets `verifier`'s claim of `code` (see [`SpentCodes::pending`]), remembering
    /// only that the code was shown to it in time, and when.
    fn release(&self, code: CodeKey, verifier: u64) {
        let mut codes = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = codes.spent.get(&code)
            && s.verifier == Some(verifier)
        {
            let shown = s.at;
            codes.spent.remove(&code);
            codes.shown.insert((code, verifier), shown);
        }
    }

    /// Records that `code` was shown to `verifier` here at `at`, right then, and refused as
    /// spent by another (D189): its resend after the code's windows ended is refused as
    /// spent again, not taken for a wrong code.
    pub fn mark_shown(&self, code: CodeKey, verifier: u64, at: u64) {
        let mut codes = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        codes.shown.insert((code, verifier), at);
    }

    /// Registers `verifier`'s check of `check` begun at `now`, until the guard is dropped
    /// (the check answered or dropped): see [`SpentCodes::in_flight_since`].
    pub fn begin_check(&self, verifier: u64, check: &OnlineCheck, now: u64) -> CheckInFlight<'_> {
        let key = (verifier, check.clone());
        let mut running = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let entry = running.entry(key.clone()).or_insert((now, 0));
        entry.0 = entry.0.min(now);
        entry.1 += 1;
        CheckInFlight { codes: self, key }
    }

    /// When the first of `verifier`'s checks of `check` still running here began: a resend
    /// of the same digits that comes while that check reads the e-licence, before it
    /// claims the code, is checked at that time (eighteenth review, Y-F3; D189).
    pub fn in_flight_since(&self, verifier: u64, check: &OnlineCheck) -> Option<u64> {
        let running = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        running
            .get(&(verifier, check.clone()))
            .map(|&(since, _)| since)
    }

    /// When `code` was shown to `verifier` here in time, if it was within [`REPEAT_SECS`]
    /// before `now` (the latest time, if there are two): its claim made here is on its way
    /// to the database or answered, was released unanswered, or was refused as another's
    /// spend. Asked for a code past its windows (D188, D189): the verifier's resend of such
    /// a code is that check again, to be claimed as it would have been then, while one
    /// that was never shown here in time is only an expired code.
    pub fn shown_in_time(&self, code: CodeKey, verifier: u64, now: u64) -> Option<u64> {
        let codes = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let claimed = codes
            .spent
            .get(&code)
            .filter(|s| s.verifier == Some(verifier))
            .map(|s| s.at);
        let marked = codes.shown.get(&(code, verifier)).copied();
        [claimed, marked]
            .into_iter()
            .flatten()
            .filter(|&at| at <= now && now <= at.saturating_add(REPEAT_SECS))
            .max()
    }

    /// Records that `code` was spent elsewhere (the database refused it, D106): by
    /// `spender` at `spent_at` when the database says so, whose repeats are then answered
    /// here until its repeat window ends (A-F2; D108, D183); every other claim on it here is refused.
    pub fn forfeit(&self, code: CodeKey, spender: Option<u64>, spent_at: u64, now: u64) {
        let entry = match spender {
            Some(v) if now <= spent_at.saturating_add(REPEAT_SECS) => Spent {
                verifier: Some(v),
                at: spent_at,
            },
            _ => Spent {
                verifier: None,
                at: now,
            },
        };
        let mut codes = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        codes.spent.insert(code, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: CodeKey = (7, 1_000, 0, 0);

    #[test]
    fn each_code_of_a_window_start_has_a_form_of_its_own_and_old_rows_keep_theirs() {
        use edl_core::present::{MAX_PERIOD, MIN_PERIOD};
        let qr = |period: u32| OnlineCheck::Code {
            audience: edl_core::credential::Audience::Business,
            period,
            id: edl_core::credential::ElicenceId(7),
            code: "12345678".into(),
        };
        let manual = OnlineCheck::Manual {
            audience: edl_core::credential::Audience::Business,
            licence_number: "110101199001011234".into(),
            code: "123456".into(),
        };
        // The rows written before D187 keep their meaning.
        assert_eq!(form(&qr(DEFAULT_PERIOD)), 0);
        assert_eq!(form(&manual), 2);
        let mut forms: Vec<u8> = (MIN_PERIOD..=MAX_PERIOD).map(|p| form(&qr(p))).collect();
        forms.push(form(&manual));
        let all = forms.len();
        forms.sort_unstable();
        forms.dedup();
        assert_eq!(forms.len(), all, "two codes share a form");
    }

    #[test]
    fn a_spent_code_is_refused_to_others_and_repeated_only_briefly_by_its_spender() {
        let codes = SpentCodes::default();
        assert!(codes.spend(CODE, 1, 1_000).is_ok());
        assert!(codes.spend(CODE, 1, 1_000 + REPEAT_SECS).is_ok());
        assert!(codes.spend(CODE, 1, 1_001 + REPEAT_SECS).is_err());
        assert!(codes.spend(CODE, 2, 1_001).is_err());
    }

    #[test]
    fn a_pending_claim_dropped_unconfirmed_is_anyone_s_again_but_another_s_is_kept() {
        let codes = SpentCodes::default();
        // The first claim is this call's; a repeat (in the same second too) is not.
        assert_eq!(codes.spend(CODE, 1, 1_000).ok(), Some(true));
        assert_eq!(codes.spend(CODE, 1, 1_000).ok(), Some(false));
        // Verifier 2 cannot release verifier 1's claim.
        drop(codes.pending(CODE, 2));
        assert!(codes.spend(CODE, 2, 1_001).is_err());
        // Verifier 1's claim, refused or unanswered by the database, is released.
        drop(codes.pending(CODE, 1));
        assert_eq!(codes.spend(CODE, 2, 1_003).ok(), Some(true));
    }

    #[test]
    fn a_code_shown_here_in_time_is_known_to_its_verifier_alone_until_the_repeat_window_ends() {
        let codes = SpentCodes::default();
        assert_eq!(codes.shown_in_time(CODE, 1, 1_000), None);
        // Claimed at 1,000, on its way to the database.
        assert_eq!(codes.spend(CODE, 1, 1_000).ok(), Some(true));
        let pending = codes.pending(CODE, 1);
        assert_eq!(codes.shown_in_time(CODE, 1, 1_010), Some(1_000));
        assert_eq!(codes.shown_in_time(CODE, 2, 1_010), None);
        // Released unanswered: still known as shown at 1,000, to verifier 1 only, and
        // anyone's to claim.
        drop(pending);
        assert_eq!(
            codes.shown_in_time(CODE, 1, 1_000 + REPEAT_SECS),
            Some(1_000)
        );
        assert_eq!(codes.shown_in_time(CODE, 1, 1_001 + REPEAT_SECS), None);
        assert_eq!(codes.shown_in_time(CODE, 2, 1_010), None);
        // Claimed again from the time it was shown: the repeat window does not move.
        assert_eq!(codes.spend(CODE, 1, 1_000).ok(), Some(true));
        drop(codes.pending(CODE, 1));
        assert_eq!(codes.shown_in_time(CODE, 1, 1_001 + REPEAT_SECS), None);
        // Swept once the repeat window is over.
        assert!(codes.spend((8, 2_000, 0, 0), 3, 2_000).is_ok());
        assert!(codes.inner.lock().unwrap().shown.is_empty());
    }

    #[test]
    fn a_code_refused_here_as_another_s_is_known_as_shown_to_the_refused_verifier() {
        let codes = SpentCodes::default();
        assert!(codes.spend(CODE, 1, 1_000).is_ok());
        assert!(codes.spend(CODE, 2, 1_001).is_err());
        codes.mark_shown(CODE, 2, 1_001);
        assert_eq!(codes.shown_in_time(CODE, 2, 1_040), Some(1_001));
        assert_eq!(codes.shown_in_time(CODE, 3, 1_040), None);
        // Still another's: claimed from that time, it is refused again.
        assert!(codes.spend(CODE, 2, 1_001).is_err());
    }

    #[test]
    fn a_check_is_in_flight_from_its_first_beginning_until_its_last_copy_ends() {
        let codes = SpentCodes::default();
        let check = OnlineCheck::Code {
            audience: edl_core::credential::Audience::Enforcement,
            period: DEFAULT_PERIOD,
            id: edl_core::credential::ElicenceId(7),
            code: "12345678".into(),
        };
        let mut other = check.clone();
        if let OnlineCheck::Code { code, .. } = &mut other {
            *code = "87654321".into();
        }
        assert_eq!(codes.in_flight_since(1, &check), None);
        let first = codes.begin_check(1, &check, 1_000);
        let retry = codes.begin_check(1, &check, 1_004);
        assert_eq!(codes.in_flight_since(1, &check), Some(1_000));
        // Another verifier's, or other digits: not this check.
        assert_eq!(codes.in_flight_since(2, &check), None);
        assert_eq!(codes.in_flight_since(1, &other), None);
        drop(first);
        assert_eq!(codes.in_flight_since(1, &check), Some(1_000));
        drop(retry);
        assert_eq!(codes.in_flight_since(1, &check), None);
        assert!(codes.in_flight.lock().unwrap().is_empty());
    }

    /// A spend time the database holds corrupt (a negative `at` read as a huge one) panics
    /// nothing and frees the code for nobody else (the eighteenth review's note: the sums
    /// were unsaturated, an overflow in a debug build).
    #[test]
    fn a_spend_time_at_the_end_of_time_overflows_nothing() {
        assert_eq!(
            Claim::on_spent(Some(1), u64::MAX - 1, 2, 1_000),
            Claim::Spent {
                by: Some(1),
                at: u64::MAX - 1
            }
        );
        let codes = SpentCodes::default();
        codes.adopt(CODE, 1, u64::MAX);
        assert!(codes.spend(CODE, 2, 1_000).is_err());
        assert!(codes.spend(CODE, 1, 1_000).is_ok());
        assert!(codes.spend((8, 0, 0, 0), 1, u64::MAX).is_ok());
    }

    #[test]
    fn a_confirmed_pending_claim_keeps_the_code_spent() {
        let codes = SpentCodes::default();
        assert_eq!(codes.spend(CODE, 1, 1_000).ok(), Some(true));
        codes.pending(CODE, 1).confirm();
        assert!(codes.spend(CODE, 2, 1_001).is_err());
        assert_eq!(codes.spend(CODE, 1, 1_001).ok(), Some(false));
    }

    #[test]
    fn a_code_spent_elsewhere_by_nobody_known_is_nobody_s_repeat_here() {
        let codes = SpentCodes::default();
        // Verifier 1 claimed it here, then the database said it was spent before.
        assert!(codes.spend(CODE, 1, 1_000).is_ok());
        codes.forfeit(CODE, None, 0, 1_000);
        assert!(codes.spend(CODE, 1, 1_001).is_err());
        assert!(codes.spend(CODE, 2, 1_001).is_err());
    }

    #[test]
    fn a_code_spent_elsewhere_is_its_spender_s_repeat_here_until_the_spend_s_end() {
        let codes = SpentCodes::default();
        // Verifier 2 claimed it here at 1,003; the database says 1 spent it at 1,000.
        assert!(codes.spend(CODE, 2, 1_003).is_ok());
        codes.forfeit(CODE, Some(1), 1_000, 1_003);
        assert!(codes.spend(CODE, 2, 1_004).is_err());
        assert!(codes.spend(CODE, 1, 1_004).is_ok());
        assert!(codes.spend(CODE, 1, 1_001 + REPEAT_SECS).is_err());
        // Told too late for a repeat: nobody's.
        codes.forfeit(CODE, Some(1), 1_000, 1_001 + REPEAT_SECS);
        assert!(codes.spend(CODE, 1, 1_002 + REPEAT_SECS).is_err());
    }

    #[test]
    fn a_code_the_database_says_is_this_verifier_s_is_its_repeat_until_the_first_spend_s_end() {
        assert_eq!(
            Claim::on_spent(Some(1), 1_000, 1, 1_000 + REPEAT_SECS),
            Claim::Repeat { spent_at: 1_000 }
        );
        assert_eq!(
            Claim::on_spent(Some(1), 1_000, 1, 1_001 + REPEAT_SECS),
            Claim::Spent {
                by: Some(1),
                at: 1_000
            }
        );
        assert_eq!(
            Claim::on_spent(Some(1), 1_000, 2, 1_001),
            Claim::Spent {
                by: Some(1),
                at: 1_000
            }
        );
        assert_eq!(
            Claim::on_spent(None, 1_000, 1, 1_001),
            Claim::Spent {
                by: None,
                at: 1_000
            }
        );
        // Claimed here at 1,005 after a restart, then adopted as spent at 1,000.
        let codes = SpentCodes::default();
        assert!(codes.spend(CODE, 1, 1_005).is_ok());
        codes.adopt(CODE, 1, 1_000);
        assert!(codes.spend(CODE, 1, 1_000 + REPEAT_SECS).is_ok());
        assert!(codes.spend(CODE, 1, 1_001 + REPEAT_SECS).is_err());
        assert!(codes.spend(CODE, 2, 1_006).is_err());
    }

    #[test]
    fn a_code_is_forgotten_after_keep_secs_whether_or_not_a_sweep_ran() {
        let codes = SpentCodes::default();
        // A sweep runs first (at 1,000), so the next one waits SWEEP_SECS.
        assert!(codes.spend(CODE, 1, 1_000).is_ok());
        let later = 1_000 + KEEP_SECS;
        // Just sweep-free: another code's check at `later - 1` swept, so none runs now.
        assert!(codes.spend((8, 0, 0, 0), 1, later - 1).is_ok());
        assert!(codes.spend(CODE, 2, later).is_ok());
        // And swept out after the next sweep: the map holds only what is still kept.
        assert!(
            codes
                .spend((9, 0, 0, 0), 1, later + KEEP_SECS + SWEEP_SECS)
                .is_ok()
        );
        let held = codes.inner.lock().unwrap().spent.len();
        assert_eq!(held, 1);
    }
}
