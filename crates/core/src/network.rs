//! IP ranges: the org's trusted ranges and a profile's login ranges. Inclusive
//! start–end pairs, as Salesforce stores them; IPv4 addresses are compared in the
//! IPv4-mapped IPv6 space so `::ffff:10.0.0.1` and `10.0.0.1` are the same address.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Largest IPv4 range Salesforce accepts for trusted ranges (a /7).
const MAX_V4_SPAN: u128 = 33_554_432;

/// An inclusive range of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRange {
    /// First address.
    pub start: IpAddr,
    /// Last address.
    pub end: IpAddr,
}

/// A range that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Neither CIDR (`10.0.0.0/8`), a range (`10.0.0.1-10.0.0.9`) nor one address.
    #[error("malformed IP range {0:?}: use CIDR (10.0.0.0/8), START-END, or one address")]
    Malformed(String),
    /// End before start, or mixing IPv4 and IPv6.
    #[error("IP range {0:?} must start before it ends, with both ends of the same family")]
    Inverted(String),
    /// An IPv4 range wider than a /7.
    #[error("IP range {0:?} spans more than 33,554,432 addresses")]
    TooWide(String),
}

fn mapped(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// An address with IPv4-mapped IPv6 forms turned back into IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl IpRange {
    /// A range from its two ends.
    pub fn new(start: IpAddr, end: IpAddr) -> Result<Self, RangeError> {
        let (start, end) = (canonical_ip(start), canonical_ip(end));
        let text = format!("{start}-{end}");
        if start.is_ipv4() != end.is_ipv4() || mapped(start) > mapped(end) {
            return Err(RangeError::Inverted(text));
        }
        if start.is_ipv4() && mapped(end) - mapped(start) + 1 > MAX_V4_SPAN {
            return Err(RangeError::TooWide(text));
        }
        Ok(Self { start, end })
    }

    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let x = mapped(canonical_ip(ip));
        mapped(self.start) <= x && x <= mapped(self.end)
    }
}

impl FromStr for IpRange {
    type Err = RangeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let malformed = || RangeError::Malformed(s.to_owned());
        if let Some((a, b)) = t.split_once('-') {
            let a: IpAddr = a.trim().parse().map_err(|_| malformed())?;
            let b: IpAddr = b.trim().parse().map_err(|_| malformed())?;
            return Self::new(a, b);
        }
        if t.contains('/') {
            let net: IpNet = t.parse().map_err(|_| malformed())?;
            if net.network() != net.addr() {
                return Err(malformed());
            }
            return Self::new(net.network(), net.broadcast());
        }
        let ip: IpAddr = t.parse().map_err(|_| malformed())?;
        Self::new(ip, ip)
    }
}

impl IpRange {
    /// The range as one CIDR block, when it is exactly one.
    fn as_cidr(&self) -> Option<IpNet> {
        let bits: u32 = if self.start.is_ipv4() { 32 } else { 128 };
        let (a, b) = (mapped(self.start), mapped(self.end));
        let size = (b - a).checked_add(1)?;
        if !size.is_power_of_two() || a % size != 0 {
            return None;
        }
        let prefix = u8::try_from(bits - size.trailing_zeros()).ok()?;
        IpNet::new(self.start, prefix).ok()
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            return write!(f, "{}", self.start);
        }
        match self.as_cidr() {
            Some(net) => write!(f, "{net}"),
            None => write!(f, "{}-{}", self.start, self.end),
        }
    }
}

/// Whether any of `ranges` contains `ip`.
pub fn any_contains(ranges: &[IpRange], ip: IpAddr) -> bool {
    ranges.iter().any(|r| r.contains(ip))
}

/// The unspecified IPv6 address, for records whose source is unknown.
pub const UNKNOWN_IP: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_cidr_ranges_and_single_addresses() {
        let r: IpRange = "10.0.0.0/8".parse().unwrap();
        assert!(r.contains(ip("10.255.0.1")));
        assert!(!r.contains(ip("11.0.0.0")));
        assert_eq!(r.to_string(), "10.0.0.0/8");
        let r: IpRange = "192.168.1.10-192.168.1.20".parse().unwrap();
        assert!(r.contains(ip("192.168.1.15")) && !r.contains(ip("192.168.1.21")));
        assert_eq!(r.to_string(), "192.168.1.10-192.168.1.20");
        let r: IpRange = "127.0.0.1".parse().unwrap();
        assert!(r.contains(ip("::ffff:127.0.0.1")), "IPv4-mapped form matches");
        assert_eq!(r.to_string(), "127.0.0.1");
        let r: IpRange = "2001:db8::/32".parse().unwrap();
        assert!(r.contains(ip("2001:db8::1")) && !r.contains(ip("10.0.0.1")));
    }

    #[test]
    fn rejects_bad_ranges() {
        for bad in [
            "10.0.0/8",
            "10.0.0.1/8",
            "banana",
            "10.0.0.9-10.0.0.1",
            "10.0.0.1-::1",
            "",
        ] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
        assert!(matches!("0.0.0.0/0".parse::<IpRange>(), Err(RangeError::TooWide(_))));
        assert!("10.0.0.0/7".parse::<IpRange>().is_ok());
        assert!("10.0.0.0/6".parse::<IpRange>().is_err());
    }
}
