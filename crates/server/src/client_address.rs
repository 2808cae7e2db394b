//! Who the client is. Directly connected, the peer's address. Behind a TLS proxy or load balancer, every peer
//! is the proxy: then, and only when the peer is one of the `--trusted-proxies`, the client is the right-most
//! `X-Forwarded-For` entry that is not a trusted proxy (without one, the `X-Real-IP` nginx sets). A header
//! from anyone else is ignored, so a client cannot choose the address it is throttled and audited as.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an address or network (e.g. 10.0.0.0/8, 192.0.2.1, fd00::/8)")]
pub struct NotANetwork(String);

impl FromStr for TrustedProxies {
    type Err = NotANetwork;

    /// `CIDR[,CIDR…]`; a bare address is a network of one.
    fn from_str(list: &str) -> Result<Self, NotANetwork> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| NotANetwork(s.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with these headers.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        if hops.is_empty() {
            // nginx's `proxy_set_header X-Real-IP $remote_addr`: one address, the client's.
            return headers
                .get("x-real-ip")
                .and_then(|value| parse_hop(value.to_str().ok()?))
                .unwrap_or(peer);
        }
        let mut client = peer;
        for hop in hops.iter().rev() {
            // An entry that is not an address ends what can be believed: the hop that added it is the client.
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// `192.0.2.1`, `2001:db8::1`, and the forms with a port some proxies write: `192.0.2.1:443`, `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let trusted = TrustedProxies::default();
        assert_eq!(
            trusted.client_address(ip("203.0.113.9"), &headers(&["192.0.2.1"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_forged_header_from_an_untrusted_peer_is_ignored() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            trusted.client_address(ip("203.0.113.9"), &headers(&["192.0.2.1"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_entry() {
        let trusted: TrustedProxies = "10.0.0.0/8, 192.168.1.1".parse().unwrap();
        // The client forged the first entry; the proxies appended the real one and their own.
        let forwarded = headers(&["6.6.6.6, 198.51.100.7", "192.168.1.1"]);
        assert_eq!(trusted.client_address(ip("10.1.2.3"), &forwarded), ip("198.51.100.7"));
    }

    #[test]
    fn entries_with_ports_and_ipv6_are_understood() {
        let trusted: TrustedProxies = "::1, 127.0.0.1".parse().unwrap();
        assert_eq!(
            trusted.client_address(ip("::1"), &headers(&["[2001:db8::5]:443"])),
            ip("2001:db8::5")
        );
        assert_eq!(
            trusted.client_address(ip("127.0.0.1"), &headers(&["198.51.100.7:5000"])),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn without_a_header_or_with_garbage_the_proxy_is_the_client() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            trusted.client_address(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        assert_eq!(
            trusted.client_address(ip("10.0.0.1"), &headers(&["1.2.3.4, not-an-ip"])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_list_that_is_not_networks_is_refused_with_the_culprit() {
        let error = "10.0.0.0/8, proxy.example".parse::<TrustedProxies>().unwrap_err();
        assert!(error.to_string().contains("proxy.example"));
    }

    #[test]
    fn x_real_ip_names_the_client_only_from_a_trusted_proxy_without_x_forwarded_for() {
        let trusted: TrustedProxies = "127.0.0.1".parse().unwrap();
        let mut real = HeaderMap::new();
        real.insert("x-real-ip", HeaderValue::from_static("198.51.100.7"));
        assert_eq!(trusted.client_address(ip("127.0.0.1"), &real), ip("198.51.100.7"));
        assert_eq!(trusted.client_address(ip("203.0.113.9"), &real), ip("203.0.113.9"));
        let mut both = headers(&["192.0.2.1"]);
        both.insert("x-real-ip", HeaderValue::from_static("198.51.100.7"));
        assert_eq!(trusted.client_address(ip("127.0.0.1"), &both), ip("192.0.2.1"));
        real.insert("x-real-ip", HeaderValue::from_static("garbage"));
        assert_eq!(trusted.client_address(ip("127.0.0.1"), &real), ip("127.0.0.1"));
    }
}
