//! The two signed lists an offline verifier holds (D58, D59, D94): the root-signed trust
//! list and the status list. They are saved exactly as the authority serves them (the
//! signature with the list), checked against the pinned root before use, and a saved
//! trust list is never replaced by an older one.

use std::path::Path;

use edl_core::credential::{
    StatusList, TrustAnchor, TrustListContents, TrustListRejection, open_trust_list,
};
use edl_core::crypto::PublicKey;
use edl_core::licence::beijing;

use crate::exit::Failure;

/// Seconds a list's issue time may lie ahead of this machine's clock.
const SKEW: u32 = 300;

/// The unix time now.
pub fn now() -> Result<u64, Failure> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970")?
        .as_secs())
}

/// The pinned root public key: 64 hex characters, or a file holding them (as `edl
/// authority root create` prints it).
pub fn parse_root(arg: &str) -> Result<PublicKey, Failure> {
    let arg = arg.trim();
    let text = if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        arg.to_owned()
    } else {
        crate::files::read(Path::new(arg), 4096)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("the root key: {e}"))?
    };
    edl_core::verify::root_key_from_text(&text).ok_or_else(|| {
        Failure::from("not a root public key (64 hex characters, or a file holding them)")
    })
}

/// Reads a saved list.
pub fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    Ok(crate::files::read(path, MAX_LIST_BYTES)?)
}

/// The most a list file may hold: the larger of the phone library's two list bounds.
pub const MAX_LIST_BYTES: u64 =
    if edl_core::net::MAX_STATUS_LIST_BYTES > edl_core::net::MAX_TRUST_LIST_BYTES {
        edl_core::net::MAX_STATUS_LIST_BYTES as u64
    } else {
        edl_core::net::MAX_TRUST_LIST_BYTES as u64
    };

/// Checks the signed trust list `bytes` against `root` at `now`: signature, layout,
/// issue time and expiry.
pub fn open_trust(root: &PublicKey, bytes: &[u8], now: u64) -> Result<TrustListContents, Failure> {
    open_trust_list(root, bytes, now, SKEW).map_err(|e| trust_refused(&e))
}

fn trust_refused(e: &TrustListRejection) -> Failure {
    let hint = match e {
        TrustListRejection::Unsigned => {
            " (an old list without its signature: save it again with `edl authority trust-list --out`)"
        }
        TrustListRejection::Expired => " (fetch a fresh one)",
        _ => "",
    };
    Failure::list(format!("trust list refused: {e}{hint}"))
}

/// The status list `bytes`, its signature checked against the keys of `trust` (a list
/// already checked against the root), and not dated more than the skew after `now`: a
/// list from the future would be taken as fresh for too long, and once saved would
/// outrank every correct list after it (AK-F4). Its freshness is judged per e-licence,
/// later.
pub fn open_status(
    bytes: &[u8],
    trust: &TrustListContents,
    now: u64,
) -> Result<StatusList, Failure> {
    let list = StatusList::verify(bytes, &trust.keys)
        .map_err(|e| Failure::list(format!("status list refused: {e}")))?;
    if u64::from(list.issued_at) > now.saturating_add(u64::from(SKEW)) {
        return Err(Failure::list(format!(
            "status list refused: not valid yet (made {}, ahead of this machine's clock: \
             the authority's clock or this one is wrong)",
            beijing::format(u64::from(list.issued_at))
        )));
    }
    Ok(list)
}

/// Refuses a status list fetched live at `now` that was made more than
/// [`edl_core::verify::LIVE_STATUS_MAX_AGE`] before, allowing the clock skew the trust list
/// allows: the list is dated by the authority's clock, `now` is this machine's. The core's
/// rule, which the phone library's refreshes apply too (AG-F2).
pub fn check_live_status(list: &StatusList, now: u64) -> Result<(), Failure> {
    edl_core::verify::check_live_status(list.issued_at, now, SKEW).map_err(|_| {
        let age = now.saturating_sub(u64::from(list.issued_at));
        Failure::list(format!(
            "the status list was made {age} s before it was fetched, though the authority \
             signs one when asked: kept or replayed on the way, or this machine's clock is \
             wrong"
        ))
    })
}

/// A trust list accepted by [`refresh`].
pub struct Refreshed {
    /// What the new list says.
    pub contents: TrustListContents,
    /// The root it is signed by: the pinned one, or the next root the held list announced.
    pub root: PublicKey,
}

/// Accepts `offered` as the newest trust list after `held` (the list saved before, if
/// any), as a wallet's or verifier's [`TrustAnchor`] does: a forged, expired, unsigned
/// or older list is refused, and a list signed by the next root the held list announced
/// is accepted (the root rotated).
pub fn refresh(
    root: PublicKey,
    held: Option<&[u8]>,
    offered: &[u8],
    now: u64,
) -> Result<Refreshed, Failure> {
    let mut anchor = TrustAnchor::pinned(root);
    if let Some(held) = held {
        // The held list is taken back as it was when accepted: at its own issue time
        // (it may have expired since; a refresh is what replaces it).
        let at = issued_at(held).ok_or_else(|| {
            Failure::list("the saved trust list is not a signed list: remove it to start afresh")
        })?;
        anchor.accept(held, at, 0).map_err(|e| {
            Failure::list(format!(
                "the saved trust list does not verify under this root ({e}): pin the root \
                 it names, or remove the file to start afresh"
            ))
        })?;
    }
    anchor
        .accept(offered, now, SKEW)
        .map_err(|e| trust_refused(&e))?;
    let contents = anchor
        .held()
        .cloned()
        .ok_or_else(|| Failure::list("no trust list held"))?;
    Ok(Refreshed {
        contents,
        root: anchor.root(),
    })
}

/// The issue time written in a signed list (`2 | sequence u32 | issued_at u32 | …`).
fn issued_at(bytes: &[u8]) -> Option<u64> {
    if bytes.first() != Some(&2) {
        return None;
    }
    let b: [u8; 4] = bytes.get(5..9)?.try_into().ok()?;
    Some(u64::from(u32::from_be_bytes(b)))
}

/// Writes `bytes` to `path` through a temporary file beside it, so a reader never sees
/// half a list and a failed write leaves the old one.
pub fn save(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    // A list is public, signed data: readable by the verifier's other tools.
    Ok(crate::files::write(path, bytes, 0o644)?)
}

/// One line about a trust list: `trust list 1764748800: 2 issuing keys, valid until …`.
pub fn describe_trust(c: &TrustListContents) -> String {
    let next = match &c.next_root {
        Some(next) => format!("; announces the next root {next}"),
        None => String::new(),
    };
    format!(
        "trust list {}: {} issuing key(s), signed {}, valid until {} (Beijing time){next}",
        c.sequence,
        c.keys.keys().len(),
        beijing::format(u64::from(c.issued_at)),
        beijing::format(u64::from(c.expires_at)),
    )
}

/// One line about a status list: how many e-licences, when made, until when relied on.
pub fn describe_status(s: &StatusList) -> String {
    let until = u64::from(s.issued_at) + u64::from(s.ttl_secs);
    format!(
        "status list of {} e-licence(s), made {}, relied on until {} (Beijing time)",
        s.len(),
        beijing::format(u64::from(s.issued_at)),
        beijing::format(until),
    )
}
