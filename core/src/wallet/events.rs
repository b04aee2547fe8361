//! What the wallet tells an app as it changes: one event per kind of change, handed to the
//! observer the app set, after the change is stored.

use std::sync::{Arc, PoisonError, RwLock};

use crate::licence::StatusColour;
use crate::present::Presentation;
use crate::wire::{ApplicationView, ReviewResult};

/// A change the app may show at once.
#[derive(Debug, Clone)]
pub enum WalletEvent {
    /// A new or re-signed e-licence arrived, or the current one stopped verifying.
    ElicenceChanged,
    /// The licence data changed (status, points, record, classes); `colour` is how the
    /// status is shown now.
    LicenceChanged {
        /// The status colour after the change.
        colour: Option<StatusColour>,
    },
    /// The application moved on (applied, photo uploaded, reviewed, issued, stopped).
    ApplicationChanged(ApplicationView),
    /// A photo review result arrived.
    ReviewResult(ReviewResult),
    /// This many new messages arrived.
    NewMessages(u32),
    /// This many new entries arrived in the verification log.
    NewVerifications(u32),
    /// A QR rotation tick: the presentation of the window that has just begun.
    Rotation(Presentation),
}

/// Receives the wallet's events. Called on one of the library's threads, after the change
/// is stored: return quickly (hand the event to the UI thread). Nothing it does can undo
/// or fail the change.
pub trait WalletObserver: Send + Sync {
    /// One change.
    fn on_event(&self, event: WalletEvent);
}

/// The observer a wallet and its rotation tickers share; empty until the app sets one.
#[derive(Clone, Default)]
pub(crate) struct ObserverSlot(Arc<RwLock<Option<Arc<dyn WalletObserver>>>>);

impl ObserverSlot {
    pub(crate) fn set(&self, observer: Option<Arc<dyn WalletObserver>>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = observer;
    }

    /// Hands `event` to the observer, if there is one. The lock is not held during the
    /// call, so an observer may set another observer or call back into the wallet.
    pub(crate) fn emit(&self, event: WalletEvent) {
        let observer = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(o) = observer {
            o.on_event(event);
        }
    }
}
