//! The one logging path to the app: the core and this crate log with `tracing`, and a
//! `tracing` layer installed by [`set_logger`] hands each record to the app's [`Logger`]
//! (Logcat, os_log, Python's `logging`).
//!
//! Only records of `edl_core` and `edl_ffi` are forwarded: their texts are written to hold
//! no personal data or secrets (D43); the texts of dependencies (HTTP, TLS) are not ours to
//! vouch for, so their callsites are switched off.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Once, PoisonError, RwLock};

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
/// The app's maximum level as a [`LogLevel::rank`]; 0 while no logger is set.
static MAX_RANK: AtomicU8 = AtomicU8::new(0);

/// Sends the library's log records at `max_level` and above to `logger` (`None`: stop).
pub fn set_logger(logger: Option<Arc<dyn Logger>>, max_level: LogLevel) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Installed once per process; a subscriber the host installed first keeps its place
        // (a Rust host then sees the records through its own).
        let _ = tracing::subscriber::set_global_default(Registry::default().with(Forward));
    });
    let rank = if logger.is_some() {
        max_level.rank()
    } else {
        0
    };
    *LOGGER.write().unwrap_or_else(PoisonError::into_inner) = logger;
    MAX_RANK.store(rank, Ordering::Relaxed);
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
        ours(metadata)
            && LogLevel::from(*metadata.level()).rank() <= MAX_RANK.load(Ordering::Relaxed)
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
        let Some(logger) = LOGGER
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        else {
            return;
        };
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
        // A logger that fails has nowhere to report it: the record is dropped.
        let _ = logger.log(
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
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<(LogLevel, String, String)>>);

    impl Logger for Collect {
        fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), EdlError> {
            // Calls back into the library while logging: that record must be dropped, not
            // sent round again (nor deadlock).
            tracing::info!("from inside the logger");
            self.0.lock().unwrap().push((level, target, message));
            Ok(())
        }
    }

    /// One test for the process-wide logger: tests run in parallel threads of one process.
    #[test]
    fn records_of_the_library_reach_the_app_with_their_spans_and_level_filter() {
        let collect = Arc::new(Collect::default());
        set_logger(Some(collect.clone()), LogLevel::Debug);
        tracing::info_span!("sync", pages = 2).in_scope(|| {
            tracing::debug!(changes = 3, "stored");
            tracing::trace!("below the app's level");
        });
        // Not the library's: a dependency's record never reaches the app.
        tracing::error!(target: "hyper_util::client", "pool");
        set_logger(None, LogLevel::Trace);
        tracing::error!("after the logger was removed");
        let got = collect.0.lock().unwrap().clone();
        let mine: Vec<_> = got
            .iter()
            .filter(|(_, target, _)| target == "edl_ffi::logging::tests")
            .collect();
        assert_eq!(
            mine,
            [&(
                LogLevel::Debug,
                "edl_ffi::logging::tests".to_owned(),
                "sync{pages=2}: stored changes=3".to_owned()
            )]
        );
        assert!(
            got.iter()
                .all(|(_, target, message)| !target.starts_with("hyper")
                    && message != "from inside the logger")
        );
    }
}
