//! App names.

use crate::rules::error::FieldError;
use crate::rules::invisible::first_hidden;
use std::fmt;

/// The longest name, in characters (Unicode scalar values) after trimming.
pub const MAX_NAME_CHARS: usize = 100;

/// A display name: 1 to 100 characters once surrounding white space is trimmed, with no
/// character that renders as nothing or reorders text. Stored trimmed.
///
/// Refused: the C0/C1 controls (which include tab and newline), the line and paragraph
/// separators, the bidirectional controls, and every invisible character (Unicode's
/// default-ignorable code points, the braille blank, the interlinear annotation
/// controls), except the joiner, variation selectors and tags of a well-formed emoji
/// sequence (see [`crate::rules::invisible`]): they let a name show as something it is
/// not in a console or a log.
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
        if let Some(hidden) = first_hidden(name) {
            return Err(FieldError::invalid(
                &parameter,
                format!("must not contain {hidden}"),
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
    fn refuses_empty_long_control_and_invisible() {
        for (bad, why) in [
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            (
                "a\u{0}b",
                "must not contain control characters or line breaks (U+0000)",
            ),
            (
                "a\nb",
                "must not contain control characters or line breaks (U+000A)",
            ),
            (
                "a\u{7f}",
                "must not contain control characters or line breaks (U+007F)",
            ),
            (
                "a\u{2028}b",
                "must not contain control characters or line breaks (U+2028)",
            ),
            (
                "a\u{9b}b",
                "must not contain control characters or line breaks (U+009B)",
            ),
            (
                "evil\u{202E}gnp",
                "must not contain bidirectional controls (U+202E)",
            ),
            ("\u{200B}", "must not contain invisible characters (U+200B)"),
            (
                "\u{FEFF}Acme",
                "must not contain invisible characters (U+FEFF)",
            ),
            ("\u{3164}", "must not contain invisible characters (U+3164)"),
            ("\u{2800}", "must not contain invisible characters (U+2800)"),
            ("\u{FFF9}", "must not contain invisible characters (U+FFF9)"),
            (
                "Acme\u{E0041}\u{E0042}",
                "must not contain U+E0041 outside an emoji sequence",
            ),
            (
                "Ac\u{200D}me",
                "must not contain U+200D outside an emoji sequence",
            ),
        ] {
            let e = AppName::parse(bad, "items[2].name").unwrap_err();
            assert_eq!(e.parameter, "items[2].name", "{bad:?}");
            assert_eq!(e.message, format!("items[2].name {why}"), "{bad:?}");
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

    #[test]
    fn emoji_sequences_are_names() {
        for name in [
            "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
            "Team \u{2764}\u{FE0F}",
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} Scotland",
            "1\u{FE0F}\u{20E3} first",
        ] {
            assert_eq!(AppName::parse(name, "name").unwrap().as_str(), name);
        }
    }

    /// Pieces of names as people and attackers write them: words, inner and outer white
    /// space of several kinds, emoji sequences, and invisible or control characters.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(vec!["Acme", "株式会社", "Ünïcödé", "<b>", "x"]).prop_map(String::from),
            2 => prop::sample::select(vec![" ", "\u{3000}", "\u{A0}", "\t"]).prop_map(String::from),
            1 => prop::sample::select(vec![
                "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
                "\u{2764}\u{FE0F}",
                "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
            ]).prop_map(String::from),
            1 => prop::sample::select(vec![
                '\u{200B}', '\u{200D}', '\u{FEFF}', '\u{FE0F}', '\u{E0041}', '\u{202E}', '\u{0}', '\n', '\u{2800}',
            ]).prop_map(String::from),
        ]
    }

    proptest! {
        /// An accepted name is trimmed, 1 to 100 characters, and hides nothing; a name of
        /// visible pieces within the limit is accepted.
        #[test]
        fn accepted_names_are_trimmed_short_and_clean(pieces in prop::collection::vec(piece(), 0..40)) {
            let raw = pieces.concat();
            match AppName::parse(&raw, "name") {
                Ok(n) => {
                    prop_assert_eq!(n.as_str(), raw.trim());
                    prop_assert!((1..=100).contains(&n.as_str().chars().count()));
                    prop_assert_eq!(first_hidden(n.as_str()), None);
                }
                Err(e) => {
                    let trimmed = raw.trim();
                    prop_assert!(
                        trimmed.is_empty()
                            || trimmed.chars().count() > 100
                            || first_hidden(trimmed).is_some(),
                        "{:?} refused: {}", raw, e
                    );
                }
            }
        }
    }
}
