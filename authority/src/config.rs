//! How the server is set up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::forwarded::TrustedProxies;
use crate::identity::IdentityVerifier;
use crate::seal::SeedSealer;

/// Limits on failed online checks. A 6-digit manual code has a million values and two of
/// them (this window's and the last) are accepted, so a verifier allowed
/// `pair_max_failures` guesses per `pair_lockout` covers about
/// `2 × 5 / 1 000 000` of the space per 15 minutes with the defaults: under 0.1 % a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckLimits {
    /// Failed checks by one verifier on one licence within `window` before it is locked
    /// out of that licence.
    pub pair_max_failures: u32,
    /// Failed checks by one verifier on any licence within `window` before it is locked
    /// out of all (stops spraying one guess over many licences).
    pub verifier_max_failures: u32,
    /// Failed checks on one licence by all verifiers together (the police excepted)
    /// within `window`: while that many are in the window, code checks of the licence are
    /// refused until the oldest ages out (D80). Stops many API keys guessing one driver.
    pub licence_max_failures: u32,
    /// Seconds over which failures are counted.
    pub window: u64,
    /// Seconds a verifier stays locked out of one licence.
    pub pair_lockout: u64,
    /// Seconds a verifier stays locked out of everything.
    pub verifier_lockout: u64,
}

/// Why a [`CheckLimits`] cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// A count of 0, or a window of 0 seconds: nothing would be counted.
    #[error("a failed-check limit or its window is zero")]
    Zero,
    /// A verifier's lock-out shorter than the window: the store, which reads a lock-out
    /// from the failures of the last window plus lock-out, and a process's memory would
    /// group the failures into lock-outs differently (fourth review, K-F2).
    #[error("verifier_lockout is shorter than window")]
    LockoutShorterThanWindow,
}

impl CheckLimits {
    /// Whether these limits can be served (D168): every count and the window above 0, and
    /// a verifier's lock-out either 0 (refused only while its failures are in the window)
    /// or at least the window.
    pub fn check(&self) -> Result<(), LimitsError> {
        let counts = [
            self.pair_max_failures,
            self.verifier_max_failures,
            self.licence_max_failures,
        ];
        if counts.contains(&0) || self.window == 0 {
            return Err(LimitsError::Zero);
        }
        if self.verifier_lockout != 0 && self.verifier_lockout < self.window {
            return Err(LimitsError::LockoutShorterThanWindow);
        }
        Ok(())
    }
}

impl Default for CheckLimits {
    fn default() -> Self {
        CheckLimits {
            pair_max_failures: 5,
            verifier_max_failures: 30,
            licence_max_failures: 10,
            window: 15 * 60,
            pair_lockout: 15 * 60,
            verifier_lockout: 60 * 60,
        }
    }
}

/// A back-off: the first `free` attempts go through at once; after attempt `n > free`
/// the next waits `base · 2^(n - free - 1)` seconds, at most `cap`. Attempts are
/// forgotten `memory` seconds after the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts without a wait.
    pub free: u32,
    /// The first wait, in seconds.
    pub base: u64,
    /// The longest wait, in seconds.
    pub cap: u64,
    /// Seconds after the last attempt when the count starts over.
    pub memory: u64,
}

impl Backoff {
    /// Seconds to wait after `attempts` attempts.
    pub fn delay(&self, attempts: u32) -> u64 {
        if attempts <= self.free {
            return 0;
        }
        let doublings = (attempts - self.free - 1).min(32);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }
}

/// Limits on enrolment attempts (D75). An activation code has 8 digits and lives
/// `activation_ttl` (24 h by default): at one try a minute after the first few, a
/// licence takes under 1,500 guesses in a code's life, a chance below 2 in 100,000;
/// and the driver with the right code waits at most `licence.cap` however many wrong
/// codes an attacker sent. One source spraying guesses over many licences is slowed
/// down for much longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrolLimits {
    /// Per licence number, from any source.
    pub licence: Backoff,
    /// Per source address (IPv4 address or IPv6 /64), on any licence.
    pub source: Backoff,
}

impl Default for EnrolLimits {
    fn default() -> Self {
        EnrolLimits {
            licence: Backoff {
                free: 3,
                base: 5,
                cap: 60,
                memory: 24 * 3600,
            },
            source: Backoff {
                free: 10,
                base: 300,
                cap: 3600,
                memory: 24 * 3600,
            },
        }
    }
}

/// The longest `request_timeout` served, with the clock check off (D183; with it on, less:
/// [`resend_fits`]). A check answered 503 at its deadline may have claimed its code after
/// all; its verifier sends it again after the answer's Retry-After, and is answered as the
/// code's spender only within [`REPEAT_SECS`](crate::guard::REPEAT_SECS) of the check.
/// What this leaves of that, [`RESEND_TIME`], is the verifier app's to come back in.
pub const MAX_REQUEST_TIMEOUT: Duration =
    Duration::from_secs(crate::guard::REPEAT_SECS - crate::error::STORE_RETRY_AFTER - RESEND_TIME);

/// Seconds a verifier's app is given, after a 503's Retry-After, to send its check again.
pub const RESEND_TIME: u64 = 18;

/// Whether a check answered 503 at `request_timeout` can be sent again after Retry-After
/// and [`RESEND_TIME`] and still be answered as its spender's repeat (D183, D184). The
/// check and its resend may be served by two processes, each judging the time by its own
/// clock, and each may be `max_clock_skew` from the database's and still ready (D182): so
/// twice that counts against [`REPEAT_SECS`](crate::guard::REPEAT_SECS) too (`None`: the
/// clocks are not checked, as on SQLite, whose processes share one host's). Sums too large
/// to add do not fit (sixteenth review, W-F2: they panicked).
pub fn resend_fits(request_timeout: Duration, max_clock_skew: Option<Duration>) -> bool {
    let skew = max_clock_skew.unwrap_or_default();
    skew.checked_mul(2)
        .and_then(|twice| request_timeout.checked_add(twice))
        .is_some_and(|total| total <= MAX_REQUEST_TIMEOUT)
}

/// Everything [`crate::serve`] needs.
#[derive(Clone)]
pub struct Config {
    /// The SQLite database file (made if missing). With `postgres_url` set it only places
    /// the default KEK file (`<db_path>.kek`).
    pub db_path: PathBuf,
    /// A PostgreSQL connection string (`postgres://user@host:port/db`): when set the store
    /// is PostgreSQL there instead of the SQLite file. May hold a password: never logged.
    pub postgres_url: Option<String>,
    /// Where to listen; port 0 picks a free port (see [`crate::RunningServer::addr`]).
    pub listen: SocketAddr,
    /// A bearer token with every admin role, named `admin` in the audit log: the
    /// one-command demo's token. Production leaves it empty and gives each person a
    /// token with their roles in `admin_tokens` (D78).
    pub admin_token: String,
    /// Admin tokens with their holders and roles.
    pub admin_tokens: Vec<crate::roles::AdminToken>,
    /// The secret of the test identity provider (实人认证 stand-in), used when
    /// `identity_verifier` is `None`.
    pub identity_secret: Vec<u8>,
    /// A real identity provider's attestation check; `None` uses
    /// [`crate::identity::TestIdentityVerifier`] with `identity_secret`.
    pub identity_verifier: Option<Arc<dyn IdentityVerifier>>,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Lifetime of a credential, in hours. Sync re-signs one past half its life. Capped at
    /// `edl_core::credential::MAX_VIEW_LIFETIME_HOURS`, which verifiers enforce.
    pub credential_ttl_hours: u16,
    /// Accepted distance between a wallet request's timestamp and the server clock.
    pub max_request_skew: u64,
    /// Lifetime of an activation code, in seconds.
    pub activation_ttl: u64,
    /// Back-off on enrolment attempts (a wrong code no longer burns the code).
    pub enrol_limits: EnrolLimits,
    /// The load balancers and reverse proxies whose `X-Forwarded-For` names the source
    /// the enrolment back-off counts (AH-F3; D199), instead of themselves as one source
    /// for every client behind them. Empty by default: the TCP peer is the source.
    pub trusted_proxies: TrustedProxies,
    /// Lifetime of a real-person check challenge, in seconds.
    pub identity_challenge_ttl: u64,
    /// How long an approved photo may be reused for a new e-licence, in seconds.
    pub photo_reuse_max_age: u64,
    /// Failed online check limits.
    pub check_limits: CheckLimits,
    /// Read connections kept open.
    pub read_pool_size: usize,
    /// Seals the issuing key seeds at rest (an HSM or KMS plugs in here); `None` loads
    /// the KEK from the environment or a file beside the database
    /// ([`crate::seal::FileKek::from_env_or_file`]).
    pub kek: Option<Arc<dyn SeedSealer>>,
    /// The root key that signs the trust list (D72); `None` reads it from
    /// `EDL_AUTHORITY_ROOT_KEY` or `EDL_AUTHORITY_ROOT_KEY_FILE`, and without either the
    /// server serves no root-signed list. Never stored in the database.
    pub root: Option<Arc<crate::root::RootKey>>,
    /// The next root the served trust list announces (D107), so verifiers that refresh
    /// from this server follow a root rotation; `None` reads `EDL_AUTHORITY_NEXT_ROOT`,
    /// and without it the list announces none.
    pub next_root: Option<edl_core::crypto::PublicKey>,
    /// How long a verifier may rely on a status list, in seconds (its time-to-live).
    pub status_list_ttl: u32,
    /// Longest a client may take to send a request's headers (slowloris).
    pub header_timeout: Duration,
    /// Longest one request may take, body included: past it, 408 if its body had not
    /// arrived, else 503 (D181, D183). At most [`MAX_REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// Longest an answer's write may make no progress (a client that stops reading)
    /// before the connection is closed (third hostile review, C-F3; D138).
    pub write_timeout: Duration,
    /// Connections served at once; more are answered 503 with Retry-After and closed.
    pub max_connections: usize,
    /// Photo upload bodies (up to 3 MiB each) read at once; the next upload is answered
    /// 429 `busy` with Retry-After until one ends. Bounds the memory that half-sent
    /// uploads can hold (third hostile review, C-F1; D135).
    pub max_photo_uploads: usize,
    /// The bearer token a scraper shows to read `/metrics` (D90); empty refuses every
    /// scrape.
    pub metrics_token: String,
    /// `/readyz` says not ready when store writes are waiting and none has been answered
    /// for this long (the writer is not keeping up); and when the writer has held one batch
    /// for this long (the database holds its commit), writes are refused with 503 until it
    /// ends (D179).
    pub writer_stall: Duration,
    /// Largest distance between this process's clock and the database's at which
    /// `/readyz` answers ready (PostgreSQL only: the processes on one SQLite file share
    /// their host's clock; D182). 5 s, what a code itself is allowed (D184): twice it,
    /// with `request_timeout`, must fit the spender's repeat window ([`resend_fits`]).
    /// `None` turns the check off: the tests' servers run on a hand-set clock.
    pub max_clock_skew: Option<Duration>,
    /// How long a verifier found by its API key is taken from memory before it is read
    /// again (D114, D194): how long a revocation made through another process on the same
    /// database may take to reach this one. A revocation made here is seen at once.
    pub verifier_recheck: Duration,
}

impl Config {
    /// Defaults for `db_path` on `listen`, with the system clock. The admin token and the
    /// identity secret must be set by the caller (empty ones refuse every admin call and
    /// every identity check).
    pub fn new(db_path: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Config {
            db_path: db_path.into(),
            postgres_url: None,
            listen,
            admin_token: String::new(),
            admin_tokens: Vec::new(),
            identity_secret: Vec::new(),
            identity_verifier: None,
            clock: Arc::new(SystemClock),
            credential_ttl_hours: 72,
            max_request_skew: edl_core::wire::DEFAULT_MAX_SKEW,
            activation_ttl: 24 * 3600,
            enrol_limits: EnrolLimits::default(),
            trusted_proxies: TrustedProxies::default(),
            identity_challenge_ttl: 300,
            photo_reuse_max_age: 6 * 365 * 24 * 3600,
            check_limits: CheckLimits::default(),
            read_pool_size: 8,
            kek: None,
            root: None,
            next_root: None,
            status_list_ttl: 3600,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_photo_uploads: 32,
            metrics_token: String::new(),
            writer_stall: Duration::from_secs(5),
            max_clock_skew: Some(Duration::from_secs(u64::from(
                edl_core::verify::DEFAULT_SKEW,
            ))),
            verifier_recheck: Duration::from_secs(10),
        }
    }
}

/// The environment variable that overrides [`Config::status_list_ttl`] (seconds): a
/// deployment's choice of how stale an offline verifier's status list may get, and what
/// lets the binding tests see a list go stale in seconds (D93).
pub const STATUS_LIST_TTL_ENV: &str = "EDL_AUTHORITY_STATUS_LIST_TTL";

/// The environment variable that overrides [`Config::verifier_recheck`] (seconds): how long
/// this process may take to see a verifier revoked through another (D194).
pub const VERIFIER_RECHECK_ENV: &str = "EDL_AUTHORITY_VERIFIER_RECHECK";

/// The longest [`VERIFIER_RECHECK_ENV`] a server takes: a revoked key working a minute
/// longer through another process is as long as an operator should wait.
pub const MAX_VERIFIER_RECHECK_SECS: u64 = 60;

/// [`VERIFIER_RECHECK_ENV`]'s text as a recheck: 0 (every check reads its verifier) to
/// [`MAX_VERIFIER_RECHECK_SECS`] seconds, else an error that names the bounds.
pub fn verifier_recheck_from(text: &str) -> Result<Duration, crate::error::Error> {
    match text.trim().parse::<u64>() {
        Ok(secs) if secs <= MAX_VERIFIER_RECHECK_SECS => Ok(Duration::from_secs(secs)),
        _ => Err(crate::error::Error::InvalidState(
            "EDL_AUTHORITY_VERIFIER_RECHECK must be 0 to 60 seconds",
        )),
    }
}

/// [`VERIFIER_RECHECK_ENV`] if set ([`verifier_recheck_from`]), or the server does not start.
pub fn verifier_recheck_from_env() -> Result<Option<Duration>, crate::error::Error> {
    std::env::var(VERIFIER_RECHECK_ENV)
        .ok()
        .map(|text| verifier_recheck_from(&text))
        .transpose()
}

/// [`STATUS_LIST_TTL_ENV`] if set: 1 second to 7 days, or the server does not start.
pub fn status_list_ttl_from_env() -> Result<Option<u32>, crate::error::Error> {
    let Ok(text) = std::env::var(STATUS_LIST_TTL_ENV) else {
        return Ok(None);
    };
    match text.trim().parse::<u32>() {
        Ok(ttl) if (1..=edl_core::credential::MAX_STATUS_LIST_TTL).contains(&ttl) => Ok(Some(ttl)),
        _ => Err(crate::error::Error::InvalidState(
            "EDL_AUTHORITY_STATUS_LIST_TTL must be 1 to 604800 seconds",
        )),
    }
}

/// The environment variable naming the next root's public key (64 hex digits), which
/// the served trust list then announces (D107).
pub const NEXT_ROOT_ENV: &str = "EDL_AUTHORITY_NEXT_ROOT";

/// [`NEXT_ROOT_ENV`] if set: a valid Ed25519 public key in hex, or the server does not
/// start (a typo would otherwise announce a root nobody holds, or silently none).
pub fn next_root_from_env() -> Result<Option<edl_core::crypto::PublicKey>, crate::error::Error> {
    match std::env::var(NEXT_ROOT_ENV) {
        Ok(text) => parse_next_root(&text).map(Some),
        Err(_) => Ok(None),
    }
}

/// The next root from the text of [`NEXT_ROOT_ENV`].
fn parse_next_root(text: &str) -> Result<edl_core::crypto::PublicKey, crate::error::Error> {
    edl_core::verify::root_key_from_text(text).ok_or(crate::error::Error::InvalidState(
        "EDL_AUTHORITY_NEXT_ROOT must be a public key of 64 hex digits",
    ))
}

/// Refuses a next root the server cannot announce: without a root there is no signed
/// list to carry it, and announcing the root itself would announce nothing.
pub fn check_next_root(
    root: Option<&crate::root::RootKey>,
    next_root: Option<edl_core::crypto::PublicKey>,
) -> Result<(), crate::error::Error> {
    match (root, next_root) {
        (None, Some(_)) => Err(crate::error::Error::InvalidState(
            "EDL_AUTHORITY_NEXT_ROOT needs a root key to sign the list announcing it",
        )),
        (Some(root), Some(next)) if root.public() == next => Err(
            crate::error::Error::InvalidState("EDL_AUTHORITY_NEXT_ROOT is the root key itself"),
        ),
        _ => Ok(()),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs.
        f.debug_struct("Config")
            .field("db_path", &self.db_path)
            .field(
                "postgres",
                &self.postgres_url.as_ref().map(|_| "[redacted]"),
            )
            .field("listen", &self.listen)
            .field("admin_token", &"[redacted]")
            .field("metrics_token", &"[redacted]")
            .field("identity_secret", &"[redacted]")
            .field("credential_ttl_hours", &self.credential_ttl_hours)
            .field("check_limits", &self.check_limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::root::RootKey;

    #[test]
    fn a_verifier_recheck_is_0_to_60_seconds_and_anything_else_is_named() {
        assert_eq!(verifier_recheck_from("0").unwrap(), Duration::ZERO);
        assert_eq!(
            verifier_recheck_from(" 10\n").unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            verifier_recheck_from("60").unwrap(),
            Duration::from_secs(60)
        );
        for bad in ["61", "-1", "", "ten", "1.5", "18446744073709551616"] {
            let e = verifier_recheck_from(bad).unwrap_err().to_string();
            assert!(e.contains("0 to 60 seconds"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_deadline_and_two_clocks_apart_must_leave_a_resend_its_time() {
        let secs = Duration::from_secs;
        let defaults = Config::new("a.db", "127.0.0.1:0".parse().unwrap());
        assert!(resend_fits(
            defaults.request_timeout,
            defaults.max_clock_skew
        ));
        assert!(!resend_fits(defaults.request_timeout, Some(secs(6))));
        assert!(
            !resend_fits(defaults.request_timeout, Some(secs(60))),
            "D182's first bound"
        );
        assert!(resend_fits(MAX_REQUEST_TIMEOUT, None));
        assert!(!resend_fits(MAX_REQUEST_TIMEOUT + secs(1), None));
        assert!(
            !resend_fits(Duration::MAX, Some(secs(5))),
            "too large to add"
        );
        assert!(
            !resend_fits(secs(30), Some(Duration::MAX)),
            "too large to double"
        );
    }

    #[test]
    fn the_default_limits_are_served_and_a_lock_out_shorter_than_the_window_is_not() {
        let default = CheckLimits::default();
        assert_eq!(default.check(), Ok(()));
        let with = |change: fn(&mut CheckLimits)| {
            let mut l = default;
            change(&mut l);
            l.check()
        };
        assert_eq!(
            with(|l| l.verifier_lockout = 60),
            Err(LimitsError::LockoutShorterThanWindow)
        );
        // Refused only while the failures are in the window, or locked out as long.
        assert_eq!(with(|l| l.verifier_lockout = 0), Ok(()));
        assert_eq!(with(|l| l.verifier_lockout = l.window), Ok(()));
        assert_eq!(with(|l| l.window = 0), Err(LimitsError::Zero));
        assert_eq!(with(|l| l.licence_max_failures = 0), Err(LimitsError::Zero));
    }

    #[test]
    fn a_next_root_is_64_hex_digits_of_a_valid_key() {
        let next = RootKey::from_seed([9; 32]).public();
        let text = edl_core::verify::root_key_to_text(&next);
        assert_eq!(parse_next_root(&format!(" {text}\n")).unwrap(), next);
        for bad in ["", "zz", &text[..62], &format!("{text}00")] {
            assert!(
                matches!(parse_next_root(bad), Err(Error::InvalidState(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_next_root_needs_a_root_and_differs_from_it() {
        let root = RootKey::from_seed([1; 32]);
        let next = RootKey::from_seed([9; 32]).public();
        assert!(check_next_root(Some(&root), Some(next)).is_ok());
        assert!(check_next_root(Some(&root), None).is_ok());
        assert!(check_next_root(None, None).is_ok());
        assert!(matches!(
            check_next_root(None, Some(next)),
            Err(Error::InvalidState(_))
        ));
        assert!(matches!(
            check_next_root(Some(&root), Some(root.public())),
            Err(Error::InvalidState(_))
        ));
    }
}
