//! App names.

use crate::rules::error::FieldError;
use std::fmt;

/// The longest name, in characters (Unicode scalar values) after trimming.
pub const MAX_NAME_CHARS: usize = 100;

/// A display name: 1 to 100 characters once surrounding white space is trimmed, with no
/// control characters. Stored trimmed.
///
/// Besides the C0/C1 controls (which include tab and newline), the bidirectional
/// overrides and isolates and the line and paragraph separators are refused too: they
/// render invisibly and let a name show as something it is not in a console or a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName(String);

impl AppName {
    /// Validates `raw`, naming `parameter` in the error.
    pub fn parse(raw: &str, parameter: impl fmt::Display) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError::invalid(&parameter, "must not be empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(FieldError::invalid(
                &parameter,
                format!("must be at most {MAX_NAME_CHARS} characters"),
            )
            .with_max(MAX_NAME_CHARS as u64));
        }
        if name.chars().any(is_forbidden) {
            return Err(FieldError::invalid(
                &parameter,
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_keeps_inner_text() {
        assert_eq!(
            AppName::parse("  Acme Corp \u{3000}", "name")
                .unwrap()
                .as_str(),
            "Acme Corp"
        );
        assert_eq!(
            AppName::parse("Ünïcödé 株式会社", "name").unwrap().as_str(),
            "Ünïcödé 株式会社"
        );
        assert_eq!(
            AppName::parse("<script>alert(1)</script>", "n")
                .unwrap()
                .as_str(),
            "<script>alert(1)</script>"
        );
    }

    #[test]
    fn refuses_empty_long_and_control() {
        for bad in [
            "",
            "   ",
            "a\u{0}b",
            "a\nb",
            "a\u{7f}",
            "evil\u{202E}gnp",
            "a\u{2028}b",
            "a\u{9b}b",
        ] {
            let e = AppName::parse(bad, "items[2].name").unwrap_err();
            assert_eq!(e.parameter, "items[2].name", "{bad:?}");
        }
        assert!(AppName::parse(&"x".repeat(100), "n").is_ok());
        assert_eq!(
            AppName::parse(&"x".repeat(101), "n").unwrap_err().max,
            Some(100)
        );
        assert!(
            AppName::parse(&"é".repeat(100), "n").is_ok(),
            "counted in characters, not bytes"
        );
    }

    proptest! {
        #[test]
        fn accepted_names_are_trimmed_short_and_clean(s in "\\PC{0,120}") {
            if let Ok(n) = AppName::parse(&s, "name") {
                prop_assert_eq!(n.as_str(), n.as_str().trim());
                prop_assert!((1..=100).contains(&n.as_str().chars().count()));
                prop_assert!(!n.as_str().chars().any(is_forbidden));
            }
        }
    }
}
