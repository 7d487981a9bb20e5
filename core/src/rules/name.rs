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
    fn a_name_shows_as_itself() {
        let name = AppName::parse(" Acme \u{2764}\u{FE0F} ", "name").unwrap();
        assert_eq!(name.to_string(), "Acme \u{2764}\u{FE0F}");
        assert_eq!(format!("[{name}]"), "[Acme \u{2764}\u{FE0F}]");
        assert_eq!(name.into_string(), "Acme \u{2764}\u{FE0F}");
    }

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

    /// What a piece of a name is, as the rule reads it: known from how the piece was
    /// built, not from the code under test.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        /// Visible text: words, emoji sequences, inner spaces that show as spaces.
        Visible,
        /// One white-space character that shows as a blank (trimmed at the ends, fine
        /// inside).
        Space,
        /// One white-space character that is a control or a line break (trimmed at the
        /// ends, refused inside).
        HiddenSpace,
        /// Refused wherever it is: its first hidden character is named in the error.
        Hidden(char),
    }

    /// Characters the rule refuses anywhere, by the kind of the Unicode rule each comes
    /// from: C0 and C1 controls (those that are not white space) and DEL; format
    /// characters that render as nothing; bidirectional controls; other default-ignorable
    /// code points; the braille blank and the interlinear annotation controls.
    fn hidden_char() -> impl Strategy<Value = char> {
        prop_oneof![
            prop::sample::select(
                (0u32..0x20)
                    .chain(0x7f..0xa0)
                    .filter_map(char::from_u32)
                    .filter(|c| !c.is_whitespace())
                    .collect::<Vec<_>>()
            ),
            prop::sample::select(vec![
                '\u{AD}',
                '\u{200B}',
                '\u{2060}',
                '\u{2061}',
                '\u{2064}',
                '\u{FEFF}',
                '\u{1D173}',
                '\u{E0001}'
            ]),
            prop::sample::select(vec![
                '\u{61C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
                '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'
            ]),
            prop::sample::select(vec![
                '\u{34F}',
                '\u{115F}',
                '\u{1160}',
                '\u{17B4}',
                '\u{180B}',
                '\u{180E}',
                '\u{3164}',
                '\u{FE00}',
                '\u{FFA0}',
                '\u{FFF0}',
                '\u{1BCA0}',
                '\u{E0100}',
                '\u{E0FFF}'
            ]),
            prop::sample::select(vec!['\u{2800}', '\u{FFF9}', '\u{FFFA}', '\u{FFFB}']),
        ]
    }

    /// Pieces of names as people write them: words, emoji sequences, and white space
    /// that shows as a blank.
    fn visible_piece() -> impl Strategy<Value = (String, Kind)> {
        prop_oneof![
            4 => prop::sample::select(vec!["Acme", "株式会社", "Ünïcödé", "<b>", "x", "O'Brien", "\u{0600}1"])
                .prop_map(|w| (w.to_owned(), Kind::Visible)),
            1 => prop::sample::select(vec![
                "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
                "\u{2764}\u{FE0F}",
                "\u{1F44D}\u{1F3FD}",
                "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
            ]).prop_map(|w| (w.to_owned(), Kind::Visible)),
            2 => prop::sample::select(vec![' ', '\u{3000}', '\u{A0}', '\u{2003}', '\u{202F}'])
                .prop_map(|c| (c.to_string(), Kind::Space)),
        ]
    }

    /// Pieces as attackers write them: white space that is a control or a line break,
    /// hidden characters alone, and the joiner, a variation selector or a tag after a
    /// letter (so outside any emoji sequence).
    fn hidden_piece() -> impl Strategy<Value = (String, Kind)> {
        prop_oneof![
            1 => prop::sample::select(vec!['\t', '\n', '\r', '\u{B}', '\u{C}', '\u{85}', '\u{2028}', '\u{2029}'])
                .prop_map(|c| (c.to_string(), Kind::HiddenSpace)),
            2 => hidden_char().prop_map(|c| (c.to_string(), Kind::Hidden(c))),
            1 => prop::sample::select(vec!['\u{200D}', '\u{FE0F}', '\u{FE0E}', '\u{E0041}', '\u{E007F}'])
                .prop_map(|c| (format!("a{c}"), Kind::Hidden(c))),
        ]
    }

    /// Visible pieces with, in half the names, one to three hidden pieces put anywhere.
    fn pieces() -> impl Strategy<Value = Vec<(String, Kind)>> {
        let inserts = prop_oneof![
            Just(Vec::new()),
            prop::collection::vec((any::<prop::sample::Index>(), hidden_piece()), 1..=3),
        ];
        (prop::collection::vec(visible_piece(), 0..40), inserts).prop_map(
            |(mut pieces, inserts)| {
                for (at, piece) in inserts {
                    let at = at.index(pieces.len() + 1);
                    pieces.insert(at, piece);
                }
                pieces
            },
        )
    }

    /// A name of pieces and what the rule must answer, worked out piece by piece: the
    /// pieces of white space at either end are trimmed; the rest is refused when empty,
    /// longer than 100 characters, or holding a hidden piece (the first one is named).
    fn name_and_verdict() -> impl Strategy<Value = (String, Result<String, String>)> {
        pieces().prop_map(|pieces| {
            let raw: String = pieces.iter().map(|(p, _)| p.as_str()).collect();
            let blank = |k: &Kind| matches!(k, Kind::Space | Kind::HiddenSpace);
            let first = pieces.iter().position(|(_, k)| !blank(k));
            let last = pieces.iter().rposition(|(_, k)| !blank(k));
            let kept = match (first, last) {
                (Some(a), Some(b)) => &pieces[a..=b],
                _ => &pieces[..0],
            };
            let name: String = kept.iter().map(|(p, _)| p.as_str()).collect();
            let hidden = kept.iter().find_map(|(p, k)| match k {
                Kind::Hidden(c) => Some(*c),
                Kind::HiddenSpace => p.chars().next(),
                _ => None,
            });
            let verdict = if name.is_empty() {
                Err("must not be empty".to_owned())
            } else if name.chars().count() > 100 {
                Err("must be at most 100 characters".to_owned())
            } else if let Some(c) = hidden {
                Err(format!("U+{:04X}", c as u32))
            } else {
                Ok(name)
            };
            (raw, verdict)
        })
    }

    #[test]
    fn the_name_generator_reaches_both_sides() {
        crate::reach::assert_both_sides("names", name_and_verdict(), 0.2, |(_, v)| v.is_ok());
    }

    proptest! {
        /// An accepted name is the name trimmed, 1 to 100 characters, hiding nothing; a
        /// refused one is empty, too long, or holds a hidden character, which the error
        /// names.
        #[test]
        fn accepted_names_are_trimmed_short_and_clean((raw, verdict) in name_and_verdict()) {
            match (AppName::parse(&raw, "name"), verdict) {
                (Ok(n), Ok(want)) => prop_assert_eq!(n.as_str(), want.as_str()),
                (Err(e), Err(why)) => {
                    prop_assert!(e.message.contains(&why), "{:?}: {} (expected {})", raw, e.message, why);
                    prop_assert_eq!(e.parameter.as_str(), "name");
                }
                (got, want) => prop_assert!(false, "{:?}: got {:?}, expected {:?}", raw, got, want),
            }
        }
    }
}
