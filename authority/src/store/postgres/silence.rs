//! Bounds on a connection the network silences (D171): a database host powered off or cut
//! off by a partition resets nothing, so without them a request waits on the kernel's own
//! bounds (about 15 minutes). Put in place where the connection string does not say
//! otherwise; a key it names keeps its value (D178), found as tokio-postgres finds it.

use std::time::Duration;

/// A connection the network silences (the database's host powered off, a partition: no
/// reset ever comes) is given up after this long without an acknowledgement of what was
/// sent, or of the keepalive probes sent while waiting for an answer (D171). Without it the
/// kernel's own bounds hold: about 15 minutes of retransmission, two hours before a probe,
/// all that time holding the writer and every request that got such a connection. A
/// server that is merely slow (a commit waiting for its standby) still answers the probes.
const SILENT_FOR: Duration = Duration::from_secs(10);
/// Idle time before the first keepalive probe, and between probes.
const PROBE_AFTER: Duration = Duration::from_secs(5);
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Above this a URL's `tcp_user_timeout` was likely written in libpq's milliseconds.
const SECONDS_NOT_MILLIS: Duration = Duration::from_secs(600);

/// The keys a connection string sets, read as tokio-postgres reads them (its `config.rs`):
/// a URL's query (`?key=value&…`, the keys percent-decoded), or `key = value` pairs whose
/// values may be single-quoted, with backslash escapes, up to an empty key, where the
/// driver stops reading. Only the keys: what the driver made of their values is in the
/// parsed `Config`, except where it took a value as nothing said (a 0). A string the
/// driver refuses is refused before this is asked.
fn connection_keys(conn: &str) -> Vec<String> {
    if let Some(rest) = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|scheme| conn.strip_prefix(scheme))
    {
        return url_query(rest).map_or_else(Vec::new, |query| {
            query
                .split('&')
                .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
                .map(|key| {
                    percent_encoding::percent_decode_str(key)
                        .decode_utf8_lossy()
                        .into()
                })
                .collect()
        });
    }
    let mut keys = Vec::new();
    let mut rest = conn;
    loop {
        rest = rest.trim_start();
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let (key, after) = rest.split_at(key_end);
        // The driver reads no further than an empty key (and a malformed string has been
        // refused by its parse).
        let Some(value) = after
            .trim_start()
            .strip_prefix('=')
            .filter(|_| !key.is_empty())
        else {
            return keys;
        };
        keys.push(key.to_owned());
        let value = value.trim_start();
        let (quoted, mut chars) = match value.strip_prefix('\'') {
            Some(v) => (true, v.char_indices()),
            None => (false, value.char_indices()),
        };
        let start = value.len() - chars.as_str().len();
        let mut end = value.len();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '\'' if quoted => {
                    end = start + at + 1;
                    break;
                }
                c if !quoted && c.is_whitespace() => {
                    end = start + at;
                    break;
                }
                _ => {}
            }
        }
        rest = &value[end..];
    }
}

/// The query of a URL without its scheme, found as the driver finds it: the credentials
/// end at the first `@` (a `?` in a password is the password's), the hosts at `/` or `?`,
/// the database name at `?`.
fn url_query(rest: &str) -> Option<&str> {
    let rest = rest.split_once('@').map_or(rest, |(_, hosts)| hosts);
    let rest = &rest[rest.find(['/', '?']).unwrap_or(rest.len())..];
    let rest = match rest.strip_prefix('/') {
        Some(path) => &path[path.find('?').unwrap_or(path.len())..],
        None => rest,
    };
    rest.strip_prefix('?')
}

/// Bounds a silent connection ([`SILENT_FOR`]) where the connection string `conn` does not
/// say otherwise (`tcp_user_timeout`, `keepalives`, `keepalives_idle`,
/// `keepalives_interval`). A key it names keeps its value, 0 (the system's bound, in libpq)
/// and the driver's own defaults included (ninth review, P-F3).
pub fn bound_silence(config: &mut tokio_postgres::Config, conn: &str) {
    let named = connection_keys(conn);
    let names = |key: &str| named.iter().any(|k| k == key);
    match config.get_tcp_user_timeout() {
        None if names("tcp_user_timeout") => {}
        None => {
            config.tcp_user_timeout(SILENT_FOR);
        }
        // libpq reads the same key in milliseconds: a libpq string's 10000 (10 s) would be
        // almost three hours here (ninth review, P-F3). Said once, at start.
        Some(t) if *t > SECONDS_NOT_MILLIS => tracing::warn!(
            secs = t.as_secs(),
            "the database URL's tcp_user_timeout is read in seconds, not milliseconds"
        ),
        Some(_) => {}
    }
    if config.get_keepalives() {
        if !names("keepalives_idle") {
            config.keepalives_idle(PROBE_AFTER);
        }
        if !names("keepalives_interval") {
            config.keepalives_interval(PROBE_EVERY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tokio-postgres's own keepalive idle time.
    const DRIVER_PROBE_AFTER: Duration = Duration::from_secs(2 * 60 * 60);

    fn bounded(url: &str) -> tokio_postgres::Config {
        let mut config: tokio_postgres::Config = url.parse().unwrap();
        bound_silence(&mut config, url);
        config
    }

    #[test]
    fn a_url_that_says_nothing_gets_the_silence_bounds() {
        let c = bounded("postgres://edl@127.0.0.1:5432/postgres");
        assert_eq!(c.get_tcp_user_timeout(), Some(&SILENT_FOR));
        assert!(c.get_keepalives());
        assert_eq!(c.get_keepalives_idle(), PROBE_AFTER);
        assert_eq!(c.get_keepalives_interval(), Some(PROBE_EVERY));
    }

    #[test]
    fn the_url_s_own_bounds_win() {
        let c = bounded(
            "postgres://edl@127.0.0.1:5432/postgres?tcp_user_timeout=30\
             &keepalives_idle=60&keepalives_interval=7",
        );
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_secs(30)));
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(60));
        assert_eq!(c.get_keepalives_interval(), Some(Duration::from_secs(7)));
        let off = bounded("postgres://edl@127.0.0.1:5432/postgres?keepalives=0");
        assert!(!off.get_keepalives(), "keepalives turned off stay off");
    }

    /// 0 is the system's bound in libpq, which tokio-postgres reads as nothing said: a URL
    /// that names a key keeps what it says, 0 and the driver's own default included
    /// (ninth review, P-F3).
    #[test]
    fn a_url_s_zero_or_driver_default_is_kept_not_replaced() {
        for url in [
            "postgres://edl@127.0.0.1:5432/postgres?tcp_user_timeout=0\
             &keepalives_idle=7200&keepalives_interval=0",
            "host=127.0.0.1 user=edl tcp_user_timeout = 0 keepalives_idle=7200 \
             keepalives_interval='0'",
        ] {
            let c = bounded(url);
            assert_eq!(c.get_tcp_user_timeout(), None, "{url}");
            assert_eq!(c.get_keepalives_idle(), DRIVER_PROBE_AFTER, "{url}");
            assert_eq!(c.get_keepalives_interval(), None, "{url}");
        }
        // The key's name elsewhere (a password, a database name) is not the key.
        let c = bounded(
            "postgres://edl:tcp_user_timeout=0@127.0.0.1:5432/keepalives_idle=1\
             ?application_name=keepalives_interval=0",
        );
        assert_eq!(c.get_tcp_user_timeout(), Some(&SILENT_FOR));
        assert_eq!(c.get_keepalives_idle(), PROBE_AFTER);
        assert_eq!(c.get_keepalives_interval(), Some(PROBE_EVERY));
        let c = bounded("host=127.0.0.1 password='x tcp_user_timeout=0' user=edl");
        assert_eq!(
            c.get_tcp_user_timeout(),
            Some(&SILENT_FOR),
            "a quoted value"
        );
    }

    /// The driver ends a URL's credentials at the first `@`, so a `?` in a password is the
    /// password's, not the query's start; and a `?key&` in a password names nothing
    /// (eleventh review, R-F1).
    #[test]
    fn a_question_mark_in_the_credentials_is_not_the_query() {
        let url = "postgres://edl:pa?ss@127.0.0.1:5432/postgres?tcp_user_timeout=0\
                   &keepalives_idle=7200";
        let parsed: tokio_postgres::Config = url.parse().unwrap();
        assert_eq!(
            parsed.get_password(),
            Some(&b"pa?ss"[..]),
            "the driver's reading"
        );
        let c = bounded(url);
        assert_eq!(c.get_tcp_user_timeout(), None, "the URL's 0 kept");
        assert_eq!(
            c.get_keepalives_idle(),
            DRIVER_PROBE_AFTER,
            "the URL's 7200 kept"
        );

        let c = bounded("postgres://edl:x?keepalives_idle&tcp_user_timeout&y@127.0.0.1/postgres");
        assert_eq!(c.get_tcp_user_timeout(), Some(&SILENT_FOR), "nothing named");
        assert_eq!(c.get_keepalives_idle(), PROBE_AFTER, "nothing named");
    }

    /// The driver stops reading a `key = value` string at an empty key and ignores the
    /// rest, so the keys past it are not named (R-F1); and it decodes a URL's keys, so a
    /// percent-encoded key is named (D178's leftover).
    #[test]
    fn only_the_keys_the_driver_read_are_named() {
        let conn = "host=127.0.0.1 user=edl =x tcp_user_timeout=30 keepalives_idle=60";
        let parsed: tokio_postgres::Config = conn.parse().unwrap();
        assert_eq!(
            parsed.get_tcp_user_timeout(),
            None,
            "the driver ignored the tail"
        );
        let c = bounded(conn);
        assert_eq!(c.get_tcp_user_timeout(), Some(&SILENT_FOR));
        assert_eq!(c.get_keepalives_idle(), PROBE_AFTER);

        let c = bounded("postgres://edl@127.0.0.1/postgres?tcp%5Fuser_timeout=0");
        assert_eq!(
            c.get_tcp_user_timeout(),
            None,
            "a percent-encoded key is named"
        );
    }
}
