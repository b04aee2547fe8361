//! How long an exchange with the authority took, on a clock that is never stepped and
//! counts the time the phone sleeps. A clock reading (the wallet's offset from the
//! authority) is taken at the middle of an exchange, so its duration must be the real
//! one: the wall clock is stepped (the network's time arriving as the phone reconnects,
//! which is when apps sync: AO-SY3), and std's `Instant` stops while the phone sleeps on
//! Linux and Android (the review of D216, Q-3). Neither can tell a sleep from a forward
//! step (the review of D218, T-3); the boot clock is both unstepped and counting.

use std::time::{Duration, Instant};

/// A measurement started at [`Stopwatch::start`].
pub(crate) struct Stopwatch {
    boot: Option<Duration>,
    instant: Instant,
}

impl Stopwatch {
    /// Starts measuring.
    pub(crate) fn start() -> Self {
        Stopwatch {
            boot: boot_clock(),
            instant: Instant::now(),
        }
    }

    /// The time since [`Stopwatch::start`]: by the boot clock where the system has one,
    /// else by std's monotonic clock.
    pub(crate) fn elapsed(&self) -> Duration {
        match (self.boot, boot_clock()) {
            (Some(started), Some(now)) if now >= started => now - started,
            _ => self.instant.elapsed(),
        }
    }
}

/// `CLOCK_BOOTTIME`: monotonic, never stepped, and counting suspend.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn boot_clock() -> Option<Duration> {
    read(libc::CLOCK_BOOTTIME)
}

/// Apple's `CLOCK_MONOTONIC`, which keeps counting while the system sleeps (its
/// `clock_gettime(3)`), unlike Linux's.
#[cfg(target_vendor = "apple")]
fn boot_clock() -> Option<Duration> {
    read(libc::CLOCK_MONOTONIC)
}

/// No such clock known here: std's monotonic clock is used.
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn boot_clock() -> Option<Duration> {
    None
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn read(clock: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through a pointer to a live one.
    let read = unsafe { libc::clock_gettime(clock, &mut ts) } == 0;
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    read.then(|| Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopwatch_measures_at_least_the_time_slept_by_the_boot_clock_here() {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert!(
            boot_clock().is_some(),
            "CLOCK_BOOTTIME readable on this system"
        );
        let watch = Stopwatch::start();
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = watch.elapsed();
        assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }
}
