//! Who a request comes from. Behind a reverse proxy every TCP peer is the proxy, so the
//! per-address limits and the header routing of clients that ignore RespURI need the address
//! the proxy saw: `X-Forwarded-For`. A header is easily forged, so it is believed only from
//! the proxies the configuration trusts, and only as far as the chain of trusted hops goes:
//! the client is the last address in it that is not a trusted proxy.

use std::net::IpAddr;
use std::str::FromStr;

use hyper::header::HeaderMap;

/// An address or a network (`192.0.2.10`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, address: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        let bad = |why: &str| format!("`{text}` is not an address or network: {why}");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| bad("write an IP address, or one with /PREFIX (10.0.0.0/8)"))?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| bad(&format!("the prefix is a number of bits, 0 to {most}")))?,
        };
        Ok(IpNet { network, prefix })
    }
}

impl TryFrom<String> for IpNet {
    type Error = String;
    fn try_from(text: String) -> Result<IpNet, String> {
        text.parse()
    }
}

impl<'de> serde::Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<IpNet, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(address))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client of a request from TCP peer `peer`: the peer itself unless it is a trusted
    /// proxy; then, walking `X-Forwarded-For` from its end (the hop nearest us), the first
    /// address that is not a trusted proxy. A hop that is no address ends the walk at the
    /// trusted hop that reported it: what lies beyond cannot be believed.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        // Several X-Forwarded-For lines are one list, in order.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|value| value.to_str().unwrap_or("?").split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// One X-Forwarded-For entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`) as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn trusting(nets: &[&str]) -> TrustedProxies {
        TrustedProxies(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    #[test]
    fn networks_parse_and_contain_what_they_should() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")), "an IPv4-mapped peer");
        let one: IpNet = "192.0.2.10".parse().unwrap();
        assert!(one.contains(ip("192.0.2.10")));
        assert!(!one.contains(ip("192.0.2.11")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        let everything: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.9")));
        assert!(!everything.contains(ip("2001:db8::1")));
        for bad in ["proxy.example", "10.0.0.0/33", "::/129", "10.0.0.0/x", ""] {
            let error = bad.parse::<IpNet>().unwrap_err();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }

    /// Only a trusted peer's header counts, and only back to the first untrusted hop.
    #[test]
    fn forwarded_for_is_believed_only_through_trusted_hops() {
        let proxies = trusting(&["10.0.0.0/8", "192.0.2.1"]);
        let proxy = ip("10.0.0.5");
        let stranger = ip("203.0.113.50");
        let header = forwarded(&["198.51.100.7"]);
        assert_eq!(proxies.client(proxy, &header), ip("198.51.100.7"));
        // From an untrusted peer the header is the peer's own claim: ignored.
        assert_eq!(proxies.client(stranger, &header), stranger);
        // Without proxies configured, nobody's header counts.
        assert_eq!(TrustedProxies::default().client(proxy, &header), proxy);
        // A client forging a chain: the last untrusted hop is what our proxy saw.
        let forged = forwarded(&["1.2.3.4, 198.51.100.7"]);
        assert_eq!(proxies.client(proxy, &forged), ip("198.51.100.7"));
        // Two trusted proxies in a row, header over two lines.
        let chain = forwarded(&["1.2.3.4, 198.51.100.7", "192.0.2.1"]);
        assert_eq!(proxies.client(proxy, &chain), ip("198.51.100.7"));
        // Every hop trusted: the farthest one is the client.
        let inside = forwarded(&["10.1.1.1, 192.0.2.1"]);
        assert_eq!(proxies.client(proxy, &inside), ip("10.1.1.1"));
        // No header: the proxy itself.
        assert_eq!(proxies.client(proxy, &HeaderMap::new()), proxy);
    }

    #[test]
    fn hops_with_ports_are_read_and_garbage_stops_the_walk() {
        let proxies = trusting(&["10.0.0.0/8"]);
        let proxy = ip("10.0.0.5");
        let with_port = forwarded(&["198.51.100.7:4711"]);
        assert_eq!(proxies.client(proxy, &with_port), ip("198.51.100.7"));
        let v6 = forwarded(&["[2001:db8::7]:4711"]);
        assert_eq!(proxies.client(proxy, &v6), ip("2001:db8::7"));
        let bracketed = forwarded(&["[2001:db8::8]"]);
        assert_eq!(proxies.client(proxy, &bracketed), ip("2001:db8::8"));
        // "unknown" (as some proxies write) reported by a trusted hop: that hop is as far as
        // anything can be believed.
        let unknown = forwarded(&["198.51.100.7, unknown, 10.0.0.9"]);
        assert_eq!(proxies.client(proxy, &unknown), ip("10.0.0.9"));
        let empty = forwarded(&[""]);
        assert_eq!(proxies.client(proxy, &empty), proxy);
    }
}
