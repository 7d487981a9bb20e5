//! App names.
//!
//! A name is read in this order: white space trimmed at both ends; put in Unicode NFC
//! (canonical composition, so `Café` written with U+00E9 and with `e` + U+0301 is one
//! name, byte for byte); then judged as stored: 1 to 100 characters, nothing hidden
//! ([`crate::rules::invisible`]), at most four combining marks on a character and none at
//! the start ([`crate::rules::marks`]). Positions and lengths in refusals count the NFC
//! form, the one stored, so both spellings of a name get the same answer.

use crate::rules::invisible::first_hidden;
use crate::rules::marks::{first_pile, Pile, MAX_MARKS};
use crate::wire::error::FieldError;
use std::fmt;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// The longest name, in characters (Unicode scalar values) after trimming, in NFC.
pub const MAX_NAME_CHARS: usize = 100;

/// How many characters NFC can make into one: a character's canonical decomposition is at
/// most four characters (U+1F8D is Alpha with three marks), NFD never shortens a text and
/// the NFD of a text is the NFD of its NFC. So a text of more than `4 * 100` characters
/// is more than 100 in NFC, and is refused before it is normalised.
const MAX_NFC_SHRINK: usize = 4;

/// A display name: 1 to 100 characters once surrounding white space is trimmed, in
/// Unicode NFC, with no character that renders as nothing or reorders text and no pile
/// of combining marks. Stored in that form, so it can hold no other.
///
/// Refused: the C0/C1 controls (which include tab and newline), the line and paragraph
/// separators, the bidirectional controls, and every invisible character (Unicode's
/// default-ignorable code points, the braille blank, the interlinear annotation
/// controls), except the joiner, variation selectors and tags of a well-formed emoji
/// sequence (see [`crate::rules::invisible`]): they let a name show as something it is
/// not in a console or a log. Refused too: more than four combining marks on one
/// character, and a combining mark first (see [`crate::rules::marks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName(String);

impl AppName {
    /// Validates `raw`, naming `parameter` in the error.
    pub fn parse(raw: &str, parameter: impl fmt::Display) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::invalid(&parameter, "must not be empty"));
        }
        let too_long = || {
            FieldError::invalid(
                &parameter,
                format!("must be at most {MAX_NAME_CHARS} characters"),
            )
            .with_max(MAX_NAME_CHARS as u64)
        };
        if trimmed
            .chars()
            .nth(MAX_NFC_SHRINK * MAX_NAME_CHARS)
            .is_some()
        {
            return Err(too_long());
        }
        let name = nfc(trimmed);
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(too_long());
        }
        if let Some(hidden) = first_hidden(&name) {
            return Err(FieldError::invalid(
                &parameter,
                format!("must not contain {hidden}"),
            ));
        }
        if let Some(pile) = first_pile(&name) {
            let e = FieldError::invalid(&parameter, format!("must not {pile}"));
            return Err(match pile {
                Pile::TooMany { .. } => e.with_max(MAX_MARKS as u64),
                Pile::Leading(_) => e,
            });
        }
        Ok(Self(name))
    }

    /// The name, in NFC.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// `text` in Unicode NFC; copied as it is when a quick check says it is already (as
/// ASCII and most text typed on a keyboard is).
fn nfc(text: &str) -> String {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => text.to_owned(),
        IsNormalized::No | IsNormalized::Maybe => text.nfc().collect(),
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

    #[test]
    fn every_spelling_of_a_name_is_stored_as_its_nfc() {
        for (spellings, nfc) in [
            (&["Caf\u{E9}", "Cafe\u{301}"][..], "Caf\u{E9}"),
            (
                &[
                    "\u{C5}ngstr\u{F6}m",
                    "A\u{30A}ngstro\u{308}m",
                    "\u{212B}ngstr\u{F6}m",
                ],
                "\u{C5}ngstr\u{F6}m",
            ),
            // Marks in either order: canonical ordering puts the dot below first.
            (
                &[
                    "Vi\u{1EC7}t",
                    "Vie\u{323}\u{302}t",
                    "Vie\u{302}\u{323}t",
                    "Vi\u{1EB9}\u{302}t",
                ],
                "Vi\u{1EC7}t",
            ),
            (&["\u{1112}\u{1161}\u{11AB}", "\u{D55C}"], "\u{D55C}"),
            (&["\u{391}\u{314}\u{301}\u{345}", "\u{1F8D}"], "\u{1F8D}"),
            // A CJK compatibility ideograph is its unified ideograph.
            (&["\u{F900}"], "\u{8C48}"),
        ] {
            for spelling in spellings {
                let name = AppName::parse(&format!(" {spelling} "), "name").unwrap();
                assert_eq!(name.as_str().as_bytes(), nfc.as_bytes(), "{spelling:?}");
            }
        }
    }

    #[test]
    fn the_nfc_form_is_what_is_judged() {
        // U+2329, a technical symbol (so an emoji to the selector rule), is U+3008 in NFC,
        // a CJK bracket: the selector after it is outside an emoji sequence there.
        let e = AppName::parse("\u{2329}\u{FE0F}", "n").unwrap_err();
        assert_eq!(
            e.message,
            "n must not contain U+FE0F outside an emoji sequence"
        );
        // An arrow with a stroke, sent as the arrow and the stroke, is one character.
        assert_eq!(
            AppName::parse("\u{2190}\u{338}", "n").unwrap().as_str(),
            "\u{219A}"
        );
    }

    #[test]
    fn lengths_count_the_nfc_form() {
        // 100 accented letters written with 200 characters are 100 characters.
        assert!(AppName::parse(&"e\u{301}".repeat(100), "n").is_ok());
        let e = AppName::parse(&"e\u{301}".repeat(101), "n").unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.max),
            ("n must be at most 100 characters", Some(100))
        );
        // A character NFC leaves decomposed (a composition exclusion) counts as its parts:
        // U+FB2C is shin, dagesh and shin dot, three characters.
        assert_eq!(
            AppName::parse("\u{FB2C}", "n")
                .unwrap()
                .as_str()
                .chars()
                .count(),
            3
        );
        assert!(AppName::parse(&"\u{FB2C}".repeat(33), "n").is_ok());
        assert_eq!(
            AppName::parse(&"\u{FB2C}".repeat(34), "n").unwrap_err().max,
            Some(100)
        );
        // 400 characters can still be 100 in NFC; past 400 they cannot.
        let greek = "\u{391}\u{314}\u{301}\u{345}".repeat(100);
        assert_eq!(greek.chars().count(), 400);
        assert_eq!(
            AppName::parse(&greek, "n").unwrap().as_str(),
            "\u{1F8D}".repeat(100)
        );
        let e = AppName::parse(&format!("{greek}a"), "n").unwrap_err();
        assert_eq!(e.max, Some(100));
    }

    #[test]
    fn piles_of_combining_marks_are_refused_by_position() {
        let flood = format!("Z{}", "\u{301}".repeat(99));
        assert_eq!(flood.chars().count(), 100);
        let e = AppName::parse(&flood, "items[3].name").unwrap_err();
        assert_eq!(e.parameter, "items[3].name");
        assert_eq!(
            e.message,
            "items[3].name must not have more than 4 combining marks on one character \
             (98 on character 1, U+0179)"
        );
        assert_eq!(e.max, Some(4));
        assert_eq!(
            e.code(),
            crate::wire::error::ErrorCode::ValidationInvalidParameter
        );
        // Counted after composition: `e` and five acutes is `é` and four.
        assert_eq!(
            AppName::parse("Cafe\u{301}\u{301}\u{301}\u{301}\u{301}", "n")
                .unwrap()
                .as_str(),
            format!("Caf\u{E9}{}", "\u{301}".repeat(4))
        );
        let e = AppName::parse(&format!("Cafx{}", "\u{301}".repeat(5)), "n").unwrap_err();
        assert_eq!(
            e.message,
            "n must not have more than 4 combining marks on one character (5 on character 4, U+0078)"
        );
        // The position is in the NFC form, whatever the spelling before it.
        let e = AppName::parse(&format!("Cafe\u{301} q{}", "\u{363}".repeat(6)), "n").unwrap_err();
        assert!(
            e.message.ends_with("(6 on character 6, U+0071)"),
            "{}",
            e.message
        );
        for leading in ["\u{301}Acme", "  \u{301}Acme", "\u{20DD}"] {
            let e = AppName::parse(leading, "name").unwrap_err();
            assert!(
                e.message
                    .starts_with("name must not start with a combining mark (U+"),
                "{leading:?}: {}",
                e.message
            );
            assert_eq!(e.max, None);
        }
        // A hidden character is named before a pile.
        let e = AppName::parse(&format!("\u{200B}x{}", "\u{363}".repeat(9)), "n").unwrap_err();
        assert!(e.message.contains("U+200B"), "{}", e.message);
    }

    /// What the rule takes for granted of NFC, over every character: a character's
    /// canonical decomposition is at most four characters (so NFC shrinks a text at most
    /// fourfold), and white space neither comes from nor goes into a decomposition (so
    /// trimming before normalising trims what trimming after would).
    #[test]
    fn nfc_shrinks_at_most_fourfold_and_keeps_white_space_apart() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let parts: Vec<char> = std::iter::once(c).nfd().collect();
            assert!(parts.len() <= MAX_NFC_SHRINK, "U+{:04X}", c as u32);
            let white = parts.iter().filter(|p| p.is_whitespace()).count();
            match c.is_whitespace() {
                true => assert!(parts.len() == 1 && white == 1, "U+{:04X}", c as u32),
                false => assert_eq!(white, 0, "U+{:04X}", c as u32),
            }
        }
    }

    /// What a piece of a name is, as the rule reads it: known from how the piece was
    /// built, not from the code under test.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        /// Visible text: words, emoji sequences, inner spaces that show as spaces, letters
        /// with combining marks, marks alone (which sit on what comes before).
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

    /// A piece of a name: as sent, in NFC, and what it is.
    type Piece = (String, String, Kind);

    /// The combining marks the pieces hold once in NFC (the generator's own list: the
    /// marks of the emoji and Hebrew pieces, and those it piles on letters). Marks of
    /// the decomposed spellings compose away.
    const MARKS: &[char] = &[
        '\u{FE0F}', '\u{20E3}', '\u{5BC}', '\u{5C1}', '\u{363}', '\u{364}', '\u{365}', '\u{20DD}',
        '\u{489}', '\u{93F}',
    ];

    /// Marks that compose with nothing, of canonical class 230 or 0, so that NFC
    /// neither composes nor reorders them wherever they are put.
    const PILED: &[char] = &[
        '\u{363}', '\u{364}', '\u{365}', '\u{20DD}', '\u{489}', '\u{93F}',
    ];

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

    fn same(s: &str, kind: Kind) -> Piece {
        (s.to_owned(), s.to_owned(), kind)
    }

    /// Pieces of names as people write them: words, some spelled decomposed (with their
    /// NFC beside them), emoji sequences, white space that shows as a blank, letters with
    /// up to eight combining marks, and one to three marks alone.
    fn visible_piece() -> impl Strategy<Value = Piece> {
        let marks = |n: std::ops::RangeInclusive<usize>| {
            prop::collection::vec(prop::sample::select(PILED), n)
        };
        prop_oneof![
            4 => prop::sample::select(vec!["Acme", "株式会社", "Ünïcödé", "<b>", "x", "O'Brien", "\u{0600}1", "Caf\u{E9}"])
                .prop_map(|w| same(w, Kind::Visible)),
            2 => prop::sample::select(vec![
                ("U\u{308}ni\u{308}co\u{308}de\u{301}", "Ünïcödé"),
                ("Cafe\u{301}", "Caf\u{E9}"),
                ("Vie\u{302}\u{323}t", "Vi\u{1EC7}t"),
                ("\u{1112}\u{1161}\u{11AB}", "\u{D55C}"),
                ("\u{212B}", "\u{C5}"),
                ("\u{F900}", "\u{8C48}"),
                ("\u{391}\u{314}\u{301}\u{345}", "\u{1F8D}"),
                // A composition exclusion: one character sent, three stored.
                ("\u{FB2C}", "\u{5E9}\u{5BC}\u{5C1}"),
            ]).prop_map(|(raw, nfc)| (raw.to_owned(), nfc.to_owned(), Kind::Visible)),
            1 => prop::sample::select(vec![
                "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
                "\u{2764}\u{FE0F}",
                "\u{1F44D}\u{1F3FD}",
                "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
                "1\u{FE0F}\u{20E3}",
            ]).prop_map(|w| same(w, Kind::Visible)),
            2 => prop::sample::select(vec![' ', '\u{3000}', '\u{A0}', '\u{2003}', '\u{202F}'])
                .prop_map(|c| same(&c.to_string(), Kind::Space)),
            1 => (prop::sample::select(vec!['x', 'Z', '名', 'q']), prop_oneof![4 => marks(0..=4), 1 => marks(5..=8)])
                .prop_map(|(base, m)| {
                    let piece: String = std::iter::once(base).chain(m).collect();
                    same(&piece, Kind::Visible)
                }),
            1 => marks(1..=3).prop_map(|m| same(&m.into_iter().collect::<String>(), Kind::Visible)),
        ]
    }

    /// Pieces as attackers write them: white space that is a control or a line break,
    /// hidden characters alone, and the joiner, a variation selector or a tag after a
    /// letter (so outside any emoji sequence).
    fn hidden_piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            1 => prop::sample::select(vec!['\t', '\n', '\r', '\u{B}', '\u{C}', '\u{85}', '\u{2028}', '\u{2029}'])
                .prop_map(|c| same(&c.to_string(), Kind::HiddenSpace)),
            2 => hidden_char().prop_map(|c| same(&c.to_string(), Kind::Hidden(c))),
            1 => prop::sample::select(vec!['\u{200D}', '\u{FE0F}', '\u{FE0E}', '\u{E0041}', '\u{E007F}'])
                .prop_map(|c| same(&format!("a{c}"), Kind::Hidden(c))),
        ]
    }

    /// Visible pieces with, in half the names, one to three hidden pieces put anywhere.
    fn pieces() -> impl Strategy<Value = Vec<Piece>> {
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

    /// The first pile of `name` (in NFC) as the rule must word it: a leading mark, or the
    /// first character with more than four of [`MARKS`] after it.
    fn first_pile_of(name: &str) -> Option<String> {
        let chars: Vec<char> = name.chars().collect();
        let mark = |c: &char| MARKS.contains(c);
        if let Some(first) = chars.first().filter(|c| mark(c)) {
            return Some(format!(
                "must not start with a combining mark (U+{:04X})",
                *first as u32
            ));
        }
        (0..chars.len()).find_map(|i| {
            let run = chars[i + 1..].iter().take_while(|c| mark(c)).count();
            (!mark(&chars[i]) && run > 4).then(|| {
                format!(
                    "must not have more than 4 combining marks on one character \
                     ({run} on character {}, U+{:04X})",
                    i + 1,
                    chars[i] as u32
                )
            })
        })
    }

    /// A name of pieces and what the rule must answer, worked out piece by piece: the
    /// pieces of white space at either end are trimmed; the rest, each piece in its NFC,
    /// is refused when empty, longer than 100 characters, holding a hidden piece (the
    /// first one is named), or piling marks (the first pile is named).
    fn name_and_verdict() -> impl Strategy<Value = (String, Result<String, String>)> {
        pieces().prop_map(|pieces| {
            let raw: String = pieces.iter().map(|(p, _, _)| p.as_str()).collect();
            let blank = |k: &Kind| matches!(k, Kind::Space | Kind::HiddenSpace);
            let first = pieces.iter().position(|(_, _, k)| !blank(k));
            let last = pieces.iter().rposition(|(_, _, k)| !blank(k));
            let kept = match (first, last) {
                (Some(a), Some(b)) => &pieces[a..=b],
                _ => &pieces[..0],
            };
            let name: String = kept.iter().map(|(_, nfc, _)| nfc.as_str()).collect();
            let hidden = kept.iter().find_map(|(p, _, k)| match k {
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
            } else if let Some(pile) = first_pile_of(&name) {
                Err(pile)
            } else {
                Ok(name)
            };
            (raw, verdict)
        })
    }

    #[test]
    fn the_pieces_are_what_the_generator_says() {
        for (raw, nfc) in [
            ("U\u{308}ni\u{308}co\u{308}de\u{301}", "Ünïcödé"),
            ("\u{FB2C}", "\u{5E9}\u{5BC}\u{5C1}"),
            ("\u{391}\u{314}\u{301}\u{345}", "\u{1F8D}"),
        ] {
            assert_eq!(raw.nfc().collect::<String>(), nfc);
        }
        for c in MARKS {
            assert!(crate::rules::marks::is_mark(*c), "U+{:04X}", *c as u32);
        }
        for c in PILED {
            let class = unicode_normalization::char::canonical_combining_class(*c);
            assert!(class == 0 || class == 230, "U+{:04X}", *c as u32);
            assert_eq!(format!("x{c}").nfc().collect::<String>(), format!("x{c}"));
        }
    }

    #[test]
    fn the_name_generator_reaches_both_sides() {
        crate::reach::assert_both_sides("names", name_and_verdict(), 0.2, |(_, v)| v.is_ok());
        crate::reach::assert_both_sides(
            "names with piled marks",
            name_and_verdict(),
            0.05,
            |(_, v)| !matches!(v, Err(why) if why.contains("combining mark")),
        );
        crate::reach::assert_both_sides(
            "names NFC changes",
            name_and_verdict(),
            0.05,
            |(raw, v)| !matches!(v, Ok(name) if name.as_str() != raw.trim()),
        );
    }

    /// Names as the generator makes them, or any text at all.
    fn any_name() -> impl Strategy<Value = String> {
        prop_oneof![name_and_verdict().prop_map(|(raw, _)| raw), any::<String>()]
    }

    proptest! {
        /// An accepted name is the name trimmed and in NFC, 1 to 100 characters, hiding
        /// nothing and piling no marks; a refused one is empty, too long, holds a hidden
        /// character or a pile of marks, which the error names.
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

        /// Every spelling of a text gets the same answer, and a stored name is in NFC,
        /// trimmed, and stored as itself again: parse(nfd(x)) == parse(nfc(x)) == parse(x),
        /// and parse(parse(x)) == parse(x).
        #[test]
        fn the_spelling_never_matters(raw in any_name()) {
            let parsed = AppName::parse(&raw, "name");
            let nfd: String = raw.nfd().collect();
            let nfc: String = raw.nfc().collect();
            prop_assert_eq!(&AppName::parse(&nfd, "name"), &parsed, "NFD of {:?}", raw);
            prop_assert_eq!(&AppName::parse(&nfc, "name"), &parsed, "NFC of {:?}", raw);
            if let Ok(name) = parsed {
                let s = name.as_str();
                prop_assert!(unicode_normalization::is_nfc(s), "{:?}", s);
                prop_assert_eq!(s.trim(), s);
                prop_assert_eq!(AppName::parse(s, "name"), Ok(name.clone()));
            }
        }
    }
}
