//! The observer of wallet changes, the QR rotation ticker and the logger: callbacks the app
//! implements, fed from what the core already reports (sync reports, presentation windows,
//! `log` records). Nothing here decides a rule.

use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::types::StatusColour;
use crate::wallet::{Application, PhotoReview, Presentation};

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

/// See `WalletObserver` in `udl/edl.udl`.
pub trait WalletObserver: Send + Sync {
    /// Called after each change.
    fn on_event(&self, event: WalletEvent);

    /// For UniFFI's trait-interface scaffolding.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// The observer slot a wallet and its tickers share.
#[derive(Clone, Default)]
pub(crate) struct ObserverSlot(Arc<RwLock<Option<Arc<dyn WalletObserver>>>>);

impl ObserverSlot {
    pub(crate) fn set(&self, observer: Option<Arc<dyn WalletObserver>>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = observer;
    }

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

/// See `RotationTicker` in `udl/edl.udl`.
pub struct RotationTicker {
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl RotationTicker {
    /// Starts a thread that makes a presentation at once and at each new window, and
    /// hands it to the observer, until stopped or `present` fails.
    pub(crate) fn start(
        present: impl Fn() -> Option<Presentation> + Send + 'static,
        observer: ObserverSlot,
    ) -> Self {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            while let Some(p) = present() {
                // One second past the boundary, so the next window has begun.
                let wait = Duration::from_secs(u64::from(p.seconds_left) + 1);
                observer.emit(WalletEvent::Rotation { presentation: p });
                let (lock, cvar) = &*flag;
                let stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
                let (stopped, _) = cvar
                    .wait_timeout_while(stopped, wait, |s| !*s)
                    .unwrap_or_else(PoisonError::into_inner);
                if *stopped {
                    break;
                }
            }
        });
        RotationTicker { stop }
    }

    /// Stops the ticks. Idempotent.
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
    fn log(&self, level: LogLevel, target: String, message: String);

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
            l.log(
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
