//! Which address a request came from when the authority is behind a load balancer
//! (twenty-seventh review, AH-F3; D199). The enrolment back-off counts tries per source
//! (D75), and behind a balancer every TCP peer is the balancer: one client's eleven wrong
//! tries locked every driver in the country out. The proxies named in
//! [`TrustedProxies`] are believed about the client they forwarded: the source is the
//! right-most address of their `X-Forwarded-For` that is not itself a trusted proxy.
//! Each proxy appends the address it was connected from, so everything right of that
//! address was written by trusted proxies, and whatever a client wrote itself lies left
//! of it, where the walk never reaches.

use std::net::{IpAddr, SocketAddr};

use ipnet::{IpNet, Ipv4Net};

/// The setting that lists the trusted proxies (`edl authority serve --trusted-proxies`).
pub const TRUSTED_PROXIES_ENV: &str = "EDL_AUTHORITY_TRUSTED_PROXIES";

/// The header a proxy names its client in, each hop appending its own peer.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Why a list of trusted proxies was refused: the server does not start on it, since a
/// proxy left out by a typo would be one source for the back-off again (AH-F3), and one
/// widened by a typo would let its clients name their own source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedProxiesError {
    /// An entry that is neither an IP address nor `ADDRESS/PREFIX` with a prefix within
    /// the address's length.
    #[error(
        "{TRUSTED_PROXIES_ENV}: {0:?} is not an IP address or a network ADDRESS/PREFIX \
         (e.g. 10.0.0.7, 10.0.0.0/8, 2001:db8::/32)"
    )]
    NotAnAddress(String),
    /// A network with bits set past its prefix (`10.0.0.1/8`): most likely a typo for
    /// an address or another prefix, and it would trust far more than was meant.
    #[error(
        "{TRUSTED_PROXIES_ENV}: {0:?} has bits set past its prefix; write a network as its \
         first address (e.g. 10.0.0.0/8), or a single proxy without a prefix"
    )]
    HostBits(String),
    /// A network of every address (`0.0.0.0/0`, `::/0`): every client could then name its
    /// own source (twenty-eighth review, AI-F6).
    #[error(
        "{TRUSTED_PROXIES_ENV}: {0:?} would trust every address, so every client could name \
         its own source; list the proxies' addresses or networks"
    )]
    Everyone(String),
}

/// One entry of the list: an address (a network of its one address), or a network
/// `ADDRESS/PREFIX` written as its first address. Addresses are matched in their
/// canonical form (an IPv4-mapped IPv6 peer, as a dual-stack listener sees IPv4 clients,
/// as IPv4), so a network written that way is read as the IPv4 network it covers.
fn network(entry: &str) -> Result<IpNet, TrustedProxiesError> {
    let not_an_address = || TrustedProxiesError::NotAnAddress(entry.to_owned());
    // Digits only after the slash: a prefix of `+8` or ` 8` is a typo, not 8.
    if let Some((_, prefix)) = entry.split_once('/')
        && (prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(not_an_address());
    }
    let net = match entry.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(entry.parse::<IpAddr>().map_err(|_| not_an_address())?),
    };
    if net.trunc() != net {
        return Err(TrustedProxiesError::HostBits(entry.to_owned()));
    }
    if net.prefix_len() == 0 {
        return Err(TrustedProxiesError::Everyone(entry.to_owned()));
    }
    Ok(match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => {
                IpNet::V4(Ipv4Net::new(v4, v6.prefix_len() - 96).map_err(|_| not_an_address())?)
            }
            None => net,
        },
        _ => net,
    })
}

/// The proxies (exact addresses and networks) whose `X-Forwarded-For` is believed when
/// they are a request's TCP peer. Empty by default: every request's source is its peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of IP addresses and networks (`ADDRESS/PREFIX`); blanks
    /// around entries are ignored, and an empty text is an empty list.
    pub fn parse(list: &str) -> Result<TrustedProxies, TrustedProxiesError> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(network)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }
}

/// One entry of `X-Forwarded-For`: an address, or one with a port (`192.0.2.7:4711`,
/// `[2001:db8::7]:4711`) or in brackets, as some proxies write it; `None` for anything
/// else (`unknown`, an obfuscated name, bytes that are not text).
fn entry_address(entry: &[u8]) -> Option<IpAddr> {
    let entry = std::str::from_utf8(entry).ok()?.trim_matches([' ', '\t']);
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })?;
    Some(ip.to_canonical())
}

/// The address a request from `peer` is counted against: `peer` itself unless it is a
/// trusted proxy; then the right-most address of its `X-Forwarded-For` header lines
/// (`forwarded_for`, in the order received, read as one list) that is not itself a
/// trusted proxy.
///
/// From an untrusted peer the header is never read: anyone can send it, and a client that
/// named a new address with each try would never be counted twice. From a trusted peer
/// with no header, a header of trusted addresses only, or an entry that is not an address
/// before an untrusted one is found, the source is the peer: that entry was written by a
/// trusted hop (everything right of it was), so the proxies are misconfigured rather than
/// the client lying, and reading past it would take what a client wrote. Counting against
/// the proxy is what was done before trusted proxies existed: it may slow down the honest
/// drivers behind it, never let a client pick its own source.
pub fn client_address<'a, I>(peer: IpAddr, trusted: &TrustedProxies, forwarded_for: I) -> IpAddr
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: DoubleEndedIterator,
{
    if !trusted.contains(peer) {
        return peer;
    }
    for line in forwarded_for.into_iter().rev() {
        for entry in line.split(|b| *b == b',').rev() {
            match entry_address(entry) {
                Some(ip) if trusted.contains(ip) => continue,
                Some(ip) => return ip,
                None => return peer,
            }
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    /// The source of a request from `peer` with the header lines `lines`.
    fn source(peer: &str, list: &str, lines: &[&str]) -> IpAddr {
        client_address(ip(peer), &trusted(list), lines.iter().map(|l| l.as_bytes()))
    }

    #[test]
    fn an_untrusted_peer_is_the_source_whatever_it_forwards() {
        assert_eq!(source("203.0.113.5", "", &["192.0.2.7"]), ip("203.0.113.5"));
        assert_eq!(
            source("203.0.113.5", "10.0.0.0/8", &["192.0.2.7", "198.51.100.9"]),
            ip("203.0.113.5")
        );
        // Without the header either.
        assert_eq!(source("203.0.113.5", "10.0.0.7", &[]), ip("203.0.113.5"));
    }

    #[test]
    fn a_trusted_peer_s_source_is_the_right_most_untrusted_address() {
        // What the client wrote itself (1.1.1.1) is left of what the proxy appended.
        assert_eq!(
            source("10.0.0.7", "10.0.0.7", &["1.1.1.1, 192.0.2.7"]),
            ip("192.0.2.7")
        );
        assert_eq!(
            source("10.0.0.7", "10.0.0.7", &["192.0.2.7"]),
            ip("192.0.2.7")
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_past() {
        // Client → edge proxy 10.1.0.3 → balancer 10.0.0.7 → authority.
        assert_eq!(
            source(
                "10.0.0.7",
                "10.0.0.7, 10.1.0.0/16",
                &["6.6.6.6, 192.0.2.7, 10.1.0.3"]
            ),
            ip("192.0.2.7")
        );
        // Every entry trusted: nothing names a client, the peer is the source.
        assert_eq!(
            source("10.0.0.7", "10.0.0.7, 10.1.0.0/16", &["10.1.0.3, 10.0.0.7"]),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn a_missing_or_garbled_header_from_a_trusted_peer_counts_the_peer() {
        let list = "10.0.0.7, 10.1.0.0/16";
        assert_eq!(source("10.0.0.7", list, &[]), ip("10.0.0.7"));
        for garbage in [
            "",
            "unknown",
            "192.0.2.7, unknown",
            "192.0.2.7, not an address",
            "192.0.2.7,",
            "192.0.2.7, 999.0.0.1",
            "192.0.2.7 10.1.0.3",
            // Garbled between the right-most untrusted address and the peer.
            "192.0.2.7, _hidden, 10.1.0.3",
        ] {
            assert_eq!(
                source("10.0.0.7", list, &[garbage]),
                ip("10.0.0.7"),
                "{garbage:?}"
            );
        }
        // Garbage left of the right-most untrusted address is never read.
        assert_eq!(
            source("10.0.0.7", list, &["unknown, §§, 192.0.2.7, 10.1.0.3"]),
            ip("192.0.2.7")
        );
        // Not text.
        let bytes: &[&[u8]] = &[b"192.0.2.7, \xff\xfe"];
        assert_eq!(
            client_address(ip("10.0.0.7"), &trusted(list), bytes.iter().copied()),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn ipv6_peers_entries_and_networks() {
        let list = "2001:db8:a::/48, 10.0.0.7";
        assert_eq!(
            source("2001:db8:a:1::5", list, &["2001:db8:ffff::9"]),
            ip("2001:db8:ffff::9")
        );
        // With a port, in brackets, or without.
        for entry in [
            "[2001:db8:ffff::9]:4711",
            "[2001:db8:ffff::9]",
            " 2001:db8:ffff::9 ",
        ] {
            assert_eq!(
                source("10.0.0.7", list, &[entry]),
                ip("2001:db8:ffff::9"),
                "{entry}"
            );
        }
        assert_eq!(
            source("10.0.0.7", list, &["192.0.2.7:4711"]),
            ip("192.0.2.7")
        );
        // Outside the /48: not trusted.
        assert_eq!(
            source("2001:db8:b::5", list, &["2001:db8:ffff::9"]),
            ip("2001:db8:b::5")
        );
        // An IPv4 peer seen by a dual-stack listener, and an IPv4-mapped entry.
        assert_eq!(
            source("::ffff:10.0.0.7", list, &["::ffff:192.0.2.7"]),
            ip("192.0.2.7")
        );
        assert!(trusted("::ffff:10.0.0.0/104").contains(ip("10.200.0.1")));
    }

    #[test]
    fn several_header_lines_are_one_list_in_their_order() {
        let list = "10.0.0.7, 10.1.0.0/16";
        assert_eq!(
            source("10.0.0.7", list, &["6.6.6.6, 192.0.2.7", "10.1.0.3"]),
            ip("192.0.2.7")
        );
        assert_eq!(
            source("10.0.0.7", list, &["6.6.6.6", "192.0.2.7, 10.1.0.3", ""]),
            ip("10.0.0.7"),
            "an empty last line is a garbled entry"
        );
        assert_eq!(
            source("10.0.0.7", list, &["192.0.2.7", "10.1.0.3", "10.1.0.4"]),
            ip("192.0.2.7")
        );
    }

    #[test]
    fn a_list_takes_addresses_and_networks_and_refuses_anything_else_by_name() {
        let list = trusted(" 10.0.0.7 ,192.168.0.0/16,, 2001:db8::/32,");
        assert!(list.contains(ip("10.0.0.7")));
        assert!(!list.contains(ip("10.0.0.8")));
        assert!(list.contains(ip("192.168.200.1")));
        assert!(list.contains(ip("2001:db8:1::1")));
        assert!(!list.contains(ip("2001:db9::1")));
        assert!(trusted("").is_empty());
        for bad in [
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "proxy.internal",
            "10.0.0.7:443",
            "10.0.0",
        ] {
            let e = TrustedProxies::parse(&format!("10.0.0.7, {bad}")).unwrap_err();
            assert_eq!(e, TrustedProxiesError::NotAnAddress(bad.into()));
            let text = e.to_string();
            assert!(
                text.contains(TRUSTED_PROXIES_ENV) && text.contains(bad),
                "{text}"
            );
        }
        for bad in ["10.0.0.1/8", "10.0.0.7/3", "2001:db8::1/32"] {
            assert_eq!(
                TrustedProxies::parse(bad),
                Err(TrustedProxiesError::HostBits(bad.into()))
            );
        }
        // Trusting every address lets every client name its own source (AI-F6).
        for bad in ["0.0.0.0/0", "::/0"] {
            assert_eq!(
                TrustedProxies::parse(bad),
                Err(TrustedProxiesError::Everyone(bad.into()))
            );
        }
    }
}
