//! Whose failed operator logins count together: the client's address, as Cloudflare gives
//! it to the Worker in `CF-Connecting-IP`.
//!
//! An IPv4 address counts alone. An IPv6 address counts with its /64 network, the block a
//! single subscriber usually holds whole, so that walking through one's own addresses
//! does not reset the count. A request without an address (one no client sent through
//! Cloudflare's edge, such as a call from another Worker) or with one that does not read
//! as an address counts with all such requests.

use std::net::IpAddr;

/// The key the failed logins of a client with `cf_connecting_ip` count under.
pub fn limiter_key(cf_connecting_ip: Option<&str>) -> String {
    match cf_connecting_ip.map(str::trim).map(str::parse::<IpAddr>) {
        Some(Ok(IpAddr::V4(v4))) => v4.to_string(),
        Some(Ok(IpAddr::V6(v6))) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_alone_and_ipv6_by_its_network() {
        assert_eq!(limiter_key(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(limiter_key(Some(" 203.0.113.7 ")), "203.0.113.7");
        assert_eq!(limiter_key(Some("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            limiter_key(Some("2001:db8:1:2:aaaa::1")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            limiter_key(Some("2001:DB8:1:2:ffff:ffff:ffff:ffff")),
            limiter_key(Some("2001:db8:1:2::"))
        );
        assert_ne!(
            limiter_key(Some("2001:db8:1:3::1")),
            limiter_key(Some("2001:db8:1:2::1"))
        );
        for none in [
            None,
            Some(""),
            Some("not an address"),
            Some("203.0.113.7:80"),
        ] {
            assert_eq!(limiter_key(none), "unknown", "{none:?}");
        }
    }
}
