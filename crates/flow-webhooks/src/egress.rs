//! Where a webhook may go: the refused address ranges, the operator's allow list, and the DNS
//! resolver of the HTTP client, which checks every address it hands out. The client connects
//! only to addresses this resolver returned, so a name cannot be checked against one address
//! and then connect to another (no DNS rebinding between check and connect).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// An address the egress rules refuse (carried through reqwest's error chain).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refusal(pub(crate) String);

/// Cloud metadata endpoints: permitted only by an allow entry of that exact address (or of a
/// host name), never by a CIDR entry.
const METADATA: &[IpAddr] = &[
    // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle…
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    // AWS ECS task metadata and EKS pod identity.
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)),
    // Alibaba Cloud.
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    // Azure's wire server (a public address that only the host answers).
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    // AWS over IPv6 (instance metadata, DNS).
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
];

/// Refused IPv4 ranges and what they are.
const REFUSED_V4: &[(&str, &str)] = &[
    ("0.0.0.0/8", "an unspecified (this network) address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared (CGNAT) address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved or broadcast address"),
];

/// Refused IPv6 ranges (IPv4-mapped ones are judged as IPv4; NAT64 and 6to4 by the IPv4
/// address inside them).
const REFUSED_V6: &[(&str, &str)] = &[
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("::/96", "an IPv4-compatible (deprecated) address"),
    ("64:ff9b:1::/48", "a local NAT64 address"),
    ("100::/64", "a discard address"),
    ("2001::/32", "a Teredo address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("fc00::/7", "a private (unique local) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
];

/// Why an address is refused by default, or `None` for a public address.
fn refused_range(ip: IpAddr) -> Option<String> {
    let ip = canonical(ip);
    if METADATA.contains(&ip) {
        return Some("a cloud metadata address".to_owned());
    }
    if let Some(inner) = embedded_v4(ip) {
        return refused_range(IpAddr::V4(inner)).map(|why| format!("{why} inside IPv6"));
    }
    let table = if ip.is_ipv4() { REFUSED_V4 } else { REFUSED_V6 };
    table.iter().find_map(|(range, why)| {
        IpNet::from_str(range)
            .ok()
            .filter(|net| net.contains(&ip))
            .map(|_| (*why).to_owned())
    })
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is; others unchanged.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The IPv4 address inside a NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address.
fn embedded_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let s = v6.segments();
    let octets = v6.octets();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(
            octets[12], octets[13], octets[14], octets[15],
        ));
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    None
}

/// The operator's exceptions to the refused ranges (`FLOWD_WEBHOOK_ALLOW`).
#[derive(Debug, Default)]
pub(crate) struct AllowList {
    addresses: HashSet<IpAddr>,
    networks: Vec<IpNet>,
    hosts: HashSet<String>,
}

impl AllowList {
    /// Reads the entries: IP addresses, CIDRs (`10.0.0.0/8`) and host names (exact match).
    /// Blank entries are skipped; the error names the entry and why it is not one.
    pub(crate) fn parse(entries: &[String]) -> Result<Self, (String, &'static str)> {
        let mut list = Self::default();
        for entry in entries {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let fail = |why| (entry.to_owned(), why);
            if entry.contains('/') {
                let net =
                    IpNet::from_str(entry).map_err(|_| fail("not a CIDR such as 10.0.0.0/8"))?;
                if net != net.trunc() {
                    return Err(fail("the address has bits set past the prefix length"));
                }
                list.networks.push(net);
            } else if let Some(ip) = parse_ip(entry) {
                list.addresses.insert(canonical(ip));
            } else {
                list.hosts.insert(parse_host(entry).map_err(fail)?);
            }
        }
        Ok(list)
    }

    /// Whether `host` (a name from a URL) is an allowed host name.
    pub(crate) fn permits_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether the call may connect to `ip` (of a host name the list permits when
    /// `host_allowed`), or why not.
    pub(crate) fn check(&self, ip: IpAddr, host_allowed: bool) -> Result<(), String> {
        if host_allowed {
            return Ok(());
        }
        let ip = canonical(ip);
        if self.addresses.contains(&ip) {
            return Ok(());
        }
        let refused = refused_range(ip);
        let metadata = METADATA.contains(&ip);
        if !metadata && self.networks.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        match refused {
            Some(why) => Err(format!("{ip} is {why}")),
            None => Ok(()),
        }
    }

    /// Checks a URL before a call: an `http`/`https` scheme, and an address literal against the
    /// rules (host names are checked by [`CheckedResolver`] when the client connects).
    pub(crate) fn check_url(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err("only http and https URLs are called".to_owned());
        }
        match url.host() {
            None => Err("the URL has no host".to_owned()),
            Some(Host::Domain(_)) => Ok(()),
            Some(Host::Ipv4(ip)) => self.check(IpAddr::V4(ip), false),
            Some(Host::Ipv6(ip)) => self.check(IpAddr::V6(ip), false),
        }
    }
}

/// An IP address entry, `[::1]` included.
fn parse_ip(entry: &str) -> Option<IpAddr> {
    let bare = entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(entry);
    IpAddr::from_str(bare).ok()
}

/// A host name entry, lowercase ASCII (IDNA for international names), without a final dot.
fn parse_host(entry: &str) -> Result<String, &'static str> {
    if entry.contains('*') {
        return Err("wildcards are not supported: list each host name");
    }
    if entry.contains("://") {
        return Err("a host name, not a URL");
    }
    if entry.contains(':') {
        return Err("a host name without a port");
    }
    let name = match Host::parse(entry) {
        Ok(Host::Domain(name)) => name,
        Ok(_) => return Err("not a plain IP address (write it as a.b.c.d)"),
        Err(_) => return Err("not an IP address, a CIDR or a host name"),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let well_formed = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !well_formed {
        return Err("not an IP address, a CIDR or a host name");
    }
    Ok(name)
}

/// The HTTP client's resolver: the system's resolution (on tokio's blocking pool), then only
/// the addresses the rules permit; none permitted is a [`Refusal`].
#[derive(Debug)]
pub(crate) struct CheckedResolver {
    pub(crate) allow: Arc<AllowList>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = Arc::clone(&self.allow);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let lookup = host.clone();
            let found = tokio::task::spawn_blocking(move || {
                (lookup.as_str(), 0u16)
                    .to_socket_addrs()
                    .map(Iterator::collect::<Vec<_>>)
            })
            .await
            .map_err(|_| -> BoxError { "the name lookup did not finish".into() })?
            .map_err(|_| -> BoxError { format!("cannot resolve {host}").into() })?;
            let host_allowed = allow.permits_host(&host);
            let mut permitted = Vec::new();
            let mut refusal = None;
            for addr in found {
                match allow.check(addr.ip(), host_allowed) {
                    Ok(()) => permitted.push(SocketAddr::new(addr.ip(), 0)),
                    Err(why) => {
                        refusal.get_or_insert(why);
                    }
                }
            }
            if permitted.is_empty() {
                let why = refusal.unwrap_or_else(|| "no address".to_owned());
                return Err(Box::new(Refusal(format!("{host} resolves to {why}"))) as BoxError);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        AllowList::default()
            .check(IpAddr::from_str(ip).unwrap(), false)
            .is_err()
    }

    #[test]
    fn refuses_the_special_ranges() {
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "169.254.1.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.2.5",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::1",
            "2001:db8::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "100.100.100.200",
            "168.63.129.16",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn lets_public_addresses_through() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn the_allow_list_makes_exceptions() {
        let list = AllowList::parse(&[
            "127.0.0.1".to_owned(),
            "10.0.0.0/8".to_owned(),
            "[::1]".to_owned(),
            "169.254.0.0/16".to_owned(),
            "Hooks.Internal.".to_owned(),
            " ".to_owned(),
        ])
        .unwrap();
        let ok = |ip: &str| list.check(IpAddr::from_str(ip).unwrap(), false).is_ok();
        assert!(ok("127.0.0.1"));
        assert!(ok("::ffff:127.0.0.1"));
        assert!(!ok("127.0.0.2"));
        assert!(ok("10.200.0.1"));
        assert!(ok("::1"));
        assert!(ok("169.254.1.1"));
        // A CIDR never opens a metadata address.
        assert!(!ok("169.254.169.254"));
        assert!(list.permits_host("hooks.internal"));
        assert!(list.permits_host("hooks.internal."));
        assert!(!list.permits_host("other.internal"));
        let exact = AllowList::parse(&["169.254.169.254".to_owned()]).unwrap();
        assert!(
            exact
                .check(IpAddr::from_str("169.254.169.254").unwrap(), false)
                .is_ok()
        );
    }

    #[test]
    fn refuses_malformed_entries() {
        for entry in [
            "10.0.0.0/33",
            "10.0.0.1/8",
            "*.example.com",
            "https://example.com",
            "example.com:8080",
            "10",
            "exa mple.com",
            "10.0.0.0/",
        ] {
            assert!(
                AllowList::parse(&[entry.to_owned()]).is_err(),
                "{entry} should be refused"
            );
        }
    }

    #[test]
    fn checks_url_schemes_and_literals() {
        let list = AllowList::default();
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(list.check_url(&url("ftp://example.com/")).is_err());
        assert!(list.check_url(&url("http://0x7f.1/")).is_err());
        assert!(list.check_url(&url("http://[::1]:8080/")).is_err());
        assert!(list.check_url(&url("https://example.com/hook")).is_ok());
        assert!(list.check_url(&url("https://93.184.215.14/hook")).is_ok());
    }
}
