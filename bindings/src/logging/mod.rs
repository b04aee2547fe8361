//! The one logging path to the app: the core and this crate log with `tracing`, and a
//! `tracing` layer installed by [`set_logger`] hands each record to the app's [`Logger`]
//! (Logcat, os_log, Python's `logging`).
//!
//! This module is that layer: which records go, and each one written out as text. Only
//! records of `edl_core` and `edl_ffi` are forwarded, at the app's level: their texts are
//! written to hold no personal data or secrets (D43); the texts of dependencies (HTTP, TLS)
//! are not ours to vouch for, so their callsites are switched off. A record is written out
//! where it is made, with the steps (spans) it happened in, known only there; [`deliver`]
//! takes the text from there to the app's logger, on a thread of its own (D141).

mod deliver;

use std::fmt::Write as _;
use std::sync::{Arc, Once};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};

use crate::error::EdlError;

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

impl LogLevel {
    /// 1 (error) to 5 (trace): a record passes when its rank is at most the app's maximum.
    fn rank(self) -> u8 {
        match self {
            LogLevel::Error => 1,
            LogLevel::Warn => 2,
            LogLevel::Info => 3,
            LogLevel::Debug => 4,
            LogLevel::Trace => 5,
        }
    }
}

impl From<Level> for LogLevel {
    fn from(l: Level) -> Self {
        match l {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        }
    }
}

/// See `Logger` in `udl/edl.udl`. Called on the library's `edl-log` thread, one record at
/// a time, in the order the records were made.
pub trait Logger: Send + Sync {
    /// One log record.
    fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), EdlError>;

    /// For UniFFI's trait-interface scaffolding.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// Sends the library's log records at `max_level` and above to `logger` (`None`: stop).
///
/// Records made before still go to the logger that was set when they were made (a record
/// still being written out when this is called is made when it is done). When one was
/// set, this returns once they have been handed to it, waiting at most 1 s
/// (`deliver::HANDOVER_WAIT`; not at all when called from inside the logger): a removed
/// logger is then called no more, and an app may tear it down, or Python exit (D141).
pub fn set_logger(logger: Option<Arc<dyn Logger>>, max_level: LogLevel) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Installed once per process; a subscriber the host installed first keeps its place
        // (a Rust host then sees the records through its own).
        let _ = tracing::subscriber::set_global_default(Registry::default().with(Forward));
    });
    deliver::replace(logger, max_level);
}

/// Whether a callsite is the library's own.
fn ours(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    ["edl_core", "edl_ffi"].iter().any(|c| {
        target
            .strip_prefix(c)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// The layer that forwards the library's records to the app's logger.
struct Forward;

/// A span's fields as written in a record, kept in the span's extensions.
struct SpanFields(String);

impl<S> Layer<S> for Forward
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if ours(metadata) {
            // The app's level changes at run time: asked again at each record.
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        ours(metadata) && deliver::wanted((*metadata.level()).into())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.rest));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        values.record(&mut fields);
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(kept)) = extensions.get_mut::<SpanFields>() {
            kept.push_str(&fields.rest);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // A record made while the app's logger runs (it called back into the library) is
        // dropped rather than sent round again.
        if deliver::in_logger() {
            return;
        }
        // Written out before the logger is read: the fields' `Debug` may take any time, and
        // a logger read before a `set_logger` must not be sent a record after it returned.
        let mut text = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                text.push_str(span.name());
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>()
                    && !fields.is_empty()
                {
                    let _ = write!(text, "{{{}}}", fields.trim_start());
                }
                text.push_str(": ");
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        text.push_str(&fields.message);
        text.push_str(&fields.rest);
        let metadata = event.metadata();
        deliver::send(
            (*metadata.level()).into(),
            metadata.target().to_owned(),
            text,
        );
    }
}

/// A record's `message` and its other fields as ` name=value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, MutexGuard, PoisonError};
    use std::time::Duration;

    use super::deliver::flush;

    /// The logger is the process's and tests run in parallel threads of one process: the
    /// tests that set it, here and in `deliver`, take turns. Other tests' records may still
    /// reach the logger set here; the loggers of the tests keep only their module's.
    static SERIAL: Mutex<()> = Mutex::new(());

    const MINE: &str = module_path!();
    /// How long a test waits for what should take milliseconds.
    pub(super) const WAIT: Duration = Duration::from_secs(10);

    /// The turn to set the logger, until the guard is dropped.
    pub(super) fn take_turn() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[derive(Default)]
    struct Collect(Mutex<Vec<(LogLevel, String, String, String)>>);

    impl Logger for Collect {
        fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), EdlError> {
            // Calls back into the library while logging: that record must be dropped, not
            // sent round again (nor deadlock).
            tracing::info!("from inside the logger");
            let thread = std::thread::current().name().unwrap_or("").to_owned();
            self.0
                .lock()
                .unwrap()
                .push((level, target, message, thread));
            Ok(())
        }
    }

    #[test]
    fn records_of_the_library_reach_the_app_with_their_spans_and_level_filter() {
        let _turn = take_turn();
        let collect = Arc::new(Collect::default());
        set_logger(Some(collect.clone()), LogLevel::Debug);
        tracing::info_span!("sync", pages = 2).in_scope(|| {
            tracing::debug!(changes = 3, "stored");
            tracing::trace!("below the app's level");
        });
        // Not the library's: a dependency's record never reaches the app.
        tracing::error!(target: "hyper_util::client", "pool");
        // Returns once the records made before have reached the logger.
        set_logger(None, LogLevel::Trace);
        let got = collect.0.lock().unwrap().clone();
        tracing::error!("after the logger was removed");
        assert!(flush(WAIT), "the records were not delivered");
        assert_eq!(*collect.0.lock().unwrap(), got);
        let mine: Vec<_> = got.iter().filter(|r| r.1 == MINE).collect();
        assert_eq!(
            mine,
            [&(
                LogLevel::Debug,
                MINE.to_owned(),
                "sync{pages=2}: stored changes=3".to_owned(),
                "edl-log".to_owned()
            )]
        );
        assert!(
            got.iter()
                .all(|(_, target, message, _)| !target.starts_with("hyper")
                    && message != "from inside the logger")
        );
    }
}
