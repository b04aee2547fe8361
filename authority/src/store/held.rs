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
}

impl BatchClock {
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
        *self.0.lock() = None;
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
}
