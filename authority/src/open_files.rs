//! The process's open-file limit and the connection cap it allows (third hostile review,
//! C-F8; D144).
//!
//! Every connection holds a descriptor. At the common soft limit of 1,024 the default cap
//! of 1,024 connections was never reached: accepts failed for want of a descriptor and the
//! clients past that waited in the listen backlog with no answer, where the cap answers
//! 503 with Retry-After. So the server binary raises its soft limit to the hard one, and
//! the accept loop serves no more connections at once than the limit leaves room for.

/// Descriptors the server needs besides its connections: standard streams, the listener,
/// the runtime's own (epoll, eventfd, signals), log files, temporary files, with a margin.
const BASE_RESERVE: u64 = 64;

/// Over-cap connections being answered 503 at once; more are closed unanswered. Each holds
/// a descriptor for up to a second while its answer goes out.
pub(crate) const MAX_REFUSING: usize = 32;

/// Raises this process's soft open-file limit to its hard limit (capped at 1,048,576 where
/// the hard limit is unlimited), and returns the soft limit in force afterwards; `None`
/// where the limit cannot be read. For a server's `main`: a library should not change
/// its process's limits.
pub fn raise_soft_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let (soft, hard) = limits()?;
        let target = if hard == libc::RLIM_INFINITY {
            1 << 20
        } else {
            hard
        };
        // macOS refuses a soft limit above its per-process maximum even when the hard
        // limit is unlimited: then its usual maximum, 10,240, is asked for instead.
        for target in [target, target.min(10_240)] {
            if target <= soft {
                break;
            }
            let raised = libc::rlimit {
                rlim_cur: target,
                rlim_max: hard,
            };
            // SAFETY: a plain system call on a valid struct.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                break;
            }
        }
        soft_limit()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The soft open-file limit in force; `None` where it cannot be read (or is unlimited).
pub(crate) fn soft_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        limits()
            .map(|(soft, _)| soft)
            .filter(|&soft| soft != libc::RLIM_INFINITY)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The soft and hard open-file limits.
#[cfg(unix)]
fn limits() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a plain system call writing into a valid struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // `rlim_t` is not `u64` everywhere.
    Some((limit.rlim_cur.into(), limit.rlim_max.into()))
}

/// Descriptors the server keeps besides its connections, with `database_descriptors`
/// held by its store ([`crate::server`] counts them per backend).
pub(crate) fn reserve(database_descriptors: usize) -> u64 {
    BASE_RESERVE + database_descriptors as u64 + MAX_REFUSING as u64
}

/// The connections served at once: `configured`, or fewer when the open-file limit `soft`
/// leaves less room beside `reserve`; at least one.
pub(crate) fn connection_cap(configured: usize, soft: Option<u64>, reserve: u64) -> usize {
    match soft {
        Some(soft) => {
            let room = usize::try_from(soft.saturating_sub(reserve)).unwrap_or(usize::MAX);
            configured.min(room).max(1)
        }
        None => configured.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_what_the_limit_leaves_beside_the_reserve() {
        let reserve = reserve(27);
        assert_eq!(reserve, 64 + 27 + 32);
        // The common soft limit of 1,024 cannot hold 1,024 connections.
        assert_eq!(connection_cap(1024, Some(1024), reserve), 1024 - 123);
        // A raised limit keeps the configured cap.
        assert_eq!(connection_cap(1024, Some(65_536), reserve), 1024);
        // A limit below the reserve still serves one connection.
        assert_eq!(connection_cap(1024, Some(100), reserve), 1);
        // An unknown limit keeps the configured cap.
        assert_eq!(connection_cap(1024, None, reserve), 1024);
        assert_eq!(connection_cap(0, None, reserve), 1);
    }
}
