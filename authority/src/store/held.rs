//! How long a group-committing writer has been on its current batch (D179): what tells a
//! database that holds a commit (a synchronous standby away, a disk that stopped) from
//! one that is merely busy. Both writers mark each batch's start and end; the store
//! answers [`crate::store::RegistryStore::writer_held_for`] from it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The start of the batch in hand, if any.
#[derive(Debug, Default)]
pub struct BatchClock {
    started: Mutex<Option<Instant>>,
    /// Where each span's length goes when it ends, if anywhere (`/metrics`, AR-5).
    lengths: Option<prometheus::Histogram>,
}

impl BatchClock {
    /// A clock that also records how long each of its spans lasted in `lengths`.
    pub fn recording(lengths: prometheus::Histogram) -> Self {
        BatchClock {
            started: Mutex::new(None),
            lengths: Some(lengths),
        }
    }

    /// A batch begins; the returned guard ends it when dropped, however the batch ends
    /// (committed, failed, or its task stopped).
    pub fn begin(&self) -> InBatch<'_> {
        *self.lock() = Some(Instant::now());
        InBatch(self)
    }

    /// How long the batch in hand has been going; `None` between batches.
    pub fn held_for(&self) -> Option<Duration> {
        self.lock().map(|started| started.elapsed())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.started.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A batch in hand (see [`BatchClock::begin`]).
pub struct InBatch<'a>(&'a BatchClock);

impl Drop for InBatch<'_> {
    fn drop(&mut self) {
        let started = self.0.lock().take();
        if let (Some(started), Some(lengths)) = (started, &self.0.lengths) {
            lengths.observe(started.elapsed().as_secs_f64());
        }
    }
}

/// The writer's batches as distributions for `/metrics` (issue 15's "writer batch sizes
/// and commit latency", AR-5): the writes each committed batch made, and how long each
/// span of the held clock lasted (on PostgreSQL a batch's commit, on SQLite its
/// transaction from `BEGIN` to the `COMMIT`'s answer; the prune's too).
#[derive(Clone)]
pub struct BatchShape {
    /// Writes per committed batch that made one.
    pub sizes: prometheus::Histogram,
    /// Lengths of the held clock's spans, in seconds.
    pub held: prometheus::Histogram,
}

impl BatchShape {
    /// Two empty histograms.
    pub fn new() -> Self {
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(name, help).buckets(buckets),
            )
            .expect("a valid histogram definition")
        };
        BatchShape {
            sizes: histogram(
                "edl_writer_batch_size",
                "Writes made by each committed batch of the group-committing writer.",
                prometheus::exponential_buckets(1.0, 2.0, 11).expect("valid buckets"),
            ),
            held: histogram(
                "edl_writer_batch_held_duration_seconds",
                "How long each span the database held lasted: on PostgreSQL a batch's \
                 commit, on SQLite a batch's transaction; the prune's too.",
                crate::metrics::LATENCY_BUCKETS.to_vec(),
            ),
        }
    }

    /// The histograms, to register with the server's metrics.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![Box::new(self.sizes.clone()), Box::new(self.held.clone())]
    }
}

impl Default for BatchShape {
    fn default() -> Self {
        BatchShape::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_held_from_its_start_to_its_end() {
        let clock = BatchClock::default();
        assert_eq!(clock.held_for(), None, "no batch yet");
        let batch = clock.begin();
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            clock
                .held_for()
                .is_some_and(|d| d >= Duration::from_millis(20))
        );
        drop(batch);
        assert_eq!(clock.held_for(), None, "ended");
    }

    #[test]
    fn a_recording_clock_records_each_span_once() {
        let shape = BatchShape::new();
        let clock = BatchClock::recording(shape.held.clone());
        drop(clock.begin());
        drop(clock.begin());
        assert_eq!(shape.held.get_sample_count(), 2);
        assert_eq!(BatchClock::default().held_for(), None);
    }
}
