//! What a request body may be declared as: JSON (`application/json` or any
//! `application/*+json` type, in any case), in UTF-8 (a `charset` other than `utf-8` is
//! refused), sent as is (a `Content-Encoding` other than `identity` is refused). Each
//! refusal is a 415 `UNSUPPORTED_MEDIA_TYPE` naming the header at fault.

use std::fmt;

/// A body declared as something the API does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsupportedBody {
    /// `Content-Type` is absent or not a JSON media type.
    NotJson,
    /// `Content-Type` names a `charset` other than `utf-8` (shown when it is a short
    /// token).
    Charset(Option<String>),
    /// `Content-Encoding` names a coding other than `identity` (shown when it is a short
    /// token).
    Encoding(Option<String>),
}

impl UnsupportedBody {
    /// The header at fault, as `details.parameter` names it.
    pub fn parameter(&self) -> &'static str {
        match self {
            Self::NotJson | Self::Charset(_) => "Content-Type",
            Self::Encoding(_) => "Content-Encoding",
        }
    }
}

impl fmt::Display for UnsupportedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson => f.write_str(
                "the request body must be JSON, sent with Content-Type: application/json (or an application/*+json type)",
            ),
            Self::Charset(Some(charset)) => write!(
                f,
                "the request body must be UTF-8 JSON: charset={charset} is not read (send charset=utf-8, or no charset)"
            ),
            Self::Charset(None) => f.write_str(
                "the request body must be UTF-8 JSON: send charset=utf-8, or no charset",
            ),
            Self::Encoding(Some(coding)) => write!(
                f,
                "Content-Encoding {coding} is not read: send the body uncompressed (no Content-Encoding, or identity)"
            ),
            Self::Encoding(None) => f.write_str(
                "the Content-Encoding is not read: send the body uncompressed (no Content-Encoding, or identity)",
            ),
        }
    }
}

impl std::error::Error for UnsupportedBody {}

/// Checks the headers that declare a non-empty body: `content_type` and
/// `content_encoding` as sent (`None` when absent).
pub fn check_body_headers(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<(), UnsupportedBody> {
    if let Some(codings) = content_encoding {
        let coding = codings
            .split(',')
            .map(str::trim)
            .find(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
        if let Some(coding) = coding {
            return Err(UnsupportedBody::Encoding(shown_token(coding)));
        }
    }
    let mut parts = content_type.unwrap_or_default().split(';');
    let media = parts.next().unwrap_or_default().trim();
    let (kind, subtype) = media.split_once('/').unwrap_or((media, ""));
    let subtype = subtype.to_ascii_lowercase();
    let json_subtype = subtype == "json"
        || subtype
            .strip_suffix("+json")
            .is_some_and(|s| is_token(s) && s != "*");
    if !kind.eq_ignore_ascii_case("application") || !json_subtype {
        return Err(UnsupportedBody::NotJson);
    }
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if name.trim().eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
            return Err(UnsupportedBody::Charset(shown_token(value)));
        }
    }
    Ok(())
}

/// Whether `s` is a token of RFC 9110 (the characters a media type or coding is made of).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header token as a message may repeat it: when it is one of at most 40 characters.
fn shown_token(value: &str) -> Option<String> {
    (value.len() <= 40 && is_token(value)).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json_media_types_in_utf8_are_read() {
        for ct in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
            "application/vnd.api+json",
            "application/problem+json ; charset=utf-8",
            "application/json; boundary=x",
        ] {
            assert_eq!(check_body_headers(Some(ct), None), Ok(()), "{ct}");
        }
        assert_eq!(
            check_body_headers(Some("application/json"), Some("identity")),
            Ok(())
        );
    }

    #[test]
    fn anything_else_is_refused_naming_the_header() {
        use UnsupportedBody::*;
        for (ct, ce, refusal) in [
            (None, None, NotJson),
            (Some("text/plain"), None, NotJson),
            (Some("application/x-www-form-urlencoded"), None, NotJson),
            (Some("application/jsonx"), None, NotJson),
            (Some("application/+json"), None, NotJson),
            (Some("application/*+json"), None, NotJson),
            (Some("text/json"), None, NotJson),
            (Some("json"), None, NotJson),
            (
                Some("application/json; charset=utf-16"),
                None,
                Charset(Some("utf-16".into())),
            ),
            (
                Some("application/json; charset=ISO-8859-1"),
                None,
                Charset(Some("ISO-8859-1".into())),
            ),
            (Some("application/json; charset=\"\""), None, Charset(None)),
            (
                Some("application/json"),
                Some("gzip"),
                Encoding(Some("gzip".into())),
            ),
            (
                Some("application/json"),
                Some("identity, br"),
                Encoding(Some("br".into())),
            ),
            (Some("text/plain"), Some("br"), Encoding(Some("br".into()))),
        ] {
            let e = check_body_headers(ct, ce).unwrap_err();
            assert_eq!(e, refusal, "{ct:?} {ce:?}");
        }
        assert_eq!(NotJson.parameter(), "Content-Type");
        assert_eq!(Charset(None).parameter(), "Content-Type");
        assert_eq!(Encoding(None).parameter(), "Content-Encoding");
        assert!(Encoding(Some("gzip".into())).to_string().contains("gzip"));
        assert!(Charset(Some("utf-16".into()))
            .to_string()
            .contains("utf-16"));
    }

    proptest! {
        /// A body is read exactly when its coding is identity (or none), its type is
        /// application/json or application/<token>+json, and its charset (if any) is utf-8.
        #[test]
        fn read_exactly_when_declared_as_utf8_json(
            kind in prop::sample::select(vec!["application", "Application", "text", ""]),
            subtype in prop::sample::select(vec!["json", "JSON", "vnd.api+json", "+json", "*+json", "xml", "json5"]),
            charset in prop::sample::select(vec![None, Some("utf-8"), Some("\"UTF-8\""), Some("utf-16"), Some("latin1")]),
            coding in prop::sample::select(vec![None, Some("identity"), Some("gzip"), Some("identity, deflate"), Some("")]),
        ) {
            let ct = match charset {
                Some(c) => format!("{kind}/{subtype}; charset={c}"),
                None => format!("{kind}/{subtype}"),
            };
            let json = kind.eq_ignore_ascii_case("application")
                && ["json", "vnd.api+json"].contains(&subtype.to_ascii_lowercase().as_str());
            let utf8 = charset.is_none_or(|c| c.trim_matches('"').eq_ignore_ascii_case("utf-8"));
            let plain = coding.is_none_or(|c| c.split(',').all(|c| c.trim().is_empty() || c.trim() == "identity"));
            prop_assert_eq!(check_body_headers(Some(&ct), coding).is_ok(), json && utf8 && plain, "{} {:?}", ct, coding);
        }
    }
}
