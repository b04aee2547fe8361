//! Logging: the authority logs through `tracing` (spans on the service calls and the
//! writer's batches, events at the points where an outcome is decided) and never a
//! personal field: ids, counts, kinds and outcomes only. The binary that runs it (the
//! `edl` CLI) installs the subscriber; this module adds the panic hook.

/// Logs every panic once, as a `tracing` error with its location, instead of the
/// default hook's stderr text. A formatted panic message may carry request data, so only
/// a literal message (`&'static str`, which cannot) is logged.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&'static str>()
            .copied()
            .unwrap_or("(formatted message withheld)");
        let thread = std::thread::current();
        tracing::error!(
            location = %location,
            thread = thread.name().unwrap_or("unnamed"),
            payload = message,
            "panic"
        );
    }));
}
