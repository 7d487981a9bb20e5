//! An app's brand logo: a base64 `data:` URL of a PNG or SVG image, as the reference's
//! `WorkspaceAppDto.logo` ("App-level brand logo (base64 data URL)").
//!
//! Decisions where the reference is silent:
//! - Only `data:image/png;base64,` and `data:image/svg+xml;base64,` are accepted: the two
//!   formats a console can show at any size without a decoder of its own. A URL to fetch
//!   (`https://...`) is refused, so that a logo can never make a console call out.
//! - At most [`MAX_LOGO_CHARS`] characters in all (an image of about 24 KB). A logo is
//!   part of every read and list page of its app, so a large one would make every page
//!   of the workspace slow; a bigger image belongs on a CDN.
//! - The payload must be canonical base64 (the standard alphabet, `=` padding, a multiple
//!   of four characters) and not empty; a PNG must start with the PNG signature, whose
//!   base64 is `iVBORw0KGgo`.

use crate::wire::error::FieldError;
use std::fmt;

/// The longest logo, in characters of its data URL: 32 KiB.
pub const MAX_LOGO_CHARS: usize = 32 * 1024;

/// The accepted media types, as the data URL prefix that names them.
const PNG: &str = "data:image/png;base64,";
const SVG: &str = "data:image/svg+xml;base64,";
/// The PNG signature (`\x89PNG\r\n\x1a\n`) in base64, as every PNG's payload starts.
const PNG_SIGNATURE_B64: &str = "iVBORw0KGgo";

/// A valid logo data URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo(String);

impl Logo {
    /// Validates `raw`, naming `parameter` in the error.
    pub fn parse(raw: &str, parameter: impl fmt::Display) -> Result<Self, FieldError> {
        let invalid = |why: &str| FieldError::invalid(&parameter, why);
        if raw.len() > MAX_LOGO_CHARS {
            return Err(
                invalid("must be at most 32768 characters (host larger images elsewhere)")
                    .with_max(MAX_LOGO_CHARS as u64),
            );
        }
        let (payload, png) = match (raw.strip_prefix(PNG), raw.strip_prefix(SVG)) {
            (Some(p), _) => (p, true),
            (_, Some(p)) => (p, false),
            _ => return Err(invalid(
                "must be a data URL starting data:image/png;base64, or data:image/svg+xml;base64,",
            )),
        };
        if !is_canonical_base64(payload) {
            return Err(invalid(
                "must hold non-empty standard base64 after the comma",
            ));
        }
        if png && !payload.starts_with(PNG_SIGNATURE_B64) {
            return Err(invalid(
                "must hold a PNG image (its data does not start with the PNG signature)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The data URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The data URL, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Non-empty base64 of the standard alphabet, a multiple of four characters, with at most
/// two `=` of padding at the end only.
fn is_canonical_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !s.is_empty()
        && s.len().is_multiple_of(4)
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn png_and_svg_data_urls_are_accepted() {
        for ok in [
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
            "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=",
        ] {
            assert_eq!(Logo::parse(ok, "logo").unwrap().as_str(), ok);
        }
        // The longest payload of whole base64 quanta that fits.
        let payload_len = (MAX_LOGO_CHARS - PNG.len()) / 4 * 4;
        let filler = "A".repeat(payload_len - PNG_SIGNATURE_B64.len() - 1);
        let largest = format!("{PNG}{PNG_SIGNATURE_B64}{filler}=");
        assert!(largest.len() > MAX_LOGO_CHARS - 4);
        assert!(Logo::parse(&largest, "logo").is_ok());
        let e = Logo::parse(&format!("{largest}AAAA"), "logo").unwrap_err();
        assert_eq!(
            (e.parameter.as_str(), e.max),
            ("logo", Some(MAX_LOGO_CHARS as u64))
        );
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        for bad in [
            "",
            "https://cdn.example/logo.png",
            "data:image/png;base64,",
            "data:image/png,iVBORw0KGgo=",
            "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
            "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==",
            "DATA:IMAGE/PNG;BASE64,iVBORw0KGgo=",
            "data:image/png;base64,AAAAAAAAAAAA",
            "data:image/png;base64,iVBORw0KGgo",
            "data:image/png;base64,iVBORw0KGgo=A==",
            "data:image/png;base64,iVBORw0KGgo===",
            "data:image/svg+xml;base64,PHN2Zz4 =",
            "data:image/svg+xml;base64,PHN2Zz4-_w==",
            "data:image/svg+xml;utf8,<svg/>",
        ] {
            let e = Logo::parse(bad, "items[2].logo").unwrap_err();
            assert_eq!(e.parameter, "items[2].logo", "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn accepted_logos_are_short_data_urls_of_canonical_base64(
            prefix in prop_oneof![Just(PNG), Just(SVG), Just("data:image/gif;base64,")],
            signature in any::<bool>(),
            rest in "[A-Za-z0-9+/]{0,40}={0,3}",
        ) {
            // Half the payloads start as a PNG must, so both sides of the rule are reached.
            let payload = format!("{}{rest}", if signature { PNG_SIGNATURE_B64 } else { "" });
            let raw = format!("{prefix}{payload}");
            let accepted = Logo::parse(&raw, "logo").is_ok();
            let canonical = payload.len() % 4 == 0 && !payload.is_empty()
                && payload.trim_end_matches('=').len() + 2 >= payload.len();
            let expected = canonical
                && (prefix == SVG || (prefix == PNG && payload.starts_with(PNG_SIGNATURE_B64)));
            prop_assert_eq!(accepted, expected, "{}", raw);
        }
    }
}
