//! The observer of wallet changes, the QR rotation ticker and the logger: callbacks the app
//! implements, fed from what the core reports (its `WalletEvent`s, `log` records).
//! Translation only: the core decides what happened and when.

use std::sync::{Arc, PoisonError, RwLock};

use crate::error::EdlError;
use crate::types::StatusColour;
use crate::wallet::{Application, PhotoReview, Presentation, photo_review, presentation};

/// See `WalletEvent` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WalletEvent {
    ElicenceChanged,
    LicenceChanged { colour: Option<StatusColour> },
    ApplicationChanged { application: Application },
    ReviewResult { review: PhotoReview },
    NewMessages { count: u32 },
    NewVerifications { count: u32 },
    Rotation { presentation: Presentation },
}

impl From<edl_core::wallet::WalletEvent> for WalletEvent {
    fn from(e: edl_core::wallet::WalletEvent) -> Self {
        use edl_core::wallet::WalletEvent as E;
        match e {
            E::ElicenceChanged => WalletEvent::ElicenceChanged,
            E::LicenceChanged { colour } => WalletEvent::LicenceChanged {
                colour: colour.map(Into::into),
            },
            E::ApplicationChanged(a) => WalletEvent::ApplicationChanged {
                application: a.into(),
            },
            E::ReviewResult(r) => WalletEvent::ReviewResult {
                review: photo_review(r),
            },
            E::NewMessages(count) => WalletEvent::NewMessages { count },
            E::NewVerifications(count) => WalletEvent::NewVerifications { count },
            E::Rotation(p) => WalletEvent::Rotation {
                presentation: presentation(p),
            },
        }
    }
}

/// See `WalletObserver` in `udl/edl.udl`.
pub trait WalletObserver: Send + Sync {
    /// Called after each change.
    fn on_event(&self, event: WalletEvent) -> Result<(), EdlError>;

    /// For UniFFI's trait-interface scaffolding.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// The app's observer as the core sees it.
pub(crate) struct ForeignObserver(pub(crate) Arc<dyn WalletObserver>);

impl edl_core::wallet::WalletObserver for ForeignObserver {
    fn on_event(&self, event: edl_core::wallet::WalletEvent) {
        // The change is stored already; the app's failure is only worth a line in its log.
        if let Err(e) = self.0.on_event(event.into()) {
            log::warn!("the app's WalletObserver threw: {e}");
        }
    }
}

/// See `RotationTicker` in `udl/edl.udl`.
pub struct RotationTicker(pub(crate) edl_core::wallet::RotationTicker);

impl RotationTicker {
    /// Stops the ticks. Idempotent.
    pub fn stop(&self) {
        self.0.stop();
    }
}

/// See `LogLevel` in `udl/edl.udl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<log::Level> for LogLevel {
    fn from(l: log::Level) -> Self {
        match l {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

impl From<LogLevel> for log::LevelFilter {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// See `Logger` in `udl/edl.udl`.
pub trait Logger: Send + Sync {
    /// One log record.
    fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), EdlError>;

    /// For UniFFI's trait-interface scaffolding.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

static LOGGER: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);

struct Forward;

static FORWARD: Forward = Forward;

impl log::Log for Forward {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        LOGGER
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn log(&self, record: &log::Record<'_>) {
        thread_local! {
            static IN_LOGGER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        // A record made while the app's logger runs (it called back into the library) is
        // dropped rather than sent round again.
        if IN_LOGGER.with(|f| f.replace(true)) {
            return;
        }
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                IN_LOGGER.with(|f| f.set(false));
            }
        }
        let _reset = Reset;
        let logger = LOGGER
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(l) = logger {
            // A logger that fails has nowhere to report it: the record is dropped.
            let _ = l.log(
                record.level().into(),
                record.target().to_owned(),
                record.args().to_string(),
            );
        }
    }

    fn flush(&self) {}
}

/// Sends the library's log records at `max_level` and above to `logger` (`None`: stop).
pub fn set_logger(logger: Option<Arc<dyn Logger>>, max_level: LogLevel) {
    // Installed once per process; a logger the host installed first keeps its place.
    let _ = log::set_logger(&FORWARD);
    let level = if logger.is_some() {
        max_level.into()
    } else {
        log::LevelFilter::Off
    };
    *LOGGER.write().unwrap_or_else(PoisonError::into_inner) = logger;
    log::set_max_level(level);
}
