//! Redirect URIs (and webhook URLs, which follow the same rules).
//!
//! The rules: an absolute URL with a host and no user info; `https`, or plain `http` only
//! for `localhost`, `127.0.0.1` and `[::1]`; no fragment; at most 2048 characters. The
//! scheme and host are lower-cased; everything else is kept exactly as given, because an
//! OAuth server compares redirect URIs as strings and silently "normalising" a path or
//! query would break the caller's match.
//!
//! Decisions beyond the contract, for a caller's safety:
//! - Only characters RFC 3986 allows in a URI are accepted (ASCII, `%` followed by two hex
//!   digits); an internationalised host must be given in its `xn--` form.
//! - A host is an IPv6 literal in brackets, or dot-separated labels of letters, digits and
//!   hyphens (1 to 63 characters each, 253 in all). A host whose last label is a number
//!   (digits, or `0x` and hex digits) is read by browsers as an IPv4 address, so it must be
//!   one: four decimal numbers from 0 to 255 without leading zeros (`256.1.1.1`, `1.2.3`
//!   and `0x7f.1` are refused). A port, if given, is 1 to 65535.

use crate::rules::error::FieldError;
use crate::rules::input::Path;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The longest URI accepted, in characters.
pub const MAX_URI_LEN: usize = 2048;
/// The most redirect URIs an app can hold.
pub const MAX_REDIRECT_URIS: usize = 20;

/// A validated redirect URI (or webhook URL), scheme and host lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Validates `raw`, naming `parameter` in the error.
    pub fn parse(raw: &str, parameter: impl fmt::Display) -> Result<Self, FieldError> {
        // Byte length bounds character count from above, so most URIs skip the count.
        if raw.len() > MAX_URI_LEN && raw.chars().count() > MAX_URI_LEN {
            return Err(FieldError::invalid(
                parameter,
                format!("must be at most {MAX_URI_LEN} characters"),
            )
            .with_max(MAX_URI_LEN as u64));
        }
        parse_uri(raw)
            .map(Self)
            .map_err(|why| FieldError::invalid(parameter, why))
    }

    /// The URI.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An app's list of redirect URIs: each valid, duplicates (after lower-casing scheme and
/// host) dropped keeping the first, and at most 20 once they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectUris(Vec<RedirectUri>);

impl RedirectUris {
    /// Validates a list. `parameter` names the list (`items[3].redirectUris`); an element
    /// is named by its index in the input (`items[3].redirectUris[0]`). The list is counted
    /// after duplicates are dropped: it is refused at its 21st distinct URI, whatever its
    /// length as sent.
    pub fn parse<'p>(raw: &[String], parameter: impl Into<Path<'p>>) -> Result<Self, FieldError> {
        let parameter = parameter.into();
        let mut out: Vec<RedirectUri> = Vec::with_capacity(raw.len().min(MAX_REDIRECT_URIS));
        for (i, s) in raw.iter().enumerate() {
            let uri = RedirectUri::parse(s, parameter.index(i))?;
            if out.contains(&uri) {
                continue;
            }
            if out.len() == MAX_REDIRECT_URIS {
                return Err(FieldError::invalid(
                    parameter,
                    format!(
                        "must hold at most {MAX_REDIRECT_URIS} URIs (counted after duplicates are dropped)"
                    ),
                )
                .with_max(MAX_REDIRECT_URIS as u64));
            }
            out.push(uri);
        }
        Ok(Self(out))
    }

    /// The URIs, in order.
    pub fn as_slice(&self) -> &[RedirectUri] {
        &self.0
    }

    /// The URIs as strings, as the App object shows them.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|u| u.0.clone()).collect()
    }
}

/// The normal form of `raw` (whose length is checked already), or why it is refused.
fn parse_uri(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("must not be empty".into());
    }
    if !raw.bytes().all(is_uri_byte) {
        let bad = raw
            .chars()
            .find(|&c| !c.is_ascii() || !is_uri_byte(c as u8))
            .unwrap_or(' ');
        return Err(if bad.is_ascii_whitespace() || bad.is_control() {
            "must not contain white space or control characters".into()
        } else if bad.is_ascii() {
            format!("must not contain the character {bad:?}")
        } else {
            "must be ASCII: percent-encode the path and use the xn-- form of the host".into()
        });
    }
    check_percent_escapes(raw)?;
    if raw.contains('#') {
        return Err("must not contain a fragment (#)".into());
    }
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| "must be an absolute https URL".to_string())?;
    let https = scheme.eq_ignore_ascii_case("https");
    if !https && !scheme.eq_ignore_ascii_case("http") {
        return Err("must be an https URL".into());
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err("must not contain user info (user@host)".into());
    }
    let (host, port) = split_host_port(authority)?;
    check_host(host)?;
    if let Some(port) = port {
        let n: u32 = match port.len() {
            1..=5 if port.bytes().all(|b| b.is_ascii_digit()) => port.parse().unwrap_or(0),
            _ => return Err("must have a numeric port".into()),
        };
        if !(1..=65535).contains(&n) {
            return Err("must have a port from 1 to 65535".into());
        }
    }
    let loopback = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|h| host.eq_ignore_ascii_case(h));
    if !https && !loopback {
        return Err(
            "must be an https URL (plain http is allowed only for localhost, 127.0.0.1 and [::1])"
                .into(),
        );
    }
    let mut out = String::with_capacity(raw.len());
    out.push_str(if https { "https://" } else { "http://" });
    out.extend(host.chars().map(|c| c.to_ascii_lowercase()));
    if let Some(port) = port {
        out.push(':');
        out.push_str(port);
    }
    out.push_str(path_and_query);
    Ok(out)
}

fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if authority.is_empty() {
        return Err("must have a host".into());
    }
    if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or_else(|| "must have a valid host".to_string())?;
        let (host, rest) = authority.split_at(close + 1);
        return match rest {
            "" => Ok((host, None)),
            _ => rest
                .strip_prefix(':')
                .map(|p| (host, Some(p)))
                .ok_or_else(|| "must have a valid host".into()),
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn check_host(host: &str) -> Result<(), String> {
    let invalid = || "must have a valid host".to_string();
    if host.is_empty() {
        return Err("must have a host".into());
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().map(|_| ()).map_err(|_| invalid());
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.len() > 253 {
        return Err(invalid());
    }
    if ends_in_a_number(host) {
        return host.parse::<Ipv4Addr>().map(|_| ()).map_err(|_| {
            "must have a valid host (a host ending in a number is an IPv4 address: four numbers from 0 to 255)".to_string()
        });
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// Whether a browser reads `host` (without a trailing dot) as an IPv4 address: its last
/// label is decimal digits, or `0x` followed by hex digits (the WHATWG URL standard's
/// "ends in a number").
fn ends_in_a_number(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or(host);
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// The characters RFC 3986 allows anywhere in a URI (unreserved, reserved, `%`).
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

fn check_percent_escapes(raw: &str) -> Result<(), String> {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err("must write % only as a percent-escape (%XX)".into());
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        RedirectUri::parse(s, "u")
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .0
    }

    #[test]
    fn accepts_and_lowercases_scheme_and_host_only() {
        assert_eq!(
            ok("https://acme.example.com/callback"),
            "https://acme.example.com/callback"
        );
        assert_eq!(
            ok("HTTPS://Acme.Example.COM/CallBack?X=Y"),
            "https://acme.example.com/CallBack?X=Y"
        );
        assert_eq!(ok("https://example.com"), "https://example.com");
        assert_eq!(
            ok("https://example.com:8443/a%20b"),
            "https://example.com:8443/a%20b"
        );
        assert_eq!(ok("http://localhost:3000/cb"), "http://localhost:3000/cb");
        assert_eq!(ok("http://127.0.0.1/cb"), "http://127.0.0.1/cb");
        assert_eq!(ok("http://[::1]:8080/cb"), "http://[::1]:8080/cb");
        assert_eq!(ok("https://[2001:DB8::1]/cb"), "https://[2001:db8::1]/cb");
        assert_eq!(
            ok("https://xn--bcher-kva.example/"),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(ok("https://example.com/a@b"), "https://example.com/a@b");
    }

    #[test]
    fn refuses_what_the_contract_forbids() {
        for bad in [
            "",
            "acme.example.com/callback",
            "//acme.example.com/cb",
            "ftp://acme.example.com",
            "javascript://alert(1)",
            "http://acme.example.com/cb",
            "http://localhost.evil.com/cb",
            "https://acme.example.com/cb#frag",
            "https://user:pass@acme.example.com/cb",
            "https://user@acme.example.com",
            "https:///path",
            "https://",
            "https://exa mple.com",
            "https://example.com/\u{0}",
            "https://bücher.example/",
            "https://example.com:0/",
            "https://example.com:65536/",
            "https://example.com:abc/",
            "https://-bad-.example/",
            "https://a..b/",
            "https://[::1/",
            "https://[zz::1]/",
            "https://example.com/%zz",
            "https://example.com/%4",
            "https://example.com/<script>",
            "https://example.com/\"",
        ] {
            assert!(
                RedirectUri::parse(bad, "u").is_err(),
                "{bad:?} should be refused"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(2048 - 20));
        assert_eq!(long.len(), 2048);
        assert!(RedirectUri::parse(&long, "u").is_ok());
        let e = RedirectUri::parse(&format!("{long}a"), "u").unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.max),
            ("u must be at most 2048 characters", Some(2048))
        );
    }

    #[test]
    fn a_host_ending_in_a_number_must_be_an_ipv4_address() {
        for good in [
            "https://1.2.3.4/",
            "https://255.255.255.255:8443/cb",
            "https://0.0.0.0/",
            "https://1.2.3.4./",
            "https://a1.example/",
            "https://example.123abc/",
            "https://0xg.example/",
        ] {
            ok(good);
        }
        for bad in [
            "https://256.1.1.1/",
            "https://1.2.3.256/",
            "https://1.2.3/",
            "https://1.2.3.4.5/",
            "https://01.2.3.4/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://example.0x1/",
            "https://example.123/",
            "https://1.2.3.0X/",
        ] {
            let e = RedirectUri::parse(bad, "u").unwrap_err();
            assert!(
                e.message.starts_with("u must have a valid host"),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn lists_drop_duplicates_keep_order_and_cap_at_twenty() {
        let list = [
            "https://b.example/",
            "https://A.example/",
            "https://a.example/",
            "https://b.example/",
        ]
        .map(String::from);
        let uris = RedirectUris::parse(&list, "redirectUris").unwrap();
        assert_eq!(
            uris.to_strings(),
            ["https://b.example/", "https://a.example/"]
        );
        let many: Vec<String> = (0..21).map(|i| format!("https://e{i}.example/")).collect();
        let e = RedirectUris::parse(&many, "items[1].redirectUris").unwrap_err();
        assert_eq!(
            (e.parameter.as_str(), e.max),
            ("items[1].redirectUris", Some(20))
        );
        // Counted after duplicates are dropped: 21 of which one repeats another are 20.
        let mut twenty_one = many[..20].to_vec();
        twenty_one.insert(7, "HTTPS://E3.example/".to_owned());
        assert_eq!(
            RedirectUris::parse(&twenty_one, "u")
                .unwrap()
                .as_slice()
                .len(),
            20
        );
        let same = vec!["https://a.example/".to_owned(); 10_000];
        assert_eq!(RedirectUris::parse(&same, "u").unwrap().as_slice().len(), 1);
        let bad = [
            "https://ok.example/".to_string(),
            "http://no.example/".to_string(),
        ];
        assert_eq!(
            RedirectUris::parse(&bad, "redirectUris")
                .unwrap_err()
                .parameter,
            "redirectUris[1]"
        );
    }

    proptest! {
        #[test]
        fn parsing_is_idempotent(s in "(https?|HTTPS)://[a-zA-Z0-9.-]{1,30}(:[0-9]{1,5})?(/[a-zA-Z0-9%/?=&._~-]{0,40})?") {
            if let Ok(u) = RedirectUri::parse(&s, "u") {
                prop_assert_eq!(RedirectUri::parse(u.as_str(), "u").unwrap(), u.clone());
                prop_assert!(u.as_str().starts_with("https://") || u.as_str().starts_with("http://"));
                prop_assert!(u.as_str().len() <= MAX_URI_LEN);
            }
        }

        #[test]
        fn never_accepts_a_fragment_user_info_or_a_bad_ipv4_host(s in uri()) {
            if let Ok(u) = RedirectUri::parse(&s, "u") {
                let after_scheme = u.as_str().split_once("://").unwrap().1;
                let authority = after_scheme.split(['/', '?']).next().unwrap();
                prop_assert!(!u.as_str().contains('#') && !authority.contains('@'));
                let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
                let host = host.strip_suffix('.').unwrap_or(host);
                if host.rsplit('.').next().unwrap().bytes().all(|b| b.is_ascii_digit()) {
                    prop_assert!(host.parse::<Ipv4Addr>().is_ok(), "{}", s);
                }
            }
        }

        /// A list is accepted exactly when it holds at most 20 distinct URIs, each valid;
        /// what is kept is the first of each, in order.
        #[test]
        fn lists_are_counted_after_duplicates_are_dropped(
            picks in prop::collection::vec((0usize..25, any::<bool>()), 0..60),
        ) {
            let raw: Vec<String> = picks
                .iter()
                .map(|&(i, upper)| {
                    let host = format!("h{i}.example");
                    let host = if upper { host.to_uppercase() } else { host };
                    format!("https://{host}/cb")
                })
                .collect();
            let mut distinct: Vec<usize> = Vec::new();
            for &(i, _) in &picks {
                if !distinct.contains(&i) {
                    distinct.push(i);
                }
            }
            match RedirectUris::parse(&raw, "redirectUris") {
                Ok(list) => {
                    prop_assert!(distinct.len() <= MAX_REDIRECT_URIS);
                    let expected: Vec<String> =
                        distinct.iter().map(|i| format!("https://h{i}.example/cb")).collect();
                    prop_assert_eq!(list.to_strings(), expected);
                }
                Err(e) => {
                    prop_assert!(distinct.len() > MAX_REDIRECT_URIS);
                    prop_assert_eq!((e.parameter.as_str(), e.max), ("redirectUris", Some(20)));
                }
            }
        }
    }

    /// URIs built from the pieces the rules are about: schemes, user info, hosts (names,
    /// loopbacks, IPv4-looking numbers in and out of range, IPv6), ports, paths, queries and
    /// fragments, and characters that are not allowed.
    fn uri() -> impl Strategy<Value = String> {
        let scheme = prop::sample::select(vec![
            "https://", "http://", "HTTPS://", "ftp://", "", "https:/",
        ]);
        let userinfo = prop::sample::select(vec!["", "", "", "user@", "u:p@"]);
        let host = prop_oneof![
            prop::sample::select(vec![
                "example.com",
                "localhost",
                "127.0.0.1",
                "[::1]",
                "Acme.Example",
                "a..b",
                "-x.example",
                "xn--bcher-kva.example",
                ""
            ])
            .prop_map(String::from),
            (0u32..300, 0u32..300, 0u32..300, 0u32..300)
                .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
            (0u32..300, 0u32..300).prop_map(|(a, b)| format!("{a}.{b}")),
            prop::sample::select(vec![
                "0x7f.1",
                "2130706433",
                "01.2.3.4",
                "1.2.3.4.",
                "example.0x1"
            ])
            .prop_map(String::from),
        ];
        let port = prop::sample::select(vec!["", "", ":443", ":0", ":65536", ":x"]);
        let rest = prop::sample::select(vec![
            "",
            "/",
            "/cb",
            "/a%20b?x=1",
            "/#frag",
            "/a b",
            "/é",
            "?q=@",
        ]);
        (scheme, userinfo, host, port, rest).prop_map(|(s, u, h, p, r)| format!("{s}{u}{h}{p}{r}"))
    }
}
