//! The populated drivers' secrets, derived from their number, and the bookkeeping that
//! gives each online check a code nobody has used yet.
//!
//! Driver `i` (1-based, also its id) has a device key, a TOTP seed and an e-licence id
//! that are functions of `i` alone, so the populate step and the load generator agree
//! without a file of secrets. They are test data of a throwaway database, never a real
//! driver's. An online code is single-use (D68): the server spends it on its key
//! `(e-licence, window start, audience, method)`, so the generator keeps, per driver, the
//! keys it has used and picks another window (another rotation period for a QR, the
//! previous window for a manual code) or another driver.

use std::sync::{Arc, Mutex};

use edl_core::credential::{Audience, ElicenceId};
use edl_core::crypto::{CodeKind, SecretKey, TotpSeed, sha256};
use edl_core::present::{
    MANUAL_PERIOD, MAX_PERIOD, MIN_PERIOD, OnlinePayload, Window, manual_code,
};

/// The licence number of driver `i`: 17 digits and a check character, as the registry
/// checks them.
pub fn licence_number(i: u64) -> String {
    format!("1101011990{:08}", i % 100_000_000)
}

fn derive(what: &str, i: u64) -> [u8; 32] {
    sha256(format!("edl load {what} {i}").as_bytes())
}

/// Driver `i`'s device key (it passed the real-person check).
pub fn device_key(i: u64) -> SecretKey {
    SecretKey::from_seed(derive("device", i))
}

/// The TOTP seed of driver `i`'s e-licence.
pub fn totp_seed(i: u64) -> [u8; 32] {
    derive("totp", i)
}

/// Driver `i`'s e-licence id (below 2^63: stored as a signed 64-bit integer).
pub fn elicence_id(i: u64) -> u64 {
    let d = derive("elicence", i);
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) >> 1
}

/// How the verifier reads the driver's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The online QR (14 bytes).
    Qr,
    /// The 7-digit manual code with the licence number.
    Manual,
}

/// A code the server has not seen, and what to send for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fresh {
    /// QR payload bytes.
    Qr(Vec<u8>),
    /// Licence number and manual code.
    Manual(String, String),
}

/// Every code sent so far, per driver, across runs: a code the server spent in one run
/// must not be sent again in the next (the same verifier's repeat within seconds gets the
/// cached answer and no log row; later, or another verifier, gets a refusal).
#[derive(Debug)]
pub struct Ledger {
    used: Vec<Mutex<Vec<(u64, u8)>>>,
}

impl Ledger {
    /// A ledger for drivers `1..=drivers`.
    pub fn new(drivers: u64) -> Arc<Self> {
        Arc::new(Ledger {
            used: (0..drivers).map(|_| Mutex::new(Vec::new())).collect(),
        })
    }

    /// How many drivers it covers.
    pub fn drivers(&self) -> u64 {
        self.used.len() as u64
    }

    /// Claims `(window start, kind)` of `driver`; `false` if it was sent before.
    fn claim(&self, driver: u64, start: u64, kind: u8, now: u64) -> bool {
        let Some(slot) = self.used.get((driver - 1) as usize) else {
            return false;
        };
        let mut used = slot.lock().unwrap_or_else(|e| e.into_inner());
        // A window the server no longer accepts can leave the list.
        used.retain(|&(s, _)| s + 3 * u64::from(MAX_PERIOD) > now);
        if used.contains(&(start, kind)) {
            return false;
        }
        used.push((start, kind));
        true
    }
}

/// Seconds before a window ends from which the previous window's manual code is not
/// handed out any more: far more than a request takes to reach the server.
const LAST_WINDOW_MARGIN: u64 = 5;

/// One generator task's share of the drivers and where it is in it.
pub struct Codes {
    ledger: Arc<Ledger>,
    drivers: Vec<u64>,
    next: usize,
}

impl Codes {
    /// Bookkeeping over `drivers` (each task of a run gets a disjoint share, so the
    /// ledger's per-driver locks are never contended).
    pub fn new(ledger: Arc<Ledger>, drivers: Vec<u64>) -> Self {
        Codes {
            ledger,
            drivers,
            next: 0,
        }
    }

    /// A code of `method` at `now` that this task has not sent, trying each driver in
    /// turn; `None` when every driver's accepted windows are spent.
    pub fn fresh(&mut self, method: Method, now: u64) -> Option<Fresh> {
        for _ in 0..self.drivers.len() {
            let driver = self.drivers[self.next];
            self.next = (self.next + 1) % self.drivers.len();
            if let Some(code) = self.for_driver(driver, method, now) {
                return Some(code);
            }
        }
        None
    }

    fn for_driver(&mut self, driver: u64, method: Method, now: u64) -> Option<Fresh> {
        let seed = TotpSeed::from_bytes(totp_seed(driver));
        let audience = Audience::Enforcement;
        match method {
            Method::Qr => {
                // Every period gives its own current window; the server spends a code
                // by its window's start, so two periods whose windows start together
                // count as one.
                for period in MIN_PERIOD..=MAX_PERIOD {
                    let w = Window::at(now, period);
                    if !self.ledger.claim(driver, w.starts_at(), 0, now) {
                        continue;
                    }
                    let code = seed.code(CodeKind::Qr, audience.code(), period, w.index);
                    let payload = OnlinePayload {
                        audience,
                        period,
                        id: ElicenceId(elicence_id(driver)),
                        code: code.parse().ok()?,
                    };
                    return Some(Fresh::Qr(payload.encode()));
                }
                None
            }
            Method::Manual => {
                // This window's code and the last one's are both accepted, the last
                // one only until this window ends: near that end it could reach the
                // server a window too late and be refused as a wrong code.
                let current = Window::at(now, MANUAL_PERIOD);
                let ends = current.starts_at() + u64::from(MANUAL_PERIOD);
                let previous =
                    (now + LAST_WINDOW_MARGIN < ends).then(|| current.index.checked_sub(1));
                for index in std::iter::once(current.index).chain(previous.flatten()) {
                    let w = Window {
                        period: MANUAL_PERIOD,
                        index,
                    };
                    if !self.ledger.claim(driver, w.starts_at(), 1, now) {
                        continue;
                    }
                    let code = seed.code(CodeKind::Manual, audience.code(), MANUAL_PERIOD, index);
                    return Some(Fresh::Manual(
                        licence_number(driver),
                        manual_code(audience, &code),
                    ));
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edl_core::verify::{OnlineCheck, check_code};
    use std::collections::HashSet;

    const NOW: u64 = 1_795_489_205;

    fn key(method: Method, driver: u64, code: &Fresh, now: u64) -> (u64, u64) {
        let check = match code {
            Fresh::Qr(p) => OnlineCheck::from_qr(p).unwrap(),
            Fresh::Manual(n, c) => OnlineCheck::from_manual(n, c).unwrap(),
        };
        let w = check_code(&TotpSeed::from_bytes(totp_seed(driver)), &check, now)
            .expect("the server accepts the code");
        let _ = method;
        (driver, w.starts_at())
    }

    #[test]
    fn every_code_handed_out_is_accepted_and_none_is_spent_twice() {
        for method in [Method::Qr, Method::Manual] {
            let mut codes = Codes::new(Ledger::new(3), vec![3]);
            let mut seen = HashSet::new();
            let mut n = 0;
            while let Some(code) = codes.fresh(method, NOW) {
                assert!(
                    seen.insert(key(method, 3, &code, NOW)),
                    "{method:?} spent twice"
                );
                n += 1;
            }
            // A manual code has this window and the last; a QR one window per distinct
            // window start over the allowed periods.
            match method {
                Method::Manual => assert_eq!(n, 2),
                Method::Qr => assert!(n >= 20, "{n} QR codes"),
            }
        }
    }

    #[test]
    fn the_last_window_s_manual_code_is_not_handed_out_as_this_window_ends() {
        let current = Window::at(NOW, MANUAL_PERIOD);
        let late = current.starts_at() + u64::from(MANUAL_PERIOD) - LAST_WINDOW_MARGIN;
        let mut codes = Codes::new(Ledger::new(1), vec![1]);
        let code = codes
            .fresh(Method::Manual, late)
            .expect("this window's code");
        // Only this window's code: one checked a window later is still accepted.
        assert_eq!(codes.fresh(Method::Manual, late), None);
        let seed = TotpSeed::from_bytes(totp_seed(1));
        let check = match &code {
            Fresh::Manual(n, c) => OnlineCheck::from_manual(n, c).unwrap(),
            other => panic!("{other:?}"),
        };
        let next_window = current.starts_at() + u64::from(MANUAL_PERIOD);
        assert!(check_code(&seed, &check, next_window).is_ok());
    }

    #[test]
    fn a_driver_gets_new_codes_once_the_window_turns() {
        let mut codes = Codes::new(Ledger::new(2), vec![1, 2]);
        assert!(codes.fresh(Method::Manual, NOW).is_some());
        assert!(codes.fresh(Method::Manual, NOW).is_some());
        assert!(codes.fresh(Method::Manual, NOW).is_some());
        assert!(codes.fresh(Method::Manual, NOW).is_some());
        assert_eq!(codes.fresh(Method::Manual, NOW), None);
        let later = NOW + u64::from(MANUAL_PERIOD);
        let code = codes
            .fresh(Method::Manual, later)
            .expect("the next window's code");
        // The previous window of `later` is the current one of NOW, already spent: only
        // the new window's code is handed out, once per driver.
        assert!(codes.fresh(Method::Manual, later).is_some());
        assert_eq!(codes.fresh(Method::Manual, later), None);
        assert!(matches!(code, Fresh::Manual(..)));
    }

    #[test]
    fn a_code_sent_in_one_run_is_not_sent_in_the_next() {
        let ledger = Ledger::new(1);
        let first = Codes::new(ledger.clone(), vec![1]).fresh(Method::Qr, NOW);
        let second = Codes::new(ledger, vec![1]).fresh(Method::Qr, NOW);
        assert!(first.is_some() && second.is_some());
        assert_ne!(first, second);
    }

    #[test]
    fn the_derived_secrets_differ_per_driver() {
        assert_ne!(totp_seed(1), totp_seed(2));
        assert_ne!(elicence_id(1), elicence_id(2));
        assert!(elicence_id(7) < 1 << 63);
        assert_eq!(licence_number(42), "110101199000000042");
    }
}
