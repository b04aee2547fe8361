//! The QR rotation ticker: a fresh presentation for the observer as each window begins, so
//! the code on screen is never one the verifier already refuses.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::WalletError;
use super::events::{ObserverSlot, WalletEvent};
use crate::present::Presentation;

/// How long after a window's end the next presentation is made: enough for the wallet's
/// whole-second clock to read the new window, little enough that no one sees the old code.
const PAST_BOUNDARY: Duration = Duration::from_millis(20);

/// Hands a `Rotation` event to the wallet's observer now and as each window begins, from a
/// thread of its own, until it is stopped or dropped, or a presentation can no longer be
/// made (the e-licence was replaced or stopped: the next sync's events say so).
#[derive(Debug)]
pub struct RotationTicker {
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl RotationTicker {
    /// Starts the thread, which hands over `first` at once. `present` makes the
    /// presentation of the current window; `millis_left` says how long the given one has
    /// left by the authority's clock.
    pub(crate) fn start(
        first: Presentation,
        present: impl Fn() -> Option<Presentation> + Send + 'static,
        millis_left: impl Fn(&Presentation) -> u64 + Send + 'static,
        observer: ObserverSlot,
    ) -> Result<Self, WalletError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("edl-rotation".into())
            .spawn(move || {
                let mut next = Some(first);
                while let Some(p) = next {
                    let wait = Duration::from_millis(millis_left(&p)) + PAST_BOUNDARY;
                    observer.emit(WalletEvent::Rotation(p));
                    let (lock, cvar) = &*flag;
                    let guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    let (guard, _) = cvar
                        .wait_timeout_while(guard, wait, |s| !*s)
                        .unwrap_or_else(PoisonError::into_inner);
                    // Read and released before the next presentation is made, so `stop`
                    // never waits for one.
                    let stopped = *guard;
                    drop(guard);
                    if stopped {
                        break;
                    }
                    next = present();
                }
            })
            .map_err(|_| WalletError::Internal)?;
        Ok(RotationTicker { stop })
    }

    /// Stops the ticks. Calling it again does nothing.
    pub fn stop(&self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cvar.notify_all();
    }
}

impl Drop for RotationTicker {
    fn drop(&mut self) {
        self.stop();
    }
}
