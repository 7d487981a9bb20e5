//! Redirect URIs (and webhook URLs, which follow the same rules).
//!
//! The rules: an absolute URL with a host and no user info; `https`, or plain `http` only
//! for `localhost`, `127.0.0.1` and `[::1]`; no fragment; at most 2048 characters. The
//! scheme and host are lower-cased and a port loses its leading zeros; everything else is
//! kept exactly as given, because an OAuth server compares redirect URIs as strings and
//! silently "normalising" a path or query would break the caller's match.
//!
//! Decisions beyond the contract, for a caller's safety:
//! - Only characters RFC 3986 allows in a URI are accepted (ASCII, `%` followed by two hex
//!   digits); an internationalised host must be given in its `xn--` form.
//! - A host is an IPv6 literal in brackets, or dot-separated labels of letters, digits and
//!   hyphens (1 to 63 characters each, 253 in all). A host whose last label is a number
//!   (digits, or `0x` and hex digits) is read by browsers as an IPv4 address, so it must be
//!   one: four decimal numbers from 0 to 255 without leading zeros (`256.1.1.1`, `1.2.3`
//!   and `0x7f.1` are refused). A port, if given, is 1 to 5 digits for a number from 1 to
//!   65535, kept without its leading zeros (`:0443` is kept as `:443`, the number URL
//!   parsers read); a port is kept where it was written, the scheme's default (`:443`)
//!   included.

use crate::rules::input::Path;
use crate::wire::error::FieldError;
use crate::wire::request::ReplaceRedirectUrisRequest;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The longest URI accepted, in characters.
pub const MAX_URI_LEN: usize = 2048;
/// The most redirect URIs an app can hold.
pub const MAX_REDIRECT_URIS: usize = 20;

/// A validated redirect URI (or webhook URL), scheme and host lower-cased, the port
/// without leading zeros.
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
/// host and dropping a port's leading zeros) dropped keeping the first, and at most 20
/// once they are.
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

    /// Judges the body of `PUT /apps/{clientId}/redirect-uris`: the list that replaces the
    /// app's, named `redirectUris`.
    pub fn validate(request: &ReplaceRedirectUrisRequest) -> Result<Self, FieldError> {
        Self::parse(&request.redirect_uris, "redirectUris")
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
    let port = port.map(parse_port).transpose()?;
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
        out.push_str(&port.to_string());
    }
    out.push_str(path_and_query);
    Ok(out)
}

/// A port's number: 1 to 5 decimal digits (leading zeros read as URL parsers read them:
/// `0443` is 443) for a number from 1 to 65535.
fn parse_port(digits: &str) -> Result<u16, String> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must have a numeric port".into());
    }
    match digits.parse::<u16>() {
        Ok(n) if n >= 1 && digits.len() <= 5 => Ok(n),
        _ => Err("must have a port from 1 to 65535 (at most 5 digits)".into()),
    }
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
        // 2,048 characters in 2,049 bytes: not too long, refused for the `é` alone.
        let accented = format!("https://example.com/\u{e9}{}", "a".repeat(2048 - 21));
        assert_eq!((accented.chars().count(), accented.len()), (2048, 2049));
        let e = RedirectUri::parse(&accented, "u").unwrap_err();
        assert_eq!(e.max, None, "{}", e.message);
        assert!(e.message.contains("must be ASCII"), "{}", e.message);
        let e = RedirectUri::parse(&format!("{long}a"), "u").unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.max),
            ("u must be at most 2048 characters", Some(2048))
        );
    }

    #[test]
    fn each_refusal_says_what_to_fix() {
        for (raw, says) in [
            (
                "https://a b.example.com/",
                "must not contain white space or control characters",
            ),
            (
                "https://a.example.com/\u{7}",
                "must not contain white space or control characters",
            ),
            (
                "https://a.example.com/<x>",
                "must not contain the character '<'",
            ),
            (
                "https://exämple.com/",
                "must be ASCII: percent-encode the path and use the xn-- form of the host",
            ),
            (
                "https://a.example.com/%41%4",
                "must write % only as a percent-escape (%XX)",
            ),
            (
                "https://a.example.com/%e2%9c%93/%zz",
                "must write % only as a percent-escape (%XX)",
            ),
            ("https://a.example.com:1a/", "must have a numeric port"),
            ("https://a.example.com:/", "must have a numeric port"),
            ("https://a.example.com:+443/", "must have a numeric port"),
            (
                "https://a.example.com:123456/",
                "must have a port from 1 to 65535 (at most 5 digits)",
            ),
            (
                "https://a.example.com:0/",
                "must have a port from 1 to 65535 (at most 5 digits)",
            ),
            (
                "https://a.example.com:0000/",
                "must have a port from 1 to 65535 (at most 5 digits)",
            ),
            (
                "https://a.example.com:065536/",
                "must have a port from 1 to 65535 (at most 5 digits)",
            ),
            (
                "https://a.example.com:000443/",
                "must have a port from 1 to 65535 (at most 5 digits)",
            ),
        ] {
            let e = RedirectUri::parse(raw, "u").unwrap_err();
            assert_eq!(e.message, format!("u {says}"), "{raw:?}");
        }
    }

    #[test]
    fn a_port_is_kept_without_leading_zeros() {
        for (raw, kept) in [
            (
                "https://a.example.com:0443/cb",
                "https://a.example.com:443/cb",
            ),
            (
                "https://a.example.com:00443/cb",
                "https://a.example.com:443/cb",
            ),
            (
                "HTTPS://A.example.com:08080?x=0080",
                "https://a.example.com:8080?x=0080",
            ),
            ("http://localhost:03000/cb", "http://localhost:3000/cb"),
            ("http://[::1]:00080/", "http://[::1]:80/"),
            ("https://a.example.com:00001/", "https://a.example.com:1/"),
            // Written ports are kept, the scheme's default included.
            (
                "https://a.example.com:443/cb",
                "https://a.example.com:443/cb",
            ),
            ("https://a.example.com/cb", "https://a.example.com/cb"),
        ] {
            assert_eq!(ok(raw), kept, "{raw}");
        }
        // One URI however its port is written: the list keeps the first.
        let list = [
            "https://a.example.com:443/cb",
            "https://a.example.com:0443/cb",
        ]
        .map(String::from);
        assert_eq!(
            RedirectUris::parse(&list, "u").unwrap().to_strings(),
            ["https://a.example.com:443/cb"]
        );
    }

    #[test]
    fn a_host_is_at_most_253_characters() {
        let label = "a".repeat(63);
        let longest = format!("{label}.{label}.{label}.{}", "b".repeat(61));
        assert_eq!(longest.len(), 253);
        ok(&format!("https://{longest}/"));
        ok(&format!("https://{longest}./"));
        let over = format!("{label}.{label}.{label}.{}", "b".repeat(62));
        let e = RedirectUri::parse(&format!("https://{over}/"), "u").unwrap_err();
        assert_eq!(e.message, "u must have a valid host");
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

    #[test]
    fn the_uri_generator_reaches_both_sides() {
        crate::reach::assert_both_sides("URIs", uri_and_verdict(), 0.15, |(_, v)| {
            matches!(v, Verdict::Accept(_))
        });
        crate::reach::assert_both_sides(
            "URIs with one near miss",
            uri_and_verdict(),
            0.15,
            |(_, v)| !matches!(v, Verdict::Refuse),
        );
    }

    proptest! {
        /// A URI is accepted exactly when each of its pieces is valid and it is https or
        /// a loopback on http; what is kept is the URI with its scheme and host
        /// lower-cased, and parsing that again gives it back.
        #[test]
        fn never_panics_and_never_accepts_a_fragment_or_user_info((s, verdict) in uri_and_verdict()) {
            match (RedirectUri::parse(&s, "u"), verdict) {
                (Ok(u), Verdict::Accept(want)) => {
                    prop_assert_eq!(u.as_str(), want.as_str());
                    prop_assert_eq!(u.to_string(), want);
                    prop_assert_eq!(RedirectUri::parse(u.as_str(), "u").unwrap(), u);
                }
                (Ok(u), Verdict::Either) => {
                    prop_assert!(!u.as_str().contains('#') && !u.as_str().contains('@'), "{}", u);
                    prop_assert_eq!(RedirectUri::parse(u.as_str(), "u").unwrap(), u);
                }
                (Err(e), Verdict::Refuse | Verdict::Either) => {
                    prop_assert_eq!(e.parameter.as_str(), "u");
                    prop_assert_eq!(e.max.is_some(), s.chars().count() > MAX_URI_LEN, "{}", e.message);
                }
                (got, want) => prop_assert!(false, "{:?}: got {:?}, expected {:?}", s, got, want),
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

    /// A piece of a URI, and whether the rules allow it.
    type Piece = (String, bool);

    fn pick(ok: &[&str], bad: &[&str]) -> impl Strategy<Value = Piece> {
        let ok: Vec<Piece> = ok.iter().map(|s| (s.to_string(), true)).collect();
        let bad: Vec<Piece> = bad.iter().map(|s| (s.to_string(), false)).collect();
        prop_oneof![9 => prop::sample::select(ok), 1 => prop::sample::select(bad)]
    }

    /// A DNS label: valid ones of letters, digits and inner hyphens up to 63 long; near
    /// misses empty, 64 long, with a hyphen at an end, an underscore, a space or a
    /// non-ASCII letter.
    fn label() -> impl Strategy<Value = Piece> {
        prop_oneof![
            12 => "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?".prop_map(|l| (l, true)),
            1 => Just(("a".repeat(63), true)),
            1 => prop::sample::select(vec!["", "-a", "a-", "a_b", "a b", "b\u{fc}cher", "a%41"])
                .prop_map(|l| (l.to_owned(), false)),
            1 => Just(("a".repeat(64), false)),
        ]
    }

    /// A host and whether it is valid and a loopback (http is allowed for those only).
    fn host() -> impl Strategy<Value = (String, bool, bool)> {
        let names = (
            prop::collection::vec(label(), 0..4),
            // The last label is never a number here: those are IPv4 addresses, below.
            prop::sample::select(vec![
                "com", "example", "Example", "dev", "co.uk", "123abc", "0xg",
            ]),
            prop::sample::select(vec!["", "", "", "."]),
        )
            .prop_map(|(labels, tld, dot)| {
                let mut host: Vec<String> = labels.iter().map(|(l, _)| l.clone()).collect();
                host.push(tld.to_owned());
                let host = host.join(".");
                let ok = labels.iter().all(|(_, ok)| *ok) && host.len() <= 253;
                (format!("{host}{dot}"), ok, false)
            });
        let ipv4 =
            (prop::collection::vec(0u32..300, 1..=5), any::<bool>()).prop_map(|(parts, dot)| {
                let ok = parts.len() == 4 && parts.iter().all(|&p| p <= 255);
                let host = parts
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(".");
                let loopback = host == "127.0.0.1" && !dot;
                (
                    format!("{host}{}", if dot { "." } else { "" }),
                    ok,
                    loopback,
                )
            });
        let fixed = |hosts: &[(&str, bool, bool)]| {
            prop::sample::select(
                hosts
                    .iter()
                    .map(|&(h, ok, lo)| (h.to_owned(), ok, lo))
                    .collect::<Vec<_>>(),
            )
        };
        prop_oneof![
            6 => names,
            2 => ipv4,
            3 => fixed(&[
                ("localhost", true, true),
                ("LocalHost", true, true),
                ("127.0.0.1", true, true),
                ("[::1]", true, true),
                ("localhost.", true, false),
                ("127.0.0.2", true, false),
                ("[0:0:0:0:0:0:0:1]", true, false),
                ("[2001:DB8::1]", true, false),
                ("localhost.evil.example", true, false),
                ("xn--bcher-kva.example", true, false),
            ]),
            1 => fixed(&[
                ("", false, false),
                ("a..b", false, false),
                ("[::1", false, false),
                ("[zz::1]", false, false),
                ("::1", false, false),
                ("0x7f.1", false, false),
                ("2130706433", false, false),
                ("01.2.3.4", false, false),
                ("example.0x1", false, false),
                ("example.123", false, false),
                ("b\u{fc}cher.example", false, false),
                ("exa mple.com", false, false),
                ("exa_mple.com", false, false),
            ]),
        ]
    }

    /// A URI assembled from a scheme, user info, a host, a port, a path, a query and a
    /// fragment, each valid most of the time and otherwise a near miss, sometimes padded
    /// to about the length limit; with the normal form it must be accepted as, or `None`
    /// when it must be refused. The verdict follows from the pieces, not from the parser.
    /// What a generated URI must get.
    #[derive(Debug, Clone)]
    enum Verdict {
        /// Accepted, as this normal form.
        Accept(String),
        /// Refused: exactly one piece is a near miss.
        Refuse,
        /// Two pieces or more are near misses: either.
        Either,
    }

    fn uri_and_verdict() -> impl Strategy<Value = (String, Verdict)> {
        let scheme = prop_oneof![
            9 => prop::sample::select(vec![("https", true, true), ("https", true, true), ("HTTPS", true, true), ("Https", true, true), ("http", true, false), ("HTTP", true, false)]),
            1 => prop::sample::select(vec![("ftp", false, false), ("javascript", false, false), ("", false, false), ("https:/", false, false), ("htps", false, false)]),
        ];
        let separator = pick(&["://"], &[":/", "//", ":", ":///"]);
        let userinfo = pick(&["", "", ""], &["user@", "u:p@", "@", "%40@"]);
        // A port as written, whether it is valid, and as kept: without leading zeros,
        // where it was written (the default port too).
        let port = prop_oneof![
            6 => prop::sample::select(vec![
                ("", ""), ("", ""), ("", ""), (":443", ":443"), (":1", ":1"), (":80", ":80"),
                (":65535", ":65535"), (":08080", ":8080"), (":0443", ":443"),
                (":00443", ":443"), (":00001", ":1"),
            ]).prop_map(|(raw, kept)| (raw.to_owned(), true, kept.to_owned())),
            2 => (0u32..=70_000, 0usize..=3).prop_map(|(n, zeros)| {
                let digits = format!("{}{n}", "0".repeat(zeros));
                let ok = (1..=65535).contains(&n) && digits.len() <= 5;
                (format!(":{digits}"), ok, format!(":{n}"))
            }),
            1 => prop::sample::select(vec![
                ":", ":0", ":000", ":65536", ":065536", ":99999", ":x", ":123456", ":-1", ":000443",
                ":+443", ":0x1bb", ":443:443",
            ]).prop_map(|raw| (raw.to_owned(), false, String::new())),
        ];
        let path = pick(
            &[
                "",
                "/",
                "/cb",
                "/CallBack",
                "/a%20b",
                "/a@b",
                "/a:b/c",
                "/~u/x.y",
                "/(x)*+,;=!$'",
                "/%E2%9C%93",
            ],
            &[
                "/a b", "/\u{e9}", "/%zz", "/%4", "/<x>", "/\"", "/a\\b", "/{a}", "/|", "/`", "/^",
            ],
        );
        let query = pick(
            &[
                "",
                "",
                "?x=1",
                "?q=@",
                "?next=%2F",
                "?a=1&b=2",
                "?",
                "?next=https://x.example/",
            ],
            &["?a b", "?<", "?%", "?\u{0}"],
        );
        let fragment = pick(&["", "", "", ""], &["#", "#frag", "#/x", "/#x"]);
        let pad = prop_oneof![4 => Just(None), 1 => (2040usize..=2056).prop_map(Some)];
        (
            (scheme, separator, userinfo, host(), port),
            (path, query, fragment, pad),
        )
            .prop_map(
                |((scheme, sep, user, host, port), (path, query, frag, pad))| {
                    let (scheme, scheme_ok, https) = scheme;
                    let (host, host_ok, loopback) = host;
                    let mut path = path;
                    let head = format!("{scheme}{}{}{host}{}", sep.0, user.0, port.0);
                    if let Some(total) = pad {
                        // Pad the path with `x`s so that the whole URI is `total` characters
                        // (not a hex digit: padding must not complete a broken `%4` escape).
                        let rest = head.chars().count()
                            + path.0.chars().count()
                            + query.0.len()
                            + frag.0.len();
                        let fill = total.saturating_sub(rest + usize::from(path.0.is_empty()));
                        path.0 = format!(
                            "{}{}{}",
                            path.0,
                            if path.0.is_empty() { "/" } else { "" },
                            "x".repeat(fill)
                        );
                    }
                    let uri = format!("{head}{}{}{}", path.0, query.0, frag.0);
                    let misses = [
                        !scheme_ok,
                        scheme_ok && !(https || loopback),
                        !sep.1,
                        !user.1,
                        !host_ok,
                        !port.1,
                        !path.1,
                        !query.1,
                        !frag.1,
                        uri.chars().count() > MAX_URI_LEN,
                    ]
                    .into_iter()
                    .filter(|miss| *miss)
                    .count();
                    let normal = format!(
                        "{}://{}{}{}{}",
                        if https { "https" } else { "http" },
                        host.to_ascii_lowercase(),
                        port.2,
                        path.0,
                        query.0
                    );
                    let verdict = match misses {
                        0 => Verdict::Accept(normal),
                        1 => Verdict::Refuse,
                        // Two near misses can make a valid URI between them (`https:/` and
                        // `/cb` around an empty host are `https://cb`): only what holds of
                        // any URI is checked then.
                        _ => Verdict::Either,
                    };
                    (uri, verdict)
                },
            )
    }
}
